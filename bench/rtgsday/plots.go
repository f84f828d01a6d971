package rtgsday

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot file names inside the result directory.
const (
	PlotDelay   = "delay-liquidity.png"
	PlotSettled = "value-settled.png"
	PlotExecute = "execute-time.png"
)

const plotW, plotH = 7 * vg.Inch, 4.5 * vg.Inch

const levelLabel = "liquidity level f (each bank: lower + f × (upper − lower))"

// series is one line of a plot: a mode's figure against f.
type series struct {
	name string
	xys  plotter.XYs
}

func (r *Result) series(name string, m Mode, y func(RunSummary) float64) series {
	s := series{name: name}
	for _, run := range r.RunsOf(m.Name) {
		s.xys = append(s.xys, plotter.XY{X: run.Level, Y: y(run)})
	}
	return s
}

// linePlot builds a plot of the series. With paired, the series come in
// pairs per mode (mean and p99, say): colour says the mode, a dashed line
// and crosses the second of the pair. The legend goes top right, or bottom
// right for curves that rise to the top (value settled).
func linePlot(title, ylabel string, ss []series, paired bool, yMin *float64, legendBottom bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = levelLabel
	p.Y.Label.Text = ylabel
	p.X.Min, p.X.Max = 0, 1
	for i, s := range ss {
		line, points, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", title, err)
		}
		mode := i
		if paired {
			mode = i / 2
		}
		line.Color, points.Color = plotutil.Color(mode), plotutil.Color(mode)
		points.Shape = plotutil.Shape(mode)
		if paired && i%2 == 1 {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			points.Shape = draw.CrossGlyph{}
		}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	if yMin != nil {
		p.Y.Min = *yMin
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = !legendBottom
	return p, nil
}

// savePNG writes plots stacked in one column into path.
func savePNG(path string, plots ...*plot.Plot) error {
	img := vgimg.New(plotW, plotH*vg.Length(len(plots)))
	dc := draw.New(img)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadY: vg.Points(12)}
	canvases := plot.Align(rows, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}

// writePlots draws the delay–liquidity curves (mean above p99: their scales
// differ tenfold), the value settled and Execute's time against the
// liquidity level, every mode on each.
func writePlots(dir string, r *Result) error {
	var mean, p99, settled, exec []series
	for _, m := range r.Modes {
		mean = append(mean, r.series(m.Name, m, func(s RunSummary) float64 { return s.DelayMeanBlocks }))
		p99 = append(p99, r.series(m.Name, m, func(s RunSummary) float64 { return s.DelayP99Blocks }))
		settled = append(settled,
			r.series(m.Name+" by end of run", m, func(s RunSummary) float64 { return 100 * s.SettledShare }),
			r.series(m.Name+" within the day", m, func(s RunSummary) float64 { return 100 * s.SettledInDayShare }))
		exec = append(exec,
			r.series(m.Name+" median", m, func(s RunSummary) float64 { return s.ExecuteMedianUs }),
			r.series(m.Name+" p99", m, func(s RunSummary) float64 { return s.ExecuteP99Us }))
	}
	zero := 0.0
	pm, err := linePlot("Mean settlement delay vs liquidity (settled payments)", "mean delay (blocks)", mean, false, &zero, false)
	if err != nil {
		return err
	}
	pp, err := linePlot("p99 settlement delay vs liquidity (settled payments)", "p99 delay (blocks)", p99, false, &zero, false)
	if err != nil {
		return err
	}
	if err := savePNG(filepath.Join(dir, PlotDelay), pm, pp); err != nil {
		return err
	}
	ps, err := linePlot("Value settled vs liquidity", "value settled (% of the day's value)", settled, true, nil, true)
	if err != nil {
		return err
	}
	if err := savePNG(filepath.Join(dir, PlotSettled), ps); err != nil {
		return err
	}
	pe, err := linePlot("Execute wall time per block vs liquidity (queue release and LSM included)",
		"Execute per block (µs)", exec, true, &zero, false)
	if err != nil {
		return err
	}
	return savePNG(filepath.Join(dir, PlotExecute), pe)
}
