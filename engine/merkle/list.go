package merkle

import (
	"crypto/sha256"
	"fmt"
	"math/bits"
	"slices"
)

// ListRoot returns the RFC 6962 Merkle Tree Hash of leaves, which must
// already be LeafHash values:
//
//   - no leaves: SHA-256 of the empty string;
//   - one leaf: that leaf hash;
//   - n > 1 leaves: NodeHash(ListRoot(leaves[:k]), ListRoot(leaves[k:])),
//     where k is the largest power of two strictly less than n.
//
// It runs once per block over up to some ten thousand leaves, so it works
// left to right on a fixed stack of perfect subtrees and allocates nothing.
func ListRoot(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	// INVARIANT: after i leaves, stack[:top] holds the roots of the perfect
	// subtrees that i decomposes into (one per set bit of i, biggest
	// first). A slice length has at most 63 set bits, plus the one leaf
	// pushed before merging, so 64 entries always suffice.
	var stack [64]Hash
	top := 0
	for i, h := range leaves {
		stack[top] = h
		top++
		// Each trailing zero bit of the new count is a pair of equal
		// perfect subtrees that now completes a bigger one.
		for n := i + 1; n&1 == 0; n >>= 1 {
			stack[top-2] = NodeHash(stack[top-2], stack[top-1])
			top--
		}
	}
	// The RFC split puts the biggest perfect subtree on the left of every
	// level, so what remains folds from the right.
	root := stack[top-1]
	for j := top - 2; j >= 0; j-- {
		root = NodeHash(stack[j], root)
	}
	return root
}

// ListPath returns the RFC 6962 audit path of leaves[index]: the sibling
// hashes from the leaf up to the root, as VerifyList expects them. leaves
// must already be LeafHash values.
//
// ListPath panics if index is outside leaves: asking for the path of a
// leaf that does not exist is a bug in the caller, not a runtime condition.
func ListPath(leaves []Hash, index int) []Hash {
	if index < 0 || index >= len(leaves) {
		panic(fmt.Sprintf("merkle: ListPath: index %d is outside a list of %d", index, len(leaves)))
	}
	path := make([]Hash, 0, listPathLen(uint64(index), uint64(len(leaves))))
	// Walk the RFC split from the root down; each step's sibling is the
	// root of the half that does not hold the leaf.
	lo, hi := 0, len(leaves)
	for hi-lo > 1 {
		k := int(splitPoint(uint64(hi - lo)))
		if index < lo+k {
			path = append(path, ListRoot(leaves[lo+k:hi]))
			hi = lo + k
		} else {
			path = append(path, ListRoot(leaves[lo:lo+k]))
			lo += k
		}
	}
	// Collected root-first; the audit path runs leaf-first.
	slices.Reverse(path)
	return path
}

// VerifyList checks that leaf (a LeafHash value) is at position index of a
// list of count leaves whose ListRoot is root, given its audit path. It runs
// the RFC 9162 §2.1.3.2 algorithm. Every error wraps ErrProof.
func VerifyList(leaf Hash, index, count uint64, path []Hash, root Hash) error {
	if count == 0 {
		return fmt.Errorf("%w: a list of 0 leaves has no leaf %d", ErrProof, index)
	}
	if index >= count {
		return fmt.Errorf("%w: index %d is outside a list of %d", ErrProof, index, count)
	}
	// The path length is fixed by (index, count); checking it first turns
	// a truncated or padded path into a precise message.
	if want := listPathLen(index, count); len(path) != want {
		return fmt.Errorf("%w: path has %d hashes, leaf %d of a list of %d needs %d",
			ErrProof, len(path), index, count, want)
	}
	r, err := foldListPath(leaf, index, count, path)
	if err != nil {
		return err
	}
	if r != root {
		return fmt.Errorf("%w: root mismatch for leaf %d of a list of %d: the path yields %x, expected %x",
			ErrProof, index, count, r, root)
	}
	return nil
}

// foldListPath is the RFC 9162 §2.1.3.2 loop: fn is the leaf's position and
// sn the last position at the current level; a node that is a right child,
// or the last node of a level with no right sibling, takes its sibling from
// the left.
func foldListPath(leaf Hash, index, count uint64, path []Hash) (Hash, error) {
	fn, sn := index, count-1
	r := leaf
	for _, p := range path {
		if sn == 0 {
			return Hash{}, fmt.Errorf("%w: path is longer than a list of %d allows", ErrProof, count)
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			// A last node with no right sibling is promoted unchanged
			// through the levels where it stays a left child.
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, fmt.Errorf("%w: path is shorter than a list of %d needs", ErrProof, count)
	}
	return r, nil
}

// listPathLen is the number of hashes in the audit path of leaf index of a
// list of count leaves: the number of RFC splits above the leaf.
func listPathLen(index, count uint64) int {
	n := 0
	for count > 1 {
		k := splitPoint(count)
		if index < k {
			count = k
		} else {
			index -= k
			count -= k
		}
		n++
	}
	return n
}

// splitPoint is the RFC 6962 k for n > 1 leaves: the largest power of two
// strictly less than n.
func splitPoint(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}
