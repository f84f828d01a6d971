package store

import (
	"encoding/binary"
	"fmt"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// The RTGS queue in storage (docs/storage.md, "Queued payments"): the queued
// entries (q/), how each queued transaction left the queue (o/, by its hash,
// for status lookups), and per block the net deltas of what the queue settled,
// by mechanism (w/), so that settlement reports tell immediate, queued and
// offset settlement apart.

func queuedKey(id ledger.QueueID) []byte {
	k := id.Key()
	return append([]byte{prefixQueued, '/'}, k[:]...)
}

func outcomeKey(h txn.Hash) []byte { return append([]byte{prefixOutcome, '/'}, h[:]...) }

func queueNetKey(h uint64, o ledger.QueueOutcome) []byte {
	return append(binary.BigEndian.AppendUint64([]byte{prefixQueueNet, '/'}, h), byte(o))
}

// queueResult is the history result of a queue outcome.
func queueResult(o ledger.QueueOutcome) codes.Code {
	switch o {
	case ledger.QueueReleased:
		return codes.QueueReleased
	case ledger.QueueOffset:
		return codes.QueueOffset
	case ledger.QueueExpired:
		return codes.QueueExpired
	}
	return codes.QueueCancelled
}

// writeQueue adds a block's queue writes to its batch: the entries, the
// outcome records, the history of what left the queue (entries at index
// first+k for the k-th event, role RoleExpiry: automatic, with the queued
// transaction's hash) and the net deltas of what settled, into the block's
// deltas and by mechanism.
func writeQueue(set func(k, v []byte), del func(k []byte), buf []byte, h uint64, first uint32, res *ledger.BlockResult, deltas netDeltas) {
	for _, w := range res.Queue {
		if w.Deleted {
			del(queuedKey(w.ID))
			continue
		}
		set(queuedKey(w.ID), w.Queued.AppendBinary(buf[:0]))
	}
	var byMech [ledger.QueueOffset + 1]netDeltas
	transfers := make([]ledger.Transfer, 0, txn.LegCountMax)
	for k, ev := range res.QueueEvents {
		e := ev.Entry
		var v [9]byte
		binary.BigEndian.PutUint64(v[:], h)
		v[8] = byte(ev.Outcome)
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
}

// QueueExit is how a queued transaction left the queue.
type QueueExit struct {
	Height  uint64
	Outcome ledger.QueueOutcome
}

// QueueOutcome returns how the queued transaction with this hash left the
// queue (ErrNotFound: it has not, or it never queued).
func (s *Store) QueueOutcome(h txn.Hash) (QueueExit, error) {
	v, err := s.get(outcomeKey(h))
	if err != nil {
		return QueueExit{}, err
	}
	if len(v) != 9 {
		return QueueExit{}, fmt.Errorf("queue outcome of %x is %d bytes", h[:8], len(v))
	}
	return QueueExit{Height: binary.BigEndian.Uint64(v), Outcome: ledger.QueueOutcome(v[8])}, nil
}
