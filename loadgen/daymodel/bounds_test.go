package daymodel

import (
	"reflect"
	"testing"
)

// Banks of the hand-made days.
const (
	bankA = iota
	bankB
	bankC
)

func handMade(t *testing.T, banks, blocks int, pays []Payment) *Day {
	t.Helper()
	d, err := HandMade(banks, blocks, pays)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pays         []Payment
		upper, lower []uint64
	}{
		{
			name:  "one payment",
			pays:  []Payment{{Block: 0, From: bankA, To: bankB, Amount: 100}},
			upper: []uint64{100, 0, 0}, lower: []uint64{100, 0, 0},
		},
		{
			// The triangle, in arrival order: only A pays before it is
			// paid, so only A needs liquidity to settle on arrival;
			// netting needs none.
			name: "gridlock triangle",
			pays: []Payment{
				{Block: 0, From: bankA, To: bankB, Amount: 100},
				{Block: 0, From: bankB, To: bankC, Amount: 100},
				{Block: 0, From: bankC, To: bankA, Amount: 100},
			},
			upper: []uint64{100, 0, 0}, lower: []uint64{0, 0, 0},
		},
		{
			// A sends 100 then receives 80 and sends 50: its outflow peaks
			// at 100 after the first, then at 70 after the last; it ends 70
			// down. B receives 100, sends 80 (never short), ends 20 up. C
			// receives 50.
			name: "a peak before the end",
			pays: []Payment{
				{Block: 0, From: bankA, To: bankB, Amount: 100},
				{Block: 1, From: bankB, To: bankA, Amount: 80},
				{Block: 2, From: bankA, To: bankC, Amount: 50},
			},
			upper: []uint64{100, 0, 0}, lower: []uint64{70, 0, 0},
		},
		{
			// Within one block order matters: C pays 30 before receiving 30.
			name: "order within a block",
			pays: []Payment{
				{Block: 0, From: bankC, To: bankA, Amount: 30},
				{Block: 0, From: bankB, To: bankC, Amount: 30},
				{Block: 1, From: bankA, To: bankB, Amount: 10},
			},
			upper: []uint64{0, 30, 30}, lower: []uint64{0, 20, 0},
		},
		{name: "no payments", upper: []uint64{0, 0, 0}, lower: []uint64{0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := ComputeBounds(handMade(t, 3, 3, tc.pays))
			if !reflect.DeepEqual(b.Upper, tc.upper) || !reflect.DeepEqual(b.Lower, tc.lower) {
				t.Fatalf("upper %v lower %v, want %v and %v", b.Upper, b.Lower, tc.upper, tc.lower)
			}
		})
	}
}

func TestLiquidityInterpolates(t *testing.T) {
	b := Bounds{Upper: []uint64{100, 7, 0}, Lower: []uint64{40, 7, 0}}
	for _, tc := range []struct {
		f    float64
		want []uint64
	}{
		{0, []uint64{40, 7, 0}},
		{0.5, []uint64{70, 7, 0}},
		{0.01, []uint64{41, 7, 0}}, // 0.6 rounds up
		{1, []uint64{100, 7, 0}},
	} {
		got, err := b.Liquidity(tc.f)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("f %g: %v (%v), want %v", tc.f, got, err, tc.want)
		}
	}
	for _, f := range []float64{-0.1, 1.01} {
		if _, err := b.Liquidity(f); err == nil {
			t.Errorf("f %g accepted", f)
		}
	}
}

// TestUpperBoundsGenerated checks on a generated day that Upper is at least
// Lower and that their totals are the ones Summarize and the report use.
func TestUpperBoundsGenerated(t *testing.T) {
	d := generate(t, smallParams(2))
	b := ComputeBounds(d)
	for i := range b.Upper {
		if b.Upper[i] < b.Lower[i] {
			t.Errorf("bank %d: upper %d below lower %d", i, b.Upper[i], b.Lower[i])
		}
	}
	if b.UpperTotal() == 0 || b.LowerTotal() > b.UpperTotal() {
		t.Fatalf("totals: upper %d, lower %d", b.UpperTotal(), b.LowerTotal())
	}
}
