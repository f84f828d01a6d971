package bench

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"settle/internal/testkit"
)

// buildSettled builds the validator once per test binary run.
func buildSettled(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real settled processes; skipped with -short")
	}
	return testkit.BuildSettled(t)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.Cleanup()
	os.Exit(code)
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// TestLocalClusterStartsAndTearsDown starts one real validator, checks it is
// ready with the scenario's block limits written into its config, and that
// Close leaves no process and no directory behind.
func TestLocalClusterStartsAndTearsDown(t *testing.T) {
	bin := buildSettled(t)
	dir := filepath.Join(t.TempDir(), "cluster")
	c, err := StartLocal(t.Context(), LocalOptions{Binary: bin, Dir: dir, Validators: 1, Accounts: 10,
		Block: BlockLimits{TxMax: 123, DelayMs: 7}})
	if err != nil {
		t.Fatal(err)
	}
	pids := c.Pids()
	cfg, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || !strings.Contains(string(cfg), `"block_tx_max": 123`) {
		t.Errorf("config not patched: %v\n%s", err, cfg)
	}
	resp, err := http.Get("http://" + c.Targets[0] + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v", err)
	}
	resp.Body.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("validator pid %d survived Close", pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work dir left behind: %v", err)
	}
}

// TestRunCancelledTearsDown cancels a run mid-load, as Ctrl-C does, and checks
// the validator is gone and the partial result is written.
func TestRunCancelledTearsDown(t *testing.T) {
	bin := buildSettled(t)
	sc, err := ParseScenario([]byte(`{"name":"tiny","accounts":50,"slo_p99_ms":500,"schedule":"constant:200@20s","block":{"delay_ms":10}}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	out := t.TempDir()
	o := Options{Scenario: sc, Settled: bin, OutDir: out, NoCalibrate: true, NoCache: true, Logf: t.Logf}
	time.AfterFunc(3*time.Second, cancel)
	res, err := Run(ctx, o)
	if err == nil {
		t.Fatal("a cancelled run reported success")
	}
	if res == nil || len(res.Rounds) != 1 || res.Passed {
		t.Fatalf("partial result: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(out, FileReport)); err != nil {
		t.Errorf("no report for the partial run: %v", err)
	}
	// The validator's API port must be closed: its process is gone.
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get("http://" + res.Targets[0] + "/readyz"); err == nil {
		resp.Body.Close()
		t.Errorf("validator at %s still answers after the cancelled run", res.Targets[0])
	}
}
