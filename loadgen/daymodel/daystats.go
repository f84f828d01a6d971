package daymodel

import (
	"math"
	"sort"
)

// DaySummary describes the generated day: what the report shows of the
// model, and what the tests check it against.
type DaySummary struct {
	Payments    int     `json:"payments"`
	ValueMinor  uint64  `json:"value_minor"`
	UrgentShare float64 `json:"urgent_share"`

	ValueMedianMinor float64 `json:"value_median_minor"`
	ValueMeanMinor   float64 `json:"value_mean_minor"`
	ValueP99Minor    float64 `json:"value_p99_minor"`
	LogValueMean     float64 `json:"log_value_mean"` // sample μ of ln(value)
	LogValueSD       float64 `json:"log_value_sd"`   // sample σ

	Links        int `json:"links"` // directed links of the network
	DegreeMin    int `json:"degree_min"`
	DegreeMedian int `json:"degree_median"`
	DegreeMax    int `json:"degree_max"`
	// TopTenthValueShare is the share of the day's value sent by the tenth
	// of banks that send the most.
	TopTenthValueShare float64 `json:"top_tenth_value_share"`

	PaymentsPerBlockMean float64 `json:"payments_per_block_mean"`
	PaymentsPerBlockPeak int     `json:"payments_per_block_peak"`
}

// BankFigures is one bank's part of the day.
type BankFigures struct {
	Bank          int    `json:"bank"`
	Degree        int    `json:"degree,omitempty"`
	Sent          int    `json:"sent"`
	SentMinor     uint64 `json:"sent_minor"`
	ReceivedMinor uint64 `json:"received_minor"`
	UpperMinor    uint64 `json:"upper_minor"`
	LowerMinor    uint64 `json:"lower_minor"`
}

// Summarize computes the day's summary.
func Summarize(d *Day) DaySummary {
	s := DaySummary{Payments: len(d.Payments)}
	if len(d.Payments) == 0 {
		return s
	}
	vals := make([]float64, len(d.Payments))
	perBlock := make([]int, d.Blocks())
	sent := make([]uint64, d.Banks())
	urgent := 0
	var logSum, logSq float64
	for i, p := range d.Payments {
		vals[i] = float64(p.Amount)
		s.ValueMinor += p.Amount
		sent[p.From] += p.Amount
		perBlock[p.Block]++
		if p.Urgent {
			urgent++
		}
		lv := math.Log(vals[i])
		logSum += lv
		logSq += lv * lv
	}
	n := float64(len(vals))
	s.UrgentShare = float64(urgent) / n
	sort.Float64s(vals)
	s.ValueMedianMinor = NearestRank(vals, 0.5)
	s.ValueP99Minor = NearestRank(vals, 0.99)
	s.ValueMeanMinor = float64(s.ValueMinor) / n
	s.LogValueMean = logSum / n
	if len(vals) > 1 {
		s.LogValueSD = math.Sqrt(math.Max(0, (logSq-n*s.LogValueMean*s.LogValueMean)/(n-1)))
	}
	s.PaymentsPerBlockMean = n / float64(d.Blocks())
	for _, c := range perBlock {
		s.PaymentsPerBlockPeak = max(s.PaymentsPerBlockPeak, c)
	}
	sort.Slice(sent, func(i, j int) bool { return sent[i] > sent[j] })
	top := max(1, d.Banks()/10)
	var topValue uint64
	for _, v := range sent[:top] {
		topValue += v
	}
	s.TopTenthValueShare = float64(topValue) / float64(s.ValueMinor)
	if d.Network != nil {
		deg := append([]int(nil), d.Network.Degree...)
		sort.Ints(deg)
		s.Links = len(d.Network.Links)
		s.DegreeMin, s.DegreeMedian, s.DegreeMax = deg[0], deg[(len(deg)-1)/2], deg[len(deg)-1]
	}
	return s
}

// bankFigures returns each bank's figures, the largest senders by value first.
func BankFiguresOf(d *Day, b Bounds) []BankFigures {
	out := make([]BankFigures, d.Banks())
	for i := range out {
		out[i] = BankFigures{Bank: i, UpperMinor: b.Upper[i], LowerMinor: b.Lower[i]}
		if d.Network != nil {
			out[i].Degree = d.Network.Degree[i]
		}
	}
	for _, p := range d.Payments {
		out[p.From].Sent++
		out[p.From].SentMinor += p.Amount
		out[p.To].ReceivedMinor += p.Amount
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SentMinor > out[j].SentMinor })
	return out
}

// NearestRank returns the q-quantile of sorted values by the nearest-rank
// method: the smallest value with at least q of the values at or below it.
func NearestRank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
