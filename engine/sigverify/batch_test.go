package sigverify

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestVerifyBatchBisection(t *testing.T) {
	const n = 256
	tests := []struct {
		name     string
		badCount int
	}{
		{"none bad", 0},
		{"one bad", 1},
		{"two bad", 2},
		{"17 bad", 17},
		{"all bad", n},
	}
	valid := signedItems(n, 3)
	for _, tt := range tests {
		for seed := range uint64(4) {
			rng := rand.New(rand.NewPCG(seed, uint64(tt.badCount)))
			items := append([]Item(nil), valid...)
			want := make([]bool, n)
			for i := range want {
				want[i] = true
			}
			for _, i := range rng.Perm(n)[:tt.badCount] {
				items[i] = corrupt(items[i])
				want[i] = false
			}
			v := NewVerifier(n)
			ok := make([]bool, n)
			allOK := v.VerifyBatch(items, ok)
			if allOK != (tt.badCount == 0) {
				t.Errorf("%s seed %d: allOK = %v", tt.name, seed, allOK)
			}
			for i := range ok {
				if ok[i] != want[i] {
					t.Fatalf("%s seed %d: item %d verdict %v, want %v", tt.name, seed, i, ok[i], want[i])
				}
			}
			c := v.Counters()
			checks := c.BatchChecks + c.SingleChecks
			// Each bad item costs at most two checks per halving on its path,
			// plus the single checks of its leaf.
			levels := math.Log2(n)
			bound := uint64(1 + float64(tt.badCount)*(2*levels+leafCountMax))
			if tt.badCount > 0 && tt.badCount < n && checks > bound {
				t.Errorf("%s seed %d: %d checks (%+v), want <= %d", tt.name, seed, checks, c, bound)
			}
			if tt.badCount == 1 && checks > n/8 {
				t.Errorf("one bad in %d: %d checks (%+v), want far below n", n, checks, c)
			}
			if tt.badCount == n && checks > 2*n {
				t.Errorf("all bad: %d checks (%+v), want <= 2n", checks, c)
			}
			t.Logf("%s seed %d: %+v", tt.name, seed, c)
		}
	}
}

// TestVerifyBatchMalformed checks that malformed items are rejected before
// any curve arithmetic, so they never spoil the batch equation.
func TestVerifyBatchMalformed(t *testing.T) {
	base := signedItems(64, 4)
	nonCanonicalS := append([]byte(nil), base[2].Sig...)
	nonCanonicalS[63] |= 0xf0 // S >= L
	tests := []struct {
		name string
		item Item
	}{
		{"short signature", Item{Pub: base[1].Pub, Msg: base[1].Msg, Sig: base[1].Sig[:63]}},
		{"long signature", Item{Pub: base[1].Pub, Msg: base[1].Msg, Sig: append(append([]byte(nil), base[1].Sig...), 0)}},
		{"short key", Item{Pub: base[1].Pub[:31], Msg: base[1].Msg, Sig: base[1].Sig}},
		{"nil key", Item{Msg: base[1].Msg, Sig: base[1].Sig}},
		{"S >= L", Item{Pub: base[2].Pub, Msg: base[2].Msg, Sig: nonCanonicalS}},
	}
	for _, tt := range tests {
		items := append([]Item(nil), base...)
		items[10] = tt.item
		if Verify(tt.item.Pub, tt.item.Msg, tt.item.Sig) {
			t.Fatalf("%s: Verify = true", tt.name)
		}
		v := NewVerifier(64)
		ok := make([]bool, len(items))
		if v.VerifyBatch(items, ok) {
			t.Errorf("%s: allOK = true", tt.name)
		}
		for i := range ok {
			if ok[i] != (i != 10) {
				t.Errorf("%s: item %d verdict %v", tt.name, i, ok[i])
			}
		}
		if c := v.Counters(); c.BatchChecks != 1 || c.SingleChecks != 0 || c.BatchFailures != 0 {
			t.Errorf("%s: counters %+v, want one passing batch check", tt.name, c)
		}
	}
}

func TestVerifyBatchSmall(t *testing.T) {
	items := signedItems(3, 5)
	tests := []struct {
		name  string
		items []Item
		want  []bool
	}{
		{"empty", nil, nil},
		{"one valid", items[:1], []bool{true}},
		{"one bad", []Item{corrupt(items[0])}, []bool{false}},
		{"two, second bad", []Item{items[0], corrupt(items[1])}, []bool{true, false}},
		{"three, middle bad", []Item{items[0], corrupt(items[1]), items[2]}, []bool{true, false, true}},
	}
	for _, tt := range tests {
		ok := make([]bool, len(tt.items))
		for i := range ok {
			ok[i] = !tt.want[i] // stale verdicts must be overwritten
		}
		allOK := VerifyBatch(tt.items, ok)
		wantAll := true
		for i := range ok {
			wantAll = wantAll && tt.want[i]
			if ok[i] != tt.want[i] {
				t.Errorf("%s: item %d verdict %v, want %v", tt.name, i, ok[i], tt.want[i])
			}
		}
		if allOK != wantAll {
			t.Errorf("%s: allOK = %v, want %v", tt.name, allOK, wantAll)
		}
	}
}

func TestVerifyBatchLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for len(ok) != len(items)")
		}
	}()
	VerifyBatch(signedItems(2, 6), make([]bool, 1))
}

// TestVerifyBatchAllocs checks that a reused Verifier adds no allocation per
// item of its own. The library allocates a fixed number of slices per batch
// equation (8 or 9 in all); none grows with the batch.
func TestVerifyBatchAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is slow to measure")
	}
	for _, n := range []int{16, 128} {
		items := signedItems(n, 7)
		ok := make([]bool, n)
		v := NewVerifier(n)
		v.VerifyBatch(items, ok)
		allocs := testing.AllocsPerRun(5, func() { v.VerifyBatch(items, ok) })
		t.Logf("n=%d: %.0f allocations per batch", n, allocs)
		if allocs > 16 {
			t.Errorf("n=%d: %.0f allocations per batch, want <= 16 (none per item)", n, allocs)
		}
	}
}
