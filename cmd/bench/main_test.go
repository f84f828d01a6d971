package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	few := filepath.Join(dir, "few.csv")
	if err := os.WriteFile(few, []byte("n,x\n1,100\n2,190\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badScenario := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badScenario, []byte(`{"name":"bad","slo_p99_ms":10}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no command", nil, exitUsage, "usage"},
		{"unknown command", []string{"fly"}, exitUsage, `unknown command "fly"`},
		{"unknown scenario", []string{"run", "-scenario", "nope"}, exitUsage, "no built-in scenario"},
		{"invalid scenario file", []string{"run", "-scenario", badScenario}, exitUsage, "either a rate schedule"},
		{"duration without rate", []string{"run", "-scenario", "single", "-duration", "5s"}, exitUsage, "-duration needs -rate"},
		{"bad replica-tls", []string{"run", "-scenario", "four", "-replica-tls", "maybe"}, exitUsage, `-replica-tls must be "on" or "off"`},
		{"report arity", []string{"report"}, exitUsage, "takes 1 argument"},
		{"plan with too few points", []string{"plan", "-points", few, "-plan-out", dir}, exitFail, "too few points"},
		{"compare missing", []string{"compare", dir + "/a", dir + "/b"}, exitFail, "result set"},
		{"-h", []string{"-h"}, 0, "usage: bench COMMAND"},
		{"help", []string{"help"}, 0, "usage: bench COMMAND"},
		{"run -h", []string{"run", "-h"}, 0, "-scenario"},
		{"sweep -h", []string{"sweep", "-h"}, 0, "-scenario"},
		{"chaos -h", []string{"chaos", "-h"}, 0, "-duration"},
		{"restart -h", []string{"restart", "-h"}, 0, "-txs"},
		{"compare -h", []string{"compare", "-h"}, 0, "Usage"},
		{"version", []string{"version"}, 0, ""},
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

func TestCompareAndReportOnFixture(t *testing.T) {
	fixture := filepath.Join("..", "..", "bench", "testdata", "run-fixture")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"compare", fixture, fixture}, &stdout, &stderr); code != 0 {
		t.Fatalf("compare exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "too few repeats") { // the fixture has one round
		t.Errorf("compare output: %s", stdout.String())
	}
}
