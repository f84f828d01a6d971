package txn

import (
	"crypto/ed25519"
	"fmt"
	"sort"
)

// Key is an Ed25519 signing key.
type Key struct {
	priv ed25519.PrivateKey
}

// KeyFromSeed derives a key from a 32-byte seed (RFC 8032).
func KeyFromSeed(seed []byte) (Key, error) {
	if len(seed) != ed25519.SeedSize {
		return Key{}, fmt.Errorf("seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	return Key{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Seed returns the key's 32-byte seed. Keep it secret.
func (k Key) Seed() []byte { return k.priv.Seed() }

// PublicKey returns the 32-byte public key.
func (k Key) PublicKey() [PublicKeySize]byte {
	var p [PublicKeySize]byte
	copy(p[:], k.priv.Public().(ed25519.PublicKey))
	return p
}

// AccountID returns the account id this key's public key derives.
func (k Key) AccountID() AccountID {
	pub := k.PublicKey()
	return AccountIDFromPublicKey(pub[:])
}

// SignBytes signs an arbitrary message with the key.
func (k Key) SignBytes(msg []byte) [SignatureSize]byte {
	var s [SignatureSize]byte
	copy(s[:], ed25519.Sign(k.priv, msg))
	return s
}

// Sign fills in tx's signatures with keys (sorted by public key as the encoding
// requires), runs the stateless checks and seals the encoding and hash.
// Any Sigs already present are replaced.
func Sign(tx *Tx, keys ...Key) error {
	if len(keys) == 0 || len(keys) > SigCountMax {
		return fmt.Errorf("sign: %d keys, want 1 to %d", len(keys), SigCountMax)
	}
	sorted := append([]Key(nil), keys...)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i].PublicKey(), sorted[j].PublicKey()
		return string(a[:]) < string(b[:])
	})
	tx.Sigs = make([]Sig, len(sorted))
	for i, k := range sorted {
		tx.Sigs[i].PublicKey = k.PublicKey()
	}
	if err := Check(tx); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	tx.bodyLen = bodyLen(tx)
	msg := appendBody(make([]byte, 0, tx.bodyLen), tx)
	for i, k := range sorted {
		tx.Sigs[i].Signature = k.SignBytes(msg)
	}
	tx.seal()
	return nil
}
