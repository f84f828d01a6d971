package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModelCommand(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"-h", []string{"model", "-h"}, 0, "-cores-per-validator"},
		{"bad n", []string{"model", "-n", "4,x"}, exitUsage, "-n:"},
		{"one validator", []string{"model", "-n", "1"}, exitUsage, "validator counts must be 2 to"},
		{"unknown sites", []string{"model", "-sites", "atlantis"}, exitUsage, "neither built in"},
		{"both networks", []string{"model", "-sites", "financial10", "-rtt-ms", "10"}, exitUsage, "not both"},
		{"both cores", []string{"model", "-cores-per-validator", "2", "-machine-cores", "2"}, exitUsage, "either cores"},
		{"missing calibration", []string{"model", "-calibration", filepath.Join(dir, "none.json")}, exitUsage, "read calibration"},
		{"negative bandwidth", []string{"model", "-bandwidth-mbit", "-1"}, exitUsage, "≥ 0"},
		{"arguments", []string{"model", "extra"}, exitUsage, "takes 0 argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
		})
	}
}

func TestModelCommandWrites(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m")
	var stdout, stderr bytes.Buffer
	args := []string{"model", "-n", "4", "-rtt-ms", "12", "-machine-cores", "2", "-rate", "1000", "-duration", "5s", "-warmup", "1s",
		"-p99-max-ms", "2000", "-out", out, "-quiet"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "uniform RTT 12 ms") {
		t.Errorf("stdout: %s", stdout.String())
	}
	for _, f := range []string{"model.json", "model.md", "model-latency.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
