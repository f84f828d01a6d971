package mempool

import (
	"errors"
	"slices"
	"testing"
)

type addStep struct {
	e         Entry[int]
	committed uint64
	height    uint64
}

func TestAddErrors(t *testing.T) {
	big := entry(0, 0, 10)
	big.SizeBytes = 1001
	replacement := func(fee uint64) Entry[int] {
		e := entry(0, 0, fee)
		e.Hash = txHash(e.Sender, 0, 1)
		return e
	}
	tests := []struct {
		name    string
		setup   []addStep
		reap    int // Reap this many after the setup
		add     addStep
		want    error // nil: accepted
		wantHas [][32]byte
	}{
		{name: "accepted", add: addStep{e: entry(0, 0, 10)}},
		{name: "duplicate hash", setup: []addStep{{e: entry(0, 0, 10)}}, add: addStep{e: entry(0, 0, 10)}, want: ErrDuplicate},
		{name: "sequence past", add: addStep{e: entry(0, 4, 10), committed: 5}, want: ErrSeqPast},
		{name: "sequence too far", add: addStep{e: entry(0, 17, 10)}, want: ErrSeqTooFar},
		{name: "sequence at the ahead limit", add: addStep{e: entry(0, 16, 10)}},
		{name: "expired", add: addStep{e: func() Entry[int] { e := entry(0, 0, 10); e.LastValid = 4; return e }(), height: 5}, want: ErrExpired},
		{name: "valid at its last height", add: addStep{e: func() Entry[int] { e := entry(0, 0, 10); e.LastValid = 5; return e }(), height: 5}},
		{name: "fee below base", add: addStep{e: entry(0, 0, 9)}, want: ErrFeeTooLow},
		{name: "too large", add: addStep{e: big}, want: ErrInvalid},
		{name: "replacement with small bump", setup: []addStep{{e: entry(0, 0, 100)}}, add: addStep{e: replacement(124)}, want: ErrSeqTaken},
		{name: "replacement with 25% bump", setup: []addStep{{e: entry(0, 0, 100)}}, add: addStep{e: replacement(125)},
			wantHas: [][32]byte{replacement(125).Hash}},
		{name: "replacement of a proposed tx", setup: []addStep{{e: entry(0, 0, 100)}}, reap: 1, add: addStep{e: replacement(1000)}, want: ErrSeqTaken},
		{name: "stale committed seq is raised by the pool's", setup: []addStep{{e: entry(0, 5, 10), committed: 5}},
			add: addStep{e: entry(0, 4, 10), committed: 3}, want: ErrSeqPast},
		{name: "newer committed seq drops stale entries", setup: []addStep{{e: entry(0, 0, 10)}, {e: entry(0, 1, 10)}},
			add: addStep{e: entry(0, 2, 10), committed: 2}, wantHas: [][32]byte{entry(0, 2, 10).Hash}},
		{name: "account full", setup: fillAccount(0, 8), add: addStep{e: entry(0, 8, 10)}, want: ErrFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, testConfig())
			for _, s := range tt.setup {
				if err := p.Add(s.e, s.committed, max(s.height, 1)); err != nil {
					t.Fatalf("setup Add: %v", err)
				}
			}
			if tt.reap > 0 {
				p.Reap(tt.reap, 1<<20, 1, nil)
			}
			err := p.Add(tt.add.e, tt.add.committed, max(tt.add.height, 1))
			if tt.want == nil && err != nil {
				t.Fatalf("Add: %v", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Add = %v, want %v", err, tt.want)
			}
			for _, h := range tt.wantHas {
				if !p.Has(h) {
					t.Errorf("Has(%x) = false", h[:4])
				}
			}
			if tt.want != nil && p.Stats().Rejected == 0 {
				t.Error("rejection not counted")
			}
			checkPool(t, p)
		})
	}
}

func fillAccount(sender, n int) []addStep {
	var out []addStep
	for i := range n {
		out = append(out, addStep{e: entry(sender, uint64(i), 10)})
	}
	return out
}

func TestFeeTooLowErrorCarriesMinFee(t *testing.T) {
	cfg := testConfig()
	cfg.EscalationStartPermille = 0 // every transaction raises the fee
	p := mustNew(t, cfg)
	for i := range 16 { // a quarter full: fee = 10 + 990/16
		mustAdd(t, p, entry(i, 0, p.MinFee()), 0)
	}
	min := p.MinFee()
	if min <= cfg.BaseFee {
		t.Fatalf("MinFee = %d did not escalate", min)
	}
	if min != 10+990/16 {
		t.Fatalf("MinFee = %d, want %d", min, 10+990/16)
	}
	err := p.Add(entry(20, 0, min-1), 0, 1)
	var fe *FeeTooLowError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFeeTooLow) || fe.MinFee != min || fe.Fee != min-1 {
		t.Fatalf("Add = %v, want *FeeTooLowError{MinFee: %d}", err, min)
	}
	mustAdd(t, p, entry(20, 0, min), 0)
}

func TestDisplaceOwnTailForLowerSeq(t *testing.T) {
	// A full account whose queue has a gap in front takes the missing sequence by
	// dropping its own highest one; otherwise it could never make progress.
	p := mustNew(t, testConfig())
	for seq := uint64(1); seq <= 8; seq++ {
		mustAdd(t, p, entry(0, seq, 10), 0)
	}
	if got := p.Stats().ReadyCount; got != 0 {
		t.Fatalf("ReadyCount = %d with a gap at 0", got)
	}
	mustAdd(t, p, entry(0, 0, 10), 0)
	if p.Has(entry(0, 8, 10).Hash) {
		t.Fatal("the highest sequence was not displaced")
	}
	st := p.Stats()
	if st.ReadyCount != 8 || st.TxCount != 8 || st.Evicted != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkPool(t, p)
}

func TestSequenceGapsFilledLater(t *testing.T) {
	p := mustNew(t, testConfig())
	mustAdd(t, p, entry(0, 7, 10), 5)
	mustAdd(t, p, entry(0, 9, 10), 5)
	mustAdd(t, p, entry(0, 5, 10), 5)
	if got := who(p.Reap(10, 1<<20, 1, nil)); !slices.Equal(got, []string{"A:5"}) {
		t.Fatalf("Reap = %v, want [A:5] (6 missing)", got)
	}
	if got := p.Reap(10, 1<<20, 1, nil); len(got) != 0 {
		t.Fatalf("second Reap = %v, want nothing", who(got))
	}
	mustAdd(t, p, entry(0, 6, 10), 5)
	if got := who(p.Reap(10, 1<<20, 1, nil)); !slices.Equal(got, []string{"A:6", "A:7"}) {
		t.Fatalf("Reap = %v, want [A:6 A:7]", got)
	}
	mustAdd(t, p, entry(0, 8, 10), 5)
	if got := who(p.Reap(10, 1<<20, 1, nil)); !slices.Equal(got, []string{"A:8", "A:9"}) {
		t.Fatalf("Reap = %v, want [A:8 A:9]", got)
	}
	checkPool(t, p)
}

func TestReapFairAcrossAccounts(t *testing.T) {
	cfg := testConfig()
	cfg.TxCountMax = 100 // 11 txs stay below the escalation start
	p := mustNew(t, cfg)
	// A arrives first with five, then B with five, then C with one; fees are
	// irrelevant without pressure.
	for seq := range uint64(5) {
		mustAdd(t, p, entry(0, seq, 10+seq), 0)
	}
	for seq := range uint64(5) {
		mustAdd(t, p, entry(1, seq, 1000), 0)
	}
	mustAdd(t, p, entry(2, 0, 10), 0)
	got := who(p.Reap(7, 1<<20, 1, nil))
	want := []string{"A:0", "B:0", "C:0", "A:1", "B:1", "A:2", "B:2"}
	if !slices.Equal(got, want) {
		t.Fatalf("Reap = %v, want %v", got, want)
	}
	// The round continues where it stopped.
	got = who(p.Reap(10, 1<<20, 1, nil))
	want = []string{"A:3", "B:3", "A:4", "B:4"}
	if !slices.Equal(got, want) {
		t.Fatalf("second Reap = %v, want %v", got, want)
	}
	checkPool(t, p)
}

func TestReapFeePriorityUnderPressure(t *testing.T) {
	cfg := testConfig()
	cfg.EscalationStartPermille = 0
	cfg.EscalationFactorMax = 1 // pressure without fee escalation, to choose fees freely
	p := mustNew(t, cfg)
	mustAdd(t, p, entry(0, 0, 50), 0)
	mustAdd(t, p, entry(1, 0, 10), 0)
	mustAdd(t, p, entry(1, 1, 900), 0) // high fee behind a low one: must wait for B:0
	mustAdd(t, p, entry(2, 0, 70), 0)
	mustAdd(t, p, entry(3, 0, 70), 0) // tie with C: arrival order
	got := who(p.Reap(10, 1<<20, 1, nil))
	want := []string{"C:0", "D:0", "A:0", "B:0", "B:1"}
	if !slices.Equal(got, want) {
		t.Fatalf("Reap = %v, want %v", got, want)
	}
	checkPool(t, p)
}

func TestMinFeeEscalatesWithFill(t *testing.T) {
	p := mustNew(t, testConfig())
	prev := p.MinFee()
	for i := range 64 {
		fee := p.MinFee()
		if fee < prev {
			t.Fatalf("after %d txs MinFee fell from %d to %d", i, prev, fee)
		}
		prev = fee
		mustAdd(t, p, entry(i, 0, fee), 0)
	}
	if prev <= 10 {
		t.Fatalf("MinFee did not escalate: %d", prev)
	}
	if got, want := p.MinFee(), uint64(1000); got != want {
		t.Fatalf("full pool MinFee = %d, want %d", got, want)
	}
	if st := p.Stats(); st.MinFee != 1000 || st.TxCount != 64 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEvictionNeverCreatesGaps(t *testing.T) {
	cfg := testConfig()
	cfg.TxCountMax = 12
	cfg.EscalationFactorMax = 1 // no escalation: eviction alone decides
	p := mustNew(t, cfg)
	// Four senders with three txs each; the last sequence of each pays least.
	for s := range 4 {
		for seq := range uint64(3) {
			mustAdd(t, p, entry(s, seq, uint64(100*(s+1))-seq*10), 0)
		}
	}
	// A:2 (fee 80) is the cheapest tail; A:0 (fee 100) is cheaper than D:2 but not a tail.
	mustAdd(t, p, entry(9, 0, 95), 0)
	if p.Has(entry(0, 2, 80).Hash) || !p.Has(entry(0, 1, 90).Hash) {
		t.Fatal("eviction did not take the cheapest tail")
	}
	// Now A:1 (90) is the cheapest tail; a fee of 90 does not beat it.
	if err := p.Add(entry(10, 0, 90), 0, 1); !errors.Is(err, ErrFull) {
		t.Fatalf("Add = %v, want ErrFull", err)
	}
	// A sender does not evict its own tail to make room for a higher sequence.
	if err := p.Add(entry(0, 3, 10_000), 0, 1); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if !p.Has(entry(0, 1, 90).Hash) {
		t.Fatal("sender evicted its own tail")
	}
	if got := p.Stats().Evicted; got != 2 {
		t.Fatalf("Evicted = %d, want 2", got)
	}
	// Every account is still gap free: every queued tx is ready.
	if st := p.Stats(); st.ReadyCount != st.TxCount-1 { // A:3 waits for the evicted A:1..2
		t.Fatalf("stats %+v", st)
	}
	checkPool(t, p)
}

func TestEvictionSkipsProposed(t *testing.T) {
	cfg := testConfig()
	cfg.TxCountMax = 2
	cfg.AccountTxMax = 2
	cfg.EscalationFactorMax = 1
	p := mustNew(t, cfg)
	mustAdd(t, p, entry(0, 0, 10), 0)
	mustAdd(t, p, entry(1, 0, 10), 0)
	p.Reap(2, 1<<20, 1, nil)
	if err := p.Add(entry(2, 0, 1000), 0, 1); !errors.Is(err, ErrFull) {
		t.Fatalf("Add = %v, want ErrFull (only proposed entries to evict)", err)
	}
	checkPool(t, p)
}

func TestBytesBound(t *testing.T) {
	cfg := testConfig()
	cfg.BytesMax = 1000
	cfg.EscalationFactorMax = 1
	p := mustNew(t, cfg)
	for i := range 10 {
		mustAdd(t, p, entry(i, 0, 10), 0)
	}
	big := entry(20, 0, 11)
	big.SizeBytes = 350 // evicts four cheaper 100-byte txs
	mustAdd(t, p, big, 0)
	if st := p.Stats(); st.Bytes != 950 || st.Evicted != 4 {
		t.Fatalf("stats %+v", st)
	}
	checkPool(t, p)
}
