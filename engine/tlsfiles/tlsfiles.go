// Package tlsfiles turns the certificate and key files of the HTTP API's TLS
// setup (docs/operations.md, "TLS") into crypto/tls configurations: the
// validator's server side, and the client side of settlectl and loadgen.
//
// Replica links do not use it: their certificates are made in memory from the
// validator keys (consensus/transport).
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Server holds the API's TLS files. CertFile and KeyFile are PEM (the
// certificate may be followed by its intermediates); ClientCAFile, when set,
// is a PEM bundle of the CAs whose client certificates are accepted, and every
// client must then present one ("require and verify").
type Server struct {
	CertFile     string
	KeyFile      string
	ClientCAFile string
}

// Enabled reports whether any file is configured.
func (s Server) Enabled() bool { return s.CertFile != "" || s.KeyFile != "" || s.ClientCAFile != "" }

// Config loads the files. Errors name the file and never its content.
func (s Server) Config() (*tls.Config, error) {
	if s.CertFile == "" || s.KeyFile == "" {
		return nil, errors.New("API TLS needs both a certificate file and a key file")
	}
	cert, err := loadKeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"}, // fasthttp speaks HTTP/1.1 only
	}
	if s.ClientCAFile != "" {
		if cfg.ClientCAs, err = loadPool(s.ClientCAFile); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Client holds a client's TLS files: CAFile (PEM bundle; empty: the system
// roots) verifies the validator's certificate; CertFile and KeyFile, both or
// neither, are the client certificate a validator with a client CA requires.
type Client struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Config loads the files.
func (c Client) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return nil, errors.New("a client certificate needs both its certificate file and its key file")
	case c.CertFile != "":
		cert, err := loadKeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// loadKeyPair refuses a key file that group or others may read, like the
// validator key (docs/operations.md).
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	fi, err := os.Stat(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return tls.Certificate{}, fmt.Errorf("TLS key %s has permissions %o: it must be readable by its owner only (chmod 600)", keyFile, perm)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		// crypto/tls's messages name the problem, never the key's bytes.
		return tls.Certificate{}, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return cert, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
