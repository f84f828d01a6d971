package ledger

import (
	"slices"

	"settle/engine/codes"
	"settle/engine/txn"
)

// queueOverlay is a block's writes to the queue.
type queueOverlay struct {
	entries  map[QueueID]*Queued         // nil value: removed in this block
	bySender map[txn.AccountID][]QueueID // the ids written, per sender, each once
	delta    map[txn.AccountID]*queueDelta
}

// queueDelta is how a block changed a sender's entry counts.
type queueDelta struct{ total, urgent int }

func (q *queueOverlay) empty() bool { return len(q.entries) == 0 }

func (o *overlay) writeQueued(id QueueID, e *Queued) {
	if o.q.entries == nil {
		o.q.entries = map[QueueID]*Queued{}
		o.q.bySender = map[txn.AccountID][]QueueID{}
		o.q.delta = map[txn.AccountID]*queueDelta{}
	}
	prev, seen := o.q.entries[id]
	if !seen {
		o.q.bySender[id.Sender] = append(o.q.bySender[id.Sender], id)
		prev = o.l.committedQueued(id)
	}
	d := o.q.delta[id.Sender]
	if d == nil {
		d = &queueDelta{}
		o.q.delta[id.Sender] = d
	}
	for _, x := range [2]struct {
		q    *Queued
		sign int
	}{{prev, -1}, {e, 1}} {
		if x.q != nil {
			d.total += x.sign
			if x.q.Priority == txn.PriorityUrgent {
				d.urgent += x.sign
			}
		}
	}
	o.q.entries[id] = e
}

// putQueued adds or replaces an entry.
func (o *overlay) putQueued(e *Queued) { o.writeQueued(e.ID, e) }

// removeQueued removes a queued entry (settled, cancelled or expired).
func (o *overlay) removeQueued(e *Queued) { o.writeQueued(e.ID, nil) }

// queued returns the entry as the block sees it (nil: none).
func (o *overlay) queued(id QueueID) *Queued {
	if e, ok := o.q.entries[id]; ok {
		return e
	}
	return o.l.committedQueued(id)
}

func (l *Ledger) committedQueued(id QueueID) *Queued {
	l.mu.RLock()
	e := l.mu.queue.entries[id]
	l.mu.RUnlock()
	return e
}

// drawers returns the senders with committed entries drawing on s as a
// co-source (read-only).
func (l *Ledger) drawers(s txn.AccountID) map[txn.AccountID]int {
	l.mu.RLock()
	m := l.mu.queue.drawers[s]
	l.mu.RUnlock()
	return m
}

func (l *Ledger) committedSender(s txn.AccountID) *senderQueue {
	l.mu.RLock()
	sq := l.mu.queue.senders[s]
	l.mu.RUnlock()
	return sq
}

// queueCounts returns the sender's entries and urgent entries as the block
// sees them. O(1).
func (o *overlay) queueCounts(s txn.AccountID) (total, urgent int) {
	if sq := o.l.committedSender(s); sq != nil {
		total, urgent = len(sq.entries), sq.urgent
	}
	if d := o.q.delta[s]; d != nil {
		total, urgent = total+d.total, urgent+d.urgent
	}
	return total, urgent
}

// senderView returns the sender's committed entries merged with the block's
// records for it, in queue order. Committed entries the block removed or
// replaced (a priority change) are left in: a walk skips every e with
// o.queued(e.ID) != e, and so pays for the stale entries it reaches rather
// than for filtering every entry. Without writes for the sender it is the
// committed list itself: read-only.
func (o *overlay) senderView(s txn.AccountID) []*Queued {
	var committed []*Queued
	if sq := o.l.committedSender(s); sq != nil {
		committed = sq.entries
	}
	var extra []*Queued
	for _, id := range o.q.bySender[s] {
		if e := o.q.entries[id]; e != nil { // a write is always a new record
			extra = append(extra, e)
		}
	}
	if len(extra) == 0 {
		return committed
	}
	slices.SortFunc(extra, queueCmp)
	return mergeQueued(committed, extra)
}

// hasQueue reports whether the sender holds entries as the block sees them.
func (o *overlay) hasQueue(s txn.AccountID) bool {
	total, _ := o.queueCounts(s)
	return total > 0
}

// liquidityShort reports whether a failed transfer may succeed later without
// anything but funds (or outflow allowance) arriving: only then does a queued
// transfer wait instead of failing.
func liquidityShort(c codes.Code) bool {
	return c == codes.InsufficientFunds || c == codes.OutflowLimit
}

// queuedLegs returns a queued transaction's transfers: a queued payment's one
// from the sender, or the legs.
func queuedLegs(tx *txn.Tx) []txn.Leg {
	if tx.Type == txn.TypeQueuedPayment {
		return []txn.Leg{{From: tx.Sender, To: tx.Dest, Asset: tx.Asset, Amount: tx.Amount}}
	}
	return tx.Legs
}

// queuedTransfer runs a queued_payment or queued_multi_leg: it settles now
// when the queue rules let it and funds allow (Success), waits in the queue
// when only liquidity is short or earlier urgent entries of the sender wait
// (Queued), and fails otherwise, as the plain transfer would.
//
// The rules: a sender's urgent entries settle in strict FIFO order, and none
// of its normal entries settles while an urgent one waits; a normal entry may
// overtake earlier normal ones (FIFO with by-passing). So a new entry may try
// at once only when the sender has no urgent entry waiting.
func (x *execCtx) queuedTransfer() (codes.Code, uint8) {
	tx := x.tx
	legs := queuedLegs(tx)
	total, urgent := x.o.queueCounts(tx.Sender)
	wait := urgent > 0
	// The attempt runs in a journal: it is rolled back when it fails, and when
	// the entry must wait anyway (then it only proves the transfer could
	// settle given funds).
	j := &journal{nativeIn: x.res.nativeIn, nativeOut: x.res.nativeOut, transfers: len(x.res.Transfers)}
	x.o.journal = j
	code, leg := x.applyLegs(legs, true, tx.Type == txn.TypeQueuedMultiLeg)
	x.o.journal = nil
	if code == codes.Success && !wait {
		return codes.Success, 0
	}
	j.rollback(x.o, x.res)
	if code != codes.Success && !liquidityShort(code) {
		return code, leg
	}
	if total >= QueuedPerAccountMax {
		return codes.TooManyEntries, 0
	}
	x.o.putQueued(&Queued{ID: QueueID{Sender: tx.Sender, Seq: tx.Seq}, Hash: tx.Hash(), Priority: tx.Priority,
		Height: x.height, Index: x.idx, Until: tx.QueueUntil, Legs: legs})
	return codes.Queued, 0
}

// queueCancel removes one of the sender's queued entries.
func (x *execCtx) queueCancel() codes.Code {
	e := x.o.queued(QueueID{Sender: x.tx.Sender, Seq: x.tx.QueueSeq})
	if e == nil {
		return codes.QueueNotFound
	}
	x.o.removeQueued(e)
	x.res.QueueEvents = append(x.res.QueueEvents, QueueEvent{Entry: e, Outcome: QueueCancelled})
	return codes.Success
}

// queuePrioritySet moves one of the sender's entries to another priority; it
// keeps its arrival, so it lands where it would have had it arrived so.
func (x *execCtx) queuePrioritySet() codes.Code {
	e := x.o.queued(QueueID{Sender: x.tx.Sender, Seq: x.tx.QueueSeq})
	if e == nil {
		return codes.QueueNotFound
	}
	if e.Priority != x.tx.Priority {
		c := *e
		c.Priority = x.tx.Priority
		x.o.putQueued(&c)
	}
	return codes.Success
}

// settleQueue runs the queue's end-of-block work after the block's
// transactions and escrow returns: release, gridlock resolution on its
// blocks, then expiry. Nothing when the queue is empty.
func (l *Ledger) settleQueue(o *overlay, res *BlockResult, height uint64) {
	l.mu.RLock()
	committed := len(l.mu.queue.entries)
	l.mu.RUnlock()
	if committed == 0 && o.q.empty() {
		return // the common case
	}
	x := &execCtx{l: l, o: o, res: res, height: height}
	budget := l.queue.releaseAttemptsMax
	l.release(x, &budget)
	if k := l.queue.gridlockEveryBlocks; k > 0 && height%k == 0 {
		if l.gridlock(x) {
			l.release(x, &budget) // what offsetting paid in may release more
		}
	}
	l.expireQueued(o, res, height)
}

// release settles queued entries whose senders' funds may have changed in this
// block (every account the block touched that holds a queue, and every sender
// that queued), in queue order per sender, cascading to the receivers of what
// settles. At most budget attempts: a block's extra work is bounded, and what
// the budget leaves is tried again the next time the sender's funds change, or
// by gridlock resolution.
func (l *Ledger) release(x *execCtx, budget *int) {
	o := x.o
	var work []txn.AccountID
	pending := map[txn.AccountID]bool{}
	push := func(s txn.AccountID) {
		if !pending[s] && o.hasQueue(s) {
			pending[s] = true
			work = append(work, s)
		}
		// Senders whose entries draw on s as a co-signed source.
		for sender := range l.drawers(s) {
			if !pending[sender] && o.hasQueue(sender) {
				pending[sender] = true
				work = append(work, sender)
			}
		}
	}
	for id := range o.accounts {
		push(id)
	}
	for s := range o.q.bySender {
		push(s)
	}
	// Each sender's view is taken once per release and compacted as it is
	// walked: release only removes entries, so what it skips is what it
	// settled, and the walk costs the attempts plus each removal once, however
	// often a cascade brings a sender back.
	views := make(map[txn.AccountID][]*Queued, len(work))
	view := func(s txn.AccountID) []*Queued {
		v, ok := views[s]
		if !ok {
			v = slices.Clone(o.senderView(s)) // compacted below: never the committed list
			views[s] = v
		}
		return v
	}
	// Oldest and most urgent heads first; map order must not leak into the result.
	heads := make(map[txn.AccountID]*Queued, len(work))
	for _, s := range work {
		heads[s] = view(s)[0]
		for _, e := range view(s) {
			if o.queued(e.ID) == e {
				heads[s] = e
				break
			}
		}
	}
	slices.SortFunc(work, func(a, b txn.AccountID) int { return queueCmp(heads[a], heads[b]) })
	for len(work) > 0 && *budget > 0 {
		s := work[0]
		work = work[1:]
		pending[s] = false
		v := view(s)
		kept := v[:0]
		i, failed := 0, 0
		for ; i < len(v) && *budget > 0 && failed < releaseFailuresPerVisitMax; i++ {
			e := v[i]
			if o.queued(e.ID) != e || e.Until < x.height {
				continue // settled or replaced in this block, or lapsed (past its queue_until, awaiting removal)
			}
			*budget--
			if x.settleEntry(e) {
				x.res.QueueEvents = append(x.res.QueueEvents, QueueEvent{Entry: e, Outcome: QueueReleased})
				for k := range e.Legs {
					push(e.Legs[k].To)
				}
				continue
			}
			kept = append(kept, e)
			failed++
			if e.Priority == txn.PriorityUrgent {
				i++
				break // strict FIFO for urgent entries, and normal ones wait behind them
			}
		}
		views[s] = append(kept, v[i:]...)
	}
}

// releaseFailuresPerVisitMax stops a sender's walk after this many entries
// failed to settle, so that one participant's queue of payments it cannot
// fund does not take the whole block's budget from the others: by-passing
// looks this deep past the first entry that waits. Gridlock resolution still
// considers every entry.
const releaseFailuresPerVisitMax = 64

// settleEntry applies a queued entry's legs all or none and removes it from
// the queue on success. Its signatures authorised it when it was queued.
func (x *execCtx) settleEntry(e *Queued) bool {
	j := &journal{nativeIn: x.res.nativeIn, nativeOut: x.res.nativeOut, transfers: len(x.res.Transfers)}
	x.o.journal = j
	code, _ := x.applyLegs(e.Legs, false, false)
	x.o.journal = nil
	if code != codes.Success {
		j.rollback(x.o, x.res)
		return false
	}
	x.o.removeQueued(e)
	return true
}

// expireQueued removes the entries whose queue_until is this block or
// earlier, oldest queue_until first and in queue order, at most expiriesMax
// of them: a cut-off that many entries share is spread over the next blocks,
// and until then the entries past it are lapsed — release and gridlock
// resolution skip them, so none settles after its queue_until.
func (l *Ledger) expireQueued(o *overlay, res *BlockResult, height uint64) {
	var due []*Queued
	seen := map[QueueID]bool{}
	l.mu.RLock()
	var ids []QueueID
	if l.mu.queue.expiry.anyDue(height) {
		ids = l.mu.queue.expiry.due(height, nil)
	}
	l.mu.RUnlock()
	for _, id := range ids {
		if e := o.queued(id); e != nil && e.Until <= height {
			due = append(due, e)
			seen[id] = true
		}
	}
	for id, e := range o.q.entries {
		if e != nil && e.Until <= height && !seen[id] {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *Queued) int {
		switch {
		case a.Until < b.Until:
			return -1
		case a.Until > b.Until:
			return 1
		}
		return queueCmp(a, b)
	})
	if len(due) > l.queue.expiriesMax {
		due = due[:l.queue.expiriesMax]
	}
	for _, e := range due {
		o.removeQueued(e)
		res.QueueEvents = append(res.QueueEvents, QueueEvent{Entry: e, Outcome: QueueExpired})
	}
}

// queueWrites lists the block's queue writes sorted by id.
func (o *overlay) queueWrites() []QueueWrite {
	if o.q.empty() {
		return nil
	}
	out := make([]QueueWrite, 0, len(o.q.entries))
	for id, e := range o.q.entries {
		switch {
		case e != nil:
			out = append(out, QueueWrite{ID: id, Queued: e})
		case o.l.committedQueued(id) != nil:
			out = append(out, QueueWrite{ID: id}) // removed
		}
		// Queued and removed within the block: nothing to write.
	}
	slices.SortFunc(out, func(a, b QueueWrite) int { return queueIDCmp(a.ID, b.ID) })
	return out
}
