package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"

	"settle/consensus/sim"
)

// Files of a model directory.
const (
	FileModelJSON       = "model.json"
	FileModelReport     = "model.md"
	PlotModelThroughput = "model-throughput.png"
	PlotModelLatency    = "model-latency.png"
)

// WriteModel writes model.json, model.md and the two plots into dir.
func WriteModel(dir string, r *ModelResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("model directory: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, FileModelJSON), r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileModelReport), []byte(r.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FileModelReport, err)
	}
	if err := plotModelThroughput(dir, r); err != nil {
		return fmt.Errorf("plot %s: %w", PlotModelThroughput, err)
	}
	if err := plotModelLatency(dir, r); err != nil {
		return fmt.Errorf("plot %s: %w", PlotModelLatency, err)
	}
	return nil
}

// Text is the prediction table for a terminal.
func (r *ModelResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %s; costs: %s\n", r.Network, r.CostsSource)
	fmt.Fprintf(&b, "%5s %8s %11s %12s %9s %8s %8s %6s %6s  %s\n", "n", "cores/v", "saturation", "sustainable", "load", "p50 ms", "p99 ms", "views", "blk/s", "bound by")
	for _, p := range r.Points {
		fmt.Fprintf(&b, "%5d %8.3g %11s %12s %9.0f %8s %8s %6s %6s  %s\n", p.Validators, p.CoresPerValidator, satText(p), sustText(p), p.LoadPerS,
			msText(p.AtLoad, func(x *sim.WANResult) float64 { return x.P50Ms }), msText(p.AtLoad, func(x *sim.WANResult) float64 { return x.P99Ms }),
			intText(p.AtLoad, func(x *sim.WANResult) int { return x.ViewChanges }),
			fmtText(p.AtLoad, func(x *sim.WANResult) string { return fmt.Sprintf("%.1f", x.BlocksPerS) }), p.BoundBy)
	}
	fmt.Fprintf(&b, "(%s; views: view changes in the measured window at the load; %.0f s)\n", r.Criterion, r.TookS)
	return b.String()
}

func satText(p ModelPoint) string {
	if p.AtSaturation == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", p.SaturationPerS)
}

// satRangeText is the saturation with its spread over the seeds.
func satRangeText(p ModelPoint) string {
	if p.AtSaturation == nil {
		return "-"
	}
	if p.SaturationMax-p.SaturationMin < 0.5 {
		return fmt.Sprintf("%.0f", p.SaturationPerS)
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", p.SaturationPerS, p.SaturationMin, p.SaturationMax)
}

func sustText(p ModelPoint) string {
	if len(p.Probes) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", p.MaxSustainablePerS)
}

func msText(r *sim.WANResult, f func(*sim.WANResult) float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f", f(r))
}

func intText(r *sim.WANResult, f func(*sim.WANResult) int) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprint(f(r))
}

func viewsText(p ModelPoint) string {
	s := intText(p.AtLoad, func(x *sim.WANResult) int { return x.ViewChanges })
	if p.AtSaturation != nil {
		s += fmt.Sprintf(" / %d", p.AtSaturation.ViewChanges)
	}
	return s
}

func fmtText(r *sim.WANResult, f func(*sim.WANResult) string) string {
	if r == nil {
		return "-"
	}
	return f(r)
}

// Markdown is model.md: inputs, costs, the predictions, and where they stop
// being trustworthy.
func (r *ModelResult) Markdown() string {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "# bench model: predicted throughput and finality\n\n")
	fmt.Fprintf(&b, "A prediction from the WAN simulator (the real HotStuff core on virtual time), not a measurement. ")
	fmt.Fprintf(&b, "What it models and its limits: docs/bench.md, \"model: predicting a deployment\".\n\n")
	fmt.Fprintf(&b, "## Inputs\n\n| | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| network | %s |\n", r.Network)
	if o.MachineCores > 0 {
		mode := "a fixed share of MachineCores/n each"
		if o.SharedCPU {
			mode = "shared by processor sharing"
		}
		fmt.Fprintf(&b, "| CPU | all validators on one machine of %g cores, %s |\n", o.MachineCores, mode)
	} else {
		fmt.Fprintf(&b, "| CPU | %g cores per validator, each on its own host |\n", o.CoresPerValidator)
	}
	fmt.Fprintf(&b, "| block limits | tx max %d, delay %g ms |\n", o.BlockTxMax, o.BlockDelayMs)
	fmt.Fprintf(&b, "| view timeout | %g ms (tick %d ms) |\n", o.ViewTimeoutMs, sim.WANTickMsDefault)
	if o.RatePerS > 0 {
		fmt.Fprintf(&b, "| load | %g tx/s offered |\n", o.RatePerS)
	} else {
		fmt.Fprintf(&b, "| load | saturation (closed loop, %d in flight), the open-loop search, then %g × saturation |\n", o.ClosedK, o.LoadFraction)
	}
	fmt.Fprintf(&b, "| virtual time | %g s per run, first %g s not measured; seed %d |\n", o.DurationS, o.WarmupS, o.Seed)
	fmt.Fprintf(&b, "| costs | %s |\n", r.CostsSource)
	fmt.Fprintf(&b, "| criterion | %s |\n\n", r.Criterion)
	writeCostsTable(&b, r.Costs)
	writePointsTable(&b, r)
	fmt.Fprintf(&b, "![predicted throughput](%s)\n\n![predicted finality](%s)\n\n", PlotModelThroughput, PlotModelLatency)
	fmt.Fprintf(&b, "## Trust\n\n%s\n\nValidation against measured runs: see results/… (to be filled in by the measured runs).\n", modelLimitsText)
	return b.String()
}

func writeCostsTable(b *strings.Builder, c sim.WANCosts) {
	fmt.Fprintf(b, "## Costs\n\n| cost | value |\n| --- | ---: |\n")
	rows := []struct {
		name string
		v    float64
		unit string
	}{
		{"transaction signature, batch-verified (every validator, once)", c.VerifyTxUs, "µs"},
		{"consensus signature (block, vote, QC or TC entry)", c.SigUs, "µs"},
		{"per tx at the validator a client sent it to", c.ClientTxUs, "µs"},
		{"per tx at each validator it is gossiped to", c.GossipTxUs, "µs"},
		{"per tx of a proposal (encode / decode)", c.ProposalTxUs, "µs"},
		{"per tx executing and committing (one goroutine)", c.ExecTxUs, "µs"},
		{"per tx in the background (flushes, GC, event streams)", c.BackgroundTxUs, "µs"},
		{"per frame sent or received, per client request", c.FrameUs, "µs"},
		{"per block, consensus driver", c.BlockDriverUs, "µs"},
		{"per block, execution", c.BlockExecUs, "µs"},
		{"synced write", c.FsyncMs, "ms"},
		{"disk write throughput", c.DiskBytesPerS / 1e6, "MB/s"},
		{"bytes written per committed tx", c.CommitBytesPerTx, "B"},
		{"base CPU of a loaded validator", c.BaseCores, "cores"},
	}
	for _, row := range rows {
		fmt.Fprintf(b, "| %s | %s %s |\n", row.name, numText(row.v), row.unit)
	}
	b.WriteString("\n")
}

// numText shows three significant digits without exponents.
func numText(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func writePointsTable(b *strings.Builder, r *ModelResult) {
	fmt.Fprintf(b, "## Predictions\n\n")
	fmt.Fprintf(b, "| n | cores/validator | median RTT ms | quorum RTT ms | saturation tx/s | max sustainable tx/s | bound by | CPU | link | load tx/s | p50 ms | p99 ms | view changes (load / saturation) | blocks/s | txs/block |\n")
	fmt.Fprintf(b, "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, p := range r.Points {
		sat := p.AtSaturation
		if sat == nil {
			sat = p.AtLoad
		}
		cpu, link := "-", "-"
		if sat != nil {
			cpu, link = fmt.Sprintf("%.0f%%", 100*sat.CPUUtilMax), fmt.Sprintf("%.0f%%", 100*sat.ProposalSendShare)
		}
		fmt.Fprintf(b, "| %d | %.3g | %.0f | %.0f | %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s |\n",
			p.Validators, p.CoresPerValidator, p.MedianRTTMs, p.QuorumRTTMs, satRangeText(p), sustText(p), p.BoundBy, cpu, link, p.LoadPerS,
			msText(p.AtLoad, func(x *sim.WANResult) float64 { return x.P50Ms }), msText(p.AtLoad, func(x *sim.WANResult) float64 { return x.P99Ms }),
			viewsText(p),
			fmtText(p.AtLoad, func(x *sim.WANResult) string { return fmt.Sprintf("%.1f", x.BlocksPerS) }),
			fmtText(p.AtLoad, func(x *sim.WANResult) string { return fmt.Sprintf("%.0f", x.TxsPerBlock) }))
	}
	fmt.Fprintf(b, "\nSaturation: the median of the closed-loop runs over %d seeds (their range in brackets). CPU: the busiest validator's cores in the median saturation run; link: the share of that run leaders spent getting proposals onto the wire. ", r.Options.SatSeeds)
	fmt.Fprintf(b, "Latency: submit→commit, from the intended send time to the first validator's commit notice, as loadgen measures it.\n\n")
}

// modelLimitsText is where the model stops being trustworthy (also in
// docs/bench.md).
const modelLimitsText = `- **CPU contention.** Cores are shared by processor sharing: every runnable
  goroutine progresses at once. An oversubscribed machine (validators and the load
  generator on 2 cores) runs them in time slices instead, so each hop of a view
  waits for a slice: there, the predicted latency at a given load is a lower bound,
  and the per-transaction costs (fitted on that machine) include its contention.
- **Go runtime.** GC pauses, scheduler latency and allocation are folded into
  average costs; their tails are not modelled, so p99 is optimistic.
- **TCP.** Each link is a fluid pipe at its bandwidth from the first byte: no slow
  start, no congestion control, no loss or retransmission. On long fat links (a
  proposal of hundreds of kilobytes over 100+ ms) real TCP needs several round trips
  to open its window after idle periods; -tcp-window-kib caps each link at one
  window per round trip, nothing models the ramp.
- **Disk.** Every synced write costs the calibrated fsync p50 plus bytes over the
  disk's rate: no variance, no compaction stalls, no queueing between the
  consensus store's and the ledger's synced writes.
- **Costs outside their range.** The per-transaction and per-frame costs were fitted
  on the 2-core reference machine at 4 validators and up to about 6,000 tx/s; a
  calibration scales them by verification speed only. Predictions far from that
  (100 validators, 16 cores, tens of thousands of tx/s) extrapolate them.
- **Faults.** All validators are honest and up, clocks agree, links never fail;
  view changes come only from timeouts the load itself causes.
- **Site RTTs.** The built-in site set's round trips are estimates from distance,
  not measurements (bench/models/financial10.json says how).`

// plotModelThroughput draws predicted saturation against n.
func plotModelThroughput(dir string, r *ModelResult) error {
	p := plot.New()
	p.Title.Text = "Predicted throughput at saturation (bench model)"
	p.X.Label.Text = "validators"
	p.Y.Label.Text = "tx/s"
	var sat, sust plotter.XYs
	for _, pt := range r.Points {
		if pt.AtSaturation != nil {
			sat = append(sat, plotter.XY{X: float64(pt.Validators), Y: pt.SaturationPerS})
		}
		if len(pt.Probes) > 0 {
			sust = append(sust, plotter.XY{X: float64(pt.Validators), Y: pt.MaxSustainablePerS})
		}
	}
	if len(sat) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, "saturation (closed loop)", sat, "max sustainable (open loop)", sust); err != nil {
		return err
	}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	return p.Save(plotW, plotH, filepath.Join(dir, PlotModelThroughput))
}

// plotModelLatency draws predicted p50 and p99 finality against n.
func plotModelLatency(dir string, r *ModelResult) error {
	p := plot.New()
	p.Title.Text = "Predicted submit→commit latency at the model's load"
	p.X.Label.Text = "validators"
	p.Y.Label.Text = "latency (ms)"
	var p50, p99 plotter.XYs
	for _, pt := range r.Points {
		if pt.AtLoad != nil {
			p50 = append(p50, plotter.XY{X: float64(pt.Validators), Y: pt.AtLoad.P50Ms})
			p99 = append(p99, plotter.XY{X: float64(pt.Validators), Y: pt.AtLoad.P99Ms})
		}
	}
	if len(p50) == 0 {
		return nil
	}
	if err := plotutil.AddLinePoints(p, "p50", p50, "p99", p99); err != nil {
		return err
	}
	p.Y.Min = 0 // the legend goes bottom right, under the lines
	p.Add(plotter.NewGrid())
	return p.Save(plotW, plotH, filepath.Join(dir, PlotModelLatency))
}
