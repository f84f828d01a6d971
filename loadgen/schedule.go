package loadgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Schedule says when each transaction of an open-loop run is meant to be sent.
// Offsets come from a closed formula, never from a ticker: a ticker drops ticks when
// the process is late, which would silently lower the offered load.
type Schedule interface {
	// Count is the number of transactions the schedule offers.
	Count() int
	// Offset is the intended send time of transaction i (0 ≤ i < Count) relative to
	// the start of the timed phase. INVARIANT: non-decreasing in i.
	Offset(i int) time.Duration
	// Duration is the length of the timed phase.
	Duration() time.Duration
	// String is the schedule in the syntax ParseSchedule reads.
	String() string
}

// Constant offers rate transactions per second for a duration.
type Constant struct {
	RatePerS float64
	Dur      time.Duration
}

// Count implements Schedule.
func (c Constant) Count() int { return countAt(c.RatePerS, c.Dur) }

// Offset implements Schedule: i/rate seconds.
func (c Constant) Offset(i int) time.Duration { return offsetAt(c.RatePerS, i) }

// Duration implements Schedule.
func (c Constant) Duration() time.Duration { return c.Dur }

func (c Constant) String() string { return "constant:" + fmtRate(c.RatePerS) + "@" + c.Dur.String() }

// Step offers each rate in turn for StepDur.
type Step struct {
	RatesPerS []float64
	StepDur   time.Duration
	cum       []int // cum[k] = transactions in steps before k
}

// NewStep builds a step schedule.
func NewStep(ratesPerS []float64, stepDur time.Duration) *Step {
	s := &Step{RatesPerS: ratesPerS, StepDur: stepDur, cum: make([]int, len(ratesPerS)+1)}
	for k, r := range ratesPerS {
		s.cum[k+1] = s.cum[k] + countAt(r, stepDur)
	}
	return s
}

// Count implements Schedule.
func (s *Step) Count() int { return s.cum[len(s.RatesPerS)] }

// Offset implements Schedule: the step's start plus the position inside the step.
func (s *Step) Offset(i int) time.Duration {
	k := 0
	for k+1 < len(s.RatesPerS) && i >= s.cum[k+1] {
		k++
	}
	return time.Duration(k)*s.StepDur + offsetAt(s.RatesPerS[k], i-s.cum[k])
}

// Duration implements Schedule.
func (s *Step) Duration() time.Duration { return time.Duration(len(s.RatesPerS)) * s.StepDur }

func (s *Step) String() string {
	parts := make([]string, len(s.RatesPerS))
	for k, r := range s.RatesPerS {
		parts[k] = fmtRate(r)
	}
	return "step:" + strings.Join(parts, ",") + "@" + s.StepDur.String()
}

// Ramp raises (or lowers) the rate linearly from FromPerS to ToPerS over Dur.
// The cumulative count is N(t) = r0·t + (r1−r0)·t²/(2T); transaction i is meant for
// the t that solves N(t) = i.
type Ramp struct {
	FromPerS, ToPerS float64
	Dur              time.Duration
}

// Count implements Schedule.
func (r Ramp) Count() int {
	return int(math.Ceil((r.FromPerS + r.ToPerS) / 2 * r.Dur.Seconds()))
}

// Offset implements Schedule. t = 2i / (r0 + sqrt(r0² + 2ai)), a = (r1−r0)/T, the
// cancellation-free form of the quadratic's root.
func (r Ramp) Offset(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	a := (r.ToPerS - r.FromPerS) / r.Dur.Seconds()
	disc := math.Max(0, r.FromPerS*r.FromPerS+2*a*float64(i))
	den := r.FromPerS + math.Sqrt(disc)
	if den <= 0 {
		return r.Dur
	}
	return time.Duration(math.Floor(2 * float64(i) / den * 1e9))
}

// Duration implements Schedule.
func (r Ramp) Duration() time.Duration { return r.Dur }

func (r Ramp) String() string {
	return "ramp:" + fmtRate(r.FromPerS) + ".." + fmtRate(r.ToPerS) + "@" + r.Dur.String()
}

func countAt(ratePerS float64, d time.Duration) int {
	return int(math.Ceil(ratePerS * d.Seconds()))
}

func offsetAt(ratePerS float64, i int) time.Duration {
	return time.Duration(math.Floor(float64(i) * 1e9 / ratePerS))
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// ParseSchedule reads a schedule:
//
//	5000                       constant 5000 tx/s for duration
//	constant:5000[@60s]        the same (the @ part overrides duration)
//	step:1000,2000,4000@10s    each rate for 10 s
//	ramp:1000..8000@30s        linear from 1000 to 8000 tx/s over 30 s
//
// duration is used only by the constant form without an @ part.
func ParseSchedule(spec string, duration time.Duration) (Schedule, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		kind, rest = "constant", spec
	}
	body, durText, hasDur := strings.Cut(rest, "@")
	if hasDur {
		d, err := time.ParseDuration(durText)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("schedule %q: %q is not a positive duration", spec, durText)
		}
		duration = d
	}
	if duration <= 0 {
		return nil, fmt.Errorf("schedule %q needs a positive duration", spec)
	}
	var s Schedule
	switch kind {
	case "constant":
		rates, err := parseRates(spec, body, 1)
		if err != nil {
			return nil, err
		}
		s = Constant{RatePerS: rates[0], Dur: duration}
	case "step":
		rates, err := parseRates(spec, body, 0)
		if err != nil {
			return nil, err
		}
		s = NewStep(rates, duration)
	case "ramp":
		from, to, ok := strings.Cut(body, "..")
		if !ok {
			return nil, fmt.Errorf("schedule %q: a ramp is written ramp:FROM..TO@DURATION", spec)
		}
		rates, err := parseRates(spec, from+","+to, 2)
		if err != nil {
			return nil, err
		}
		if rates[0] == 0 && rates[1] == 0 {
			return nil, fmt.Errorf("schedule %q: a ramp needs a positive rate at one end", spec)
		}
		s = Ramp{FromPerS: rates[0], ToPerS: rates[1], Dur: duration}
	default:
		return nil, fmt.Errorf("schedule %q: unknown kind %q (want constant, step or ramp)", spec, kind)
	}
	if s.Count() == 0 {
		return nil, fmt.Errorf("schedule %q offers no transactions", spec)
	}
	return s, nil
}

// parseRates reads comma-separated rates; want > 0 demands exactly that many. Step
// and constant rates must be positive; ramp ends may be zero.
func parseRates(spec, list string, want int) ([]float64, error) {
	fields := strings.Split(list, ",")
	if want > 0 && len(fields) != want {
		return nil, fmt.Errorf("schedule %q: want %d rate(s), got %d", spec, want, len(fields))
	}
	rates := make([]float64, len(fields))
	for k, f := range fields {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r < 0 || math.IsInf(r, 0) || math.IsNaN(r) || (r == 0 && want != 2) {
			return nil, fmt.Errorf("schedule %q: rate %q must be a positive number of tx/s", spec, f)
		}
		rates[k] = r
	}
	return rates, nil
}
