package transport

import (
	"bytes"
	"crypto"
	stded25519 "crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"time"

	"settle/engine/sigverify"
)

// TLS 1.3 handshake (the default; Config.DisableTLS selects the plaintext one in
// handshake.go). The dialer (normally the lower index, runPeer) is the TLS client, the other
// accepts and is the server; both present a certificate and both verify:
//
//   - Each validator's certificate is self-signed and its public key IS the
//     validator's Ed25519 key from the genesis. It is made in memory by New from
//     Config.Key (or Sign and PublicKey): there are no certificate files. No CA
//     and no validity period is checked: the only question is whether the peer
//     holds the genesis key it claims, which TLS 1.3's CertificateVerify proves
//     (a signature over the handshake transcript with that key).
//   - verifyPeer (tls.Config.VerifyConnection, on both ends) maps the
//     certificate's key to a validator with checkPeerKey: not weak, in the set,
//     not our own, and the dialled validator's (dialer).
//   - The chain id is bound through ALPN: both ends offer only
//     alpnFor(chainID), the server refuses any other (ErrWrongChain; the dialer
//     sees a no_application_protocol alert), and both check the negotiated
//     value. ALPN travels in the ClientHello and in the
//     server's EncryptedExtensions, which both CertificateVerify signatures
//     cover, so a validator of another network is refused even if it reuses
//     its key.
//   - After its handshake the acceptor writes acceptAck inside the tunnel and the
//     dialer reads it: in TLS 1.3 the client finishes before the server has
//     checked the client's certificate, and the ack keeps "connected" meaning
//     authenticated on both ends.
//
// Session resumption is off (every connection does the full handshake), and the
// whole exchange runs under Config.HandshakeTimeout, like the plaintext one.
const (
	alpnPrefix = "settle/2/"
	acceptAck  = "SETTLEOK"
	// tlsServerName is sent as SNI; certificates are not checked against it.
	tlsServerName = "settle-validator"
)

// ErrWrongChain means the peer offered the replica protocol of another chain id.
var ErrWrongChain = errors.New("transport: peer is on another chain")

// alpnFor is the ALPN protocol of chainID's replica links: a hash keeps it short
// (ALPN values are at most 255 bytes; chain ids may be 255 bytes too).
func alpnFor(chainID string) string {
	h := sha256.Sum256([]byte("settle/transport/v2\x00" + chainID))
	return alpnPrefix + hex.EncodeToString(h[:16])
}

// keySigner is the validator key as crypto/tls and crypto/x509 take it. Ed25519
// signs the message itself (opts carries no hash), through Config.Sign, so a key
// held elsewhere works for TLS as it does for the plaintext handshake.
type keySigner struct {
	pub  stded25519.PublicKey
	sign SignFunc
}

func (s keySigner) Public() crypto.PublicKey { return s.pub }

func (s keySigner) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != crypto.Hash(0) {
		return nil, errors.New("transport: Ed25519 signs unhashed messages only")
	}
	sig := s.sign(msg)
	if len(sig) != sigverify.SignatureSize {
		return nil, fmt.Errorf("transport: signer returned %d bytes", len(sig))
	}
	return sig, nil
}

// selfCertificate makes the validator's self-signed certificate over pub, signed
// through sign. The validity period spans everything x509 can express: peers
// never check it (the genesis, not a clock, says which keys are valid).
func selfCertificate(pub []byte, sign SignFunc) (tls.Certificate, error) {
	signer := keySigner{pub: stded25519.PublicKey(slices.Clone(pub)), sign: sign}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "settle validator " + hex.EncodeToString(pub[:8])},
		NotBefore:    time.Unix(0, 0).UTC(),
		NotAfter:     time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.pub, signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("transport: self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: signer}, nil
}

// initTLS prepares the certificate and ALPN value of a TLS transport.
func (t *Transport) initTLS() error {
	if t.cfg.DisableTLS {
		return nil
	}
	cert, err := selfCertificate(t.cfg.PublicKey, t.cfg.Sign)
	if err != nil {
		return err
	}
	t.cert, t.alpn = cert, alpnFor(t.cfg.ChainID)
	return nil
}

// tlsConn is a replica TLS connection. Close closes the TCP connection at once,
// without a close_notify alert, which could wait on a stuck peer for seconds:
// frames are length-prefixed, so a truncated stream is detected anyway.
type tlsConn struct {
	*tls.Conn
	raw net.Conn
	// otherChain: (acceptor) the dialer offered ALPN protocols, none ours.
	otherChain bool
}

func (c *tlsConn) Close() error { return c.raw.Close() }

// secure wraps a fresh TCP connection for the handshake: a TLS client when
// dialing validator wantPeer, a server when accepting (wantPeer < 0). Without
// TLS it returns raw.
func (t *Transport) secure(raw net.Conn, wantPeer int) net.Conn {
	if t.cfg.DisableTLS {
		return raw
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		MaxVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{t.cert},
		NextProtos:   []string{t.alpn},
		// No CA chain: the certificate's key is checked against the genesis set.
		InsecureSkipVerify:          true,
		VerifyConnection:            func(cs tls.ConnectionState) error { _, err := t.verifyPeer(cs, wantPeer); return err },
		SessionTicketsDisabled:      true,
		DynamicRecordSizingDisabled: true, // long-lived bulk links: full records at once
	}
	if wantPeer >= 0 {
		cfg.ServerName = tlsServerName
		return &tlsConn{Conn: tls.Client(raw, cfg), raw: raw}
	}
	cfg.ClientAuth = tls.RequireAnyClientCert // verified by verifyPeer, not by a CA
	c := &tlsConn{raw: raw}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		// Only noted: crypto/tls itself refuses a dialer that does not offer our
		// protocol, with the standard no_application_protocol alert.
		c.otherChain = len(hello.SupportedProtos) > 0 && !slices.Contains(hello.SupportedProtos, t.alpn)
		return nil, nil
	}
	c.Conn = tls.Server(raw, cfg)
	return c
}

// verifyPeer checks the peer's certificate and protocol and returns its index.
func (t *Transport) verifyPeer(cs tls.ConnectionState, wantPeer int) (int, error) {
	if cs.Version != tls.VersionTLS13 {
		return -1, fmt.Errorf("%w: TLS version %x, want 1.3", ErrHandshake, cs.Version)
	}
	if cs.NegotiatedProtocol != t.alpn {
		return -1, fmt.Errorf("%w: negotiated protocol %q, this chain is %q", ErrWrongChain, cs.NegotiatedProtocol, t.alpn)
	}
	if len(cs.PeerCertificates) != 1 {
		return -1, fmt.Errorf("%w: %d certificates, want exactly 1", ErrHandshake, len(cs.PeerCertificates))
	}
	cert := cs.PeerCertificates[0]
	key, ok := cert.PublicKey.(stded25519.PublicKey)
	if !ok || len(key) != sigverify.PublicKeySize {
		return -1, fmt.Errorf("%w: the certificate's key is not Ed25519", ErrUnknownKey)
	}
	// The self-signature adds nothing to the CertificateVerify proof, but a
	// certificate the key did not sign is not a validator's: refuse it.
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		return -1, fmt.Errorf("%w: certificate not self-signed by its key: %v", ErrBadSignature, err)
	}
	return t.checkPeerKey(key, wantPeer)
}

// tlsHandshake runs the TLS handshake of c and the acceptance ack, and returns
// the peer's index.
func (t *Transport) tlsHandshake(c *tlsConn, wantPeer int) (int, error) {
	if err := c.Handshake(); err != nil {
		if c.otherChain {
			return -1, fmt.Errorf("%w: %w: %w", ErrHandshake, ErrWrongChain, err)
		}
		return -1, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	peer, err := t.verifyPeer(c.ConnectionState(), wantPeer)
	if err != nil {
		return -1, err // INVARIANT: unreachable, VerifyConnection ran the same check
	}
	var ack [len(acceptAck)]byte
	if wantPeer < 0 {
		copy(ack[:], acceptAck)
		if _, err := c.Write(ack[:]); err != nil {
			return -1, fmt.Errorf("%w: write ack: %v", ErrHandshake, err)
		}
		return peer, nil
	}
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return -1, fmt.Errorf("%w: validator %d did not accept us: %w", ErrHandshake, peer, err)
	}
	if !bytes.Equal(ack[:], []byte(acceptAck)) {
		return -1, fmt.Errorf("%w: bad ack from validator %d", ErrHandshake, peer)
	}
	return peer, nil
}
