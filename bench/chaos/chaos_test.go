package chaos

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"settle/bench"
	"settle/internal/testkit"
)

// TestChaos runs the chaos test against real validators. By default a short
// variant (45 s of faults, 200 tx/s) runs in the suite; for the long run:
//
//	SETTLE_CHAOS_MINUTES=15 go test ./bench/chaos -run TestChaos -timeout 40m -v
//
// or `go run ./cmd/bench chaos -duration 15m`. SETTLE_CHAOS_SEED picks the seed.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four real validators under faults")
	}
	o := Options{Duration: 45 * time.Second, FaultEvery: 8 * time.Second, Rate: 200, Accounts: 400,
		RestartDelayMax: 3 * time.Second, DrainTimeout: 90 * time.Second, Seed: 1,
		Schedule: []string{"kill-leader", "wipe", "kill-pair", "crash-loop", "kill"}}
	if m := os.Getenv("SETTLE_CHAOS_MINUTES"); m != "" {
		minutes, err := strconv.ParseFloat(m, 64)
		if err != nil || minutes <= 0 {
			t.Fatalf("SETTLE_CHAOS_MINUTES=%q is not a positive number of minutes", m)
		}
		o = Options{Duration: time.Duration(minutes * float64(time.Minute)), Seed: 1}
	}
	if s := os.Getenv("SETTLE_CHAOS_SEED"); s != "" {
		seed, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SETTLE_CHAOS_SEED=%q: %v", s, err)
		}
		o.Seed = seed
	}
	o.Binary = testkit.BuildSettled(t)
	o.Logf = t.Logf
	if os.Getenv("SETTLE_CHAOS_KEEP") != "" {
		o.Dir, o.KeepDir = t.TempDir()+"-kept", true
		t.Logf("keeping the cluster in %s", o.Dir)
	}
	rep, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if !rep.OK() {
		t.Fatal("chaos checks failed; reproduce with SETTLE_CHAOS_SEED=" + strconv.FormatInt(o.Seed, 10))
	}
}

// TestChaosOverWAN cuts and kills leaders with every link at 40 ms RTT: a cut
// leader's peers get no connection reset, so only their view timeouts move the
// cluster on, and the cut validator must catch up when its links heal.
func TestChaosOverWAN(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four real validators under faults")
	}
	o := Options{Duration: 20 * time.Second, FaultEvery: 6 * time.Second, Rate: 100, Accounts: 200,
		RestartDelayMax: 3 * time.Second, DrainTimeout: 90 * time.Second, Seed: 2,
		Schedule: []string{"cut-leader", "kill-leader"}, WAN: &bench.WANSpec{RTTMs: 40}}
	o.Binary = testkit.BuildSettled(t)
	o.Logf = t.Logf
	rep, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if !rep.OK() {
		t.Fatal("chaos checks failed over the WAN")
	}
	if rep.FaultKinds["cut-leader"] == 0 {
		t.Fatalf("no cut-leader fault was injected: %v", rep.FaultKinds)
	}
}

func TestCutNeedsWAN(t *testing.T) {
	o := Options{Binary: "settled", Schedule: []string{"cut-leader"}}
	o.withDefaults()
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "WAN") {
		t.Fatalf("cut-leader without a WAN: %v", err)
	}
}

func TestLongestGap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	l := newChainLog(1)
	for i, ms := range []int{0, 100, 200, 1500, 1600, 5000} {
		l.mu.commits = append(l.mu.commits, commitMark{height: uint64(i + 1), at: at(ms)})
	}
	cases := []struct {
		from, to int
		want     time.Duration
	}{
		{50, 1000, 800 * time.Millisecond},   // 200 → 1500 counts up to the window's end
		{150, 1550, 1300 * time.Millisecond}, // the same gap inside
		{1550, 2000, 400 * time.Millisecond},
		{1700, 5200, 3300 * time.Millisecond}, // from the fault to the first commit after it
		{5100, 6000, 900 * time.Millisecond},  // nothing after: up to the window's end
	}
	for _, tc := range cases {
		if got := l.longestGap(at(tc.from), at(tc.to)); got != tc.want {
			t.Errorf("longestGap(%d, %d) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
