package main

import (
	"fmt"
	"io"
	"net"

	"settle/consensus/cluster"
	"settle/engine/node"
)

// checkConfig checks a validator config as serve would start from it (the file,
// its genesis, the key file's permissions and match, every address) without
// opening the store or a listener, and prints "config OK" to w.
func checkConfig(w io.Writer, cfgPath, apiOverride string) error {
	fc, cfg, err := node.LoadFileConfig(cfgPath)
	if err != nil {
		return err
	}
	if apiOverride != "" {
		if _, _, err := net.SplitHostPort(apiOverride); err != nil {
			return fmt.Errorf("-api %q is not host:port", apiOverride)
		}
	}
	if _, err := cluster.FromFile(fc, cfg, cfgPath, nil); err != nil {
		return err
	}
	fmt.Fprintln(w, "config OK")
	return nil
}
