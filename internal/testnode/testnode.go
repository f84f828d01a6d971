// Package testnode runs a real single validator for tests outside
// engine/node: Pebble in a temporary directory, the node's pipeline and the
// real HTTP API on a loopback port, all stopped by the test's cleanup.
package testnode

import (
	"context"
	"net"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/node"
	"settle/internal/testkit"
)

// Start runs a validator of a devnet genesis with accounts demo accounts and
// returns it with its API's address (host:port). edit, when set, changes the
// node's configuration first.
func Start(t testing.TB, accounts int, edit func(*node.Config)) (*node.Node, string) {
	t.Helper()
	o := devnet.DefaultOptions()
	o.Accounts = accounts
	cfg := node.DefaultConfig(t.TempDir(), devnet.Genesis(o))
	cfg.BlockDelayMax = 5 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	n, err := node.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node: %v", err)
		}
		n.Close()
	})
	testkit.WaitFor(t, 10*time.Second, "the node ready", n.Ready)
	return n, ln.Addr().String()
}
