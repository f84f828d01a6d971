package bench

import (
	"context"
	"fmt"
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
func BuildSettled(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
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
