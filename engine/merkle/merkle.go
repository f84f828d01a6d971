// Package merkle provides the two authenticated structures behind the
// ledger's light-client proofs:
//
//   - an ordered list tree (the transactions of a block with their results)
//     with exactly the shape and hashing of RFC 6962 / RFC 9162: ListRoot,
//     ListPath, VerifyList;
//   - a sparse Merkle tree over 256-bit keys (the ledger state) with leaf
//     compression, immutable and versioned by path copying: Tree, Prove,
//     VerifyState.
//
// Both hash with SHA-256 and separate domains by a one-byte prefix: 0x00 for
// leaves and 0x01 for internal nodes, so that no leaf can be passed off as an
// internal node or the other way round. A verifier in another language is
// written from the byte definitions in the doc comments of this package, so
// those definitions are the contract; the known-answer vectors in testdata/
// pin them.
package merkle

import (
	"crypto/sha256"
	"errors"
)

// Hash is a SHA-256 digest. It is an alias rather than a named type so that
// callers holding their own [32]byte types can pass them after a plain
// conversion.
type Hash = [32]byte

// Domain-separation prefixes shared by both trees.
const (
	leafPrefix = 0x00
	nodePrefix = 0x01
)

// EmptyHash is the hash of an empty subtree of the state tree: 32 zero bytes.
// (The empty list tree is different: its root is SHA-256 of the empty
// string, as RFC 6962 says.)
var EmptyHash Hash

// ErrProof is wrapped by every error that VerifyList and VerifyState return,
// so callers can test for a rejected proof with errors.Is whatever the
// detailed reason.
var ErrProof = errors.New("invalid proof")

// LeafHash is the list-tree hash of one leaf: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) Hash {
	// The digest does not escape, so this hashes without a heap allocation
	// (checked with Go 1.26), whatever the leaf's length.
	d := sha256.New()
	d.Write([]byte{leafPrefix})
	d.Write(leaf)
	var h Hash
	d.Sum(h[:0])
	return h
}

// NodeHash is the hash of an internal node of either tree:
// SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*len(Hash{})]byte
	buf[0] = nodePrefix
	copy(buf[1:], left[:])
	copy(buf[1+len(left):], right[:])
	return sha256.Sum256(buf[:])
}

// StateLeafHash is the state-tree hash of the leaf that binds key to
// valueHash: SHA-256(0x00 || key || valueHash).
func StateLeafHash(key, valueHash Hash) Hash {
	var buf [1 + 2*len(Hash{})]byte
	buf[0] = leafPrefix
	copy(buf[1:], key[:])
	copy(buf[1+len(key):], valueHash[:])
	return sha256.Sum256(buf[:])
}
