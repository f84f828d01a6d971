package mempool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"settle/internal/testkit"
)

// TestNoClockOutsideAssembler keeps the pool deterministic: only assembler.go,
// the edge, may use package time; and no file imports another settle package.
func TestNoClockOutsideAssembler(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		if f != "assembler.go" && strings.Contains(text, "\"time\"") {
			t.Errorf("%s imports time; only assembler.go may read the clock", f)
		}
		if strings.Contains(text, "\"settle/") {
			t.Errorf("%s imports another settle package", f)
		}
		if strings.Contains(text, "math/rand") {
			t.Errorf("%s uses math/rand", f)
		}
	}
}

// TestPoolIsPure: the same rule through the shared purity lint (imports parsed,
// not matched as text); assembler.go is the edge that waits on the clock.
func TestPoolIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{Banned: testkit.DeterministicBans, NoGoroutines: true,
		Allowed: map[string][]string{"assembler.go": {"time"}}})
}
