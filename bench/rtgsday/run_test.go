package rtgsday

import (
	"testing"

	"settle/loadgen/daymodel"
)

func smallParams(seed uint64) Params { return daymodel.SmallParams(seed) }

func generate(t *testing.T, p Params) *Day {
	t.Helper()
	d, err := Generate(p)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return d
}

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

// testRun checks the ledger's invariants after every block.
var testRun = RunOptions{CheckEvery: 1}

func simulator(t *testing.T, d *Day, endBlocks int) *Simulator {
	t.Helper()
	s, err := NewSimulator(d, endBlocks, testRun)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t *testing.T, s *Simulator, m Mode, f float64) RunSummary {
	t.Helper()
	r, err := s.Run(m, f)
	if err != nil {
		t.Fatalf("%s at f %g: %v", m.Name, f, err)
	}
	return r
}

var testModes = []Mode{ModePlain(), ModeLSM(1), ModeLSM(5)}

// TestUpperBoundSettlesImmediately: at f = 1 every bank holds its upper
// bound, so every payment settles the moment it is submitted, in every mode.
func TestUpperBoundSettlesImmediately(t *testing.T) {
	s := simulator(t, generate(t, smallParams(11)), 5)
	for _, m := range testModes {
		r := run(t, s, m, 1)
		if r.ImmediateShare != 1 || r.DelayMaxBlocks != 0 || r.QueuePeak != 0 || !r.SettledAll {
			t.Errorf("%s at f = 1: immediate %.4f, max delay %g, queue peak %d, settled all %v",
				m.Name, r.ImmediateShare, r.DelayMaxBlocks, r.QueuePeak, r.SettledAll)
		}
	}
}

// TestLSMNeverSettlesLess compares the modes level by level on two days:
// offsetting can only add settlements that plain release would not find.
func TestLSMNeverSettlesLess(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		s := simulator(t, generate(t, smallParams(seed)), 5)
		for _, f := range []float64{0, 0.05, 0.2, 0.5} {
			plain := run(t, s, ModePlain(), f)
			for _, m := range testModes[1:] {
				lsm := run(t, s, m, f)
				if lsm.SettledValue < plain.SettledValue {
					t.Errorf("seed %d f %g: %s settled %d, plain %d", seed, f, m.Name, lsm.SettledValue, plain.SettledValue)
				}
			}
			if plain.Failed > 0 {
				t.Errorf("seed %d f %g: %d payments failed outright (%v)", seed, f, plain.Failed, plain.FailCodes)
			}
		}
	}
}

// TestGridlock: A owes B, B owes C, C owes A, the same amount, and no bank
// holds anything. Plain RTGS queues all three until they expire; gridlock
// resolution settles them together, since every net position is zero.
func TestGridlock(t *testing.T) {
	d := handMade(t, 3, 1, []Payment{
		{Block: 0, From: bankA, To: bankB, Amount: 100},
		{Block: 0, From: bankB, To: bankC, Amount: 100},
		{Block: 0, From: bankC, To: bankA, Amount: 100},
	})
	s := simulator(t, d, 2)
	none := []uint64{0, 0, 0}
	for _, tc := range []struct {
		mode    Mode
		settled uint64
		offset  float64
	}{
		{ModePlain(), 0, 0},
		{ModeLSM(1), 300, 1},
		{ModeLSM(2), 300, 1}, // resolution at height 2, in the end-of-day phase
	} {
		r, err := s.RunLiquidity(tc.mode, none)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode.Name, err)
		}
		if r.SettledValue != tc.settled || r.OffsetShare != tc.offset {
			t.Errorf("%s: settled %d (offset share %.2f), want %d (%.2f)", tc.mode.Name, r.SettledValue, r.OffsetShare, tc.settled, tc.offset)
		}
		if tc.settled == 0 && r.Unsettled != 3 {
			t.Errorf("%s: %d unsettled, want all 3 expired", tc.mode.Name, r.Unsettled)
		}
	}
}

// TestQueueReleases: A pays B 100 with nothing; B's payment of 100 to A
// arrives two blocks later with B holding 100: it settles at once, and A's
// queued payment is released at the end of that block, two blocks late.
func TestQueueReleases(t *testing.T) {
	d := handMade(t, 2, 3, []Payment{
		{Block: 0, From: bankA, To: bankB, Amount: 100},
		{Block: 2, From: bankB, To: bankA, Amount: 100},
	})
	s := simulator(t, d, 1)
	r, err := s.RunLiquidity(ModePlain(), []uint64{0, 100})
	if err != nil {
		t.Fatal(err)
	}
	if !r.SettledAll || r.ReleasedShare != 0.5 || r.ImmediateShare != 0.5 || r.DelayMaxBlocks != 2 || r.DelayMeanBlocks != 1 {
		t.Fatalf("%+v", r)
	}
}

// TestMinimumLiquidity checks the bisection: the level found settles
// everything, the LSM needs no more than plain RTGS, and neither needs more
// than the upper bound.
func TestMinimumLiquidity(t *testing.T) {
	s := simulator(t, generate(t, smallParams(4)), 5)
	levels := []float64{0, 0.25, 0.5, 1}
	var mins []Minimum
	for _, m := range []Mode{ModePlain(), ModeLSM(1)} {
		var sweep []RunSummary
		for _, f := range levels {
			sweep = append(sweep, run(t, s, m, f))
		}
		min, err := s.Minimum(m, sweep, 1.0/64)
		if err != nil {
			t.Fatal(err)
		}
		if !min.Found || !min.At.SettledAll || min.Level > 1 || min.Level-min.Below > 1.0/64 && min.Below >= 0 {
			t.Fatalf("%s: %+v", m.Name, min)
		}
		if min.Below >= 0 && run(t, s, m, min.Below).SettledAll {
			t.Errorf("%s: level %g below the minimum %g settles everything", m.Name, min.Below, min.Level)
		}
		mins = append(mins, min)
	}
	if mins[1].LiquidityMinor > mins[0].LiquidityMinor {
		t.Errorf("LSM needs %d, plain %d", mins[1].LiquidityMinor, mins[0].LiquidityMinor)
	}
	sv := savings(mins, s.Bounds.UpperTotal())
	if len(sv) != 1 || sv[0].Saving < 0 || sv[0].Saving > 1 {
		t.Errorf("savings %+v", sv)
	}
}

// TestReplayDeterministic: the same run twice, and with the state tree
// maintained, settles the same payments at the same heights (the state tree
// is bookkeeping: it must not change what settles).
func TestReplayDeterministic(t *testing.T) {
	d := generate(t, smallParams(9))
	c, err := newChain(d, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Mode{ModePlain(), ModeLSM(1)} {
		liq, _ := ComputeBounds(d).Liquidity(0.1)
		a, err := c.run(m, liq, testRun)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.run(m, liq, RunOptions{CheckEvery: 1, StateRoot: true})
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.outcomes {
			if a.outcomes[i] != b.outcomes[i] {
				t.Fatalf("%s: payment %d ends %+v without the state tree, %+v with it", m.Name, i, a.outcomes[i], b.outcomes[i])
			}
		}
	}
}
