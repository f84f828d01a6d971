package testkit

import (
	"context"
	"os"
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
	builds.mu.Lock()
	defer builds.mu.Unlock()
	key := strings.Join(flags, " ")
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
	bin := filepath.Join(builds.dir, "settled"+strings.NewReplacer(" ", "", "-", "_").Replace(key))
	if err := gobuild.Build(context.Background(), bin, "./cmd/settled", flags...); err != nil {
		t.Fatal(err)
	}
	builds.bins[key] = bin
	return bin
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
