package bench

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot file names inside a result directory.
const (
	PlotThroughputLatency = "throughput-latency.png"
	PlotSpectrum          = "latency-spectrum.png"
	PlotTimelineRate      = "timeline-throughput.png"
	PlotTimelineP99       = "timeline-p99.png"
	PlotUSL               = "usl.png"
)

const plotW, plotH = 7 * vg.Inch, 4 * vg.Inch

// spectrumRoundsMax bounds the rounds drawn on one spectrum plot.
const spectrumRoundsMax = 8

// plotThroughputLatency draws p50, p99 and p99.9 against committed throughput,
// one point per round, joined in the order of offered load (past saturation
// the committed rate falls back while latency climbs: the line then turns
// back instead of zigzagging), on a log latency axis with its top decade left
// empty for the legend.
func plotThroughputLatency(dir string, rounds []Round, sloMs float64) error {
	p := plot.New()
	p.Title.Text = "Committed throughput vs submit→commit latency (rounds in order of offered load)"
	p.X.Label.Text = "committed tx/s"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	rs := append([]Round(nil), rounds...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].OfferedPerS < rs[j].OfferedPerS })
	series := []struct {
		name string
		get  func(Round) float64
	}{{"p50", func(r Round) float64 { return r.Latency.P50Ms }},
		{"p99", func(r Round) float64 { return r.Latency.P99Ms }},
		{"p99.9", func(r Round) float64 { return r.Latency.P999Ms }}}
	var args []any
	lo, hi := math.Inf(1), 0.0
	for _, s := range series {
		xys := make(plotter.XYs, len(rs))
		for i, r := range rs {
			y := math.Max(s.get(r), logFloorMs) // a log axis has no zero
			xys[i] = plotter.XY{X: r.CommittedPerS, Y: y}
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
		args = append(args, s.name, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	if sloMs > 0 && len(rs) > 0 {
		slo := plotter.NewFunction(func(float64) float64 { return sloMs })
		slo.Color = color.RGBA{R: 200, A: 255}
		slo.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(slo)
		p.Legend.Add(fmt.Sprintf("SLO p99 %.0f ms", sloMs), slo)
		lo, hi = math.Min(lo, sloMs), math.Max(hi, sloMs)
	}
	if hi > 0 {
		p.Y.Min, p.Y.Max = lo/2, hi*20 // the decade above the data holds the legend
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true // top right, in the empty decade
	return p.Save(plotW, plotH, filepath.Join(dir, PlotThroughputLatency))
}

// fullIntervals drops a round's partial intervals (its last one, mostly):
// their rate is a few commits over a sliver of time and would draw a spike.
func fullIntervals(iv []IntervalPoint) []IntervalPoint {
	full := 0.0
	for _, pt := range iv {
		full = math.Max(full, pt.LengthS)
	}
	var out []IntervalPoint
	for _, pt := range iv {
		if pt.LengthS >= full/2 {
			out = append(out, pt)
		}
	}
	return out
}

// logFloorMs is the least latency a log axis shows.
const logFloorMs = 0.01

// percentileTicks label a 1/(1-p) axis with percentiles.
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	var ticks []plot.Tick
	for k, l := range labels {
		v := math.Pow10(k)
		if v >= lo/1.0001 && v <= hi*1.0001 {
			ticks = append(ticks, plot.Tick{Value: v, Label: l})
		}
	}
	return ticks
}

// plotSpectrum draws the latency percentile spectrum of each round from its
// .hgrm file, on a log axis of 1/(1-percentile).
func plotSpectrum(dir string, rounds []Round) error {
	p := plot.New()
	p.Title.Text = "Submit→commit latency by percentile"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	var args []any
	for i, r := range rounds {
		if i == spectrumRoundsMax {
			break
		}
		pts, err := ReadHgrm(filepath.Join(dir, r.Dir, "latency.hgrm"))
		if err != nil {
			return err
		}
		var xys plotter.XYs
		for _, sp := range pts {
			if sp.Percentile >= 1 {
				continue // 1/(1-p) is infinite
			}
			xys = append(xys, plotter.XY{X: 1 / (1 - sp.Percentile), Y: sp.LatencyMs})
		}
		if len(xys) > 0 {
			args = append(args, r.Label, xys)
		}
	}
	if len(args) == 0 {
		return nil
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return err
	}
	p.Add(plotter.NewGrid())
	return p.Save(plotW, plotH, filepath.Join(dir, PlotSpectrum))
}

// plotTimeline draws per-second committed throughput and p99 over the whole
// result (all rounds on one time axis) from the interval logs.
func plotTimeline(dir string, rounds []Round) error {
	var all [][]IntervalPoint
	t0 := math.Inf(1)
	for _, r := range rounds {
		iv, err := ReadIntervals(filepath.Join(dir, r.Dir, "intervals.hlog"), "committed")
		if err != nil {
			return err
		}
		all = append(all, iv)
		if len(iv) > 0 {
			t0 = math.Min(t0, iv[0].StartS)
		}
	}
	if math.IsInf(t0, 1) {
		return nil
	}
	rate, p99 := plot.New(), plot.New()
	rate.Title.Text, p99.Title.Text = "Committed transactions per second", "Submit→commit p99 per second"
	rate.X.Label.Text, p99.X.Label.Text = "seconds since the first round started", "seconds since the first round started"
	rate.Y.Label.Text, p99.Y.Label.Text = "committed tx/s", "p99 (ms)"
	var rateArgs, p99Args []any
	for i, iv := range all {
		var rx, px plotter.XYs
		for _, pt := range fullIntervals(iv) {
			x := pt.StartS - t0 + pt.LengthS/2
			rx = append(rx, plotter.XY{X: x, Y: pt.PerS})
			if !math.IsNaN(pt.P99Ms) {
				px = append(px, plotter.XY{X: x, Y: pt.P99Ms})
			}
		}
		if len(rx) > 0 {
			rateArgs = append(rateArgs, rounds[i].Label, rx)
		}
		if len(px) > 0 {
			p99Args = append(p99Args, rounds[i].Label, px)
		}
	}
	if len(rateArgs) > 0 {
		if err := plotutil.AddLines(rate, rateArgs...); err != nil {
			return err
		}
	}
	if len(p99Args) > 0 {
		if err := plotutil.AddLines(p99, p99Args...); err != nil {
			return err
		}
	}
	rate.Y.Min, p99.Y.Min = 0, 0
	rate.Add(plotter.NewGrid())
	p99.Add(plotter.NewGrid())
	if len(rounds) > 4 {
		rate.Legend.Top, p99.Legend.Top = true, true
	}
	if err := rate.Save(plotW, plotH, filepath.Join(dir, PlotTimelineRate)); err != nil {
		return err
	}
	return p99.Save(plotW, plotH, filepath.Join(dir, PlotTimelineP99))
}
