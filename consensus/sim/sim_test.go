package sim

import (
	"flag"
	"fmt"
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
