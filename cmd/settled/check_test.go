package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"settle/engine/devnet"
)

// setConfig rewrites one field of a JSON config file ("cluster.x" inside the
// cluster section), as an operator's edit would.
func setConfig(t *testing.T, path, field string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if sub, ok := strings.CutPrefix(field, "cluster."); ok {
		m["cluster"].(map[string]any)[sub] = v
	} else {
		m[field] = v
	}
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRunCheck runs the real `settled run -check` on good and broken configs:
// exit 0 and "config OK", or exit 1 and the sentence; nothing is created. Bad
// values also stop a plain `settled run` at once (they used to start it).
func TestRunCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	bin := buildSettled(t)
	one := func(t *testing.T, dir string) string {
		if err := writeInit(dir, 4, "127.0.0.1:0", devnet.ChainID, ""); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "config.json")
	}
	four := func(t *testing.T, dir string) string {
		if err := writeTestnet(dir, 4, 4, devnet.ChainID, func(i int) (string, string) { return "127.0.0.1:1", "127.0.0.1:2" }); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "v0.json")
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the config path
		edit  func(t *testing.T, cfg string)
		args  []string
		want  string // stdout for exit 0, else a part of the sentence
		ok    bool
	}{
		{"single", one, nil, nil, "config OK\n", true},
		{"cluster", four, nil, nil, "config OK\n", true},
		{"typo", one, func(t *testing.T, cfg string) { setConfig(t, cfg, "blok_tx_max", 5) }, nil,
			`config.json: unknown field "blok_tx_max" (did you mean "block_tx_max"?)`, false},
		{"negative", one, func(t *testing.T, cfg string) { setConfig(t, cfg, "block_tx_max", -1) }, nil,
			"config.json: block_tx_max must be 1 to 8192, not -1", false},
		{"absurd", four, func(t *testing.T, cfg string) { setConfig(t, cfg, "verify_workers", 100000) }, nil,
			"v0.json: verify_workers must be 1 to 1024, not 100000", false},
		{"cluster typo", four, func(t *testing.T, cfg string) { setConfig(t, cfg, "cluster.tick_msx", 5) }, nil,
			`unknown field "tick_msx" in the "cluster" section`, false},
		{"key readable", four, func(t *testing.T, cfg string) { os.Chmod(filepath.Join(filepath.Dir(cfg), "v0.key"), 0o644) }, nil,
			"has permissions 644: it must be readable by its owner only (chmod 600)", false},
		{"another's key", four, func(t *testing.T, cfg string) { setConfig(t, cfg, "cluster.key_file", "v1.key") }, nil,
			"is not the key of validator 0 (v0) in the genesis", false},
		{"no genesis", one, func(t *testing.T, cfg string) { os.Remove(filepath.Join(filepath.Dir(cfg), "genesis.json")) }, nil,
			"read genesis", false},
		{"bad api", one, func(t *testing.T, cfg string) { setConfig(t, cfg, "api_addr", "localhost") }, nil,
			`api_addr "localhost" is not host:port`, false},
		{"bad -api", one, nil, []string{"-api", "7700"}, `-api "7700" is not host:port`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := tc.setup(t, dir)
			if tc.edit != nil {
				tc.edit(t, cfg)
			}
			before := snapshotDir(t, dir)
			args := append([]string{"run", "-check", "-config", cfg}, tc.args...)
			stdout, stderr, code := runBin(t, bin, args...)
			switch {
			case tc.ok && (code != 0 || stdout != tc.want):
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and %q", code, stdout, stderr, tc.want)
			case !tc.ok && (code != 1 || !strings.Contains(stderr, tc.want)):
				t.Fatalf("exit %d, stderr %q; want exit 1 and %q", code, stderr, tc.want)
			}
			if after := snapshotDir(t, dir); after != before {
				t.Errorf("-check changed the directory:\nbefore %s\nafter  %s", before, after)
			}
			if tc.ok || len(tc.args) > 0 {
				return
			}
			// Without -check the same config must not start either.
			if _, stderr, code := runBin(t, bin, "run", "-config", cfg); code != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("settled run: exit %d, stderr %q; want exit 1 and %q", code, stderr, tc.want)
			}
		})
	}
}

// runBin runs the binary for at most 20 s and returns its output and exit code
// (-1 when it was killed: it started instead of refusing).
func runBin(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	}
	t.Fatalf("run %v: %v", args, err)
	return "", "", 0
}
