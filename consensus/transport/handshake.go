package transport

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"time"

	"settle/engine/sigverify"
)

// Plaintext handshake (Config.DisableTLS; TLS 1.3 is the default, see tls.go),
// run by both ends at once right after the TCP connection opens:
//
//	both → hello:     magic "SETTLEP1" | nonce (32 random bytes) | public key (32)
//	both → signature: Ed25519 signature (64) over transcriptDigest(role)
//
// Neither message depends on the other side's, so both ends write and then read
// without deadlocking. The whole exchange runs under Config.HandshakeTimeout.
const (
	helloMagic      = "SETTLEP1"
	nonceBytes      = 32
	helloBytes      = len(helloMagic) + nonceBytes + sigverify.PublicKeySize
	transportDomain = "settle/transport/v1"
	roleDialer      = 1
	roleAcceptor    = 2
)

// transcriptDigest is SHA-256 over
//
//	"settle/transport/v1" | 0x00 | u8 len(chainID) | chainID |
//	dialer nonce | acceptor nonce | dialer key | acceptor key | role u8
//
// Fresh nonces from both sides make a signature useless on any other connection;
// the chain id makes it useless on any other network; the role stops a peer from
// reflecting our own signature back at us.
func transcriptDigest(chainID string, dialerNonce, acceptorNonce, dialerKey, acceptorKey []byte, role byte) []byte {
	h := sha256.New()
	h.Write([]byte(transportDomain))
	h.Write([]byte{0, byte(len(chainID))})
	h.Write([]byte(chainID))
	h.Write(dialerNonce)
	h.Write(acceptorNonce)
	h.Write(dialerKey)
	h.Write(acceptorKey)
	h.Write([]byte{role})
	return h.Sum(nil)
}

// handshake authenticates conn (from secure) under Config.HandshakeTimeout. When
// dialing, wantPeer is the index we dialled and the peer must hold its key; when
// accepting (wantPeer < 0) the peer may be any other validator (a higher one
// dials back when we could not reach it, runPeer). It returns the peer's index.
func (t *Transport) handshake(conn net.Conn, wantPeer int) (int, error) {
	if err := conn.SetDeadline(time.Now().Add(t.cfg.HandshakeTimeout)); err != nil {
		return -1, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	var peer int
	var err error
	if tc, ok := conn.(*tlsConn); ok {
		peer, err = t.tlsHandshake(tc, wantPeer)
	} else {
		peer, err = t.plainHandshake(conn, wantPeer)
	}
	if err != nil {
		return -1, err
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return -1, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return peer, nil
}

// plainHandshake is the SETTLEP1 exchange above (Config.DisableTLS).
func (t *Transport) plainHandshake(conn net.Conn, wantPeer int) (int, error) {
	dialer := wantPeer >= 0
	var hello [helloBytes]byte
	copy(hello[:], helloMagic)
	nonce := hello[len(helloMagic) : len(helloMagic)+nonceBytes]
	if _, err := rand.Read(nonce); err != nil {
		return -1, fmt.Errorf("%w: nonce: %v", ErrHandshake, err)
	}
	copy(hello[len(helloMagic)+nonceBytes:], t.cfg.PublicKey)
	if _, err := conn.Write(hello[:]); err != nil {
		return -1, fmt.Errorf("%w: write hello: %v", ErrHandshake, err)
	}
	var theirs [helloBytes]byte
	if _, err := io.ReadFull(conn, theirs[:]); err != nil {
		return -1, fmt.Errorf("%w: read hello: %v", ErrHandshake, err)
	}
	if !bytes.Equal(theirs[:len(helloMagic)], []byte(helloMagic)) {
		return -1, fmt.Errorf("%w: bad magic", ErrHandshake)
	}
	theirNonce := theirs[len(helloMagic) : len(helloMagic)+nonceBytes]
	theirKey := theirs[len(helloMagic)+nonceBytes:]
	peer, err := t.checkPeerKey(theirKey, wantPeer)
	if err != nil {
		return -1, err
	}

	dn, an, dk, ak := nonce, theirNonce, []byte(t.cfg.PublicKey), theirKey
	ourRole, theirRole := byte(roleDialer), byte(roleAcceptor)
	if !dialer {
		dn, an, dk, ak = theirNonce, nonce, theirKey, t.cfg.PublicKey
		ourRole, theirRole = roleAcceptor, roleDialer
	}
	sig := t.cfg.Sign(transcriptDigest(t.cfg.ChainID, dn, an, dk, ak, ourRole))
	if len(sig) != sigverify.SignatureSize {
		return -1, fmt.Errorf("%w: signer returned %d bytes", ErrHandshake, len(sig))
	}
	if _, err := conn.Write(sig); err != nil {
		return -1, fmt.Errorf("%w: write signature: %v", ErrHandshake, err)
	}
	var theirSig [sigverify.SignatureSize]byte
	if _, err := io.ReadFull(conn, theirSig[:]); err != nil {
		return -1, fmt.Errorf("%w: read signature: %v", ErrHandshake, err)
	}
	digest := transcriptDigest(t.cfg.ChainID, dn, an, dk, ak, theirRole)
	if !sigverify.Verify(theirKey, digest, theirSig[:]) {
		return -1, fmt.Errorf("%w: from validator %d (wrong key or chain id)", ErrBadSignature, peer)
	}
	return peer, nil
}

// checkPeerKey maps a presented key to a validator index; a dialler also
// checks it is the validator it dialled.
func (t *Transport) checkPeerKey(key []byte, wantPeer int) (int, error) {
	if sigverify.WeakKey(key) {
		return -1, fmt.Errorf("%w: weak or malformed key", ErrUnknownKey)
	}
	p, ok := t.byKey[[32]byte(key)]
	if !ok {
		return -1, fmt.Errorf("%w: %x", ErrUnknownKey, key)
	}
	// Either index may dial (runPeer: the higher one dials back a peer that
	// cannot reach it); what is checked is the key.
	if wantPeer >= 0 && p.index != wantPeer {
		return -1, fmt.Errorf("%w: dialled validator %d, key belongs to %d", ErrUnknownKey, wantPeer, p.index)
	}
	return p.index, nil
}
