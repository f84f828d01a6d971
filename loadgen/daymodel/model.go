package daymodel

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Payment is one interbank payment of the day.
type Payment struct {
	Block  int    `json:"block"` // arrival block, 0 to Blocks-1
	From   int    `json:"from"`  // paying bank
	To     int    `json:"to"`    // receiving bank
	Amount uint64 `json:"amount_minor"`
	Urgent bool   `json:"urgent,omitempty"`
}

// Day is a business day's payments in arrival order (by block; within a
// block, the order they are submitted in).
type Day struct {
	Params   Params    `json:"params"`
	Network  *Network  `json:"network,omitempty"` // nil for a hand-made day
	Payments []Payment `json:"payments"`
}

// Banks returns the number of participants.
func (d *Day) Banks() int { return d.Params.Banks }

// Blocks returns the number of blocks in the business day.
func (d *Day) Blocks() int { return d.Params.Blocks }

// Validate checks that every payment is inside the day and between two
// distinct banks, in block order, with a positive amount.
func (d *Day) Validate() error {
	last := 0
	for i, p := range d.Payments {
		switch {
		case p.Block < last || p.Block >= d.Blocks():
			return fmt.Errorf("payment %d: block %d out of order or outside the day of %d blocks", i, p.Block, d.Blocks())
		case p.From < 0 || p.From >= d.Banks() || p.To < 0 || p.To >= d.Banks():
			return fmt.Errorf("payment %d: banks %d → %d outside 0..%d", i, p.From, p.To, d.Banks()-1)
		case p.From == p.To:
			return fmt.Errorf("payment %d: bank %d pays itself", i, p.From)
		case p.Amount == 0 || p.Amount > valueMaxMinor:
			return fmt.Errorf("payment %d: amount %d outside 1..%d", i, p.Amount, uint64(valueMaxMinor))
		}
		last = p.Block
	}
	return nil
}

// Generate draws a day from p (defaults filled in): the network, then for
// each block a Poisson number of payments (profile.go), each on a link drawn
// by weight, with a lognormal value and urgent with probability UrgentShare.
// The same Params give the same day on every machine: the generator is PCG
// seeded from p.Seed, and every draw happens in a fixed order.
func Generate(p Params) (*Day, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("rtgs day parameters: %w", err)
	}
	// Two streams, so that changing the arrivals (PaymentsPerDay, Profile)
	// keeps the network of a seed.
	netRNG := rand.New(rand.NewPCG(p.Seed, 0x6e6574776f726b)) // "network"
	payRNG := rand.New(rand.NewPCG(p.Seed, 0x7061796d656e74)) // "payment"
	net := newNetwork(netRNG, p)
	links := newLinkSampler(net.Links)
	mu := math.Log(p.ValueMedianMinor)
	d := &Day{Params: p, Network: &net, Payments: make([]Payment, 0, p.PaymentsPerDay+p.PaymentsPerDay/8)}
	for b, lam := range intensity(p) {
		for range poisson(payRNG, lam) {
			l := net.Links[links.draw(payRNG)]
			v := math.Round(math.Exp(mu + p.ValueSigma*payRNG.NormFloat64()))
			v = math.Min(math.Max(v, 1), valueMaxMinor)
			urgent := payRNG.Float64() < p.UrgentShare
			d.Payments = append(d.Payments, Payment{Block: b, From: l.From, To: l.To, Amount: uint64(v), Urgent: urgent})
		}
	}
	return d, nil
}

// HandMade returns a day of the given payments among banks, over blocks
// (tests and examples); it checks them.
func HandMade(banks, blocks int, payments []Payment) (*Day, error) {
	d := &Day{Params: Params{Banks: banks, Blocks: blocks}, Payments: payments}
	if banks < 2 || blocks < 1 {
		return nil, fmt.Errorf("a hand-made day needs at least 2 banks and 1 block, got %d and %d", banks, blocks)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("hand-made day: %w", err)
	}
	return d, nil
}
