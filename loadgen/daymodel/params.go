package daymodel

import (
	"errors"
	"fmt"
	"math"
)

// Intraday arrival profiles (Params.Profile).
const (
	// ProfileTwoPeak: a morning and a larger afternoon peak over a flat base,
	// the shape CHAPS and TARGET2 volumes show (profile.go).
	ProfileTwoPeak = "two-peak"
	// ProfileUniform: the same expected arrivals in every block.
	ProfileUniform = "uniform"
)

// Params shape a generated day. The zero value of a field means its default
// (WithDefaults); every default is named below.
type Params struct {
	Banks  int    `json:"banks"`  // participants; DefaultBanks
	Blocks int    `json:"blocks"` // blocks in the business day; DefaultBlocks
	Seed   uint64 `json:"seed"`   // seed of every random choice (PCG)

	// LinksPerBank is the Barabási–Albert m: each bank joining the network
	// links to this many existing banks, chosen in proportion to their degree.
	LinksPerBank int `json:"links_per_bank"`
	// LinkWeightSigma is σ of the lognormal noise on each directed link's
	// weight (degree_from × degree_to × noise). 0 (the default) makes every
	// pair's flows balanced in expectation, the usual assumption of
	// synthetic days: a bank's end-of-day position is then the random walk
	// of the draws, and the lower bound about half to two thirds of the
	// upper. Above 0 some banks are structural net payers whose position
	// drifts all day; at 0.5 the lower bound is over 80% of the upper and
	// little is left for any mechanism to save.
	LinkWeightSigma float64 `json:"link_weight_sigma"`

	// PaymentsPerDay is the expected number of payments in the day.
	PaymentsPerDay int `json:"payments_per_day"`
	// Profile is the intraday arrival profile: ProfileTwoPeak or ProfileUniform.
	Profile string `json:"profile"`

	// ValueMedianMinor is the median payment value in minor units: the
	// lognormal's μ is its natural log.
	ValueMedianMinor float64 `json:"value_median_minor"`
	// ValueSigma is the lognormal's σ (of the natural log of the value).
	ValueSigma float64 `json:"value_sigma"`

	// UrgentShare is the probability that a payment is urgent.
	UrgentShare float64 `json:"urgent_share"`
}

// Defaults (docs in Params).
const (
	DefaultBanks            = 50
	DefaultBlocks           = 2_000
	DefaultLinksPerBank     = 2
	DefaultLinkWeightSigma  = 0
	DefaultPaymentsPerDay   = 30_000
	DefaultValueMedianMinor = 1e6
	DefaultValueSigma       = 1.8
	DefaultUrgentShare      = 0.10
	DefaultSeed             = 1
)

// valueMaxMinor caps a drawn value far beyond any realistic draw (e^(μ+10σ)
// with the defaults is 6e13) so that a sum of a day's values cannot come near
// txn.AmountMax (2^62 ≈ 4.6e18).
const valueMaxMinor = 1e13

// WithDefaults returns p with every zero field at its default. UrgentShare
// and LinkWeightSigma take theirs only when negative, so that 0 stays
// expressible: pass -1 for the default.
func (p Params) WithDefaults() Params {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.Banks, DefaultBanks)
	def(&p.Blocks, DefaultBlocks)
	def(&p.LinksPerBank, DefaultLinksPerBank)
	def(&p.PaymentsPerDay, DefaultPaymentsPerDay)
	if p.Profile == "" {
		p.Profile = ProfileTwoPeak
	}
	if p.ValueMedianMinor == 0 {
		p.ValueMedianMinor = DefaultValueMedianMinor
	}
	if p.ValueSigma == 0 {
		p.ValueSigma = DefaultValueSigma
	}
	if p.UrgentShare < 0 {
		p.UrgentShare = DefaultUrgentShare
	}
	if p.LinkWeightSigma < 0 {
		p.LinkWeightSigma = DefaultLinkWeightSigma
	}
	return p
}

// SmallParams is a small day for tests: 10 banks over 200 blocks, about
// 1,000 payments, fast to replay.
func SmallParams(seed uint64) Params {
	return Params{Banks: 10, Blocks: 200, PaymentsPerDay: 1_000, Seed: seed, UrgentShare: -1, LinkWeightSigma: -1}
}

// DefaultParams are the parameters of the reported day.
func DefaultParams() Params {
	return Params{Seed: DefaultSeed, UrgentShare: -1, LinkWeightSigma: -1}.WithDefaults()
}

// Validate checks p (after WithDefaults) in plain sentences.
func (p Params) Validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(p.LinksPerBank >= 1, "links per bank must be at least 1, got %d", p.LinksPerBank)
	check(p.Banks > p.LinksPerBank, "banks (%d) must exceed links per bank (%d): the network starts as a clique of m+1", p.Banks, p.LinksPerBank)
	check(p.Blocks >= 1, "blocks must be at least 1, got %d", p.Blocks)
	check(p.PaymentsPerDay >= 1, "payments per day must be at least 1, got %d", p.PaymentsPerDay)
	check(p.Profile == ProfileTwoPeak || p.Profile == ProfileUniform, "profile %q is neither %q nor %q", p.Profile, ProfileTwoPeak, ProfileUniform)
	check(p.ValueMedianMinor >= 1 && p.ValueMedianMinor < valueMaxMinor, "median value %g must be in [1, %g)", p.ValueMedianMinor, float64(valueMaxMinor))
	check(p.ValueSigma > 0 && p.ValueSigma <= 4, "value sigma %g must be in (0, 4]", p.ValueSigma)
	check(p.UrgentShare >= 0 && p.UrgentShare <= 1, "urgent share %g must be in [0, 1]", p.UrgentShare)
	check(p.LinkWeightSigma >= 0 && p.LinkWeightSigma <= 3, "link weight sigma %g must be in [0, 3]", p.LinkWeightSigma)
	check(!math.IsNaN(p.ValueMedianMinor+p.ValueSigma+p.UrgentShare+p.LinkWeightSigma), "parameters must be numbers")
	return errors.Join(errs...)
}
