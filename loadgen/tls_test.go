package loadgen_test

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"settle/engine/tlsfiles"
	"settle/engine/tlsfiles/tlstest"
	"settle/loadgen"
	"settle/loadgen/fakenode"
)

// startFakeTLS serves a fake node over HTTPS that requires client certificates
// from the test CA.
func startFakeTLS(t *testing.T, pki *tlstest.PKI) (*fakenode.Node, string) {
	t.Helper()
	node := fakenode.New(fakenode.Config{})
	srv := httptest.NewUnstartedServer(node.Handler())
	tc, err := tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		node.Close()
	})
	return node, srv.URL
}

// TestRunOverTLS drives an https:// target with both HTTP clients, with the
// test CA and a client certificate, and checks every transaction commits (the
// event stream runs over TLS too).
func TestRunOverTLS(t *testing.T) {
	pki := tlstest.New(t)
	ok, err := tlsfiles.Client{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}.Config()
	if err != nil {
		t.Fatal(err)
	}
	for _, client := range []string{loadgen.ClientFastHTTP, loadgen.ClientNetHTTP} {
		t.Run(client, func(t *testing.T) {
			node, url := startFakeTLS(t, pki)
			if !strings.HasPrefix(url, "https://") {
				t.Fatalf("url %s", url)
			}
			cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 2000, Dur: 500 * time.Millisecond})
			cfg.Client, cfg.TLS = client, ok
			sum := run(t, cfg)
			if sum.Counts.Committed != 1000 || node.Stats().Admitted != 1000 {
				t.Fatalf("committed %d, admitted %d of 1000", sum.Counts.Committed, node.Stats().Admitted)
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		_, url := startFakeTLS(t, pki)
		noCert, err := tlsfiles.Client{CAFile: pki.CAFile}.Config()
		if err != nil {
			t.Fatal(err)
		}
		cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 100, Dur: 100 * time.Millisecond})
		cfg.TLS = noCert
		if _, err := loadgen.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("run without a client certificate: %v", err)
		}
	})
}
