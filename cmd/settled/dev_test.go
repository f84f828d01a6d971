package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"settle/engine/devnet"
)

// TestDevRefusesAMismatchedDirectory runs the real binary on data directories
// that hold something other than what its flags ask for: each run must exit 1
// with a sentence saying so, and leave the directory's genesis as it was (before,
// `-validators 1` on a four-validator directory silently overwrote it).
func TestDevRefusesAMismatchedDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary")
	}
	bin := buildSettled(t)
	four := func(t *testing.T, dir string) {
		err := writeTestnet(dir, 4, 8, devnet.ChainID, func(i int) (string, string) {
			return fmt.Sprintf("127.0.0.1:%d", 7750+i), fmt.Sprintf("127.0.0.1:%d", 7700+i)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	one := func(t *testing.T, dir string) {
		if err := writeInit(dir, 8, "127.0.0.1:7700", devnet.ChainID, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		want  string
	}{
		{"one on four", four, []string{"-validators", "1"}, "holds a 4-validator network, not the 1 that -validators asks for: run `settled dev -validators 4"},
		{"four on one", one, nil, "holds a 1-validator network, not the 4 that -validators asks for"},
		{"seven on four", four, []string{"-validators", "7"}, "holds a 4-validator network, not the 7"},
		{"other accounts", four, []string{"-accounts", "5"}, "genesis funds 8 accounts, not the 5 that -accounts asks for"},
		{"other api", four, []string{"-api", "127.0.0.1:9900"}, "validators listen from 127.0.0.1:7700, not the 127.0.0.1:9900 that -api asks for"},
		{"incomplete", func(t *testing.T, dir string) {
			four(t, dir)
			os.Remove(filepath.Join(dir, "v2.json"))
		}, nil, "has a genesis but no v2.json"},
		{"not a dev directory", func(t *testing.T, dir string) {
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)
		}, []string{"-validators", "1"}, "is not empty and holds no genesis.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			tc.setup(t, dir)
			before := snapshotDir(t, dir)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, append([]string{"dev", "-data", dir}, tc.args...)...).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("settled dev %v: %v, want exit status 1; output:\n%s", tc.args, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not say %q", out, tc.want)
			}
			if after := snapshotDir(t, dir); after != before {
				t.Errorf("the refused run changed the directory:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// snapshotDir describes a directory's files and their contents, to compare.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		fmt.Fprintf(&b, "%s:%x ", strings.TrimPrefix(path, dir), data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
