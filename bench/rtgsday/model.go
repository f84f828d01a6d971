package rtgsday

import "settle/loadgen/daymodel"

// The day model (the network, arrivals, values, the liquidity bounds) lives
// in loadgen/daymodel, which the rtgs-day loadgen mix shares; these names
// keep it at hand here.
type (
	Day         = daymodel.Day
	Payment     = daymodel.Payment
	Params      = daymodel.Params
	Bounds      = daymodel.Bounds
	DaySummary  = daymodel.DaySummary
	BankFigures = daymodel.BankFigures
)

var (
	Generate      = daymodel.Generate
	HandMade      = daymodel.HandMade
	ComputeBounds = daymodel.ComputeBounds
	DefaultParams = daymodel.DefaultParams
	Summarize     = daymodel.Summarize
	BankFiguresOf = daymodel.BankFiguresOf
)

// Model defaults and names used by the command line.
const (
	DefaultSeed    = daymodel.DefaultSeed
	ProfileTwoPeak = daymodel.ProfileTwoPeak
	ProfileUniform = daymodel.ProfileUniform
)

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s
}
