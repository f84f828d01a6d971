package mempool

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"settle/internal/testkit"
)

// TestNoSettleImports keeps the pool a library of its own: no file imports
// another settle package (the caller's transaction type is Pool's parameter).
// The clock and randomness rules are TestPoolIsPure's.
func TestNoSettleImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			if strings.HasPrefix(strings.Trim(imp.Path.Value, `"`), "settle/") {
				t.Errorf("%s imports %s", f, imp.Path.Value)
			}
		}
	}
}

// TestPoolIsPure: no clock, randomness, I/O or goroutine, except assembler.go,
// the edge that waits on the clock.
func TestPoolIsPure(t *testing.T) {
	testkit.CheckPure(t, ".", testkit.Purity{Banned: testkit.DeterministicBans, NoGoroutines: true,
		Allowed: map[string][]string{"assembler.go": {"time"}}})
}
