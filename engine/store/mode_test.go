package store

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"settle/engine/ledger"
)

// TestOpenCreatesThePrivateDirectory: a fresh data directory, and any parent Open
// creates for it, is 0700 (Pebble alone made them 0755, as docs/operations.md
// said they were not); nothing Pebble creates inside is a directory open to
// others.
func TestOpenCreatesThePrivateDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "node", "db")
	g := testGenesis(3)
	s := openStore(t, dir, g)
	l, err := ledger.FromGenesis(g)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, l, nil)
	s.Close()
	for _, d := range []string{filepath.Join(root, "node"), dir} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %o, want 700", d, fi.Mode().Perm())
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := d.Info()
		if err == nil && fi.IsDir() && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("Pebble created %s with mode %o, open to others", path, fi.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
