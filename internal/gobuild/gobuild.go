// Package gobuild builds the module's commands for the harnesses that run them
// as real processes (bench, and tests through testkit).
package gobuild

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot returns the directory of the settle module's go.mod, found with
// `go env GOMOD` from the working directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (is Go installed?)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the settle module: run from its directory, or pass a built binary")
	}
	return filepath.Dir(gomod), nil
}

// Build builds package pkg (e.g. "./cmd/settled") of the module into the file
// bin, with extra go build flags.
//
// It first stats every Go source file of the module: go test records the files
// a test looks at, so a test that builds and runs the binary is not answered
// from the test cache after the code changed.
func Build(ctx context.Context, bin, pkg string, flags ...string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	if err := statSources(root); err != nil {
		return err
	}
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// statSources stats the module's Go files, go.mod and go.sum.
func statSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "results" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
}
