package sim

import (
	"flag"
	"fmt"
	"math/rand"
	"testing"
)

var (
	flagSeed  = flag.Int64("seed", -1, "run only this simulator seed (verbose log with -v)")
	flagSeeds = flag.Int("seeds", 200, "number of simulator seeds TestSimSeeds runs")
)

// TestSimSeeds runs many seeded scenarios; a failure prints the command that
// reproduces it.
func TestSimSeeds(t *testing.T) {
	seeds := make([]int64, 0, *flagSeeds)
	if *flagSeed >= 0 {
		seeds = append(seeds, *flagSeed)
	} else {
		for s := int64(1); s <= int64(*flagSeeds); s++ {
			seeds = append(seeds, s)
		}
	}
	for _, seed := range seeds {
		sc := NewScenario(seed)
		var log func(string)
		if *flagSeed >= 0 && testing.Verbose() {
			log = func(l string) { t.Log(l) }
		}
		c, err := sc.Run(log)
		if err != nil {
			t.Fatalf("%v\n%s\nreproduce: go test ./consensus/sim -run TestSimSeeds -seed=%d -v", err, sc, seed)
		}
		if *flagSeed >= 0 {
			t.Logf("%s: ok at tick %d, heights %v, %d evidence", sc, c.Net.Now, heights(c), len(c.Evidence))
		}
	}
}

func heights(c *Cluster) string {
	s := ""
	for _, n := range c.Nodes {
		s += fmt.Sprintf("%s=%d ", n.Name, n.committedHeight)
	}
	return s
}

// TestSimCatchUp: a replica down (or wiped) while the others commit hundreds of
// blocks catches up by range sync, forward and pipelined, rather than by
// walking back from the newest block: it asks for ranges, never fills its
// parking buffer, and reaches the others' height. The ledger variant also
// checks that everything the clients submitted commits on it.
func TestSimCatchUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wipe   bool
		ledger bool
	}{
		{"restart", false, false},
		{"wiped disk", true, false},
		{"wiped disk, real ledger", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Validators: 4, ViewTimeoutTicks: 8, ViewTimeoutTicksMax: 64, ExecDelayMax: 1}
			var app *LedgerApp
			if tc.ledger {
				app = newTestLedgerApp(t)
				app.Configure(&opts)
			}
			c, err := NewCluster(opts, rand.New(rand.NewSource(7)))
			if err != nil {
				t.Fatal(err)
			}
			c.Net.DelayMax = 1
			victim := c.Nodes[3]
			for c.Net.Now < 20 {
				c.step()
			}
			c.Crash(victim)
			const gap = 400
			for c.Nodes[0].CommittedHeight() < victim.CommittedHeight()+gap && c.Violation == nil {
				c.step()
			}
			if err := c.Restart(victim, tc.wipe); err != nil {
				t.Fatal(err)
			}
			start := c.Net.Now
			for victim.ExecutedHeight()+2 < c.Nodes[0].CommittedHeight() && c.Net.Now-start < 3000 && c.Violation == nil {
				c.step()
			}
			if c.Violation != nil {
				t.Fatal(c.Violation)
			}
			st := victim.Core().Sync()
			if victim.ExecutedHeight()+2 < c.Nodes[0].CommittedHeight() {
				t.Fatalf("victim at %d, others at %d after %d ticks; sync %+v", victim.ExecutedHeight(), c.Nodes[0].CommittedHeight(), c.Net.Now-start, st)
			}
			if st.Asked == 0 {
				t.Fatalf("caught up %d blocks without a range request", gap)
			}
			t.Logf("caught up to height %d in %d ticks with %d range requests (the others commit about %.1f blocks per tick)",
				victim.ExecutedHeight(), c.Net.Now-start, st.Asked, float64(c.Nodes[0].CommittedHeight())/float64(c.Net.Now))
			if app != nil {
				if err := app.Drain(c, 2000); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
