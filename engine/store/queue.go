package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// The RTGS queue in storage (docs/storage.md, "Queued payments"): the queued
// entries (q/), how each queued transaction left the queue (o/, by its hash,
// for status lookups), per block the net deltas of what the queue settled, by
// mechanism (w/), so that settlement reports tell immediate, queued and offset
// settlement apart, and per block the queue events themselves (u/), so that
// the commit stream's replay from storage announces them as the live stream
// did.

func queuedKey(id ledger.QueueID) []byte {
	k := id.Key()
	return append([]byte{prefixQueued, '/'}, k[:]...)
}

func outcomeKey(h txn.Hash) []byte { return append([]byte{prefixOutcome, '/'}, h[:]...) }

// queueEventsKey is block h's queue events record: absent for a block without any.
func queueEventsKey(h uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixQueueEvents, '/'}, h)
}

func queueNetKey(h uint64, o ledger.QueueOutcome) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{prefixQueueNet, '/'}, h), byte(o))
}

// queueResult is the history result of a queue outcome; a cancel has no
// history entry of its own (the queue_cancel transaction's is the record).
func queueResult(o ledger.QueueOutcome) codes.Code {
	switch o {
	case ledger.QueueReleased:
		return codes.QueueReleased
	case ledger.QueueOffset:
		return codes.QueueOffset
	}
	return codes.QueueExpired
}

// writeQueue adds a block's queue writes to its batch: the entries, the
// outcome records, the history of what left the queue (entries at index
// first+k for the k-th event, role RoleExpiry: automatic, with the queued
// transaction's hash) and the net deltas of what settled, into the block's
// deltas and by mechanism.
func writeQueue(set func(k, v []byte), del func(k []byte), buf []byte, h uint64, first uint32, res *ledger.BlockResult, deltas netDeltas) {
	if len(res.Queue) == 0 && len(res.QueueEvents) == 0 {
		return // the common block: nothing queued, nothing left the queue
	}
	for _, w := range res.Queue {
		if w.Queued == nil {
			del(queuedKey(w.ID))
			continue
		}
		set(queuedKey(w.ID), w.Queued.AppendBinary(buf[:0]))
	}
	var byMech [ledger.QueueOffset + 1]netDeltas
	transfers := make([]ledger.Transfer, 0, txn.LegCountMax)
	for k, ev := range res.QueueEvents {
		e := ev.Entry
		var v [outcomeLen]byte
		binary.BigEndian.PutUint64(v[:], h)
		v[8] = byte(ev.Outcome)
		v[9] = e.Priority // what it had when it left: a queue_priority_set may have changed the transaction's
		set(outcomeKey(e.Hash), v[:])
		r := ledger.Receipt{Hash: e.Hash, Result: queueResult(ev.Outcome)}
		i := first + uint32(k)
		switch ev.Outcome {
		case ledger.QueueReleased, ledger.QueueOffset:
			transfers = transfers[:0]
			for part, l := range e.Legs {
				set(historyKey(l.From, h, i, RoleExpiry, uint8(part)), appendHistoryValue(buf[:0], &r, l.Asset, l.Amount, l.To))
				set(historyKey(l.To, h, i, RoleExpiry, uint8(part)), appendHistoryValue(buf[:0], &r, l.Asset, l.Amount, l.From))
				transfers = append(transfers, ledger.Transfer{From: l.From, To: l.To, Asset: l.Asset, Amount: l.Amount})
			}
			deltas.add(transfers)
			if byMech[ev.Outcome] == nil {
				byMech[ev.Outcome] = newNetDeltas(len(res.QueueEvents))
			}
			byMech[ev.Outcome].add(transfers)
		case ledger.QueueExpired:
			l := e.Legs[0]
			set(historyKey(e.ID.Sender, h, i, RoleExpiry, 0), appendHistoryValue(buf[:0], &r, l.Asset, l.Amount, l.To))
		}
		// A cancel is its transaction's own history entry.
	}
	for o, m := range byMech {
		if m != nil {
			m.write(set, queueNetKey(h, ledger.QueueOutcome(o)))
		}
	}
	if len(res.QueueEvents) > 0 {
		set(queueEventsKey(h), appendQueueEvents(nil, res.QueueEvents))
	}
}

// queueEventFixedLen is an event's size in the u/ record before its entry's
// record: outcome u8 | queue id [28] | record length u16.
const queueEventFixedLen = 1 + ledger.QueueIDLen + 2

// appendQueueEvents encodes a block's queue events, in order: count u32 |
// count × (outcome u8 | queue id [28] | record length u16 | the entry's record
// as in q/). An entry's record is at most a few hundred bytes (8 legs).
func appendQueueEvents(dst []byte, evs []ledger.QueueEvent) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(evs)))
	for _, ev := range evs {
		dst = append(dst, byte(ev.Outcome))
		k := ev.Entry.ID.Key()
		dst = append(dst, k[:]...)
		at := len(dst)
		dst = ev.Entry.AppendBinary(append(dst, 0, 0))
		binary.BigEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
	}
	return dst
}

// decodeQueueEvents is the inverse of appendQueueEvents; h names the block in errors.
func decodeQueueEvents(h uint64, b []byte) ([]ledger.QueueEvent, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("queue events of block %d: record is %d bytes", h, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	// Each event takes at least queueEventFixedLen bytes: a count the record
	// cannot hold is corrupt, and must not size an allocation.
	if uint64(n)*queueEventFixedLen > uint64(len(b)) {
		return nil, fmt.Errorf("queue events of block %d: %d events in %d bytes", h, n, len(b))
	}
	out := make([]ledger.QueueEvent, n)
	for i := range out {
		if len(b) < queueEventFixedLen {
			return nil, fmt.Errorf("queue events of block %d: event %d truncated", h, i)
		}
		o := ledger.QueueOutcome(b[0])
		if o < ledger.QueueReleased || o > ledger.QueueCancelled {
			return nil, fmt.Errorf("queue events of block %d: event %d has outcome %d", h, i, b[0])
		}
		id, err := ledger.QueueIDFromKey(b[1 : 1+ledger.QueueIDLen])
		if err != nil {
			return nil, fmt.Errorf("queue events of block %d: event %d: %w", h, i, err)
		}
		l := int(binary.BigEndian.Uint16(b[1+ledger.QueueIDLen:]))
		b = b[queueEventFixedLen:]
		if l > len(b) {
			return nil, fmt.Errorf("queue events of block %d: event %d truncated", h, i)
		}
		e, err := ledger.DecodeQueued(id, b[:l])
		if err != nil {
			return nil, fmt.Errorf("queue events of block %d: event %d: %w", h, i, err)
		}
		out[i] = ledger.QueueEvent{Entry: e, Outcome: o}
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("queue events of block %d: %d bytes after the last event", h, len(b))
	}
	return out, nil
}

// QueueEvents returns the queue events of committed block h in the order they
// happened (nil for a block without any, or one not committed).
func (s *Store) QueueEvents(h uint64) ([]ledger.QueueEvent, error) {
	v, err := s.get(queueEventsKey(h))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load queue events of block %d: %w", h, err)
	}
	return decodeQueueEvents(h, v)
}

// QueueExit is how a queued transaction left the queue.
type QueueExit struct {
	Height  uint64
	Outcome ledger.QueueOutcome
	// Priority is the entry's priority when it left (txn.PriorityUrgent or
	// txn.PriorityNormal); 0 in a record written before it was kept.
	Priority uint8
}

// outcomeLen is an o/ value's size: height u64 | outcome u8 | priority u8.
// The first build wrote 9 bytes, without the priority; they still read.
const outcomeLen = 10

// QueueOutcome returns how the queued transaction with this hash left the
// queue (ErrNotFound: it has not, or it never queued).
func (s *Store) QueueOutcome(h txn.Hash) (QueueExit, error) {
	v, err := s.get(outcomeKey(h))
	if err != nil {
		return QueueExit{}, err
	}
	if len(v) != outcomeLen && len(v) != outcomeLen-1 {
		return QueueExit{}, fmt.Errorf("queue outcome of %x is %d bytes", h[:8], len(v))
	}
	x := QueueExit{Height: binary.BigEndian.Uint64(v), Outcome: ledger.QueueOutcome(v[8])}
	if len(v) == outcomeLen {
		x.Priority = v[9]
	}
	return x, nil
}
