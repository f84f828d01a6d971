package main

import (
	"context"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/node"
	"settle/engine/tlsfiles"
	"settle/engine/tlsfiles/tlstest"
	"settle/internal/testkit"
)

// TestPayOverTLS pays through a real validator whose API requires client
// certificates, with the flags a bank's operator would pass.
func TestPayOverTLS(t *testing.T) {
	pki := tlstest.New(t)
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
	tc, err := tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{TLS: tc}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	testkit.WaitFor(t, 10*time.Second, "the node ready", n.Ready)
	url := "https://" + ln.Addr().String()

	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	nf := addNodeFlags(fs)
	if err := fs.Parse([]string{"-node", url, "-tls-ca", pki.CAFile, "-tls-cert", pki.ClientCert, "-tls-key", pki.ClientKey}); err != nil {
		t.Fatal(err)
	}
	c, err := nf.client()
	if err != nil {
		t.Fatal(err)
	}
	to := devnet.DemoKey(devnet.ChainID, 1).AccountID().String()
	tx, err := buildPayment(c, devnet.DemoKey(devnet.ChainID, 0), to, "2500", "STL", "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := payWith(c, tx); err != nil {
		t.Fatal(err)
	}
	if err := waitCommitted(c, tx.Hash(), 0, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	// Without a client certificate the node refuses the connection.
	err = getCmd("status", []string{"-node", url, "-tls-ca", pki.CAFile, "-"}, func(string) string { return "/v1/status" })
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("status without a client certificate: %v", err)
	}
	// TLS files with a plain http:// node are a mistake, said so.
	err = getCmd("status", []string{"-node", "http://" + ln.Addr().String(), "-tls-ca", pki.CAFile, "-"}, func(string) string { return "/v1/status" })
	if err == nil || !strings.Contains(err.Error(), "need an https:// node") {
		t.Fatalf("TLS flags with http: %v", err)
	}
}
