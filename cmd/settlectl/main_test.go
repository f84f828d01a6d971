package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/node"
)

// TestPayAgainstRealNode runs settlectl's pay, account and tx paths against a real
// single validator over real HTTP.
func TestPayAgainstRealNode(t *testing.T) {
	o := devnet.DefaultOptions()
	o.Accounts = 4
	cfg := node.DefaultConfig(t.TempDir(), devnet.Genesis(o))
	cfg.BlockDelayMax = 5 * time.Millisecond
	n, err := node.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done; n.Close() }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	for !n.Ready() {
		time.Sleep(time.Millisecond)
	}
	c := client{base: "http://" + ln.Addr().String()}

	from := devnet.DemoKey(devnet.ChainID, 0)
	keyPath := filepath.Join(t.TempDir(), "key.json")
	kf, _ := json.Marshal(keyFile{Address: from.AccountID().String(), Seed: hex.EncodeToString(from.Seed())})
	if err := os.WriteFile(keyPath, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := loadKey("", keyPath)
	if err != nil {
		t.Fatal(err)
	}
	to := devnet.DemoKey(devnet.ChainID, 1).AccountID().String()
	tx, err := c.buildPayment(key, to, "2500", "STL", "invoice 42", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Seq != 1 || tx.Fee != o.BaseFee || string(tx.Memo) != "invoice 42" {
		t.Fatalf("built seq %d fee %d memo %q", tx.Seq, tx.Fee, tx.Memo)
	}
	if err := payWith(c, tx); err != nil {
		t.Fatal(err)
	}
	if err := c.waitCommitted(tx.Hash().String(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var acc struct {
		Balances []struct{ Asset, Amount string } `json:"balances"`
	}
	if err := c.getJSON("/v1/account/"+to, &acc); err != nil {
		t.Fatal(err)
	}
	if len(acc.Balances) == 0 || acc.Balances[0].Amount != "1000000002500" {
		t.Fatalf("destination balances %+v", acc.Balances)
	}
	// A bad amount is refused before anything is sent.
	if _, err := c.buildPayment(key, to, "-1", "STL", "", 0, 100); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("negative amount: %v", err)
	}
}
