package ledger

import (
	"container/heap"
	"math"
	"math/bits"
	"slices"

	"settle/engine/txn"
)

// Gridlock resolution (docs/ledger.md, "Gridlock resolution"): multilateral
// offsetting of the queue, all or nothing first, then partial optimisation, as
// TARGET2's algorithms 1 and 2 do.
//
// The candidates are the queued entries that could settle but for liquidity
// (every leg's lines exist, are authorised and not frozen, and no leg passes a
// per-transaction limit), in queue order, at most gridlockEntriesMax of them.
// Each (account, asset) they touch is a position with a gross inflow and
// outflow over the set. A position is covered when
//
//   - its balance plus inflow covers its outflow (the net never takes a
//     balance below zero);
//   - a holder's net inflow fits its trust line (balance + escrowed + net <=
//     limit); an issuer's net issuance keeps the outstanding amount within
//     txn.AmountMax;
//   - its gross outflow fits what its rolling outflow window still allows.
//
// All or nothing: if every position is covered, the whole set settles at once.
// Otherwise partial optimisation removes, for each uncovered position in turn
// (in order of first appearance in the queue), its own entries, latest and
// least urgent first — the debits of a short position, the credits of one
// whose line would overflow — until it is covered, and repeats until every
// position is covered (the remaining set settles) or the set is empty. Each
// removal is final, so there are at most n removals; passes are bounded by
// gridlockRoundsMax (if that runs out, nothing settles this time).
//
// Cost: sorting the candidates, O(n log n), then O(legs + passes ×
// positions) with n <= gridlockEntriesMax. The settled set moves each
// position's net amount, so the order of the entries inside it does not
// matter, and no balance is ever below zero.

// u128 is an exact sum of up to 2^64 amounts.
type u128 struct{ hi, lo uint64 }

func (u *u128) add(v uint64) {
	var c uint64
	u.lo, c = bits.Add64(u.lo, v, 0)
	u.hi += c
}

func (u *u128) sub(v uint64) {
	var b uint64
	u.lo, b = bits.Sub64(u.lo, v, 0)
	u.hi -= b
}

func (u u128) plus(v uint64) u128 { u.add(v); return u }

func (u u128) cmp(v u128) int {
	switch {
	case u.hi != v.hi:
		if u.hi < v.hi {
			return -1
		}
		return 1
	case u.lo != v.lo:
		if u.lo < v.lo {
			return -1
		}
		return 1
	}
	return 0
}

// diff64 returns u - v when u >= v and it fits 64 bits (ok false otherwise).
func diff64(u, v u128) (uint64, bool) {
	if u.cmp(v) < 0 {
		return 0, false
	}
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi := u.hi - v.hi - b
	return lo, hi == 0
}

const (
	posNative = iota
	posHolder
	posIssuer
)

type posKey struct {
	acct  txn.AccountID
	asset txn.Asset
}

// position is one (account, asset) of the offsetting.
type position struct {
	key        posKey
	kind       int
	bal        uint64 // spendable: native balance or line amount
	room       uint64 // holder: limit - amount - escrowed; issuer: AmountMax - outstanding
	windowLeft uint64 // outflow the rolling window still allows (MaxUint64: no window)
	in, out    u128
	debits     []int32 // entries with a leg out of this position, in queue order
	credits    []int32 // entries with a leg into it
	dcur, ccur int     // removal cursors, from the end
}

func (p *position) debitOK() bool {
	if p.out.cmp(u128{lo: p.windowLeft}) > 0 {
		return false
	}
	if p.kind == posIssuer {
		return p.out.cmp(p.in.plus(p.room)) <= 0
	}
	return p.in.plus(p.bal).cmp(p.out) >= 0
}

func (p *position) creditOK() bool {
	return p.kind != posHolder || p.in.cmp(p.out.plus(p.room)) <= 0
}

// netting is one gridlock resolution.
type netting struct {
	x         *execCtx
	entries   []*Queued
	legPos    [][2]int32 // per leg of every entry, flattened: from and to positions
	legStart  []int32    // entry i's legs are legPos[legStart[i]:legStart[i+1]]
	removed   []bool
	positions []*position
	index     map[posKey]int32
}

// gridlock runs one resolution over the queue as the block sees it and
// reports whether it settled anything.
func (l *Ledger) gridlock(x *execCtx) bool {
	cands := l.gridlockCandidates(x.o, x.height)
	if len(cands) == 0 {
		return false
	}
	n := &netting{x: x, index: map[posKey]int32{}}
	for _, e := range cands {
		n.add(e)
	}
	if len(n.entries) == 0 || !n.resolve(l.queue.gridlockRoundsMax) {
		return false
	}
	n.apply()
	return true
}

// gridlockCandidates returns the first gridlockEntriesMax queued entries in
// queue order that may still settle at height.
func (l *Ledger) gridlockCandidates(o *overlay, height uint64) []*Queued {
	l.mu.RLock()
	senders := make([]txn.AccountID, 0, len(l.mu.queue.senders)+len(o.q.bySender))
	for s := range l.mu.queue.senders {
		senders = append(senders, s)
	}
	l.mu.RUnlock()
	for s := range o.q.bySender {
		if o.l.committedSender(s) == nil {
			senders = append(senders, s)
		}
	}
	// Merge the senders' lists (each in queue order) up to the bound:
	// O(max × log senders), whatever the queue's length.
	h := &viewHeap{}
	for _, s := range senders {
		if v := o.senderView(s); len(v) > 0 {
			h.views = append(h.views, v)
		}
	}
	heap.Init(h)
	var out []*Queued
	for h.Len() > 0 && len(out) < l.queue.gridlockEntriesMax {
		v := h.views[0]
		if e := v[0]; o.queued(e.ID) == e && e.Until >= height {
			out = append(out, e) // live: not removed or replaced in this block, not lapsed
		}
		if len(v) == 1 {
			heap.Pop(h)
		} else {
			h.views[0] = v[1:]
			heap.Fix(h, 0)
		}
	}
	return out
}

// viewHeap orders non-empty sender lists by their heads.
type viewHeap struct{ views [][]*Queued }

func (h *viewHeap) Len() int           { return len(h.views) }
func (h *viewHeap) Less(i, j int) bool { return queueLess(h.views[i][0], h.views[j][0]) }
func (h *viewHeap) Swap(i, j int)      { h.views[i], h.views[j] = h.views[j], h.views[i] }
func (h *viewHeap) Push(x any)         { h.views = append(h.views, x.([]*Queued)) }
func (h *viewHeap) Pop() any {
	v := h.views[len(h.views)-1]
	h.views = h.views[:len(h.views)-1]
	return v
}

// position returns the index of (acct, asset)'s position, creating it from
// the block's view of the state; ok is false when the leg could not settle
// whatever the liquidity (missing line, freeze, authorisation).
func (n *netting) position(acct txn.AccountID, as txn.Asset, debit, counterIssuer bool) (int32, bool) {
	k := posKey{acct: acct, asset: as}
	i, seen := n.index[k]
	var p *position
	if seen {
		p = n.positions[i]
	} else {
		p = &position{key: k, windowLeft: math.MaxUint64}
		o := n.x.o
		a := o.account(acct)
		switch {
		case as.IsNative():
			p.kind = posNative
			if a != nil {
				p.bal = a.Native
				if a.Ext != nil {
					p.windowLeft = windowLeft(&a.Ext.NativeLimits, n.x.height)
				}
			} else if debit {
				return 0, false
			}
		case acct == as.Issuer:
			info := o.asset(as)
			if info == nil || a == nil {
				return 0, false
			}
			p.kind, p.room = posIssuer, txn.AmountMax-info.Outstanding
		default:
			info := o.asset(as)
			if info == nil || a == nil {
				return 0, false
			}
			ln := a.line(as)
			if ln == nil {
				return 0, false
			}
			p.kind, p.bal = posHolder, ln.Amount
			p.room = ln.Limit - ln.Amount - ln.Escrowed
			p.windowLeft = windowLeft(&ln.Limits, n.x.height)
		}
		i = int32(len(n.positions))
	}
	if !n.legAllowed(p, debit, counterIssuer) {
		return 0, false
	}
	if !seen {
		n.index[k] = i
		n.positions = append(n.positions, p)
	}
	return i, true
}

// legAllowed applies the freeze and authorisation rules of transfer to one
// side of a leg.
func (n *netting) legAllowed(p *position, debit, counterIssuer bool) bool {
	if p.kind == posNative {
		return true
	}
	info := n.x.o.asset(p.key.asset)
	frozen := info.Flags&txn.AssetFlagGlobalFreeze != 0
	if p.kind == posIssuer {
		return !debit || !frozen // the issuer issues only while the asset is not frozen
	}
	ln := n.x.o.account(p.key.acct).line(p.key.asset)
	if debit && counterIssuer {
		return true // a frozen or unauthorised holder may still redeem
	}
	frozen = frozen || ln.Flags&txn.LineFlagFrozen != 0
	unauth := info.Flags&txn.AssetFlagRequireAuth != 0 && ln.Flags&txn.LineFlagAuthorized == 0
	return !frozen && !unauth
}

// windowLeft is what a rolling outflow window still allows at height.
func windowLeft(lim *Limits, height uint64) uint64 {
	if lim.WindowMax == 0 {
		return math.MaxUint64
	}
	cur, prev := lim.window(height)
	if cur+prev >= lim.WindowMax {
		return 0
	}
	return lim.WindowMax - cur - prev
}

// perTxAllowed checks a leg against its source's per-transaction limit.
func (n *netting) perTxAllowed(leg *txn.Leg) bool {
	a := n.x.o.account(leg.From)
	if a == nil {
		return false
	}
	var lim *Limits
	if leg.Asset.IsNative() {
		if a.Ext == nil {
			return true
		}
		lim = &a.Ext.NativeLimits
	} else if ln := a.line(leg.Asset); ln != nil {
		lim = &ln.Limits
	} else {
		return true // the issuer: no limits of its own
	}
	return lim.PerTxMax == 0 || leg.Amount <= lim.PerTxMax
}

// add makes e a candidate if every leg could settle given liquidity.
func (n *netting) add(e *Queued) {
	var pos [txn.LegCountMax][2]int32
	for k := range e.Legs {
		leg := &e.Legs[k]
		if !n.perTxAllowed(leg) {
			return
		}
		from, ok := n.position(leg.From, leg.Asset, true, leg.To == leg.Asset.Issuer)
		if !ok {
			return
		}
		to, ok := n.position(leg.To, leg.Asset, false, leg.From == leg.Asset.Issuer)
		if !ok {
			return
		}
		pos[k] = [2]int32{from, to}
	}
	i := int32(len(n.entries))
	n.entries = append(n.entries, e)
	n.legStart = append(n.legStart, int32(len(n.legPos)))
	for k := range e.Legs {
		from, to := n.positions[pos[k][0]], n.positions[pos[k][1]]
		from.out.add(e.Legs[k].Amount)
		to.in.add(e.Legs[k].Amount)
		if l := len(from.debits); l == 0 || from.debits[l-1] != i {
			from.debits = append(from.debits, i)
		}
		if l := len(to.credits); l == 0 || to.credits[l-1] != i {
			to.credits = append(to.credits, i)
		}
		n.legPos = append(n.legPos, pos[k])
	}
}

func (n *netting) remove(i int32) {
	n.removed[i] = true
	e := n.entries[i]
	end := int32(len(n.legPos))
	if int(i)+1 < len(n.legStart) {
		end = n.legStart[i+1]
	}
	for k, lp := range n.legPos[n.legStart[i]:end] {
		n.positions[lp[0]].out.sub(e.Legs[k].Amount)
		n.positions[lp[1]].in.sub(e.Legs[k].Amount)
	}
}

// resolve finds the set to settle: all (all or nothing) or what partial
// optimisation leaves. It reports whether a non-empty set remains.
func (n *netting) resolve(roundsMax int) bool {
	n.removed = make([]bool, len(n.entries))
	for _, p := range n.positions {
		p.dcur, p.ccur = len(p.debits), len(p.credits)
	}
	for round := 0; round < roundsMax; round++ {
		clean := true
		for _, p := range n.positions {
			for !p.debitOK() && p.dcur > 0 {
				clean = false
				p.dcur--
				if i := p.debits[p.dcur]; !n.removed[i] {
					n.remove(i)
				}
			}
			for !p.creditOK() && p.ccur > 0 {
				clean = false
				p.ccur--
				if i := p.credits[p.ccur]; !n.removed[i] {
					n.remove(i)
				}
			}
		}
		if clean {
			return slices.Contains(n.removed, false)
		}
	}
	return false
}

// apply settles the set: each position moves by its net amount.
func (n *netting) apply() {
	x := n.x
	o := x.o
	for _, p := range n.positions {
		if p.in == p.out {
			if p.out != (u128{}) {
				n.consumeWindow(p) // a fully offset outflow still counts against the window
			}
			continue
		}
		gain, up := diff64(p.in, p.out)
		loss, down := diff64(p.out, p.in)
		if !up && !down {
			panic("ledger: gridlock position moves beyond 64 bits")
		}
		switch p.kind {
		case posNative:
			a := o.account(p.key.acct)
			if a == nil {
				a = o.create(p.key.acct)
			}
			if up {
				a.Native += gain
				x.res.nativeIn += gain
			} else {
				a.Native -= loss // debitOK: loss <= balance
				x.res.nativeOut += loss
			}
		case posHolder:
			ln := o.account(p.key.acct).line(p.key.asset)
			if up {
				ln.Amount += gain
			} else {
				ln.Amount -= loss
			}
		case posIssuer:
			info := o.asset(p.key.asset)
			if up {
				info.Outstanding -= gain // redeemed
			} else {
				info.Outstanding += loss // issued
			}
		}
		n.consumeWindow(p)
	}
	for _, p := range n.positions {
		if p.kind == posHolder {
			o.account(p.key.acct).prune(p.key.asset)
		}
	}
	for i, e := range n.entries {
		if !n.removed[i] {
			o.removeQueued(e)
			x.res.QueueEvents = append(x.res.QueueEvents, QueueEvent{Entry: e, Outcome: QueueOffset})
		}
	}
}

// consumeWindow counts a position's gross outflow against its window.
func (n *netting) consumeWindow(p *position) {
	if p.windowLeft == math.MaxUint64 {
		return
	}
	out := p.out.lo // debitOK: out <= windowLeft < 2^64
	a := n.x.o.account(p.key.acct)
	if p.kind == posNative {
		a.ext().NativeLimits.consume(n.x.height, out)
	} else if ln := a.line(p.key.asset); ln != nil {
		ln.Limits.consume(n.x.height, out)
	}
}
