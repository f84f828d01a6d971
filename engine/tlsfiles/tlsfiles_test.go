package tlsfiles_test

import (
	"os"
	"strings"
	"testing"

	"settle/engine/tlsfiles"
	"settle/engine/tlsfiles/tlstest"
)

// TestRefusals: unusable files are refused at start-up with a sentence that names
// the file, never its content.
func TestRefusals(t *testing.T) {
	pki := tlstest.New(t)
	if err := os.Chmod(pki.StrangerKey, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		config func() error
		want   string
	}{
		"server key missing": {srv(tlsfiles.Server{CertFile: pki.ServerCert}), "both a certificate file and a key file"},
		"client CA only":     {srv(tlsfiles.Server{ClientCAFile: pki.CAFile}), "both a certificate file and a key file"},
		"mismatched key":     {srv(tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ClientKey}), "private key does not match"},
		"CA file not PEM":    {srv(tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.ServerKey}), "holds no PEM certificate"},
		"no such key":        {srv(tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey + ".gone"}), "no such file"},
		"readable key":       {cli(tlsfiles.Client{CertFile: pki.StrangerCert, KeyFile: pki.StrangerKey}), "chmod 600"},
		"client half a pair": {cli(tlsfiles.Client{CertFile: pki.ClientCert}), "both its certificate file and its key file"},
	} {
		err := tc.config()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
}

func TestConfigs(t *testing.T) {
	pki := tlstest.New(t)
	s, err := tlsfiles.Server{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile}.Config()
	if err != nil || s.ClientCAs == nil || s.ClientAuth.String() != "RequireAndVerifyClientCert" {
		t.Fatalf("server config %v: %+v", err, s)
	}
	c, err := tlsfiles.Client{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}.Config()
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 {
		t.Fatalf("client config %v: %+v", err, c)
	}
}

func srv(s tlsfiles.Server) func() error { return func() error { _, err := s.Config(); return err } }
func cli(c tlsfiles.Client) func() error { return func() error { _, err := c.Config(); return err } }
