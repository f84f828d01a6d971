package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"settle/engine/txn"
)

// The RTGS queue (docs/ledger.md, "Queued payments and liquidity saving"). A
// queued_payment or queued_multi_leg that cannot settle when its block runs
// waits here, holding its place, until funds allow (release, at the end of
// every block), until gridlock resolution settles it together with offsetting
// payments (every GridlockEveryBlocks blocks), or until the end of its
// queue_until block (expiry). Nothing is reserved: a queued entry moves no
// value until it settles. Everything here is a pure function of the state.

// QueuedPerAccountMax bounds the entries one sender may hold in the queue; a
// queued transfer beyond it fails with too_many_entries.
const QueuedPerAccountMax = 10_000

// QueueID names a queued entry: its sender and the sequence of the queued
// transaction, unique because sequences are.
type QueueID struct {
	Sender txn.AccountID
	Seq    uint64
}

// QueueIDLen is the width of a queue id's key form: sender [20] | seq u64.
const QueueIDLen = txn.AccountIDSize + 8

// Key is the queue id's key form.
func (id QueueID) Key() [QueueIDLen]byte { return seqKey(id.Sender, id.Seq) }

// QueueIDFromKey is the inverse of Key.
func QueueIDFromKey(k []byte) (QueueID, error) {
	a, seq, err := parseSeqKey(k, "queue")
	return QueueID{Sender: a, Seq: seq}, err
}

// Queued is one waiting transfer. Records are never mutated once installed: a
// priority change writes a new record.
type Queued struct {
	ID       QueueID
	Hash     txn.Hash // the queued transaction's hash
	Priority uint8    // txn.PriorityUrgent or txn.PriorityNormal
	Height   uint64   // the block that queued it
	Index    uint32   // its transaction's index in that block
	Until    uint64   // the last block it may settle in; it expires at the end of that block
	Legs     []txn.Leg
}

// queueCmp is the queue order: urgent before normal, then by arrival (block,
// index in the block), which is unique.
func queueCmp(x, y *Queued) int {
	if c := cmp.Compare(x.Priority, y.Priority); c != 0 {
		return c
	}
	if c := cmp.Compare(x.Height, y.Height); c != 0 {
		return c
	}
	return cmp.Compare(x.Index, y.Index)
}

func queueLess(x, y *Queued) bool { return queueCmp(x, y) < 0 }

// Before reports whether q comes before o in queue order (only their
// priority, height and index count).
func (q *Queued) Before(o *Queued) bool { return queueLess(q, o) }

// Value returns the sum of the entry's legs (for statistics; legs of different
// assets add up as minor units).
func (q *Queued) Value() uint64 {
	var v uint64
	for i := range q.Legs {
		v += q.Legs[i].Amount // at most 8 legs of at most 2^62 each could overflow: saturate
		if v > txn.AmountMax {
			return txn.AmountMax
		}
	}
	return v
}

const queuedFixedLen = 32 + 1 + 8 + 4 + 8 + 1
const legLen = 2*txn.AccountIDSize + assetLen + 8

// AppendBinary appends hash [32] | priority u8 | height u64 | index u32 |
// until u64 | leg count u8 | legs (from [20] | to [20] | asset [23] | amount
// u64) (the id is the key).
func (q *Queued) AppendBinary(dst []byte) []byte {
	dst = append(dst, q.Hash[:]...)
	dst = append(dst, q.Priority)
	dst = binary.BigEndian.AppendUint64(dst, q.Height)
	dst = binary.BigEndian.AppendUint32(dst, q.Index)
	dst = binary.BigEndian.AppendUint64(dst, q.Until)
	dst = append(dst, byte(len(q.Legs)))
	for i := range q.Legs {
		l := &q.Legs[i]
		dst = append(dst, l.From[:]...)
		dst = append(dst, l.To[:]...)
		k := AssetKey(l.Asset)
		dst = append(dst, k[:]...)
		dst = binary.BigEndian.AppendUint64(dst, l.Amount)
	}
	return dst
}

// DecodeQueued parses a queued entry's encoding.
func DecodeQueued(id QueueID, b []byte) (*Queued, error) {
	if len(b) < queuedFixedLen {
		return nil, fmt.Errorf("queued %x: record is %d bytes, want at least %d", id.Key(), len(b), queuedFixedLen)
	}
	q := &Queued{ID: id}
	copy(q.Hash[:], b)
	q.Priority = b[32]
	q.Height = binary.BigEndian.Uint64(b[33:])
	q.Index = binary.BigEndian.Uint32(b[41:])
	q.Until = binary.BigEndian.Uint64(b[45:])
	n := int(b[53])
	if n == 0 || n > txn.LegCountMax || len(b) != queuedFixedLen+n*legLen {
		return nil, fmt.Errorf("queued %x: %d legs in a %d-byte record", id.Key(), n, len(b))
	}
	if txn.PriorityName(q.Priority) == "" {
		return nil, fmt.Errorf("queued %x: priority %d", id.Key(), q.Priority)
	}
	q.Legs = make([]txn.Leg, n)
	for i := range q.Legs {
		r := b[queuedFixedLen+i*legLen:]
		l := &q.Legs[i]
		copy(l.From[:], r)
		copy(l.To[:], r[20:])
		as, err := AssetFromKey(r[40:63])
		if err != nil {
			return nil, fmt.Errorf("queued %x leg %d: %w", id.Key(), i, err)
		}
		l.Asset = as
		l.Amount = binary.BigEndian.Uint64(r[63:])
	}
	return q, nil
}

// QueueWrite is one queued entry created, changed or removed by a block.
type QueueWrite struct {
	ID     QueueID
	Queued *Queued // the new record; nil: removed
}

func queueIDCmp(x, y QueueID) int {
	if c := bytes.Compare(x.Sender[:], y.Sender[:]); c != 0 {
		return c
	}
	return cmp.Compare(x.Seq, y.Seq)
}

// QueueOutcome says how a queued entry left the queue.
type QueueOutcome uint8

// Outcomes of queued entries.
const (
	QueueReleased QueueOutcome = 1 // settled at the end of a block once funds allowed, in queue order
	QueueOffset   QueueOutcome = 2 // settled by gridlock resolution, together with offsetting entries
	QueueExpired  QueueOutcome = 3 // still unsettled at the end of its queue_until block
	// QueueCancelled: removed by its sender's queue_cancel (a transaction of
	// the block, whose receipt says so; listed so that every exit is one event).
	QueueCancelled QueueOutcome = 4
)

func (o QueueOutcome) String() string {
	switch o {
	case QueueReleased:
		return "released"
	case QueueOffset:
		return "offset"
	case QueueExpired:
		return "expired"
	case QueueCancelled:
		return "cancelled"
	}
	return "unknown"
}

// QueueEvent is one entry leaving the queue. BlockResult.QueueEvents lists
// them in the order they happened: cancels among the block's transactions,
// then at the end of the block releases, offsets and expiries.
type QueueEvent struct {
	Entry   *Queued
	Outcome QueueOutcome
}

// senderQueue is one sender's committed entries in queue order.
// INVARIANT: sorted by queueLess; urgent counts the urgent entries.
type senderQueue struct {
	entries []*Queued
	urgent  int
}

// queueState is the committed queue, under Ledger.mu.
type queueState struct {
	entries map[QueueID]*Queued
	senders map[txn.AccountID]*senderQueue
	expiry  heightIndex[QueueID]
	// drawers maps an account that is a leg source of other senders' entries
	// (a co-signed queued multi-leg) to those senders and their entry counts:
	// funds arriving there may release their entries.
	drawers map[txn.AccountID]map[txn.AccountID]int
}

func (s *queueState) init() {
	s.entries = map[QueueID]*Queued{}
	s.senders = map[txn.AccountID]*senderQueue{}
	s.drawers = map[txn.AccountID]map[txn.AccountID]int{}
}

// draw counts (d = 1) or uncounts (d = -1) an entry's co-sources.
func (s *queueState) draw(q *Queued, d int) {
	for i := range q.Legs {
		src := q.Legs[i].From
		if src == q.ID.Sender || slices.ContainsFunc(q.Legs[:i], func(l txn.Leg) bool { return l.From == src }) {
			continue
		}
		m := s.drawers[src]
		if m == nil {
			m = map[txn.AccountID]int{}
			s.drawers[src] = m
		}
		if m[q.ID.Sender] += d; m[q.ID.Sender] == 0 {
			delete(m, q.ID.Sender)
			if len(m) == 0 {
				delete(s.drawers, src)
			}
		}
	}
}

// install applies a block's queue writes: removals filter the touched senders'
// lists, additions merge in. Cost: O(entries of the touched senders).
func (s *queueState) install(ws []QueueWrite, height uint64) {
	if len(ws) == 0 {
		s.expiry.pruneEmptied(height)
		return
	}
	touched := map[txn.AccountID][]*Queued{} // the sender's new or changed records
	for _, w := range ws {
		if old := s.entries[w.ID]; old != nil {
			s.expiry.remove(old.Until, w.ID)
			s.draw(old, -1)
			delete(s.entries, w.ID)
		}
		add := touched[w.ID.Sender]
		if w.Queued != nil {
			s.entries[w.ID] = w.Queued
			s.expiry.add(w.Queued.Until, w.ID)
			s.draw(w.Queued, 1)
			add = append(add, w.Queued)
		}
		touched[w.ID.Sender] = add
	}
	for sender, add := range touched {
		old := s.senders[sender]
		var kept []*Queued
		if old != nil {
			kept = make([]*Queued, 0, len(old.entries)+len(add))
			for _, q := range old.entries {
				if s.entries[q.ID] == q {
					kept = append(kept, q)
				}
			}
		}
		slices.SortFunc(add, queueCmp)
		merged := mergeQueued(kept, add)
		if len(merged) == 0 {
			delete(s.senders, sender)
			continue
		}
		sq := &senderQueue{entries: merged}
		for _, q := range merged {
			if q.Priority == txn.PriorityUrgent {
				sq.urgent++
			}
		}
		s.senders[sender] = sq
	}
	s.expiry.pruneEmptied(height)
}

// mergeQueued merges two lists sorted by queueLess.
func mergeQueued(a, b []*Queued) []*Queued {
	if len(b) == 0 {
		return a
	}
	out := make([]*Queued, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if queueLess(b[j], a[i]) {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// QueueStats summarise the committed queue (metrics).
type QueueStats struct {
	Entries  int
	Urgent   int
	Senders  int
	Value    uint64 // sum of the entries' legs, saturating at txn.AmountMax
	OldestAt uint64 // height that queued the oldest entry; 0 when empty
}

// QueueStats returns the committed queue's size, value and age. O(entries).
func (l *Ledger) QueueStats() QueueStats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	st := QueueStats{Entries: len(l.mu.queue.entries), Senders: len(l.mu.queue.senders)}
	for _, sq := range l.mu.queue.senders {
		st.Urgent += sq.urgent
	}
	for _, q := range l.mu.queue.entries {
		st.Value += q.Value()
		if st.Value > txn.AmountMax {
			st.Value = txn.AmountMax
		}
		if st.OldestAt == 0 || q.Height < st.OldestAt {
			st.OldestAt = q.Height
		}
	}
	return st
}

// Queue returns copies of the sender's committed queued entries in queue order.
func (l *Ledger) Queue(sender txn.AccountID) []Queued {
	l.mu.RLock()
	defer l.mu.RUnlock()
	sq := l.mu.queue.senders[sender]
	if sq == nil {
		return nil
	}
	out := make([]Queued, len(sq.entries))
	for i, q := range sq.entries {
		out[i] = *q
	}
	return out
}

// QueuedEntry returns one committed queued entry.
func (l *Ledger) QueuedEntry(id QueueID) (Queued, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	q, ok := l.mu.queue.entries[id]
	if !ok {
		return Queued{}, false
	}
	return *q, true
}

// QueuedEntries returns pointers to all committed queued entries (read-only;
// for snapshots and checks), sorted by id.
func (l *Ledger) QueuedEntries() []*Queued {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Queued, 0, len(l.mu.queue.entries))
	for _, q := range l.mu.queue.entries {
		out = append(out, q)
	}
	slices.SortFunc(out, func(x, y *Queued) int { return queueIDCmp(x.ID, y.ID) })
	return out
}

// checkQueue verifies the queue's indexes against its entries.
func (l *Ledger) checkQueue() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	qs := &l.mu.queue
	n := 0
	for sender, sq := range qs.senders {
		urgent := 0
		for i, q := range sq.entries {
			if q.ID.Sender != sender || qs.entries[q.ID] != q {
				return fmt.Errorf("queue of %s lists %x, not its committed entry", sender, q.ID.Key())
			}
			if i > 0 && !queueLess(sq.entries[i-1], q) {
				return fmt.Errorf("queue of %s is not in queue order at %d", sender, i)
			}
			if q.Priority == txn.PriorityUrgent {
				urgent++
			}
			if q.Until < q.Height {
				return fmt.Errorf("queued %x may wait until %d, before it was queued at %d", q.ID.Key(), q.Until, q.Height)
			}
		}
		if urgent != sq.urgent || len(sq.entries) == 0 || len(sq.entries) > QueuedPerAccountMax {
			return fmt.Errorf("queue of %s counts %d urgent of %d, has %d", sender, sq.urgent, len(sq.entries), urgent)
		}
		n += len(sq.entries)
	}
	if n != len(qs.entries) || qs.expiry.len() != n {
		return fmt.Errorf("queue holds %d entries, %d in sender lists, %d in the expiry index", len(qs.entries), n, qs.expiry.len())
	}
	return nil
}
