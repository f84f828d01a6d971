package loadgen

import (
	"fmt"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
	"settle/loadgen/daymodel"
)

// The rtgs-day mix replays a simulated business day of interbank payments
// (loadgen/daymodel, the day bench rtgs-day replays in process: a scale-free
// payment network among 50 banks, lognormal values, 10% urgent; docs/bench.md
// "A simulated business day") on a real cluster, every payment a queued_payment of EUR: what cannot settle at once
// waits in the RTGS queue and settles when funds arrive or by gridlock
// resolution. The genesis gives each bank the opening liquidity of level
// MixDayLiquidity between the day's lower and upper bounds, so that payments
// do queue. One day is the day's payment count (MixDayPayments); the workload
// replays the day again after it, which a run with -count set to one day
// never reaches.
const MixRTGSDay = "rtgs-day"

// The rtgs-day mix's parameters.
const (
	MixDayLiquidity = 0.25 // opening liquidity level f: lower + f × (upper − lower) per bank
	MixDayGridlockK = 1    // gridlock resolution every block on the mix's genesis
	mixDaySeed      = daymodel.DefaultSeed
)

// dayMixParams is the model of the mix: the reported day's parameters.
func dayMixParams() daymodel.Params { return daymodel.DefaultParams() }

// mixDay generates the mix's day (deterministic).
func mixDay() (*daymodel.Day, error) {
	p := dayMixParams()
	p.Seed = mixDaySeed
	return daymodel.Generate(p)
}

// dayGenesis is the rtgs-day genesis: demo account 0 issues EUR, accounts 1..Banks are
// the banks with their opening EUR and native for fees, and the queue runs
// gridlock resolution every MixDayGridlockK blocks.
func dayGenesis(spec MixSpec, chainID string, baseFee uint64) (*ledger.Genesis, error) {
	day, err := mixDay()
	if err != nil {
		return nil, err
	}
	if day.Banks() != spec.Banks {
		return nil, fmt.Errorf("rtgs-day: the day has %d banks, the mix %d", day.Banks(), spec.Banks)
	}
	liq, err := daymodel.ComputeBounds(day).Liquidity(spec.DayLiquidity)
	if err != nil {
		return nil, err
	}
	n := spec.AccountCount()
	g := devnet.Genesis(devnet.Options{ChainID: chainID, Accounts: n, NativeEach: MixNativeEach, BaseFee: baseFee})
	issuer := devnet.DemoKey(chainID, 0).AccountID()
	g.Assets = []ledger.GenesisAsset{{Code: spec.Assets[0], Issuer: issuer.String()}}
	for b := 0; b < spec.Banks; b++ { // a line even at 0: the bank receives before it pays
		g.Accounts[1+b].Issued = []ledger.GenesisBalance{{Asset: spec.Assets[0] + "/" + issuer.String(), Amount: txn.Uint(liq[b])}}
	}
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: MixDayGridlockK}
	return g, g.Validate()
}

// MixDayPayments is the number of payments in the rtgs-day mix's day.
func MixDayPayments() (int, error) {
	day, err := mixDay()
	if err != nil {
		return 0, err
	}
	return len(day.Payments), nil
}

// DayMix is the rtgs-day workload.
type DayMix struct {
	spec  MixSpec
	env   Env
	day   *daymodel.Day
	seqs  []uint64
	asset txn.Asset
	next  int // index of the next payment of the day
}

var _ Workload = (*DayMix)(nil)

func newDayMix(spec MixSpec, env Env) (*DayMix, error) {
	n := spec.AccountCount()
	if len(env.Accounts) != n || len(env.StartSeqs) != n {
		return nil, fmt.Errorf("mix %s needs %d accounts (the issuer, then the banks) with sequences, got %d and %d", MixRTGSDay, n, len(env.Accounts), len(env.StartSeqs))
	}
	day, err := mixDay()
	if err != nil {
		return nil, err
	}
	as, err := txn.ParseAsset(spec.Assets[0] + "/" + env.Accounts[0].String())
	if err != nil {
		return nil, err
	}
	return &DayMix{spec: spec, env: env, day: day, seqs: append([]uint64(nil), env.StartSeqs...), asset: as}, nil
}

// Name implements Workload.
func (m *DayMix) Name() string { return "mix/" + MixRTGSDay }

// Key implements Workload.
func (m *DayMix) Key() string {
	p := m.day.Params
	return fmt.Sprintf("mix/v1 name=%s chain=%s banks=%d blocks=%d payments=%d seed=%d median=%g sigma=%g urgent=%g liquidity=%g fee=%d last_valid=%d",
		MixRTGSDay, m.env.ChainID, p.Banks, p.Blocks, len(m.day.Payments), p.Seed, p.ValueMedianMinor, p.ValueSigma, p.UrgentShare,
		m.spec.DayLiquidity, m.spec.Fee, m.spec.LastValid)
}

// Next implements Workload: the day's next payment as a queued_payment that
// may wait until its last valid height.
func (m *DayMix) Next(tx *txn.Tx) int {
	p := m.day.Payments[m.next]
	m.next = (m.next + 1) % len(m.day.Payments)
	from := 1 + p.From
	*tx = txn.Tx{Type: txn.TypeQueuedPayment, ChainID: m.env.ChainID, Sender: m.env.Accounts[from], Seq: m.seqs[from],
		Fee: m.spec.Fee, LastValid: m.spec.LastValid, Dest: m.env.Accounts[1+p.To], Asset: m.asset, Amount: p.Amount,
		Priority: txn.PriorityNormal, QueueUntil: m.spec.LastValid}
	if p.Urgent {
		tx.Priority = txn.PriorityUrgent
	}
	m.seqs[from]++
	return from
}
