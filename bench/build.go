package bench

import (
	"context"
	"path/filepath"

	"settle/internal/gobuild"
)

// BuildSettled builds cmd/settled into dir and returns the binary's path (from
// inside the settle module; elsewhere, pass a built binary with -settled).
func BuildSettled(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "settled")
	if err := gobuild.Build(ctx, bin, "./cmd/settled"); err != nil {
		return "", err
	}
	return bin, nil
}
