package transport

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"settle/engine/sigverify"
	"settle/internal/defaults"
)

// Defaults applied by New to zero-valued Config fields.
const (
	SendQueueMaxDefault      = 1024
	SendQueueBytesMaxDefault = 64 << 20
	LowQueueMaxDefault       = 1024
	LowQueueBytesMaxDefault  = 32 << 20
	RecvQueueMaxDefault      = 4096
	FrameBytesMaxDefault     = 16 << 20
	DialBackoffMinDefault    = 50 * time.Millisecond
	DialBackoffMaxDefault    = 2 * time.Second
	HandshakeTimeoutDefault  = 5 * time.Second
	// ReverseDialAfterDefault is how long a validator waits for a lower-index
	// peer to dial it before it dials that peer itself: longer than the lower
	// one's longest backoff, so that the canonical direction normally wins.
	ReverseDialAfterDefault = 3 * time.Second
	WriteTimeoutDefault     = 5 * time.Second
	// CompressMinBytesDefault: frames at or below it are never compressed. Votes,
	// timeouts and QCs are a few hundred bytes; proposals are tens to hundreds of
	// kilobytes (see docs/consensus.md, "Transport", for the measurement).
	CompressMinBytesDefault = 4096
	// FrameBytesMaxLimit is the hard ceiling on Config.FrameBytesMax.
	FrameBytesMaxLimit = 64 << 20
)

// Peer is one validator of the set.
type Peer struct {
	Index     int
	PublicKey []byte // 32-byte Ed25519 public key
	// Addr is host:port. It is needed for peers with a higher index than Self
	// (this side dials them); for a lower one it lets this side dial back when
	// that peer cannot reach us (it has a stale address for us).
	Addr string
}

// SignFunc signs a handshake message with this validator's key (pure Ed25519, no
// pre-hash) and returns the 64-byte signature. It signs this validator's
// self-signed certificate once, in New, and TLS 1.3's CertificateVerify content
// on every connection (or, with DisableTLS, a 32-byte transcript digest).
type SignFunc func(msg []byte) []byte

// Config configures a Transport. Zero values take the defaults above.
type Config struct {
	ChainID string
	Self    int
	// Key is this validator's private key. Alternatively leave it nil and set Sign
	// and PublicKey (for keys held elsewhere).
	Key       ed25519.PrivateKey
	Sign      SignFunc
	PublicKey []byte
	// Peers is the validator set. It may include Self (its key must then match).
	Peers []Peer
	// ListenAddr is where peers with a lower index connect. Listener, when set,
	// is used instead (tests bind port 0 before building the peer list).
	ListenAddr string
	Listener   net.Listener

	SendQueueMax      int         // frames queued per peer before Send drops
	SendQueueBytesMax int         // wire bytes queued per peer before Send drops
	LowQueueMax       int         // low-priority (gossip) frames queued per peer before SendLow drops
	LowQueueBytesMax  int         // low-priority wire bytes queued per peer before SendLow drops
	RecvQueueMax      int         // frames buffered in Recv() before the readers drop
	FrameBytesMax     int         // largest frame, before and after compression
	CompressMinBytes  int         // frames above this size are compressed; <0 disables
	Compression       Compression // codec for those frames (default S2)
	DialBackoffMin    time.Duration
	DialBackoffMax    time.Duration
	HandshakeTimeout  time.Duration
	ReverseDialAfter  time.Duration // see ReverseDialAfterDefault
	WriteTimeout      time.Duration

	// DisableTLS turns replica encryption off: connections then run the
	// plaintext SETTLEP1 handshake (handshake.go) and frames cross the wire in
	// the clear, authenticated but readable. Both ends must agree (a TLS end and
	// a plaintext end fail each other's handshake). Meant for measured
	// comparisons; the default is TLS 1.3 bound to the validator keys (tls.go).
	DisableTLS bool
}

// Errors returned by New and by the handshake; match with errors.Is.
var (
	ErrConfig         = errors.New("transport: invalid config")
	ErrHandshake      = errors.New("transport: handshake failed")
	ErrUnknownKey     = errors.New("transport: peer key not in the validator set")
	ErrBadSignature   = errors.New("transport: bad handshake signature")
	ErrFrameTooLarge  = errors.New("transport: frame too large")
	ErrBadFrame       = errors.New("transport: malformed frame")
	ErrClosed         = errors.New("transport: closed")
	ErrAlreadyStarted = errors.New("transport: already started")
)

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}

// withDefaults validates c and returns a copy with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.ChainID == "" || len(c.ChainID) > 255 {
		return c, configErr("chain id must be 1 to 255 bytes, got %d", len(c.ChainID))
	}
	if c.Key != nil {
		if len(c.Key) != ed25519.PrivateKeySize {
			return c, configErr("private key must be %d bytes", ed25519.PrivateKeySize)
		}
		key := c.Key
		c.Sign = func(d []byte) []byte { return ed25519.Sign(key, d) }
		c.PublicKey = key.Public().(ed25519.PublicKey)
	}
	if c.Sign == nil || len(c.PublicKey) != sigverify.PublicKeySize {
		return c, configErr("need Key, or Sign and a 32-byte PublicKey")
	}
	if sigverify.WeakKey(c.PublicKey) {
		return c, configErr("own public key is weak")
	}
	if c.Self < 0 {
		return c, configErr("self index %d is negative", c.Self)
	}
	if err := c.checkPeers(); err != nil {
		return c, err
	}
	if c.ListenAddr == "" && c.Listener == nil && c.hasLowerPeer() {
		return c, configErr("peers with a lower index need ListenAddr or Listener")
	}
	defaults.Set(&c.SendQueueMax, SendQueueMaxDefault)
	defaults.Set(&c.SendQueueBytesMax, SendQueueBytesMaxDefault)
	defaults.Set(&c.LowQueueMax, LowQueueMaxDefault)
	defaults.Set(&c.LowQueueBytesMax, LowQueueBytesMaxDefault)
	defaults.Set(&c.RecvQueueMax, RecvQueueMaxDefault)
	defaults.Set(&c.FrameBytesMax, FrameBytesMaxDefault)
	defaults.Set(&c.CompressMinBytes, CompressMinBytesDefault)
	defaults.Set(&c.DialBackoffMin, DialBackoffMinDefault)
	defaults.Set(&c.DialBackoffMax, DialBackoffMaxDefault)
	defaults.Set(&c.HandshakeTimeout, HandshakeTimeoutDefault)
	defaults.Set(&c.ReverseDialAfter, ReverseDialAfterDefault)
	defaults.Set(&c.WriteTimeout, WriteTimeoutDefault)
	switch {
	case c.SendQueueMax < 0 || c.RecvQueueMax < 0 || c.SendQueueBytesMax < 0 ||
		c.LowQueueMax < 0 || c.LowQueueBytesMax < 0:
		return c, configErr("queue sizes must be positive")
	case c.FrameBytesMax < 0 || c.FrameBytesMax > FrameBytesMaxLimit:
		return c, configErr("FrameBytesMax must be 1 to %d", FrameBytesMaxLimit)
	case c.DialBackoffMin < 0 || c.DialBackoffMax < c.DialBackoffMin:
		return c, configErr("need 0 < DialBackoffMin <= DialBackoffMax")
	case c.Compression > CompressionNone:
		return c, configErr("unknown compression %d", c.Compression)
	case c.HandshakeTimeout < 0 || c.WriteTimeout < 0:
		return c, configErr("timeouts must be positive")
	}
	return c, nil
}

func (c *Config) checkPeers() error {
	seenIdx := map[int]bool{}
	seenKey := map[[32]byte]bool{}
	for _, p := range c.Peers {
		if p.Index < 0 || seenIdx[p.Index] {
			return configErr("peer index %d is negative or repeated", p.Index)
		}
		seenIdx[p.Index] = true
		if sigverify.WeakKey(p.PublicKey) {
			return configErr("peer %d has a weak or malformed public key", p.Index)
		}
		k := [32]byte(p.PublicKey)
		if seenKey[k] {
			return configErr("peer %d repeats another validator's key", p.Index)
		}
		seenKey[k] = true
		if p.Index != c.Self && k == [32]byte(c.PublicKey) {
			return configErr("peer %d has this validator's own key", p.Index)
		}
		if p.Index == c.Self {
			if k != [32]byte(c.PublicKey) {
				return configErr("peer entry for self (%d) has another key", p.Index)
			}
			continue
		}
		if p.Index > c.Self && p.Addr == "" {
			return configErr("peer %d has a higher index and needs an Addr", p.Index)
		}
	}
	return nil
}

func (c *Config) hasLowerPeer() bool {
	for _, p := range c.Peers {
		if p.Index < c.Self {
			return true
		}
	}
	return false
}
