package merkle

import (
	"bytes"
	"fmt"
)

// Leaf is a state-tree leaf as it appears in a proof.
type Leaf struct {
	Key, ValueHash Hash
}

// StateProof proves that a key is present in a state tree with a given
// value hash, or that it is absent.
type StateProof struct {
	// Siblings are the hashes beside the path to the key, from the root
	// down: Siblings[i] is the sibling at depth i (EmptyHash for an empty
	// sibling).
	Siblings []Hash
	// Leaf is where the path ends after len(Siblings) steps: the key's own
	// leaf (present); another leaf that shares the first len(Siblings) bits
	// with the key (absent); or nil when the path ends in an empty subtree
	// (absent).
	Leaf *Leaf
}

// Prove returns the proof of key's presence or absence in this version.
func (t Tree) Prove(key Hash) StateProof {
	// Two walks: the first sizes Siblings exactly, so the proof holds no
	// slack that callers would retain or serialize.
	siblings := make([]Hash, 0, t.pathDepth(&key))
	n := t.root
	for depth := 0; ; depth++ {
		switch x := n.(type) {
		case *inner:
			if bit(&key, depth) == 0 {
				siblings = append(siblings, hashOf(x.right))
				n = x.left
			} else {
				siblings = append(siblings, hashOf(x.left))
				n = x.right
			}
		case *leaf:
			return StateProof{Siblings: siblings, Leaf: &Leaf{Key: x.key, ValueHash: x.value}}
		default:
			return StateProof{Siblings: siblings}
		}
	}
}

// pathDepth is the number of internal nodes on the path to key.
func (t Tree) pathDepth(key *Hash) int {
	depth := 0
	for n := t.root; ; depth++ {
		x, ok := n.(*inner)
		if !ok {
			return depth
		}
		n = child(x, key, depth)
	}
}

// VerifyState checks p against root for key and returns key's value hash
// and whether it is present. This is what light clients run, so it accepts
// a proof only if it recomputes root exactly:
//
//  1. d = len(p.Siblings) must be at most 256.
//  2. If p.Leaf is nil the path ends in an empty subtree: key is absent and
//     the running hash starts as EmptyHash. If p.Leaf.Key == key, key is
//     present and the running hash starts as StateLeafHash(key,
//     p.Leaf.ValueHash). Otherwise p.Leaf must share the first d bits with
//     key (it is the leaf that key's path runs into), key is absent, and
//     the running hash starts as StateLeafHash(p.Leaf.Key,
//     p.Leaf.ValueHash).
//  3. For i = d-1 down to 0: if bit i of key is 0 the running hash becomes
//     NodeHash(running, Siblings[i]), else NodeHash(Siblings[i], running).
//  4. The running hash must equal root.
//
// Every error wraps ErrProof; on error the other results are zero.
func VerifyState(root, key Hash, p StateProof) (valueHash Hash, present bool, err error) {
	d := len(p.Siblings)
	if d > KeyBits {
		return Hash{}, false, fmt.Errorf("%w: proof has %d siblings, a %d-bit key allows at most %d",
			ErrProof, d, KeyBits, KeyBits)
	}
	cur, err := proofStart(&key, p.Leaf, d)
	if err != nil {
		return Hash{}, false, err
	}
	for i := d - 1; i >= 0; i-- {
		if bit(&key, i) == 0 {
			cur = NodeHash(cur, p.Siblings[i])
		} else {
			cur = NodeHash(p.Siblings[i], cur)
		}
	}
	if cur != root {
		return Hash{}, false, fmt.Errorf("%w: root mismatch for key %x: the proof yields %x, expected %x",
			ErrProof, key, cur, root)
	}
	if p.Leaf != nil && p.Leaf.Key == key {
		return p.Leaf.ValueHash, true, nil
	}
	return Hash{}, false, nil
}

// proofStart is the hash where the proof's path ends (step 2 of
// VerifyState).
func proofStart(key *Hash, l *Leaf, d int) (Hash, error) {
	switch {
	case l == nil:
		return EmptyHash, nil
	case l.Key == *key:
		return StateLeafHash(*key, l.ValueHash), nil
	case !sharesPrefix(key, &l.Key, d):
		// Without this check a proof of some unrelated leaf would pass as
		// proof that key is absent.
		return Hash{}, fmt.Errorf("%w: the proof's leaf %x is not on the key's path (key %x, depth %d)",
			ErrProof, l.Key, *key, d)
	default:
		return StateLeafHash(l.Key, l.ValueHash), nil
	}
}

// sharesPrefix reports whether a and b agree on their first n bits
// (n <= KeyBits).
func sharesPrefix(a, b *Hash, n int) bool {
	full := n / 8
	if !bytes.Equal(a[:full], b[:full]) {
		return false
	}
	rest := n % 8
	if rest == 0 {
		return true
	}
	mask := byte(0xff) << (8 - rest)
	return a[full]&mask == b[full]&mask
}
