package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// SpectrumPoint is one line of a .hgrm percentile distribution.
type SpectrumPoint struct {
	LatencyMs  float64
	Percentile float64 // 0..1
}

// hgrmLinesMax bounds the lines read from a .hgrm file.
const hgrmLinesMax = 100_000

// ReadHgrm reads the classic percentile distribution (values in milliseconds,
// as loadgen writes it): every line of four numbers Value, Percentile,
// TotalCount, 1/(1-Percentile).
func ReadHgrm(path string) ([]SpectrumPoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("percentile distribution: %w", err)
	}
	var out []SpectrumPoint
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 0; sc.Scan() && n < hgrmLinesMax; n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		v, err1 := strconv.ParseFloat(f[0], 64)
		p, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil || p < 0 || p > 1 {
			continue
		}
		out = append(out, SpectrumPoint{LatencyMs: v, Percentile: p})
	}
	return out, nil
}

// IntervalPoint is one second of a run, from the interval log.
type IntervalPoint struct {
	StartS  float64 // absolute, seconds since the epoch
	LengthS float64
	Count   int64
	PerS    float64
	P99Ms   float64
	MaxMs   float64
}

// intervalsMax bounds the intervals read from one log.
const intervalsMax = 100_000

// ReadIntervals reads the interval log's histograms with the given tag
// ("committed" or "accepted"). Values are microseconds.
func ReadIntervals(path, tag string) ([]IntervalPoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("interval log: %w", err)
	}
	r := hdr.NewHistogramLogReader(bytes.NewReader(b))
	var out []IntervalPoint
	for len(out) < intervalsMax {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			return nil, fmt.Errorf("interval log %s: %w", path, err)
		}
		if h == nil {
			break
		}
		if h.Tag() != tag {
			continue
		}
		p := IntervalPoint{StartS: float64(h.StartTimeMs()) / 1000, LengthS: float64(h.EndTimeMs()-h.StartTimeMs()) / 1000,
			Count: h.TotalCount()}
		if p.LengthS > 0 {
			p.PerS = float64(p.Count) / p.LengthS
		}
		if p.Count > 0 {
			p.P99Ms = float64(h.ValueAtQuantile(99)) / 1000
			p.MaxMs = float64(h.Max()) / 1000
		} else {
			p.P99Ms = math.NaN()
		}
		out = append(out, p)
	}
	return out, nil
}
