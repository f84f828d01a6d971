package chaos

import (
	"os"
	"strconv"
	"testing"
	"time"

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
