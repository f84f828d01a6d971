package chaos

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"settle/bench"
)

// Report is what a chaos run measured and found.
type Report struct {
	Validators, Rate, Accounts int
	Seed                       int64
	FaultPhase                 time.Duration

	Faults     int            // faults injected ("trials")
	FaultKinds map[string]int // by kind
	Restarts   int            // victim restarts (a crash loop counts once)

	Created       int // transactions the client created
	Accepted      int // ... that a validator accepted
	NeverAccepted int // ... that none did (not an error: the client kept retrying)
	Acknowledged  int // distinct transactions the commit streams announced
	Drained       bool

	Lost       int            // announced, but not applied in the final chain
	Changed    int            // announced with another height or result than the final chain's
	ReIncluded int            // carried by more than one block of the final chain
	ReApplied  int            // applied by more than one block (never possible)
	Skipped    int            // block entries that did not apply
	Stuck      int            // accepted, never committed, not expired, not dropped with a reason
	Ends       map[string]int // how accepted-but-unannounced transactions ended

	// Queue is, for a Queue run, what the queue settled over the compared
	// chain, from validator 0's settlement report: the value settled at once,
	// released and offset, and what still waits.
	Queue *bench.QueueSummary `json:",omitempty"`

	Height            uint64  // the compared common height
	ChainBlocksPerSec float64 // the chain's commit rate over the run

	// Recovery is, per fault, the time from quorum being available again (the
	// fault itself when quorum never went) to the next committed block.
	Recovery       []time.Duration
	RecoveryByKind map[string][]time.Duration
	// Stall is, per fault, the longest time without a new committed block in
	// the stallWindow after quorum was back: the next commit may be a block
	// already certified before the fault, so Recovery alone can flatter.
	Stall          []time.Duration
	StallByKind    map[string][]time.Duration
	SlowRecoveries []string  // the faults after which the next commit took over 5 s
	CatchUps       []CatchUp // restarts at least catchUpBlocksMin blocks behind
	NotCaughtUp    int       // restarts that had not caught up within 3 minutes

	StreamProblems []string // a block or transaction announced two ways
	Verified       int      // stores `settled verify` replayed successfully
	Failures       []string
}

// CatchUp is one restarted validator's catch-up.
type CatchUp struct {
	Validator    int
	Wiped        bool
	Blocks       uint64
	StartSeconds float64 // from the restart to its first answer (process start, recovery from disk)
	Seconds      float64 // from its first answer until it reached the height the cluster had at its restart
	BlocksPerSec float64
}

func (r *Report) fail(format string, args ...any) {
	if len(r.Failures) < 200 {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	return len(r.Failures) == 0 && len(r.StreamProblems) == 0 && r.Lost == 0 && r.Changed == 0 &&
		r.ReIncluded == 0 && r.ReApplied == 0 && r.Stuck == 0 && r.Verified == r.Validators && r.NotCaughtUp == 0
}

// String is the report a person reads.
func (r *Report) String() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	verdict := "PASSED"
	if !r.OK() {
		verdict = "FAILED"
	}
	p("chaos run %s: %d validators, %d tx/s from %d accounts, %v of faults, seed %d", verdict, r.Validators, r.Rate, r.Accounts, r.FaultPhase, r.Seed)
	p("  trials (faults):   %d %s; %d restarts", r.Faults, kinds(r.FaultKinds), r.Restarts)
	if q := r.Queue; q != nil {
		p("  rtgs queue:        value settled over %d blocks %s: %.1f%% at once, %.1f%% released, %.1f%% offset; %.0f still queued",
			q.Height, q.SettledMinor, 100*q.ImmediateShare, 100*q.ReleasedShare, 100*q.OffsetShare, q.QueuedEntries)
	}
	p("  transactions:      %d created, %d accepted, %d acknowledged (announced committed), %d never accepted", r.Created, r.Accepted, r.Acknowledged, r.NeverAccepted)
	p("  lost:              %d", r.Lost)
	p("  changed:           %d", r.Changed)
	p("  re-included:       %d (re-applied %d; block entries that did not apply: %d)", r.ReIncluded, r.ReApplied, r.Skipped)
	p("  stuck:             %d (drained: %v; other ends: %s)", r.Stuck, r.Drained, kinds(r.Ends))
	p("  agreement:         %d blocks compared on every validator; %d stores replayed by settled verify", r.Height, r.Verified)
	p("  recovery:          %s (next commit after quorum was back, %d faults)", spread(r.Recovery), len(r.Recovery))
	kindNames := make([]string, 0, len(r.RecoveryByKind))
	for k := range r.RecoveryByKind {
		kindNames = append(kindNames, k)
	}
	sort.Strings(kindNames)
	for _, k := range kindNames {
		p("    %-16s %s", k+":", spread(r.RecoveryByKind[k]))
	}
	p("  stall:             %s (longest gap between commits in the %v after quorum was back)", spread(r.Stall), stallWindow)
	for _, k := range kindNames {
		p("    %-16s %s", k+":", spread(r.StallByKind[k]))
	}
	for _, s := range r.SlowRecoveries {
		p("    slow: %s", s)
	}
	if len(r.CatchUps) > 0 {
		rates := make([]float64, len(r.CatchUps))
		starts := make([]time.Duration, len(r.CatchUps))
		var wiped, blocks int
		for i, c := range r.CatchUps {
			rates[i] = c.BlocksPerSec
			starts[i] = time.Duration(c.StartSeconds * float64(time.Second))
			blocks += int(c.Blocks)
			if c.Wiped {
				wiped++
			}
		}
		sort.Float64s(rates)
		p("  catch-up:          %d restarts ≥ %d blocks behind (%d wiped, %d blocks in all): min %.0f, median %.0f, max %.0f blocks/s once answering; the chain committed %.1f blocks/s",
			len(r.CatchUps), catchUpBlocksMin, wiped, blocks, rates[0], rates[len(rates)/2], rates[len(rates)-1], r.ChainBlocksPerSec)
		p("  restart to answer: %s (process start and recovery from disk)", spread(starts))
	} else {
		p("  catch-up:          no restart was %d blocks behind; the chain committed %.1f blocks/s", catchUpBlocksMin, r.ChainBlocksPerSec)
	}
	if r.NotCaughtUp > 0 {
		p("  not caught up:     %d restarts within 3 minutes", r.NotCaughtUp)
	}
	for _, s := range r.StreamProblems {
		p("  STREAM: %s", s)
	}
	for _, f := range r.Failures {
		p("  FAIL: %s", f)
	}
	return b.String()
}

func kinds(m map[string]int) string {
	if len(m) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// spread is min, median, p90 and max of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n/a"
	}
	s := sorted(ds)
	q := func(f float64) time.Duration { return s[min(len(s)-1, int(f*float64(len(s))))] }
	return fmt.Sprintf("min %v, median %v, p90 %v, max %v", s[0].Round(time.Millisecond), q(0.5).Round(time.Millisecond),
		q(0.9).Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
