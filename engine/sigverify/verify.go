package sigverify

import (
	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

const (
	// PublicKeySize is the size of an Ed25519 public key in bytes.
	PublicKeySize = 32
	// SignatureSize is the size of an Ed25519 signature in bytes.
	SignatureSize = 64
)

// zip215Options selects the ZIP-215 rule for both single and batch checks.
// INVARIANT: every verification in this package passes exactly this value;
// it is never modified after package initialisation.
var zip215Options = &ed25519.Options{Verify: ed25519.VerifyOptionsZIP_215}

// Verify reports whether sig is a valid signature of msg by pub under ZIP-215.
// Inputs of the wrong length are invalid (never a panic).
func Verify(pub, msg, sig []byte) bool {
	if !wellFormed(pub, sig) {
		return false
	}
	return ed25519.VerifyWithOptions(ed25519.PublicKey(pub), msg, sig, zip215Options)
}

// wellFormed applies the checks of the rule that need no curve arithmetic:
// the lengths, and S < L. The library applies the same checks; doing them
// first keeps malformed items out of batches (where they would fail the whole
// batch) and guards the library's panic on a public key of the wrong length.
func wellFormed(pub, sig []byte) bool {
	return len(pub) == PublicKeySize && len(sig) == SignatureSize &&
		scalar.ScMinimalVartime(sig[32:])
}

// WeakKey reports whether pub must be refused wherever a key enters the
// ledger: it is not 32 bytes, not a valid point encoding, not the canonical
// encoding of its point, or a small-order point (one of the 8 points of the
// torsion subgroup E[8], for which anyone can forge ZIP-215 signatures).
// Mixed-order keys (a prime-order point plus a torsion component) are not
// weak: the cofactored equation ignores the torsion part and forging still
// needs the discrete logarithm.
func WeakKey(pub []byte) bool {
	if len(pub) != PublicKeySize {
		return true
	}
	var compressed curve.CompressedEdwardsY
	if _, err := compressed.SetBytes(pub); err != nil {
		return true
	}
	if !compressed.IsCanonicalVartime() {
		return true
	}
	var point curve.EdwardsPoint
	if _, err := point.SetCompressedY(&compressed); err != nil {
		return true
	}
	return point.IsSmallOrder()
}
