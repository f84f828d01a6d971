package mempool

import (
	"slices"
	"testing"
)

func carried(es ...Entry[int]) []Carried {
	out := make([]Carried, len(es))
	for i, e := range es {
		out[i] = Carried{Sender: e.Sender, Hash: e.Hash}
	}
	return out
}

// TestHold: entries another validator's block carries are not reaped again;
// only an account's next ready entry is held; Requeue (the block abandoned)
// returns them, and Commit removes them.
func TestHold(t *testing.T) {
	a0, a1, a2 := entry(1, 0, 10), entry(1, 1, 10), entry(1, 2, 10)
	b0 := entry(2, 0, 10)
	c1 := entry(3, 1, 10) // a gap: sequence 0 is missing
	cases := []struct {
		name string
		hold []Entry[int]
		requeue,
		commit []Entry[int]
		want []string // the next Reap
	}{
		{name: "nothing held", want: []string{"B:0", "C:0", "B:1", "B:2"}},
		{name: "a prefix held", hold: []Entry[int]{a0, a1}, want: []string{"C:0", "B:2"}},
		{name: "out of order is ignored", hold: []Entry[int]{a1, b0}, want: []string{"B:0", "B:1", "B:2"}},
		{name: "a gap cannot be held", hold: []Entry[int]{c1, b0}, want: []string{"B:0", "B:1", "B:2"}},
		{name: "abandoned: back to the queue", hold: []Entry[int]{a0, a1, b0}, requeue: []Entry[int]{a0}, want: []string{"B:0", "B:1", "B:2"}},
		{name: "committed: gone", hold: []Entry[int]{a0, b0}, commit: []Entry[int]{a0, b0}, want: []string{"B:1", "B:2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustNew(t, testConfig())
			for _, e := range []Entry[int]{a0, a1, a2, b0} {
				mustAdd(t, p, e, 0)
			}
			if err := p.Add(c1, 0, 1); err != nil {
				t.Fatal(err)
			}
			p.Hold(carried(tc.hold...))
			checkPool(t, p)
			if len(tc.requeue) > 0 {
				var hs [][32]byte
				for _, e := range tc.requeue {
					hs = append(hs, e.Hash)
				}
				p.Requeue(hs)
				checkPool(t, p)
			}
			if len(tc.commit) > 0 {
				var cs []Committed
				for _, e := range tc.commit {
					cs = append(cs, Committed{Hash: e.Hash, Sender: e.Sender, NextSeq: e.Seq + 1, Applied: true})
				}
				p.Commit(1, cs)
				checkPool(t, p)
			}
			got := who(p.Reap(100, 1<<20, 1, nil))
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Reap after Hold: %v, want %v", got, want)
			}
			checkPool(t, p)
		})
	}
}
