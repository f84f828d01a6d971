package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"settle/internal/gobuild"
)

var builds struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string // flags → binary
}

// BuildSettled compiles cmd/settled once per test process (per set of build
// flags, e.g. "-race") and returns the binary's path (gobuild.Build).
func BuildSettled(t testing.TB, flags ...string) string {
	t.Helper()
	return Build(t, "./cmd/settled", flags...)
}

// Build compiles the module's package pkg (e.g. "./cmd/settlectl") once per
// test process and set of build flags and returns the binary's path.
func Build(t testing.TB, pkg string, flags ...string) string {
	t.Helper()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	key := pkg + " " + strings.Join(flags, " ")
	if bin, ok := builds.bins[key]; ok {
		return bin
	}
	var err error
	if builds.dir == "" {
		if builds.dir, err = os.MkdirTemp("", "settle-testkit-"); err != nil {
			t.Fatal(err)
		}
		builds.bins = map[string]string{}
	}
	name := filepath.Base(pkg) + strings.NewReplacer(" ", "", "-", "_").Replace(strings.Join(flags, ""))
	bin := filepath.Join(builds.dir, name)
	if err := gobuild.Build(context.Background(), bin, pkg, flags...); err != nil {
		t.Fatal(err)
	}
	builds.bins[key] = bin
	return bin
}

// CLICase is one invocation of a command and what it must do.
type CLICase struct {
	Args     []string
	Exit     int
	Contains string // in stdout and stderr together
}

// CheckCLI runs bin with each case's arguments and checks its exit status and
// output (the conventions of internal/cli).
func CheckCLI(t *testing.T, bin string, cases []CLICase) {
	t.Helper()
	for _, tc := range cases {
		out, err := exec.Command(bin, tc.Args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s %v: %v", filepath.Base(bin), tc.Args, err)
		}
		if code != tc.Exit || !strings.Contains(string(out), tc.Contains) {
			t.Errorf("%s %v: exit %d, want %d and output naming %q; output:\n%s", filepath.Base(bin), tc.Args, code, tc.Exit, tc.Contains, out)
		}
	}
}

// Cleanup removes the binaries BuildSettled made; call it from TestMain.
func Cleanup() {
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
		builds.dir, builds.bins = "", nil
	}
}
