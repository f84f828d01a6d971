// Package sigverify is the one Ed25519 verification rule of Settle. Every
// replica, every code path (single checks, batches, the worker pool) and every
// caller (ingress, mempool, block execution, consensus) verifies signatures
// through this package, so they all reach the same verdict on every input.
//
// # The rule: ZIP-215
//
// A signature (R, S) by public key A over message M is valid when:
//
//   - A is 32 bytes that decode to a point on the curve. Non-canonical
//     encodings of the y-coordinate (y >= p) and small-order points are
//     accepted here (see WeakKey for where they are refused);
//   - the signature is 64 bytes; R (its first 32) decodes to a point on the
//     curve, again accepting non-canonical encodings and small order;
//   - S (its last 32) is canonical, S < L, where L is the order of the prime
//     subgroup (this is what makes signatures non-malleable);
//   - the cofactored equation [8][S]B = [8]R + [8][k]A holds, where
//     k = SHA-512(R_bytes || A_bytes || M) mod L is computed over the bytes
//     exactly as received (never re-encoded).
//
// This is ZIP-215 (Zcash), implemented by curve25519-voi's
// VerifyOptionsZIP_215 and used by CometBFT. Why this rule and not the
// standard library's: crypto/ed25519 checks the cofactorless equation
// [S]B = R + [k]A and rejects non-canonical R, while every batch verifier checks
// a random linear combination of the cofactored equation. A crafted signature
// whose error term has small order passes the cofactored check and fails the
// cofactorless one, so a node mixing both would fork from its peers.
// ZIP-215 fixes one cofactored equation and an exact set of accepted
// encodings, so single and batch verification agree on every input
// (including the "Taming the many EdDSAs" and Wycheproof edge cases, checked
// by this package's tests), and a batch's verdict is a pure function of its
// items: the random batch coefficients change the verdict only with
// probability about 2^-128.
//
// # Weak keys
//
// ZIP-215 accepts small-order public keys, and for those anyone can produce a
// valid signature on any message without a private key. WeakKey is therefore a
// second, separate rule: the ledger refuses a key wherever one enters it
// (account creation, regular key, signer lists, validator keys) when it is not
// exactly 32 bytes, does not decode to a curve point, is a non-canonical
// encoding (y >= p or a negative zero x), or is one of the 8 small-order
// points. Verification itself does not apply WeakKey: doing so would change
// the consensus rule, and keys already refused on entry never sign anything
// the ledger acts on.
//
// # Batches and bisection
//
// VerifyBatch checks a group with one multi-scalar equation. When it fails,
// the invalid items are found by bisection: the failed group is halved, the
// left half checked, and a half that passes is settled in one go, so k bad
// signatures among n cost O(k log n) batch checks rather than n single ones.
// (Each check re-decodes its points and rehashes, as the library offers no
// way to re-check a subset of a batch, so one bad signature in 128 still
// costs about as much work as checking the rest singly; see the benchmarks.)
// Malformed items (wrong lengths, non-canonical S) are rejected before any
// curve arithmetic and never spoil a batch. Pool spreads chunks of a large
// request over one Verifier per core.
package sigverify
