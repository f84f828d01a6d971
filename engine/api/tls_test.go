package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"settle/engine/tlsfiles"
	"settle/engine/tlsfiles/tlstest"
)

// startTLS serves the fake backend over TLS from files and returns the https
// base URL.
func startTLS(t *testing.T, files tlsfiles.Server) string {
	t.Helper()
	tc, err := files.Config()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{TLS: tc}, newFakeBackend(8))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
	})
	return "https://" + ln.Addr().String()
}

func tlsClient(t *testing.T, files tlsfiles.Client) *http.Client {
	t.Helper()
	tc, err := files.Config()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

func getStatus(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url + "/v1/status")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestServeTLS talks to the API with Go's net/http over real TLS, with
// certificates from a test CA made for this run.
func TestServeTLS(t *testing.T) {
	pki := tlstest.New(t)
	t.Run("server certificate", func(t *testing.T) {
		url := startTLS(t, tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey})
		if code, err := getStatus(tlsClient(t, tlsfiles.Client{CAFile: pki.CAFile}), url); err != nil || code != 200 {
			t.Fatalf("trusted client: %d, %v", code, err)
		}
		// A client that trusts another CA refuses the server.
		if _, err := getStatus(tlsClient(t, tlsfiles.Client{CAFile: pki.OtherCAFile}), url); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("untrusting client: %v, want a certificate error", err)
		}
		// Plain HTTP on the TLS port gets no API answer.
		if code, err := getStatus(&http.Client{Timeout: 5 * time.Second}, "http://"+strings.TrimPrefix(url, "https://")); err == nil && code == 200 {
			t.Fatal("plain HTTP was served")
		}
	})
	t.Run("client certificates required", func(t *testing.T) {
		url := startTLS(t, tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile})
		ok := tlsClient(t, tlsfiles.Client{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
		if code, err := getStatus(ok, url); err != nil || code != 200 {
			t.Fatalf("client with a certificate: %d, %v", code, err)
		}
		for name, files := range map[string]tlsfiles.Client{
			"no certificate":       {CAFile: pki.CAFile},
			"stranger certificate": {CAFile: pki.CAFile, CertFile: pki.StrangerCert, KeyFile: pki.StrangerKey},
		} {
			if code, err := getStatus(tlsClient(t, files), url); err == nil {
				t.Errorf("%s: served with %d", name, code)
			}
		}
	})
}
