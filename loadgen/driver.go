package loadgen

import (
	"context"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/cespare/xxhash/v2"

	"settle/engine/txn"
)

// dispatcher releases transactions to the lanes: open loop when their intended time
// comes, closed loop when one of K slots frees. It is the only writer of the
// tracker's intended times and dispatch cursor.
type dispatcher struct {
	set        *TxSet
	tr         *tracker
	lanes      []*lane
	senderHash []uint64 // per account
	conns      int      // lanes per target
	roundRobin bool
	windowNs   int64
	nowNs      func() int64

	lag       *hdr.Histogram // dispatch lag (owned by the dispatcher goroutine)
	heldBack  int64          // flushes cut short by the in-flight limit (open loop)
	windowNo  int
	staged    [][]uint32
	lastEndNs int64 // time of the last dispatch
}

func newDispatcher(set *TxSet, tr *tracker, lanes []*lane, accounts []txn.AccountID, cfg Config, nowNs func() int64) *dispatcher {
	d := &dispatcher{
		set: set, tr: tr, lanes: lanes, conns: cfg.Conns, roundRobin: cfg.Route == RouteRoundRobin,
		windowNs: int64(cfg.BatchWindow), nowNs: nowNs, lag: newHist(),
		senderHash: make([]uint64, len(accounts)), staged: make([][]uint32, len(lanes)),
	}
	for i, a := range accounts {
		d.senderHash[i] = xxhash.Sum64(a[:])
	}
	return d
}

// route hands transactions [lo, hi) to their lanes. By sender, a sender always maps
// to the same lane, so its transactions leave in sequence order on one connection.
// Round-robin rotates the target per flush and keeps the sender→connection mapping
// inside the target.
func (d *dispatcher) route(lo, hi int) {
	targets := len(d.lanes) / d.conns
	rr := d.windowNo % targets
	d.windowNo++
	for i := lo; i < hi; i++ {
		h := d.senderHash[d.set.senders[i]]
		var l int
		if d.roundRobin {
			l = rr*d.conns + int(h%uint64(d.conns))
		} else {
			l = int(h % uint64(len(d.lanes)))
		}
		d.staged[l] = append(d.staged[l], uint32(i))
	}
	for l, s := range d.staged {
		if len(s) > 0 {
			d.lanes[l].push(s)
			d.staged[l] = s[:0]
		}
	}
}

// runOpen follows the schedule. Each pass releases every transaction whose intended
// time has come (a batch window's worth), then sleeps until the next one is due but
// at least a window after this flush. Intended times come from the schedule, so a
// late wake-up sends more at once instead of dropping load.
func (d *dispatcher) runOpen(ctx context.Context, s Schedule) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	n := s.Count()
	lastFlushNs := int64(-1 << 62)
	for i := 0; i < n; {
		now := d.nowNs()
		room := d.tr.room()
		j := i
		for j < n && j-i < room && int64(s.Offset(j)) <= now {
			d.tr.intendedNs[j] = int64(s.Offset(j))
			j++
		}
		if j > i {
			recordUs(d.lag, now-d.tr.intendedNs[i])
			if j-i == room && j < n && int64(s.Offset(j)) <= now {
				d.heldBack++
			}
			d.tr.add(i, j)
			d.route(i, j)
			d.lastEndNs, lastFlushNs, i = now, now, j
			continue
		}
		var wake <-chan struct{}
		next := max(int64(s.Offset(i)), lastFlushNs+d.windowNs)
		if room <= 0 {
			wake = d.tr.freed // wait for a slot: the limit, not the clock, holds us
			next = now + int64(10*time.Millisecond)
		}
		if err := d.sleep(ctx, timer, next-now, wake); err != nil {
			return err
		}
	}
	return nil
}

// runClosed keeps up to the tracker's limit in flight until durNs or the set runs
// out. A transaction's intended time is when it is dispatched.
func (d *dispatcher) runClosed(ctx context.Context, durNs int64) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	n := d.set.Len()
	for i := 0; i < n; {
		now := d.nowNs()
		if now >= durNs {
			return nil
		}
		room := d.tr.room()
		if room <= 0 {
			if err := d.sleep(ctx, timer, durNs-now, d.tr.freed); err != nil {
				return err
			}
			continue
		}
		j := min(n, i+room)
		for k := i; k < j; k++ {
			d.tr.intendedNs[k] = now
		}
		d.tr.add(i, j)
		d.route(i, j)
		d.lastEndNs, i = now, j
	}
	return nil
}

// sleep waits up to waitNs, or until wake (if not nil) fires, or ctx ends.
func (d *dispatcher) sleep(ctx context.Context, timer *time.Timer, waitNs int64, wake <-chan struct{}) error {
	if waitNs <= 0 {
		return ctx.Err()
	}
	timer.Reset(time.Duration(waitNs))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	case <-wake:
		timer.Stop() // Go ≥ 1.23 timers: no stale tick to drain after Stop
	}
	return nil
}
