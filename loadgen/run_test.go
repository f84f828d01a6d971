package loadgen_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"settle/loadgen"
	"settle/loadgen/fakenode"
)

// startFake serves a fake node; the test closes it.
func startFake(t *testing.T, cfg fakenode.Config) (*fakenode.Node, string) {
	t.Helper()
	node := fakenode.New(cfg)
	srv := newServer(node)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		node.Close()
	})
	return node, srv.URL
}

func baseConfig(targets []string, sched loadgen.Schedule) loadgen.Config {
	return loadgen.Config{
		Targets:       targets,
		ChainID:       "settle-dev",
		Accounts:      64,
		Schedule:      sched,
		NoCache:       true,
		CommitTimeout: 5 * time.Second,
		Conns:         2,
	}
}

func run(t *testing.T, cfg loadgen.Config) *loadgen.Summary {
	t.Helper()
	sum, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestRunOpenLoopCountsEveryFate(t *testing.T) {
	_, url := startFake(t, fakenode.Config{RejectEvery: 50, FailEvery: 20, DropEvery: 97})
	cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 2000, Dur: time.Second})
	cfg.CommitTimeout = 300 * time.Millisecond
	c := run(t, cfg).Counts
	if c.Offered != 2000 || c.Sent != 2000 {
		t.Fatalf("offered %d sent %d, want 2000 each", c.Offered, c.Sent)
	}
	if c.Rejected != 40 || c.RejectedByCode["mempool_full"] != 40 {
		t.Errorf("rejected %d (%v), want 40 mempool_full", c.Rejected, c.RejectedByCode)
	}
	if c.Accepted+c.Rejected != c.Sent || c.Committed+c.TimedOut != c.Accepted {
		t.Errorf("fates do not add up: %+v", c)
	}
	if c.TimedOut < 15 || c.Failed == 0 || c.FailedByCode["insufficient_funds"] != c.Failed {
		t.Errorf("want ~20 timed out and some failed transactions: %+v", c)
	}
}

// TestStallShowsInCommittedLatency stalls the node for 1 s in the middle of a 2 s
// open-loop run. Latency is measured from the intended send time, so every
// transaction due during the stall counts the time it waited, whether the stall
// holds the HTTP answers (the generator cannot even send: a naive client would
// measure from its late send and hide the stall) or the commits.
func TestStallShowsInCommittedLatency(t *testing.T) {
	for _, ingress := range []bool{true, false} {
		name := map[bool]string{true: "ingress", false: "commits"}[ingress]
		t.Run(name, func(t *testing.T) {
			node, url := startFake(t, fakenode.Config{StallAfterTxs: 1000, StallFor: time.Second, StallIngress: ingress})
			cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 2000, Dur: 2 * time.Second})
			cfg.Conns = 1
			sum := run(t, cfg)
			if node.Stats().Stalls != 1 {
				t.Fatal("the fake node did not stall")
			}
			com := sum.Committed
			t.Logf("committed p50 %.1f ms p99 %.1f ms max %.1f ms; dispatch lag p99 %.1f ms; send lag p99 %.1f ms",
				com.P50Ms, com.P99Ms, com.MaxMs, sum.DispatchLag.P99Ms, sum.SendLag.P99Ms)
			if sum.Counts.Committed != 4000 {
				t.Fatalf("committed %d of 4000", sum.Counts.Committed)
			}
			// About half the transactions were due during the stall, with waits
			// spread over 0..1 s, so the p99 is close to 1 s; normal latency is a few
			// block intervals (10 ms each).
			if com.P99Ms < 500 || com.MaxMs < 800 {
				t.Errorf("the 1 s stall is hidden: committed p99 %.1f ms, max %.1f ms", com.P99Ms, com.MaxMs)
			}
			if com.P50Ms >= com.P99Ms/2 {
				t.Errorf("p50 %.1f ms is not well below p99 %.1f ms", com.P50Ms, com.P99Ms)
			}
			// The stall is the node's, not the generator's: dispatch kept to schedule.
			if sum.DispatchLag.P99Ms > 250 {
				t.Errorf("dispatch lag p99 %.1f ms: the stall held the schedule back", sum.DispatchLag.P99Ms)
			}
			if ingress && sum.SendLag.MaxMs < 500 {
				t.Errorf("send lag max %.1f ms: an ingress stall must delay sends", sum.SendLag.MaxMs)
			}
		})
	}
}

func TestClosedLoopKeepsKInFlight(t *testing.T) {
	const k = 32
	node, url := startFake(t, fakenode.Config{BlockInterval: 50 * time.Millisecond})
	cfg := baseConfig([]string{url}, nil)
	cfg.Closed, cfg.ClosedDuration, cfg.WorkloadCount = k, time.Second, 4000
	sum := run(t, cfg)
	st := node.Stats()
	t.Logf("committed %d, node max pending %d, mean in flight %.1f, little ratio %.2f",
		sum.Counts.Committed, st.MaxPending, sum.Little.MeanInFlight, sum.Little.Ratio)
	if st.MaxPending > k {
		t.Errorf("the node saw %d pending transactions, more than K=%d", st.MaxPending, k)
	}
	if sum.Little.MeanInFlight > k || sum.Little.MeanInFlight < k/3 {
		t.Errorf("mean in flight %.1f, want close to K=%d", sum.Little.MeanInFlight, k)
	}
	if sum.Counts.Committed < 2*k || sum.Mode != "closed" || sum.ClosedK != k {
		t.Errorf("closed loop committed %d (mode %s, K %d)", sum.Counts.Committed, sum.Mode, sum.ClosedK)
	}
	if sum.Counts.TimedOut != 0 || sum.Counts.Rejected != 0 {
		t.Errorf("unexpected losses: %+v", sum.Counts)
	}
}

func TestSeveralTargetsKeepSenderOrder(t *testing.T) {
	for _, tc := range []struct {
		route, client string
		compress      bool
	}{
		{loadgen.RouteSender, loadgen.ClientFastHTTP, false},
		{loadgen.RouteSender, loadgen.ClientNetHTTP, true},
		{loadgen.RouteRoundRobin, loadgen.ClientFastHTTP, true},
	} {
		t.Run(tc.route+"/"+tc.client, func(t *testing.T) {
			nodeA, urlA := startFake(t, fakenode.Config{})
			nodeB, urlB := startFake(t, fakenode.Config{})
			cfg := baseConfig([]string{urlA, urlB}, loadgen.Constant{RatePerS: 3000, Dur: 500 * time.Millisecond})
			cfg.Route, cfg.Client, cfg.Compress, cfg.Conns = tc.route, tc.client, tc.compress, 3
			sum := run(t, cfg)
			a, b := nodeA.Stats(), nodeB.Stats()
			if a.Admitted+b.Admitted != 1500 || a.Admitted == 0 || b.Admitted == 0 {
				t.Errorf("targets admitted %d and %d, want 1500 split between them", a.Admitted, b.Admitted)
			}
			if sum.Counts.Committed != 1500 {
				t.Errorf("committed %d of 1500", sum.Counts.Committed)
			}
			// Routing by sender sends each sender's txs over one connection in order.
			if tc.route == loadgen.RouteSender && a.OutOfOrder+b.OutOfOrder != 0 {
				t.Errorf("%d transactions arrived out of sequence order", a.OutOfOrder+b.OutOfOrder)
			}
		})
	}
}

func TestOutputsAndIntervalLogRoundTrip(t *testing.T) {
	_, url := startFake(t, fakenode.Config{})
	cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 1000, Dur: 2500 * time.Millisecond})
	sum := run(t, cfg)
	dir := t.TempDir()
	if err := loadgen.WriteOutputs(dir, sum); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, loadgen.FileIntervals))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := hdr.NewHistogramLogReader(f)
	total := map[string]int64{}
	intervals := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		intervals++
		total[h.Tag()] += h.TotalCount()
		if h.EndTimeMs() < h.StartTimeMs() || h.StartTimeMs() < sum.StartTime.UnixMilli()-1 {
			t.Errorf("interval %d: times %d..%d for a run starting at %d", intervals, h.StartTimeMs(), h.EndTimeMs(), sum.StartTime.UnixMilli())
		}
	}
	if total["committed"] != sum.Counts.Committed || total["accepted"] != sum.Counts.Accepted {
		t.Errorf("interval log holds %v, summary says committed %d accepted %d", total, sum.Counts.Committed, sum.Counts.Accepted)
	}
	if intervals < 2*3 {
		t.Errorf("%d interval histograms for a 2.5 s run, want at least 3 per tag", intervals)
	}
	hgrm, err := os.ReadFile(filepath.Join(dir, loadgen.FileCommitted))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hgrm), "Value") || !strings.Contains(string(hgrm), "#[Mean") {
		t.Errorf("latency.hgrm is not a percentile distribution:\n%s", hgrm)
	}
}

func TestSummaryJSONFields(t *testing.T) {
	_, url := startFake(t, fakenode.Config{})
	sum := run(t, baseConfig([]string{url}, loadgen.Constant{RatePerS: 2000, Dur: time.Second}))
	b, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"":                  {"valid", "invalid_reasons", "mode", "schedule", "workload", "targets", "start_time", "timed_phase_s", "elapsed_s"},
		"counts":            {"offered", "sent", "accepted", "rejected", "rejected_by_code", "committed", "failed", "failed_by_code", "timed_out"},
		"rates":             {"offered_per_s", "sent_per_s", "committed_per_s"},
		"accepted_latency":  {"count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms"},
		"committed_latency": {"count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms"},
		"dispatch_lag":      {"p99_ms", "max_ms"},
		"send_lag":          {"p99_ms"},
		"littles_law":       {"mean_in_flight", "throughput_per_s", "mean_latency_s", "predicted_in_flight", "ratio"},
		"cache":             {"hit", "sign_s"},
	}
	for obj, keys := range want {
		sub := m
		if obj != "" {
			sub, _ = m[obj].(map[string]any)
		}
		for _, k := range keys {
			if _, ok := sub[k]; !ok {
				t.Errorf("summary JSON lacks %s.%s", obj, k)
			}
		}
	}
	if sum.Rates.OfferedPerS != 2000 || sum.Counts.Committed != 2000 {
		t.Errorf("offered %.0f/s committed %d", sum.Rates.OfferedPerS, sum.Counts.Committed)
	}
	// Little's law holds for a steady run: the sampled mean in flight matches
	// throughput × mean latency.
	if r := sum.Little.Ratio; r < 0.6 || r > 1.6 {
		t.Errorf("Little's law ratio %.2f (%+v)", r, sum.Little)
	}
}

func TestRunUsesCacheOnRerun(t *testing.T) {
	dir := t.TempDir()
	var hits []bool
	for range 2 {
		_, url := startFake(t, fakenode.Config{}) // a fresh node: the same starting sequences
		cfg := baseConfig([]string{url}, loadgen.Constant{RatePerS: 1000, Dur: 200 * time.Millisecond})
		cfg.NoCache, cfg.CacheDir = false, dir
		sum := run(t, cfg)
		hits = append(hits, sum.Cache.Hit)
		if sum.Counts.Committed != 200 {
			t.Errorf("committed %d of 200", sum.Counts.Committed)
		}
	}
	if hits[0] || !hits[1] {
		t.Errorf("cache hits %v, want [false true]", hits)
	}
}

func TestConfigErrorsAreSentences(t *testing.T) {
	ok := baseConfig([]string{"127.0.0.1:1"}, loadgen.Constant{RatePerS: 10, Dur: time.Second})
	bad := map[string]func(c *loadgen.Config){
		"no target":   func(c *loadgen.Config) { c.Targets = nil },
		"bad target":  func(c *loadgen.Config) { c.Targets = []string{"nohost"} },
		"both modes":  func(c *loadgen.Config) { c.Closed = 4; c.ClosedDuration = time.Second },
		"no schedule": func(c *loadgen.Config) { c.Schedule = nil },
		"one account": func(c *loadgen.Config) { c.Accounts = 1 },
		"big batch":   func(c *loadgen.Config) { c.BatchTxMax = 100000 },
		"route":       func(c *loadgen.Config) { c.Route = "random" },
		"client":      func(c *loadgen.Config) { c.Client = "curl" },
	}
	for name, change := range bad {
		c := ok
		change(&c)
		err := c.WithDefaults().Validate()
		if !errors.Is(err, loadgen.ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if err := ok.WithDefaults().Validate(); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}
