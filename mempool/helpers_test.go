package mempool

import (
	"encoding/binary"
	"testing"
)

// testConfig is small enough to fill in a test.
func testConfig() Config {
	return Config{
		Shards:                  4,
		TxCountMax:              64,
		BytesMax:                64 * 100,
		TxBytesMax:              1000,
		AccountTxMax:            8,
		SeqAheadMax:             16,
		BaseFee:                 10,
		EscalationStartPermille: 500,
		EscalationFactorMax:     100,
		ReplaceFeeBumpPercent:   25,
		ExpirySweepMax:          64,
		RecentSendersMax:        64,
	}
}

func senderID(i int) [20]byte {
	var s [20]byte
	binary.BigEndian.PutUint64(s[:], uint64(i)+1)
	return s
}

// txHash derives a distinct hash from (sender, seq, variant).
func txHash(sender [20]byte, seq uint64, variant uint32) [32]byte {
	var h [32]byte
	copy(h[:20], sender[:])
	binary.BigEndian.PutUint64(h[20:], seq)
	binary.BigEndian.PutUint32(h[28:], variant)
	return h
}

func entry(sender int, seq, fee uint64) Entry[int] {
	s := senderID(sender)
	return Entry[int]{Hash: txHash(s, seq, 0), Sender: s, Seq: seq, Fee: fee, LastValid: 1 << 40, SizeBytes: 100}
}

func mustNew(t testing.TB, cfg Config) *Pool[int] {
	t.Helper()
	p, err := New[int](cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAdd(t testing.TB, p *Pool[int], e Entry[int], committed uint64) {
	t.Helper()
	if err := p.Add(e, committed, 1); err != nil {
		t.Fatalf("Add(sender %x seq %d fee %d): %v", e.Sender[:8], e.Seq, e.Fee, err)
	}
}

func checkPool(t testing.TB, p *Pool[int]) {
	t.Helper()
	if err := p.checkInvariants(true); err != nil {
		t.Fatal(err)
	}
}

// who renders a batch as "sender:seq" pairs for compact comparisons.
func who(batch []Entry[int]) []string {
	out := make([]string, len(batch))
	for i, e := range batch {
		out[i] = string(rune('A'+int(binary.BigEndian.Uint64(e.Sender[:])-1))) + ":" + itoa(e.Seq)
	}
	return out
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}

func committedOf(batch []Entry[int]) []Committed {
	out := make([]Committed, len(batch))
	for i, e := range batch {
		out[i] = Committed{Hash: e.Hash, Sender: e.Sender, NextSeq: e.Seq + 1}
	}
	return out
}
