package rtgsday

import (
	"errors"
	"fmt"
	"time"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Mode is a settlement mechanism: plain RTGS with FIFO queues
// (GridlockEveryBlocks 0) or the LSM's gridlock resolution every k blocks.
type Mode struct {
	Name                string `json:"name"`
	GridlockEveryBlocks uint64 `json:"gridlock_every_blocks"`
	// Immediate sends every payment as a plain payment (no queue): what
	// cannot settle on arrival fails with insufficient_funds and stays
	// unsettled. Settle before the queue; it needs the upper bound to settle
	// the whole day, by the bound's definition.
	Immediate bool `json:"immediate,omitempty"`
}

// ModePlain, ModeLSM and ModeImmediate are the mechanisms compared.
func ModePlain() Mode { return Mode{Name: "plain", GridlockEveryBlocks: 0} }

// ModeImmediate is gross settlement without a queue.
func ModeImmediate() Mode { return Mode{Name: "immediate", Immediate: true} }
func ModeLSM(k uint64) Mode {
	return Mode{Name: fmt.Sprintf("lsm-k%d", k), GridlockEveryBlocks: k}
}

// RunOptions tune a replay.
type RunOptions struct {
	// CheckEvery: ledger.CheckInvariants after every this many blocks and
	// after the last (0: after the last only).
	CheckEvery int
	// StateRoot keeps the state tree up to date. Off by default: it costs
	// the same in both modes and would dilute the LSM's share of Execute.
	StateRoot bool
	// GridlockRoundsMax and ReleaseAttemptsMax override the genesis queue's
	// bounds on one resolution's passes and one block's release attempts
	// (0: the ledger's defaults), to see whether the bounds cost settlements.
	GridlockRoundsMax  int
	ReleaseAttemptsMax int
}

// How a payment ended.
type mechanism uint8

const (
	mechPending   mechanism = iota // still queued (never at the end of a correct run)
	mechImmediate                  // settled by its own transaction
	mechReleased                   // settled from the queue when funds arrived
	mechOffset                     // settled by gridlock resolution
	mechExpired                    // left the queue unsettled at queue_until
	mechFailed                     // rejected: neither settled nor queued
	mechRejected                   // immediate mode: refused for want of funds, never settles
)

// outcome is one payment's fate in a run.
type outcome struct {
	mech    mechanism
	settled uint64     // height it settled at (0: never)
	code    codes.Code // the receipt's result when mechFailed
}

// replay is one run's raw record, before summary.
type replay struct {
	outcomes        []outcome
	execute         []time.Duration // Execute's wall time per block
	queuePeak       int             // most payments queued at the end of a block
	queuePeakValue  uint64
	failCodes       map[codes.Code]int
	finalBalances   []uint64
	openingBalances []uint64
}

// run replays the day on a fresh ledger: the genesis with liq, each block's
// payments at its height, then the end-of-day blocks with none. It checks
// that the ledger's account of the day is consistent (checkReplay): an
// inconsistency is an error, not a figure.
func (c *chain) run(mode Mode, liq []uint64, o RunOptions) (*replay, error) {
	l, err := ledger.FromGenesis(c.genesis(liq, mode.GridlockEveryBlocks, o))
	if err != nil {
		return nil, fmt.Errorf("%s: genesis: %w", mode.Name, err)
	}
	if !o.StateRoot {
		l.DisableStateRoot()
	}
	r := &replay{outcomes: make([]outcome, len(c.txs)), execute: make([]time.Duration, 0, c.lastHeight),
		failCodes: map[codes.Code]int{}, openingBalances: liq}
	base := 0 // index of the first payment of the block
	queued, queuedValue := 0, uint64(0)
	for h := uint64(1); h <= c.lastHeight; h++ {
		var txs []*txn.Tx // none in the end-of-day blocks
		if int(h) <= c.day.Blocks() {
			txs = c.byBlock[h-1]
			if mode.Immediate {
				txs = c.immediateByBlock[h-1]
			}
		}
		start := time.Now()
		res := l.Execute(h, txs)
		r.execute = append(r.execute, time.Since(start))
		l.Apply(res)
		if len(res.Receipts) != len(txs) {
			return nil, fmt.Errorf("%s block %d: %d receipts for %d transactions", mode.Name, h, len(res.Receipts), len(txs))
		}
		for i := range res.Receipts {
			p, out := base+i, &r.outcomes[base+i]
			switch code := res.Receipts[i].Result; code {
			case codes.Success:
				out.mech, out.settled = mechImmediate, h
			case codes.InsufficientFunds:
				if !mode.Immediate {
					out.mech, out.code = mechFailed, code
					r.failCodes[code]++
					break
				}
				out.mech = mechRejected
			case codes.Queued:
				queued++
				queuedValue += c.day.Payments[p].Amount
			default:
				out.mech, out.code = mechFailed, code
				r.failCodes[code]++
			}
		}
		base += len(txs)
		for _, ev := range res.QueueEvents {
			p, err := c.queueEvent(r, h, ev)
			if err != nil {
				return nil, fmt.Errorf("%s block %d: %w", mode.Name, h, err)
			}
			queued--
			queuedValue -= c.day.Payments[p].Amount
		}
		if queued > r.queuePeak {
			r.queuePeak = queued
		}
		r.queuePeakValue = max(r.queuePeakValue, queuedValue)
		if o.CheckEvery > 0 && h%uint64(o.CheckEvery) == 0 || h == c.lastHeight {
			if err := l.CheckInvariants(); err != nil {
				return nil, fmt.Errorf("%s block %d: %w", mode.Name, h, err)
			}
		}
	}
	r.finalBalances = make([]uint64, len(c.bankID))
	for i, id := range c.bankID {
		if a, ok := l.Account(id); ok {
			r.finalBalances[i] = a.Balance(c.asset)
		}
	}
	if err := c.checkReplay(r); err != nil {
		return nil, fmt.Errorf("%s: %w", mode.Name, err)
	}
	return r, nil
}

// queueEvent records a payment leaving the queue at the end of block h and
// returns its index; an event the run cannot match to a queued payment of
// its day is an error.
func (c *chain) queueEvent(r *replay, h uint64, ev ledger.QueueEvent) (int, error) {
	if ev.Entry == nil {
		return 0, errors.New("queue event without an entry")
	}
	e := ev.Entry
	p, ok := c.byQueueID[e.ID]
	if !ok {
		return 0, fmt.Errorf("queue event for %s seq %d, which is no payment of the day", e.ID.Sender, e.ID.Seq)
	}
	out, pay := &r.outcomes[p], c.day.Payments[p]
	switch {
	case out.mech != mechPending:
		return 0, fmt.Errorf("payment %d (seq %d) leaves the queue again (outcome %d before)", p, e.ID.Seq, out.mech)
	case e.Height != uint64(pay.Block+1):
		return 0, fmt.Errorf("payment %d submitted at %d, its queue entry says queued at %d", p, pay.Block+1, e.Height)
	case len(e.Legs) != 1 || e.Legs[0].Amount != pay.Amount || e.Legs[0].To != c.bankID[pay.To] || e.Legs[0].From != c.bankID[pay.From]:
		return 0, fmt.Errorf("payment %d (%d of bank %d to %d): its queue entry's legs are %+v", p, pay.Amount, pay.From, pay.To, e.Legs)
	}
	switch ev.Outcome {
	case ledger.QueueReleased:
		out.mech, out.settled = mechReleased, h
	case ledger.QueueOffset:
		out.mech, out.settled = mechOffset, h
	case ledger.QueueExpired:
		out.mech = mechExpired
		if h != c.lastHeight {
			return 0, fmt.Errorf("payment %d expired at %d, its queue_until is %d", p, h, c.lastHeight)
		}
	default:
		return 0, fmt.Errorf("payment %d: unknown queue outcome %v", p, ev.Outcome)
	}
	return p, nil
}

// checkReplay cross-checks a finished run against the day: every payment
// ended (none still queued after its queue_until), and each bank's final
// balance is its opening balance plus what it received minus what it sent
// in the payments the run says settled.
func (c *chain) checkReplay(r *replay) error {
	want := append([]uint64(nil), r.openingBalances...)
	var errs []error
	for i, out := range r.outcomes {
		p := c.day.Payments[i]
		switch out.mech {
		case mechPending:
			if len(errs) < 5 {
				errs = append(errs, fmt.Errorf("payment %d (block %d) was queued and never left the queue by its queue_until %d", i, p.Block, c.lastHeight))
			}
		case mechImmediate, mechReleased, mechOffset:
			want[p.From] -= p.Amount // wraps on a bug; compared below
			want[p.To] += p.Amount
		}
	}
	for i := range want {
		if want[i] != r.finalBalances[i] && len(errs) < 10 {
			errs = append(errs, fmt.Errorf("bank %d ends with %d, the settled payments give %d", i, r.finalBalances[i], want[i]))
		}
	}
	return errors.Join(errs...)
}
