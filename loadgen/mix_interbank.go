package loadgen

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// CoSigner is implemented by workloads whose transactions may need more than one
// signature (multi-leg transfers co-signed by the counterparty). Right after Next,
// CoSigners returns the account indexes whose keys must sign besides Next's
// signer (nil for most transactions). The pre-signing step (txset.go) must call
// it and sign with every key; until it does, such transactions fail with
// not_authorized at execution (they still pay the fee).
type CoSigner interface {
	CoSigners() []int
}

// MixSpec parameterises the interbank mixes: Issuers settlement agents, each
// issuing one asset, and Banks participants holding trust lines to every asset
// (funded at genesis, see MixGenesis). Accounts are, in order, the issuers and
// then the banks: Env.Accounts must list them so.
type MixSpec struct {
	Banks         int      // participants, ≥ 2
	Assets        []string // currency codes, one issuer each (e.g. USD, EUR)
	NativeShare   float64  // share of plain native payments
	EscrowShare   float64  // share of conditional transfers (each an escrow_create, later finished or rejected)
	MultiSigShare float64  // share of co-signed two-bank exchanges (multi_leg, two signatures)
	RejectShare   float64  // share of escrows the destination rejects instead of finishing
	FinishLag     int      // transactions between an escrow's create and its finish (≥ 1)
	Seed          uint64
	AmountMin     uint64
	AmountMax     uint64
	Fee           uint64
	LastValid     uint64 // also the escrows' expiry height
	// DayLiquidity, set only for the rtgs-day mix, is its opening liquidity
	// level (mix_rtgs.go); the mix then replays a business day of queued payments.
	DayLiquidity float64
}

// Mix names.
const (
	MixPayments    = "payments"
	MixMultiAsset  = "multi-asset"
	MixConditional = "conditional"
	MixInterbank   = "interbank"
)

// MixNames lists the named mixes, in the order of the documentation.
func MixNames() []string {
	return []string{MixPayments, MixMultiAsset, MixConditional, MixInterbank, MixRTGSDay}
}

// MixSpecFor returns the documented parameters of a named mix (docs/loadgen.md):
// payments (plain native payments among the interbank mix's 20 banks, on the same
// genesis: the interbank mix's baseline), multi-asset (USD and EUR among 50 banks,
// 20% native), conditional (every transfer an escrow, 10% rejected) and interbank
// (20 banks, USD and EUR, 10% conditional transfers, 1% co-signed exchanges).
func MixSpecFor(name string, seed, fee, lastValid uint64) (MixSpec, error) {
	s := MixSpec{Assets: []string{"USD", "EUR"}, Seed: seed, AmountMin: 1, AmountMax: 10_000, Fee: fee, LastValid: lastValid,
		FinishLag: 256, RejectShare: 0.1}
	switch name {
	case MixPayments:
		s.Banks, s.NativeShare = 20, 1
	case MixMultiAsset:
		s.Banks, s.NativeShare = 50, 0.2
	case MixConditional:
		s.Banks, s.EscrowShare = 20, 1
	case MixInterbank:
		s.Banks, s.EscrowShare, s.MultiSigShare = 20, 0.10, 0.01
	case MixRTGSDay:
		s.Banks, s.Assets, s.DayLiquidity = dayMixParams().Banks, []string{"EUR"}, MixDayLiquidity
	default:
		return s, fmt.Errorf("mix %q is not one of %s", name, strings.Join(MixNames(), ", "))
	}
	return s, nil
}

// AccountCount is the number of accounts the mix uses: the issuers, then the banks
// (demo accounts 0..AccountCount()-1 of MixGenesis).
func (s MixSpec) AccountCount() int { return len(s.Assets) + s.Banks }

// Genesis funding of MixGenesisDefault: native units per account and units of every
// issued asset per bank, enough for hours of load at any rate a node sustains.
const (
	MixNativeEach = 1_000_000_000_000
	MixIssuedEach = 1_000_000_000_000
)

// MixGenesisFor builds the genesis of a named mix with the default funding and
// base fee (what `loadgen genesis -mix NAME` writes); its demo keys are
// DemoKeys(chainID, spec.AccountCount()). Its single validator is the dev one:
// `settled testnet -genesis` replaces it.
func MixGenesisFor(name, chainID string, baseFee uint64) (*ledger.Genesis, error) {
	spec, err := MixSpecFor(name, 1, baseFee, 1)
	if err != nil {
		return nil, err
	}
	if spec.DayLiquidity > 0 {
		return dayGenesis(spec, chainID, baseFee)
	}
	g, _, err := MixGenesis(spec, chainID, baseFee, MixNativeEach, MixIssuedEach)
	return g, err
}

// NewMixWorkload builds the named mix's workload: a Mix, or the rtgs-day replay.
func NewMixWorkload(name string, spec MixSpec, env Env) (Workload, error) {
	if spec.DayLiquidity > 0 {
		if err := spec.validate(); err != nil {
			return nil, err
		}
		return newDayMix(spec, env)
	}
	return NewMix(name, spec, env)
}

func (s *MixSpec) validate() error {
	switch {
	case s.Banks < 2 || len(s.Assets) == 0:
		return fmt.Errorf("a mix needs at least 2 banks and 1 asset, got %d and %d", s.Banks, len(s.Assets))
	case s.NativeShare < 0 || s.EscrowShare < 0 || s.MultiSigShare < 0 || s.NativeShare+s.EscrowShare+s.MultiSigShare > 1:
		return fmt.Errorf("shares %g + %g + %g must be non-negative and sum to at most 1", s.NativeShare, s.EscrowShare, s.MultiSigShare)
	case s.MultiSigShare > 0 && len(s.Assets) < 2:
		return fmt.Errorf("co-signed exchanges need two assets")
	case s.FinishLag < 1:
		return fmt.Errorf("finish lag %d must be at least 1", s.FinishLag)
	case s.AmountMin == 0 || s.AmountMax < s.AmountMin || s.AmountMax > txn.AmountMax:
		return fmt.Errorf("amount range %d..%d must be within 1..%d", s.AmountMin, s.AmountMax, uint64(txn.AmountMax))
	}
	return nil
}

// MixGenesis builds a genesis for spec: issuers and banks are devnet demo
// accounts 0..len(Assets)+Banks-1 with nativeEach native units; every bank
// holds issuedEach of every asset on a trust line at the maximum limit.
func MixGenesis(spec MixSpec, chainID string, baseFee, nativeEach, issuedEach uint64) (*ledger.Genesis, []txn.Key, error) {
	if err := spec.validate(); err != nil {
		return nil, nil, err
	}
	n := len(spec.Assets) + spec.Banks
	g := devnet.Genesis(devnet.Options{ChainID: chainID, Accounts: n, NativeEach: nativeEach, BaseFee: baseFee})
	keys := make([]txn.Key, n)
	for i := range keys {
		keys[i] = devnet.DemoKey(chainID, i)
	}
	g.Assets = nil
	var balances []ledger.GenesisBalance
	for i, code := range spec.Assets {
		g.Assets = append(g.Assets, ledger.GenesisAsset{Code: code, Issuer: keys[i].AccountID().String()})
		balances = append(balances, ledger.GenesisBalance{Asset: code + "/" + keys[i].AccountID().String(), Amount: txn.Uint(issuedEach)})
	}
	for b := len(spec.Assets); b < n; b++ {
		g.Accounts[b].Issued = balances
	}
	return g, keys, g.Validate()
}

// Mix generates an interbank mix: issued-asset payments among banks, plus
// native payments, conditional transfers and co-signed exchanges in the
// proportions of its spec.
type Mix struct {
	name    string
	spec    MixSpec
	env     Env
	seqs    []uint64
	rng     *rand.Rand
	assets  []txn.Asset
	pending []pendingFinish // escrows waiting for their finish, oldest first; at most pendingMax
	count   uint64          // transactions generated
	co      []int
	coBuf   [1]int
}

type pendingFinish struct {
	due          uint64 // generate the finish at or after this count
	owner, dest  int
	seq          uint64
	preimage     [32]byte
	reject       bool
	ownerAccount txn.AccountID
}

// pendingMax bounds the escrows waiting for their finish.
const pendingMax = 4096

var _ Workload = (*Mix)(nil)
var _ CoSigner = (*Mix)(nil)

// NewMix checks spec against env (issuers then banks) and builds the workload.
func NewMix(name string, spec MixSpec, env Env) (*Mix, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	n := len(spec.Assets) + spec.Banks
	if len(env.Accounts) != n || len(env.StartSeqs) != n {
		return nil, fmt.Errorf("mix %s needs %d accounts (issuers, then banks) with sequences, got %d and %d", name, n, len(env.Accounts), len(env.StartSeqs))
	}
	m := &Mix{name: name, spec: spec, env: env, seqs: append([]uint64(nil), env.StartSeqs...),
		rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x5851f42d4c957f2d))}
	for i, code := range spec.Assets {
		as, err := txn.ParseAsset(code + "/" + env.Accounts[i].String())
		if err != nil {
			return nil, fmt.Errorf("mix asset %q: %w", code, err)
		}
		m.assets = append(m.assets, as)
	}
	return m, nil
}

// Name implements Workload.
func (m *Mix) Name() string { return "mix/" + m.name }

// Key implements Workload.
func (m *Mix) Key() string {
	s := m.spec
	return fmt.Sprintf("mix/v1 name=%s chain=%s banks=%d assets=%v native=%g escrow=%g multisig=%g reject=%g lag=%d seed=%d amount=%d..%d fee=%d last_valid=%d",
		m.name, m.env.ChainID, s.Banks, s.Assets, s.NativeShare, s.EscrowShare, s.MultiSigShare, s.RejectShare, s.FinishLag, s.Seed, s.AmountMin, s.AmountMax, s.Fee, s.LastValid)
}

// CoSigners implements CoSigner.
func (m *Mix) CoSigners() []int { return m.co }

func (m *Mix) bankPair() (int, int) {
	first := len(m.spec.Assets)
	a := first + m.rng.IntN(m.spec.Banks)
	b := first + m.rng.IntN(m.spec.Banks-1)
	if b >= a {
		b++
	}
	return a, b
}

func (m *Mix) amount() uint64 {
	return m.spec.AmountMin + m.rng.Uint64N(m.spec.AmountMax-m.spec.AmountMin+1)
}

// base fills the common fields for sender i and consumes its sequence.
func (m *Mix) base(tx *txn.Tx, t txn.Type, i int) {
	*tx = txn.Tx{Type: t, ChainID: m.env.ChainID, Sender: m.env.Accounts[i], Seq: m.seqs[i], Fee: m.spec.Fee, LastValid: m.spec.LastValid}
	m.seqs[i]++
}

// Next implements Workload.
func (m *Mix) Next(tx *txn.Tx) int {
	m.count++
	m.co = nil
	if len(m.pending) > 0 && (m.pending[0].due <= m.count || len(m.pending) >= pendingMax) {
		return m.finish(tx)
	}
	r := m.rng.Float64()
	a, b := m.bankPair()
	switch {
	case r < m.spec.MultiSigShare:
		m.base(tx, txn.TypeMultiLeg, a)
		x, y := m.rng.IntN(len(m.assets)), m.rng.IntN(len(m.assets)-1)
		if y >= x {
			y++
		}
		tx.Legs = []txn.Leg{{From: m.env.Accounts[a], To: m.env.Accounts[b], Asset: m.assets[x], Amount: m.amount()},
			{From: m.env.Accounts[b], To: m.env.Accounts[a], Asset: m.assets[y], Amount: m.amount()}}
		m.coBuf[0] = b
		m.co = m.coBuf[:]
	case r < m.spec.MultiSigShare+m.spec.EscrowShare:
		m.base(tx, txn.TypeEscrowCreate, a)
		tx.Dest, tx.Asset, tx.Amount, tx.ExpiryHeight = m.env.Accounts[b], m.assets[m.rng.IntN(len(m.assets))], m.amount(), m.spec.LastValid
		p := pendingFinish{due: m.count + uint64(m.spec.FinishLag), owner: a, dest: b, seq: tx.Seq,
			reject: m.rng.Float64() < m.spec.RejectShare, ownerAccount: tx.Sender}
		p.preimage = mixPreimage(m.spec.Seed, tx.Sender, tx.Seq)
		tx.Condition = sha256.Sum256(p.preimage[:])
		m.pending = append(m.pending, p)
	case r < m.spec.MultiSigShare+m.spec.EscrowShare+m.spec.NativeShare:
		m.base(tx, txn.TypePayment, a)
		tx.Dest, tx.Asset, tx.Amount = m.env.Accounts[b], txn.Native, m.amount()
	default:
		m.base(tx, txn.TypePayment, a)
		tx.Dest, tx.Asset, tx.Amount = m.env.Accounts[b], m.assets[m.rng.IntN(len(m.assets))], m.amount()
	}
	return a
}

// finish generates the oldest pending escrow's finish (or rejection), sent by its destination.
func (m *Mix) finish(tx *txn.Tx) int {
	p := m.pending[0]
	m.pending = m.pending[1:]
	if p.reject {
		m.base(tx, txn.TypeEscrowCancel, p.dest)
	} else {
		m.base(tx, txn.TypeEscrowFinish, p.dest)
		tx.Fulfillment = append([]byte(nil), p.preimage[:]...)
	}
	tx.Owner, tx.EscrowSeq = p.ownerAccount, p.seq
	return p.dest
}

// mixPreimage derives an escrow's fulfillment from the seed, owner and sequence.
func mixPreimage(seed uint64, owner txn.AccountID, seq uint64) [32]byte {
	b := binary.BigEndian.AppendUint64([]byte("settle/loadgen/preimage/v1"), seed)
	b = append(b, owner[:]...)
	return sha256.Sum256(binary.BigEndian.AppendUint64(b, seq))
}
