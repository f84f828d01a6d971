// Package testkit holds the helpers several packages' tests share: the purity
// lint of the deterministic packages, building the settled binary once, and
// waiting for a condition without fixed sleeps. Tests only.
package testkit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Purity says what a deterministic package may not do.
type Purity struct {
	// Banned are import paths (or prefixes ending in "/") no file may import:
	// clocks, randomness, I/O.
	Banned []string
	// Allowed lists files of the package that are its edge and may import a
	// banned path (e.g. mempool's assembler.go reads the clock).
	Allowed map[string][]string
	// NoGoroutines forbids go statements.
	NoGoroutines bool
	// NoLocks forbids sync.Mutex and sync.RWMutex fields and variables (a pure
	// state machine owned by one goroutine needs none).
	NoLocks bool
}

// DeterministicBans are the imports of clocks, randomness and I/O.
var DeterministicBans = []string{"time", "math/rand", "math/rand/v2", "crypto/rand", "os", "os/exec", "net", "net/http", "io/fs", "syscall"}

// CheckPure parses every non-test Go file of the package in dir and reports
// each rule it breaks.
func CheckPure(t testing.TB, dir string, p Purity) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		checked++
		name := filepath.Base(path)
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if banned(ip, p.Banned) && !slices.Contains(p.Allowed[name], ip) {
				t.Errorf("%s imports %s: this package must stay deterministic (no clock, randomness or I/O)", name, ip)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				if p.NoGoroutines {
					t.Errorf("%s: a go statement at %s: the package owns no goroutine", name, fset.Position(n.Pos()))
				}
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && p.NoLocks && id.Name == "sync" && (n.Sel.Name == "Mutex" || n.Sel.Name == "RWMutex") {
					t.Errorf("%s: sync.%s at %s: one goroutine owns this state", name, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
}

func banned(path string, list []string) bool {
	for _, b := range list {
		if path == b || (strings.HasSuffix(b, "/") && strings.HasPrefix(path, b)) {
			return true
		}
	}
	return false
}
