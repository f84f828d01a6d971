package sigverify

import (
	"sync"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Item is one signature to verify. The slices are only read, and are not
// retained after the call that received them returns.
type Item struct {
	Pub, Msg, Sig []byte
}

const (
	// leafCountMax is the group size at or below which a group known (or
	// likely) to hold an invalid signature is settled by single checks
	// rather than further halving: below it a batch equation saves less
	// than the extra check it may cost.
	leafCountMax = 2

	// batchCountMin is the smallest group worth a batch equation at all;
	// smaller requests go straight to single checks.
	batchCountMin = 2

	// denseBadRatio: once more than one settled item in denseBadRatio has
	// turned out invalid, the rest of the call is settled by single checks.
	// Bisection wins when bad signatures are rare (one salted into every
	// batch); when most are bad, its batch checks are wasted work.
	denseBadRatio = 8
)

// Counters counts the work a Verifier has done since it was created.
type Counters struct {
	// BatchChecks counts batch equations evaluated (each over a group).
	BatchChecks uint64
	// SingleChecks counts single-signature equations evaluated.
	SingleChecks uint64
	// BatchFailures counts calls to VerifyBatch whose first batch equation
	// failed and had to be resolved by bisection.
	BatchFailures uint64
}

// Verifier verifies batches and keeps its scratch space between calls, so a
// long-lived Verifier does no per-item allocation of its own. A Verifier is
// not safe for concurrent use; Pool gives each worker its own.
type Verifier struct {
	bv       *ed25519.BatchVerifier
	idx      []int // indices of well-formed items, reused between calls
	counters Counters

	// Per call: items settled so far and how many of them were invalid.
	settledCount int
	badCount     int
}

// NewVerifier returns a Verifier with room for batches of sizeHint items.
func NewVerifier(sizeHint int) *Verifier {
	return &Verifier{
		bv:  ed25519.NewBatchVerifierWithCapacity(sizeHint),
		idx: make([]int, 0, sizeHint),
	}
}

// Counters returns the work counts of v.
func (v *Verifier) Counters() Counters { return v.counters }

var verifierPool = sync.Pool{New: func() any { return NewVerifier(128) }}

// VerifyBatch verifies items with one batch equation; if it fails, the invalid
// items are found by bisection. ok[i] receives item i's verdict, which always
// equals Verify(items[i].Pub, items[i].Msg, items[i].Sig). It returns true
// when every item is valid (and for an empty batch). It panics when
// len(ok) != len(items), a programming error.
func VerifyBatch(items []Item, ok []bool) bool {
	v := verifierPool.Get().(*Verifier)
	allOK := v.VerifyBatch(items, ok)
	verifierPool.Put(v)
	return allOK
}

// VerifyBatch is the package-level VerifyBatch using v's scratch space.
func (v *Verifier) VerifyBatch(items []Item, ok []bool) bool {
	if len(ok) != len(items) {
		panic("sigverify: len(ok) != len(items)")
	}
	idx := v.idx[:0]
	for i := range items {
		ok[i] = false
		if wellFormed(items[i].Pub, items[i].Sig) {
			idx = append(idx, i)
		}
	}
	v.idx = idx
	v.settledCount, v.badCount = 0, 0
	allOK := len(idx) == len(items)
	if len(idx) < batchCountMin {
		v.singles(items, ok, idx)
	} else if v.check(items, idx) {
		v.markValid(ok, idx)
	} else {
		v.counters.BatchFailures++
		v.bisect(items, ok, idx)
	}
	if !allOK {
		return false
	}
	for _, i := range idx {
		if !ok[i] {
			return false
		}
	}
	return true
}

// bisect settles the verdicts of group, which is known to hold at least one
// invalid item. When the left half passes, the bad item must be in the right
// half, which is halved again without checking it as a whole: one batch
// check per level for a single bad signature, O(k log n) for k of them.
//
// The inference is sound because the cofactored batch equation is complete:
// a group of valid items always passes, so a failed group holds an invalid
// item. A passing group is valid except with probability about 2^-128, the
// same guarantee as the batch equation itself.
func (v *Verifier) bisect(items []Item, ok []bool, group []int) {
	for len(group) > leafCountMax && !v.dense() {
		mid := len(group) / 2
		left, right := group[:mid], group[mid:]
		if !v.check(items, left) {
			v.bisect(items, ok, left)
			v.resolve(items, ok, right)
			return
		}
		v.markValid(ok, left)
		group = right // INVARIANT: right holds an invalid item.
	}
	v.singlesKnownBad(items, ok, group)
}

// resolve settles the verdicts of group, whose validity is unknown.
func (v *Verifier) resolve(items []Item, ok []bool, group []int) {
	switch {
	case len(group) <= leafCountMax || v.dense():
		v.singles(items, ok, group)
	case v.check(items, group):
		v.markValid(ok, group)
	default:
		v.bisect(items, ok, group)
	}
}

// dense reports whether bad items have been common in this call.
func (v *Verifier) dense() bool {
	return v.badCount*denseBadRatio > v.settledCount
}

// singlesKnownBad settles group, known to hold an invalid item, by single
// checks; when all items but the last are valid, the last is invalid
// without checking it.
func (v *Verifier) singlesKnownBad(items []Item, ok []bool, group []int) {
	last := len(group) - 1
	for j, i := range group[:last] {
		if !v.single(items, ok, i) {
			v.singles(items, ok, group[j+1:])
			return
		}
	}
	// INVARIANT: group holds an invalid item and every other one is valid.
	ok[group[last]] = false
	v.settledCount++
	v.badCount++
}

// check evaluates one batch equation over the items of group.
func (v *Verifier) check(items []Item, group []int) bool {
	v.counters.BatchChecks++
	bv := v.bv.Reset()
	// Expanded public keys cost an allocation and a table per item and only
	// pay off when a key verifies several signatures; a batch uses each once.
	bv.ForceNoPublicKeyExpansion()
	for _, i := range group {
		it := &items[i]
		bv.AddWithOptions(ed25519.PublicKey(it.Pub), it.Msg, it.Sig, zip215Options)
	}
	// nil selects crypto/rand: the library draws one 32-byte ChaCha20 key
	// per equation, so the cost is negligible next to the curve arithmetic.
	return bv.VerifyBatchOnly(nil)
}

// singles settles each item of group with a single check.
func (v *Verifier) singles(items []Item, ok []bool, group []int) {
	for _, i := range group {
		v.single(items, ok, i)
	}
}

// single settles item i with a single check and returns its verdict.
func (v *Verifier) single(items []Item, ok []bool, i int) bool {
	v.counters.SingleChecks++
	it := &items[i]
	valid := ed25519.VerifyWithOptions(ed25519.PublicKey(it.Pub), it.Msg, it.Sig, zip215Options)
	ok[i] = valid
	v.settledCount++
	if !valid {
		v.badCount++
	}
	return valid
}

func (v *Verifier) markValid(ok []bool, group []int) {
	for _, i := range group {
		ok[i] = true
	}
	v.settledCount += len(group)
}
