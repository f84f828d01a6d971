package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Counts are the fates of a run's transactions. Every offered transaction ends as
// exactly one of: rejected (at the HTTP answer), committed (with success or an
// execution failure), timed out, or never sent (a run cut short).
type Counts struct {
	Offered        int64            `json:"offered"`  // intended time came (open loop) or dispatched (closed loop)
	Sent           int64            `json:"sent"`     // went out in an answered request
	Accepted       int64            `json:"accepted"` // admitted by the node
	Rejected       int64            `json:"rejected"`
	RejectedByCode map[string]int64 `json:"rejected_by_code"`
	Committed      int64            `json:"committed"` // included in a block, any result
	// Queued: committed with result "queued": a queued payment waiting in the
	// RTGS queue (docs/ledger.md). Not a failure: it settles later or expires.
	Queued       int64            `json:"queued,omitempty"`
	Failed       int64            `json:"failed"` // committed with a result other than success or queued
	FailedByCode map[string]int64 `json:"failed_by_code"`
	TimedOut     int64            `json:"timed_out"`
}

func newCounts() Counts {
	return Counts{RejectedByCode: map[string]int64{}, FailedByCode: map[string]int64{}}
}

// LatencyStats summarises one histogram, in milliseconds.
type LatencyStats struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p99_9_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func latencyStats(h *hdr.Histogram) LatencyStats {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return LatencyStats{
		Count:  h.TotalCount(),
		MeanMs: h.Mean() / 1000,
		P50Ms:  ms(h.ValueAtQuantile(50)),
		P90Ms:  ms(h.ValueAtQuantile(90)),
		P99Ms:  ms(h.ValueAtQuantile(99)),
		P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs:  ms(h.Max()),
	}
}

// Rates are per second of the timed phase (or longer, if sends or commits ran late).
type Rates struct {
	OfferedPerS   float64 `json:"offered_per_s"`
	SentPerS      float64 `json:"sent_per_s"`
	CommittedPerS float64 `json:"committed_per_s"`
}

// LittlesLaw checks L = λ·W over the whole run: L is the time-average number of
// transactions in the system (intended time passed, not yet committed, rejected or
// timed out), λ the rate at which they left it and W their mean time in it. A ratio
// far from 1 means the measurement lost or double-counted transactions.
type LittlesLaw struct {
	MeanInFlight      float64 `json:"mean_in_flight"`      // L, measured by sampling
	ThroughputPerS    float64 `json:"throughput_per_s"`    // λ
	MeanLatencyS      float64 `json:"mean_latency_s"`      // W
	PredictedInFlight float64 `json:"predicted_in_flight"` // λ·W
	Ratio             float64 `json:"ratio"`               // L / (λ·W)
}

// CacheInfo says where the signed set came from.
type CacheInfo struct {
	Hit     bool    `json:"hit"`
	Key     string  `json:"key,omitempty"`
	Path    string  `json:"path,omitempty"`
	SignS   float64 `json:"sign_s"` // time spent signing (0 on a hit)
	LoadS   float64 `json:"load_s"` // time spent loading and checking the cache
	Warning string  `json:"warning,omitempty"`
}

// Summary is the result of a run. Histograms and the interval log are kept in
// memory for callers (the bench harness); WriteOutputs writes them to files.
type Summary struct {
	Valid          bool     `json:"valid"`
	InvalidReasons []string `json:"invalid_reasons"`
	// Degraded: the measurement holds, but the load did not reach the
	// validators as a client that keeps its senders' sequences gap-free would
	// have sent it: some transactions could not commit because an earlier one
	// of their sender was refused (or ran past the mempool's window).
	Degraded        bool     `json:"degraded"`
	DegradedReasons []string `json:"degraded_reasons"`

	Mode        string    `json:"mode"` // "open" or "closed"
	Schedule    string    `json:"schedule,omitempty"`
	ClosedK     int       `json:"closed_in_flight,omitempty"`
	Workload    string    `json:"workload"`
	ChainID     string    `json:"chain_id"`
	Targets     []string  `json:"targets"`
	Accounts    int       `json:"accounts"`
	FeeMinor    uint64    `json:"fee"`
	Client      string    `json:"http_client"`
	Conns       int       `json:"conns_per_target"`
	BatchWindow string    `json:"batch_window"`
	Compress    bool      `json:"compress"`
	StartTime   time.Time `json:"start_time"`
	TimedS      float64   `json:"timed_phase_s"` // the schedule's length, or the closed-loop duration
	ElapsedS    float64   `json:"elapsed_s"`     // including the drain after the timed phase

	Counts      Counts       `json:"counts"`
	Rates       Rates        `json:"rates"`
	Accepted    LatencyStats `json:"accepted_latency"`  // intended send → HTTP answer
	Committed   LatencyStats `json:"committed_latency"` // intended send → commit event
	DispatchLag LatencyStats `json:"dispatch_lag"`      // intended → released to a connection
	SendLag     LatencyStats `json:"send_lag"`          // intended → request written
	Little      LittlesLaw   `json:"littles_law"`
	Cache       CacheInfo    `json:"cache"`

	AcceptedHist  *hdr.Histogram `json:"-"`
	CommittedHist *hdr.Histogram `json:"-"`
	IntervalLog   []byte         `json:"-"`
}

// Output file names written by WriteOutputs.
const (
	FileSummary   = "summary.json"
	FileCommitted = "latency.hgrm"
	FileAccepted  = "accepted.hgrm"
	FileIntervals = "intervals.hlog"
)

// WriteOutputs writes the summary, both percentile distributions (values in
// milliseconds) and the interval log into dir.
func WriteOutputs(dir string, s *Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output dir: %w", err)
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	files := map[string][]byte{
		FileSummary:   append(js, '\n'),
		FileCommitted: hgrm(s.CommittedHist),
		FileAccepted:  hgrm(s.AcceptedHist),
		FileIntervals: s.IntervalLog,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// hgrm renders the classic percentile distribution, values in milliseconds.
func hgrm(h *hdr.Histogram) []byte {
	var b bytes.Buffer
	if h != nil {
		_, _ = h.PercentilesPrint(&b, 5, 1000.0) // bytes.Buffer: no write error
	}
	return b.Bytes()
}

// judge fills Valid and InvalidReasons.
func (s *Summary) judge(lagMax time.Duration, heldBack int64, interrupted, exhausted bool) {
	reasons := []string{}
	if interrupted {
		reasons = append(reasons, "the run was interrupted")
	}
	if lagMs := float64(lagMax) / 1e6; s.DispatchLag.P99Ms > lagMs {
		reasons = append(reasons, fmt.Sprintf("the generator fell behind its schedule: p99 dispatch lag %.1f ms exceeds %.1f ms", s.DispatchLag.P99Ms, lagMs))
	}
	if s.Mode == "open" && s.Rates.OfferedPerS > 0 && s.Rates.SentPerS < 0.95*s.Rates.OfferedPerS {
		reasons = append(reasons, fmt.Sprintf("the generator sent %.0f tx/s, below 95%% of the offered %.0f tx/s", s.Rates.SentPerS, s.Rates.OfferedPerS))
	}
	if heldBack > 0 {
		reasons = append(reasons, fmt.Sprintf("the in-flight limit held back dispatch %d times: raise it or lower the rate", heldBack))
	}
	if exhausted {
		reasons = append(reasons, "the pre-signed transactions ran out before the duration ended: raise the count")
	}
	s.InvalidReasons = reasons
	s.Valid = len(reasons) == 0
	s.judgeGaps()
}

// judgeGaps marks a run degraded when its per-sender sequences broke: the
// generator signs every sender's transactions in sequence ahead of time and
// does not re-sign a refused one, so each refusal leaves a gap that the
// sender's later transactions wait behind until they time out, and a sender
// more than the mempool's window ahead of its committed sequence is refused
// seq_too_far.
func (s *Summary) judgeGaps() {
	reasons := []string{}
	c := s.Counts
	if n := c.RejectedByCode["seq_too_far"]; n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d transactions refused seq_too_far: their senders ran more than the mempool's window (256) past their committed sequence; lower the rate or the skew", n))
	}
	if c.TimedOut > 0 {
		reasons = append(reasons, fmt.Sprintf("%d accepted transactions never committed: most waited behind a refused transaction of their sender (a sequence gap); they leave the mempool at their last valid height", c.TimedOut))
	}
	s.DegradedReasons = reasons
	s.Degraded = len(reasons) > 0
}
