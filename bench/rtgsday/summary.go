package rtgsday

import (
	"sort"
	"time"

	"settle/loadgen/daymodel"
)

// RunSummary is one run's figures: a mode at a liquidity level.
type RunSummary struct {
	Mode                string  `json:"mode"`
	GridlockEveryBlocks uint64  `json:"gridlock_every_blocks"`
	Level               float64 `json:"level"`                 // f: each bank holds Lower + f (Upper − Lower)
	LiquidityMinor      uint64  `json:"liquidity_total_minor"` // the banks' opening balances summed
	LiquidityShareOfUB  float64 `json:"liquidity_share_of_upper"`

	Payments       int            `json:"payments"`
	ValueMinor     uint64         `json:"value_minor"`
	SettledValue   uint64         `json:"settled_value_minor"`
	SettledShare   float64        `json:"settled_value_share"` // of the day's value, by the end of the run
	Unsettled      int            `json:"unsettled"`           // expired in the queue or failed
	UnsettledValue uint64         `json:"unsettled_value_minor"`
	Failed         int            `json:"failed"`             // neither settled nor queued (a correct day has none)
	Rejected       int            `json:"rejected,omitempty"` // immediate mode: refused for want of funds
	FailCodes      map[string]int `json:"fail_codes,omitempty"`
	SettledAll     bool           `json:"settled_all"`

	// Count shares of the day's payments by how they settled.
	ImmediateShare float64 `json:"immediate_share"`
	ReleasedShare  float64 `json:"released_share"` // from the queue when funds arrived
	OffsetShare    float64 `json:"offset_share"`   // by gridlock resolution
	// Value shares, likewise.
	ImmediateValueShare float64 `json:"immediate_value_share"`
	ReleasedValueShare  float64 `json:"released_value_share"`
	OffsetValueShare    float64 `json:"offset_value_share"`

	// Settlement delay in blocks (settle height − submit height) over the
	// settled payments; the value-weighted mean weighs each by its amount.
	DelayMeanBlocks      float64 `json:"delay_mean_blocks"`
	DelayP99Blocks       float64 `json:"delay_p99_blocks"`
	DelayMaxBlocks       float64 `json:"delay_max_blocks"`
	DelayValueMeanBlocks float64 `json:"delay_value_weighted_mean_blocks"`
	// SettledInDayShare is the value share settled by the day's last block,
	// before the end-of-day blocks.
	SettledInDayShare float64 `json:"settled_in_day_value_share"`

	QueuePeak      int    `json:"queue_peak"` // most payments waiting at the end of a block
	QueuePeakValue uint64 `json:"queue_peak_value_minor"`

	// Execute's wall time per block, the LSM's included, the state tree's not
	// (RunOptions.StateRoot).
	Blocks          int     `json:"blocks"`
	ExecuteMedianUs float64 `json:"execute_median_us"`
	ExecuteP99Us    float64 `json:"execute_p99_us"`
	ExecuteMaxUs    float64 `json:"execute_max_us"`
	ExecuteTotalMs  float64 `json:"execute_total_ms"`
}

// summarize turns a replay into its figures.
func (c *chain) summarize(mode Mode, f float64, b Bounds, r *replay) RunSummary {
	s := RunSummary{Mode: mode.Name, GridlockEveryBlocks: mode.GridlockEveryBlocks, Level: f,
		LiquidityMinor: sum(r.openingBalances), Payments: len(c.day.Payments), Blocks: len(r.execute)}
	if ub := b.UpperTotal(); ub > 0 {
		s.LiquidityShareOfUB = float64(s.LiquidityMinor) / float64(ub)
	}
	var counts [mechRejected + 1]int
	var values [mechRejected + 1]uint64
	var delays []float64
	var weighted, inDay float64
	for i, out := range r.outcomes {
		p := c.day.Payments[i]
		counts[out.mech]++
		values[out.mech] += p.Amount
		s.ValueMinor += p.Amount
		if out.settled == 0 {
			continue
		}
		d := float64(out.settled - uint64(p.Block+1))
		delays = append(delays, d)
		weighted += d * float64(p.Amount)
		if out.settled <= uint64(c.day.Blocks()) {
			inDay += float64(p.Amount)
		}
	}
	s.SettledValue = values[mechImmediate] + values[mechReleased] + values[mechOffset]
	s.Failed = counts[mechFailed]
	s.Unsettled = counts[mechExpired] + counts[mechFailed] + counts[mechPending] + counts[mechRejected]
	s.Rejected = counts[mechRejected]
	s.UnsettledValue = s.ValueMinor - s.SettledValue
	s.SettledAll = s.Unsettled == 0
	if len(r.failCodes) > 0 {
		s.FailCodes = map[string]int{}
		for code, n := range r.failCodes {
			s.FailCodes[string(code)] = n
		}
	}
	if n := float64(s.Payments); n > 0 {
		s.ImmediateShare = float64(counts[mechImmediate]) / n
		s.ReleasedShare = float64(counts[mechReleased]) / n
		s.OffsetShare = float64(counts[mechOffset]) / n
	}
	if v := float64(s.ValueMinor); v > 0 {
		s.SettledShare = float64(s.SettledValue) / v
		s.ImmediateValueShare = float64(values[mechImmediate]) / v
		s.ReleasedValueShare = float64(values[mechReleased]) / v
		s.OffsetValueShare = float64(values[mechOffset]) / v
		s.SettledInDayShare = inDay / v
	}
	if len(delays) > 0 {
		sort.Float64s(delays)
		var total float64
		for _, d := range delays {
			total += d
		}
		s.DelayMeanBlocks = total / float64(len(delays))
		s.DelayP99Blocks = daymodel.NearestRank(delays, 0.99)
		s.DelayMaxBlocks = delays[len(delays)-1]
		s.DelayValueMeanBlocks = weighted / float64(s.SettledValue)
	}
	s.QueuePeak, s.QueuePeakValue = r.queuePeak, r.queuePeakValue
	us := make([]float64, len(r.execute))
	var total time.Duration
	for i, d := range r.execute {
		us[i] = float64(d.Nanoseconds()) / 1e3
		total += d
	}
	sort.Float64s(us)
	if len(us) > 0 {
		s.ExecuteMedianUs = daymodel.NearestRank(us, 0.5)
		s.ExecuteP99Us = daymodel.NearestRank(us, 0.99)
		s.ExecuteMaxUs = us[len(us)-1]
	}
	s.ExecuteTotalMs = float64(total.Nanoseconds()) / 1e6
	return s
}
