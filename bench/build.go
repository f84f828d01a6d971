package bench

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
		return "", fmt.Errorf("run bench from inside the settle module, or pass -settled with a built binary")
	}
	return filepath.Dir(gomod), nil
}

// BuildSettled builds cmd/settled into dir and returns the binary's path.
//
// It first stats every Go source file of the module: go test records the files
// a test looks at, so a test that builds and runs the binary is not answered
// from the test cache after the validator's code changed.
func BuildSettled(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	if err := statSources(root); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "settled")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/settled")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/settled: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// statSources stats the module's Go files and go.mod/go.sum (see BuildSettled).
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
