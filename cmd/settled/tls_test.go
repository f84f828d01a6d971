package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"settle/engine/client"
	"settle/engine/tlsfiles"
	"settle/engine/tlsfiles/tlstest"
	"settle/internal/testpay"
)

// patchJSON sets top-level fields of a config file (and, with section, fields of
// that object).
func patchJSON(t *testing.T, path, section string, set map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	dst := m
	if section != "" {
		dst = m[section].(map[string]any)
	}
	for k, v := range set {
		dst[k] = v
	}
	out, _ := json.Marshal(m)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAPIOverTLS runs the real binary with API TLS and client certificates
// required, and talks to it with net/http and a test CA made for this run.
func TestAPIOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildSettled(t)
	pki := tlstest.New(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	if out, err := exec.Command(bin, "init", "-dir", dir, "-accounts", "4", "-api", addr).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	patchJSON(t, filepath.Join(dir, "config.json"), "", map[string]any{
		"api_tls_cert_file": pki.ServerCert, "api_tls_key_file": pki.ServerKey, "api_tls_client_ca_file": pki.CAFile})
	p := start(t, bin, "run", "-config", filepath.Join(dir, "config.json"))
	defer stopProc(p)

	client := func(files tlsfiles.Client) *http.Client {
		tc, err := files.Config()
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}
	bank := client(tlsfiles.Client{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
	get := func(c *http.Client, url string) (int, string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	base := "https://" + addr
	waitFor(t, 30*time.Second, "ready over TLS", func() bool {
		code, _, err := get(bank, base+"/readyz")
		return err == nil && code == 200
	})
	if code, body, err := get(bank, base+"/v1/status"); err != nil || code != 200 || !strings.Contains(body, `"chain_id"`) {
		t.Fatalf("status with a client certificate: %d %v %s", code, err, body)
	}
	if _, _, err := get(client(tlsfiles.Client{CAFile: pki.CAFile}), base+"/v1/status"); err == nil {
		t.Fatal("served a client without a certificate")
	}
	if code, _, err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/v1/status"); err == nil && code == 200 {
		t.Fatal("served plain HTTP")
	}
	stopProc(p)
	if out := p.out.String(); !strings.Contains(out, "API listening on https://") {
		t.Fatalf("output does not announce https:\n%s", out)
	}
}

// TestReplicaTLSSwitch runs four real validators with replica TLS on (the
// default) and with "replica_tls": false, and checks that both commit blocks and
// say which links they run.
func TestReplicaTLSSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs four real validators")
	}
	bin := buildSettled(t)
	for _, tc := range []struct {
		name  string
		patch map[string]any
		links string
	}{
		{"default", nil, "links TLS 1.3"},
		{"off", map[string]any{"replica_tls": false}, "links plaintext"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := startTestnet(t, bin, t.TempDir(), 4, 8, tc.patch)
			// A quiet cluster commits nothing until there is something to commit.
			c, err := client.New(vs[0].api)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Submit(t.Context(), testpay.Payment(t, 0, 1, 1, 5)); err != nil {
				t.Fatalf("submit: %v", err)
			}
			for _, v := range vs {
				waitFor(t, 30*time.Second, fmt.Sprintf("v%d commits", v.index), func() bool { return v.status(t).Height >= 3 })
			}
			for _, v := range vs {
				v.stop()
				if out := v.p.out.String(); !strings.Contains(out, tc.links) {
					t.Errorf("v%d does not log %q:\n%s", v.index, tc.links, out)
				}
			}
		})
	}
}

func stopProc(p *proc) { (&validator{p: p}).stop() }
