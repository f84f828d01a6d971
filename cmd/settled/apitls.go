package main

import (
	"fmt"

	"settle/engine/api"
	"settle/engine/node"
)

// apiConfig builds the API server's configuration from the config file: the
// operator token and, when the file names TLS files, HTTPS. It returns the
// scheme clients use ("http" or "https").
func apiConfig(fc *node.FileConfig) (api.Config, string, error) {
	cfg := api.Config{AdminToken: fc.AdminToken}
	files := fc.APITLS()
	if !files.Enabled() {
		return cfg, "http", nil
	}
	tc, err := files.Config()
	if err != nil {
		return cfg, "", fmt.Errorf("API TLS: %w", err)
	}
	cfg.TLS = tc
	return cfg, "https", nil
}
