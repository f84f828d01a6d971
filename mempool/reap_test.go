package mempool

import (
	"errors"
	"slices"
	"testing"
)

func TestCommitRemovesAndAdvances(t *testing.T) {
	p := mustNew(t, testConfig())
	for seq := range uint64(4) {
		mustAdd(t, p, entry(0, seq, 10), 0)
	}
	mustAdd(t, p, entry(1, 0, 10), 0)
	batch := p.Reap(3, 1<<20, 1, nil)
	if got := who(batch); !slices.Equal(got, []string{"A:0", "B:0", "A:1"}) {
		t.Fatalf("Reap = %v", got)
	}
	if st := p.Stats(); st.Proposed != 3 || st.ReadyCount != 2 || st.TxCount != 5 {
		t.Fatalf("after Reap: %+v", st)
	}
	// Reaped txs stay in the pool, are not returned again, and keep their seqs.
	if !p.Has(batch[0].Hash) {
		t.Fatal("a proposed tx is not in the pool")
	}
	if got := who(p.Reap(10, 1<<20, 1, nil)); !slices.Equal(got, []string{"A:2", "A:3"}) {
		t.Fatalf("second Reap = %v", got)
	}
	p.Commit(1, committedOf(batch))
	if p.Has(batch[0].Hash) || p.Has(batch[1].Hash) {
		t.Fatal("committed txs are still in the pool")
	}
	if st := p.Stats(); st.Proposed != 2 || st.TxCount != 2 || st.ReadyCount != 0 {
		t.Fatalf("after Commit: %+v", st)
	}
	// The pool remembers B's committed sequence although B left it.
	if err := p.Add(entry(1, 0, 10), 0, 2); !errors.Is(err, ErrSeqPast) {
		t.Fatalf("replay of a committed tx: %v, want ErrSeqPast", err)
	}
	checkPool(t, p)
}

func TestCommitBeyondQueuedDropsStale(t *testing.T) {
	p := mustNew(t, testConfig())
	for _, seq := range []uint64{0, 1, 2, 5} {
		mustAdd(t, p, entry(0, seq, 10), 0)
	}
	p.Reap(1, 1<<20, 1, nil) // A:0 proposed
	// Another validator's block committed sequences 0..3 of A with other txs.
	other := entry(0, 3, 10)
	other.Hash = txHash(other.Sender, 3, 7)
	p.Commit(1, []Committed{{Hash: other.Hash, Sender: other.Sender, NextSeq: 4}})
	st := p.Stats()
	if st.TxCount != 1 || st.Proposed != 0 || st.ReadyCount != 0 {
		t.Fatalf("stats %+v, want only A:5 waiting for A:4", st)
	}
	mustAdd(t, p, entry(0, 4, 10), 0) // committed 0 is stale: the pool knows 4
	if got := who(p.Reap(10, 1<<20, 2, nil)); !slices.Equal(got, []string{"A:4", "A:5"}) {
		t.Fatalf("Reap = %v", got)
	}
	checkPool(t, p)
}

func TestCommitUnknownSender(t *testing.T) {
	p := mustNew(t, testConfig())
	s := senderID(3)
	p.Commit(1, []Committed{{Hash: txHash(s, 9, 0), Sender: s, NextSeq: 10}})
	if err := p.Add(entry(3, 9, 10), 0, 2); !errors.Is(err, ErrSeqPast) {
		t.Fatalf("Add = %v, want ErrSeqPast", err)
	}
	mustAdd(t, p, entry(3, 10, 10), 0)
	checkPool(t, p)
}

func TestRequeue(t *testing.T) {
	p := mustNew(t, testConfig())
	for seq := range uint64(3) {
		mustAdd(t, p, entry(0, seq, 10), 0)
	}
	mustAdd(t, p, entry(1, 0, 10), 0)
	first := p.Reap(2, 1<<20, 1, nil)  // A:0 B:0
	second := p.Reap(2, 1<<20, 2, nil) // A:1 A:2
	if got := who(append(slices.Clone(first), second...)); !slices.Equal(got, []string{"A:0", "B:0", "A:1", "A:2"}) {
		t.Fatalf("Reap = %v", got)
	}
	// The block holding A:0 is abandoned: A:1 and A:2 cannot be included without it.
	hashes := [][32]byte{first[0].Hash, first[1].Hash}
	p.Requeue(hashes)
	if st := p.Stats(); st.Proposed != 0 || st.ReadyCount != 4 {
		t.Fatalf("after Requeue: %+v", st)
	}
	checkPool(t, p)
	// Requeue of unknown or unproposed hashes is harmless.
	p.Requeue([][32]byte{{1, 2, 3}, first[0].Hash})
	got := who(p.Reap(10, 1<<20, 3, nil))
	if !slices.Equal(got, []string{"A:0", "B:0", "A:1", "A:2"}) {
		t.Fatalf("Reap after Requeue = %v", got)
	}
	checkPool(t, p)
}

func TestRequeueTailOnly(t *testing.T) {
	p := mustNew(t, testConfig())
	for seq := range uint64(3) {
		mustAdd(t, p, entry(0, seq, 10), 0)
	}
	b1 := p.Reap(1, 1<<20, 1, nil)
	b2 := p.Reap(2, 1<<20, 2, nil)
	p.Requeue([][32]byte{b2[0].Hash, b2[1].Hash}) // only the second block is abandoned
	if st := p.Stats(); st.Proposed != 1 || st.ReadyCount != 2 {
		t.Fatalf("stats %+v", st)
	}
	p.Commit(1, committedOf(b1))
	if got := who(p.Reap(10, 1<<20, 2, nil)); !slices.Equal(got, []string{"A:1", "A:2"}) {
		t.Fatalf("Reap = %v", got)
	}
	checkPool(t, p)
}

func TestExpiry(t *testing.T) {
	withLastValid := func(e Entry[int], h uint64) Entry[int] { e.LastValid = h; return e }
	t.Run("reap drops expired heads", func(t *testing.T) {
		p := mustNew(t, testConfig())
		mustAdd(t, p, withLastValid(entry(0, 0, 10), 5), 0)
		mustAdd(t, p, entry(0, 1, 10), 0)
		mustAdd(t, p, entry(1, 0, 10), 0)
		// At height 6 A:0 can no longer be included, and A:1 must wait for a new A:0.
		if got := who(p.Reap(10, 1<<20, 6, nil)); !slices.Equal(got, []string{"B:0"}) {
			t.Fatalf("Reap = %v", got)
		}
		st := p.Stats()
		if st.Expired != 1 || st.TxCount != 2 || st.ReadyCount != 0 {
			t.Fatalf("stats %+v", st)
		}
		checkPool(t, p)
	})
	t.Run("commit sweeps a bounded number", func(t *testing.T) {
		cfg := testConfig()
		cfg.ExpirySweepMax = 3
		p := mustNew(t, cfg)
		for i := range 10 {
			mustAdd(t, p, withLastValid(entry(i, 0, 10), uint64(i+1)), 0)
		}
		mustAdd(t, p, withLastValid(entry(20, 0, 10), 100), 0)
		p.Commit(20, nil) // all but the last are expired at height 21
		if st := p.Stats(); st.Expired != 3 || st.TxCount != 8 {
			t.Fatalf("after one sweep: %+v", st)
		}
		checkPool(t, p)
		p.Commit(21, nil)
		p.Commit(22, nil)
		p.Commit(23, nil)
		if st := p.Stats(); st.Expired != 10 || st.TxCount != 1 {
			t.Fatalf("after four sweeps: %+v", st)
		}
		checkPool(t, p)
	})
	t.Run("a tx valid at the next height stays", func(t *testing.T) {
		p := mustNew(t, testConfig())
		mustAdd(t, p, withLastValid(entry(0, 0, 10), 8), 0)
		p.Commit(7, nil) // next block is 8
		if got := p.Reap(10, 1<<20, 8, nil); len(got) != 1 {
			t.Fatalf("Reap = %v", who(got))
		}
	})
	t.Run("proposed txs are not swept", func(t *testing.T) {
		p := mustNew(t, testConfig())
		mustAdd(t, p, withLastValid(entry(0, 0, 10), 5), 0)
		b := p.Reap(1, 1<<20, 5, nil)
		p.Commit(9, nil)
		if st := p.Stats(); st.Proposed != 1 || st.Expired != 0 {
			t.Fatalf("stats %+v", st)
		}
		p.Requeue([][32]byte{b[0].Hash}) // abandoned: now it is dropped when met
		if got := p.Reap(10, 1<<20, 10, nil); len(got) != 0 {
			t.Fatalf("Reap = %v", who(got))
		}
		if st := p.Stats(); st.TxCount != 0 || st.Expired != 1 {
			t.Fatalf("stats %+v", st)
		}
		checkPool(t, p)
	})
}

func TestReapLimits(t *testing.T) {
	p := mustNew(t, testConfig())
	for i := range 5 {
		e := entry(i, 0, 10)
		e.SizeBytes = 100 * (i + 1)
		mustAdd(t, p, e, 0)
	}
	if got := p.Reap(2, 1<<20, 1, nil); len(got) != 2 {
		t.Fatalf("count limit: %v", who(got))
	}
	// Next in order are C (300 bytes) and D (400): 500 bytes hold only C, and Reap
	// does not skip D to pack E.
	got := p.Reap(10, 500, 1, nil)
	if !slices.Equal(who(got), []string{"C:0"}) {
		t.Fatalf("bytes limit: %v", who(got))
	}
	if got := p.Reap(0, 1<<20, 1, nil); len(got) != 0 {
		t.Fatal("Reap(0) returned txs")
	}
	// dst is appended to and reused.
	buf := make([]Entry[int], 0, 8)
	out := p.Reap(10, 1<<20, 1, buf)
	if len(out) != 2 || &out[0] != &buf[:1][0] {
		t.Fatal("Reap did not reuse dst")
	}
	checkPool(t, p)
}

func TestReadySignal(t *testing.T) {
	p := mustNew(t, testConfig())
	select {
	case <-p.Ready():
		t.Fatal("signalled while empty")
	default:
	}
	mustAdd(t, p, entry(0, 1, 10), 0) // gap: not ready
	select {
	case <-p.Ready():
		t.Fatal("signalled for a tx that is not ready")
	default:
	}
	mustAdd(t, p, entry(0, 0, 10), 0)
	select {
	case <-p.Ready():
	default:
		t.Fatal("no signal after txs became ready")
	}
}

// TestCommitOutcomes: a committed block's transactions that did not apply are
// kept (Retry) or dropped with their reason; applied ones and those superseded by
// them leave the pool, and the drop hook names each.
func TestCommitOutcomes(t *testing.T) {
	type drop struct {
		who    string
		reason DropReason
		detail string
	}
	for _, tc := range []struct {
		name      string
		reapN     int // entries proposed before the block commits
		committed func(a [4]Entry[int]) []Committed
		wantReap  []string // what the next Reap returns
		wantDrops []drop
	}{
		{
			// A leader put A:2 before A:1: A:2 did not apply (its predecessor was
			// missing) and must stay queued, behind A:1, and still proposable.
			name:  "retry keeps a proposed entry queued",
			reapN: 3,
			committed: func(a [4]Entry[int]) []Committed {
				return []Committed{{Hash: a[2].Hash, Sender: a[2].Sender, NextSeq: 1, Retry: true, Reason: "seq_too_far"}}
			},
			wantReap: []string{"A:2", "A:3"}, // A:1 is still proposed (in flight)
		},
		{
			name:  "a failed precondition drops the entry and leaves a gap",
			reapN: 1,
			committed: func(a [4]Entry[int]) []Committed {
				return []Committed{{Hash: a[1].Hash, Sender: a[1].Sender, NextSeq: 1, Reason: "not_authorized"}}
			},
			wantReap:  nil,
			wantDrops: []drop{{"A:1", DropFailed, "not_authorized"}},
		},
		{
			name:  "another transaction of the same sequence supersedes the queued one",
			reapN: 1,
			committed: func(a [4]Entry[int]) []Committed {
				return []Committed{{Hash: txHash(a[1].Sender, 1, 9), Sender: a[1].Sender, NextSeq: 2, Applied: true}}
			},
			wantReap:  []string{"A:2", "A:3"},
			wantDrops: []drop{{"A:1", DropSuperseded, ""}},
		},
		{
			name:  "applied transactions leave without a drop",
			reapN: 1,
			committed: func(a [4]Entry[int]) []Committed {
				return []Committed{{Hash: a[1].Hash, Sender: a[1].Sender, NextSeq: 2, Applied: true}}
			},
			wantReap: []string{"A:2", "A:3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustNew(t, testConfig())
			var drops []drop
			p.SetDropHook(func(d Dropped) {
				drops = append(drops, drop{who([]Entry[int]{{Sender: d.Sender, Seq: d.Seq}})[0], d.Reason, d.Detail})
			})
			var a [4]Entry[int]
			for seq := uint64(1); seq <= 3; seq++ {
				a[seq] = entry(0, seq, 10)
				mustAdd(t, p, a[seq], 1)
			}
			p.Reap(tc.reapN, 1<<20, 1, nil)
			p.Commit(1, tc.committed(a))
			checkPool(t, p)
			if got := who(p.Reap(10, 1<<20, 2, nil)); !slices.Equal(got, tc.wantReap) && !(len(got) == 0 && len(tc.wantReap) == 0) {
				t.Fatalf("Reap after Commit = %v, want %v", got, tc.wantReap)
			}
			if !slices.Equal(drops, tc.wantDrops) {
				t.Fatalf("drops %v, want %v", drops, tc.wantDrops)
			}
		})
	}
}

// TestDropReasons: expiry, eviction and replacement are reported by the hook.
func TestDropReasons(t *testing.T) {
	cfg := testConfig()
	cfg.TxCountMax, cfg.AccountTxMax, cfg.EscalationFactorMax = 2, 2, 1
	p := mustNew(t, cfg)
	var got []DropReason
	p.SetDropHook(func(d Dropped) { got = append(got, d.Reason) })
	cheap := entry(0, 1, 10)
	mustAdd(t, p, cheap, 1)
	bump := cheap
	bump.Hash, bump.Fee = txHash(cheap.Sender, 1, 1), 20
	mustAdd(t, p, bump, 1) // replaces
	short := entry(1, 1, 10)
	short.LastValid = 3
	mustAdd(t, p, short, 1)
	if err := p.Add(entry(2, 1, 50), 1, 1); err != nil { // full: evicts the cheapest tail (short)
		t.Fatal(err)
	}
	mustAdd(t, p, func() Entry[int] { e := entry(3, 1, 1000); e.LastValid = 3; return e }(), 1) // evicts bump
	p.Commit(5, nil)                                                                            // the 1000-fee entry expired at 3
	want := []DropReason{DropReplaced, DropEvicted, DropEvicted, DropExpired}
	if !slices.Equal(got, want) {
		t.Fatalf("drop reasons %v, want %v", got, want)
	}
	for _, r := range want {
		if r.String() == "unknown" {
			t.Fatalf("reason %d has no name", r)
		}
	}
	checkPool(t, p)
}
