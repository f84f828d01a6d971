package loadgen

import (
	"fmt"
	"math/rand/v2"

	"settle/engine/txn"
)

// Workload generates the unsigned transactions of a run, deterministically from its
// parameters: the same parameters and starting sequences give the same transactions
// byte for byte, which is what lets the signed set be cached.
//
// Payments are the first mix; multi-asset and conditional-transfer mixes implement
// the same interface (a mix that needs several signers per transaction will extend
// Next's result).
type Workload interface {
	// Name is a short label for reports ("payments/zipf").
	Name() string
	// Key describes every parameter that shapes the transactions, canonically: two
	// workloads with the same Key generate the same transactions.
	Key() string
	// Next fills tx with the next unsigned transaction and returns the index of the
	// account that signs it. Sequences are assigned in generation order, so a
	// sender's transactions come out in sequence order.
	Next(tx *txn.Tx) (signer int)
}

// Distributions of senders and receivers.
const (
	DistUniform   = "uniform"
	DistZipf      = "zipf"
	DistInterbank = "interbank"
)

// PaymentSpec parameterises the payments workload.
type PaymentSpec struct {
	Dist           string  // DistUniform, DistZipf or DistInterbank
	ZipfS          float64 // Zipf exponent, ≥ 0 (0 is uniform)
	InterbankLarge int     // number of large participants in the interbank mix
	InterbankShare float64 // share of payments the large participants send and receive
	Seed           uint64
	AmountMin      uint64 // minor units, ≥ 1
	AmountMax      uint64 // minor units, ≥ AmountMin
	Fee            uint64 // native minor units
	LastValid      uint64 // last block height that may include the transactions
}

// Env is what a workload needs from the network: the chain and the accounts with
// their next sequence numbers.
type Env struct {
	ChainID   string
	Accounts  []txn.AccountID
	StartSeqs []uint64 // next sequence per account, parallel to Accounts
}

// Payments is native-asset payments among Env.Accounts.
type Payments struct {
	spec      PaymentSpec
	env       Env
	seqs      []uint64
	rng       *rand.Rand
	senders   Sampler
	receivers Sampler
}

var _ Workload = (*Payments)(nil)

// NewPayments checks spec and builds the workload.
func NewPayments(spec PaymentSpec, env Env) (*Payments, error) {
	n := len(env.Accounts)
	switch {
	case n < 2:
		return nil, fmt.Errorf("payments need at least 2 accounts, got %d", n)
	case len(env.StartSeqs) != n:
		return nil, fmt.Errorf("payments need a starting sequence per account: %d accounts, %d sequences", n, len(env.StartSeqs))
	case spec.AmountMin == 0 || spec.AmountMax < spec.AmountMin || spec.AmountMax > txn.AmountMax:
		return nil, fmt.Errorf("amount range %d..%d must be within 1..%d", spec.AmountMin, spec.AmountMax, uint64(txn.AmountMax))
	}
	var s Sampler
	switch spec.Dist {
	case DistUniform:
		s = uniformSampler{n: n}
	case DistZipf:
		if spec.ZipfS < 0 {
			return nil, fmt.Errorf("zipf exponent %g must not be negative", spec.ZipfS)
		}
		s = newCDFSampler(zipfWeights(n, spec.ZipfS))
	case DistInterbank:
		if spec.InterbankLarge < 1 || spec.InterbankShare <= 0 || spec.InterbankShare >= 1 {
			return nil, fmt.Errorf("interbank mix needs at least 1 large participant and a share in (0, 1), got %d and %g", spec.InterbankLarge, spec.InterbankShare)
		}
		s = newCDFSampler(interbankWeights(n, spec.InterbankLarge, spec.InterbankShare))
	default:
		return nil, fmt.Errorf("distribution %q is not one of uniform, zipf, interbank", spec.Dist)
	}
	return &Payments{
		spec:      spec,
		env:       env,
		seqs:      append([]uint64(nil), env.StartSeqs...),
		rng:       rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)),
		senders:   s,
		receivers: s,
	}, nil
}

// Name implements Workload.
func (p *Payments) Name() string { return "payments/" + p.spec.Dist }

// Key implements Workload. Starting sequences are keyed by the caller (Run hashes
// them into the cache key), because they come from the network, not the spec.
func (p *Payments) Key() string {
	s := p.spec
	return fmt.Sprintf("payments/v1 chain=%s accounts=%d dist=%s zipf_s=%g large=%d share=%g seed=%d amount=%d..%d fee=%d last_valid=%d",
		p.env.ChainID, len(p.env.Accounts), s.Dist, s.ZipfS, s.InterbankLarge, s.InterbankShare, s.Seed, s.AmountMin, s.AmountMax, s.Fee, s.LastValid)
}

// receiverTriesMax bounds redraws of a receiver equal to the sender; under heavy
// skew the hottest account would otherwise often pay itself.
const receiverTriesMax = 8

// Next implements Workload.
func (p *Payments) Next(tx *txn.Tx) int {
	n := len(p.env.Accounts)
	from := p.senders.Sample(p.rng)
	to := p.receivers.Sample(p.rng)
	for try := 0; to == from && try < receiverTriesMax; try++ {
		to = p.receivers.Sample(p.rng)
	}
	if to == from {
		to = (from + 1) % n
	}
	amount := p.spec.AmountMin
	if span := p.spec.AmountMax - p.spec.AmountMin; span > 0 {
		amount += p.rng.Uint64N(span + 1)
	}
	*tx = txn.Tx{
		Type:      txn.TypePayment,
		ChainID:   p.env.ChainID,
		Sender:    p.env.Accounts[from],
		Seq:       p.seqs[from],
		Fee:       p.spec.Fee,
		LastValid: p.spec.LastValid,
		Dest:      p.env.Accounts[to],
		Asset:     txn.Native,
		Amount:    amount,
	}
	p.seqs[from]++
	return from
}
