package rtgsday

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkLSMCostAtPeak measures what gridlock resolution after every block
// adds to a block's execution at the day's peak: the reported day (50 banks,
// 29,713 payments) at liquidity level f, replayed with k = 1 and with plain
// RTGS queues (the same blocks, the same payments), and the per-block
// difference of Execute's wall time over the tenth of the day's blocks that
// carry the most payments. Set against the block interval of the rtgs-day
// cluster scenario (about 28 ms at 36 blocks/s, results/2026-12-04-rtgs-day)
// this is the LSM's share of block time at the scenario's peak rate.
//
//	go test ./bench/rtgsday -run '^$' -bench LSMCostAtPeak -benchtime 5x -count 3
func BenchmarkLSMCostAtPeak(b *testing.B) {
	day, err := Generate(DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	sim, err := NewSimulator(day, DefaultEndBlocks, RunOptions{StateRoot: true})
	if err != nil {
		b.Fatal(err)
	}
	perBlock := make([]int, day.Blocks())
	for _, p := range day.Payments {
		perBlock[p.Block]++
	}
	peak := make([]int, day.Blocks())
	for i := range peak {
		peak[i] = i
	}
	slices.SortFunc(peak, func(x, y int) int { return perBlock[y] - perBlock[x] })
	peak = peak[:day.Blocks()/10]
	for _, f := range []float64{0, 0.25} {
		liq, err := sim.Bounds.Liquidity(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmtLevel(f), func(b *testing.B) {
			var extra, plainSum []float64
			for i := 0; i < b.N; i++ {
				lsm, err := sim.c.run(ModeLSM(1), liq, sim.opts)
				if err != nil {
					b.Fatal(err)
				}
				plain, err := sim.c.run(ModePlain(), liq, sim.opts)
				if err != nil {
					b.Fatal(err)
				}
				var d, p time.Duration
				for _, blk := range peak {
					d += lsm.execute[blk] - plain.execute[blk]
					p += plain.execute[blk]
				}
				extra = append(extra, float64(d.Microseconds())/float64(len(peak)))
				plainSum = append(plainSum, float64(p.Microseconds())/float64(len(peak)))
			}
			slices.Sort(extra)
			slices.Sort(plainSum)
			b.ReportMetric(extra[len(extra)/2], "lsm-us/peak-block")
			b.ReportMetric(plainSum[len(plainSum)/2], "plain-us/peak-block")
		})
	}
}

func fmtLevel(f float64) string {
	if f == 0 {
		return "f=0"
	}
	return "f=0.25"
}
