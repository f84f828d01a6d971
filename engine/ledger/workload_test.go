package ledger_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

var (
	seedFlag  = flag.Uint64("ledger.seed", 0, "run the random workload with this seed only")
	seedsFlag = flag.Int("ledger.seeds", 5, "number of seeds for the random workload")
)

// Account indices of the random workload: genesis accounts 0..wlGenesis-1 (0 issues
// USD), accounts wlNewBase.. that native payments may create, and wlGhostBase.. that
// never exist.
const (
	wlGenesis   = 40
	wlNative    = 1_000_000_000
	wlNewBase   = 1000
	wlNewCount  = 20
	wlGhostBase = 5000
)

type kind int

const (
	kPay kind = iota
	kPayNew
	kPayTooMuch
	kIssue
	kTransferUSD
	kRedeem
	kUnknownAsset
	kReplay
	kSeqFar
	kExpired
	kWrongChain
	kLowFee
	kGhostSender
	kWrongSigner
	kTrustSet // a trust line to USD at the maximum limit (new accounts need one to hold USD)
	kindCount
)

// precheckCode is the result of the kinds that break exactly one precondition.
var precheckCode = map[kind]codes.Code{
	kReplay: codes.SeqPast, kSeqFar: codes.SeqTooFar, kExpired: codes.Expired, kWrongChain: codes.WrongChain,
	kLowFee: codes.FeeTooLow, kGhostSender: codes.NoAccount, kWrongSigner: codes.NotAuthorized,
}

// workload generates random transactions against a model of the ledger: the
// sequence numbers, balances and accounts seen at the last sync, plus the
// sequences this block's earlier transactions consume.
type workload struct {
	rng       *rand.Rand
	height    uint64 // height of the block being generated
	neverExp  bool   // for equivalence runs: last valid is 0 or "never", so heights do not matter
	live      []int  // existing accounts that can sign
	seq       map[int]uint64
	native    map[int]uint64
	usd       map[int]uint64
	committed []*txn.Tx // applied transactions of earlier blocks, for replays
}

func newWorkload(seed uint64) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, seed^0x5e771e)), seq: map[int]uint64{},
		native: map[int]uint64{}, usd: map[int]uint64{}}
}

// sync refreshes the model from the committed ledger before a block.
func (w *workload) sync(l *ledger.Ledger) {
	w.height = l.Meta().Height + 1
	w.live = w.live[:0]
	add := func(i int) {
		if a, ok := l.Account(id(i)); ok {
			w.live = append(w.live, i)
			w.seq[i], w.native[i], w.usd[i] = a.Seq, a.Native, a.Balance(usd())
		}
	}
	for i := 0; i < wlGenesis; i++ {
		add(i)
	}
	for i := wlNewBase; i < wlNewBase+wlNewCount; i++ {
		add(i)
	}
}

func (w *workload) pick() int { return w.live[w.rng.IntN(len(w.live))] }

func (w *workload) other(from int) int {
	for {
		if to := w.pick(); to != from {
			return to
		}
	}
}

// next returns a transaction and its kind.
func (w *workload) next(t testing.TB) (*txn.Tx, kind) {
	k := kind(w.rng.IntN(int(kindCount)))
	if k == kReplay && len(w.committed) == 0 {
		k = kPay
	}
	from := w.pick()
	p := payment{from: from, to: w.other(from), seq: w.seq[from], amount: 1 + w.rng.Uint64N(10_000)}
	if w.rng.IntN(4) == 0 {
		p.fee = testBaseFee + w.rng.Uint64N(50)
	}
	if !w.neverExp && w.rng.IntN(2) == 0 {
		p.lastValid = w.height + w.rng.Uint64N(3) // still valid in this block
	}
	consumes := true // the transaction passes its precheck and takes the sequence
	switch k {
	case kPayNew:
		if to := wlNewBase + w.rng.IntN(wlNewCount); to != from {
			p.to = to
		}
	case kPayTooMuch:
		p.amount = w.native[from] + 1
	case kIssue:
		p.from, p.seq, p.asset = 0, w.seq[0], usd()
		p.to = w.other(0)
		if w.rng.IntN(3) == 0 {
			p.to = wlNewBase + w.rng.IntN(wlNewCount) // perhaps not created yet: no_destination
		}
	case kTransferUSD, kRedeem:
		p.asset = usd()
		p.amount = 1 + w.usd[from]/2 // sometimes more than the balance, once earlier txs spent it
		if k == kRedeem && from != 0 {
			p.to = 0
		}
	case kUnknownAsset:
		p.asset = txn.Asset{Code: [3]byte{'E', 'U', 'R'}, Issuer: id(from)}
	case kReplay:
		return w.committed[w.rng.IntN(len(w.committed))], k
	case kSeqFar:
		p.seq += 1 + w.rng.Uint64N(1000)
		consumes = false
	case kExpired:
		p.lastValid = w.height - 1 - w.rng.Uint64N(w.height)
		if w.neverExp || p.lastValid == 0 {
			p.lastValid, p.zeroValid = 0, true
		}
		consumes = false
	case kWrongChain:
		p.chain, consumes = "settle-other", false
	case kLowFee:
		p.fee, consumes = 1+w.rng.Uint64N(testBaseFee-1), false
	case kGhostSender:
		p.from, consumes = wlGhostBase+w.rng.IntN(10), false
		p.seq = 1
	case kWrongSigner:
		s := key(w.other(from))
		p.signer, consumes = &s, false
	case kTrustSet:
		if from != 0 {
			tx := &txn.Tx{Type: txn.TypeTrustSet, ChainID: testChain, Sender: id(from), Seq: w.seq[from], Fee: testBaseFee,
				LastValid: noExpiry, Asset: usd(), Limit: txn.AmountMax}
			if err := txn.Sign(tx, key(from)); err != nil {
				t.Fatal(err)
			}
			w.seq[from]++
			if w.native[from] >= testBaseFee {
				w.native[from] -= testBaseFee
			}
			return tx, k
		}
	}
	if consumes {
		w.seq[p.from]++
		if fee := max(p.fee, testBaseFee); w.native[p.from] >= fee {
			w.native[p.from] -= fee
		}
	}
	return p.sign(t), k
}

// TestRandomWorkloadInvariants runs seeded random blocks of valid and invalid
// transactions and checks after every block: the supply invariants, that each
// account's sequence grew by exactly the number of its applied transactions, that
// no transaction applied twice, that replays fail with seq_past and no fee, and the
// codes of transactions that break one precondition.
func TestRandomWorkloadInvariants(t *testing.T) {
	seeds := []uint64{}
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for i := 1; i <= *seedsFlag; i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	blocks := 60
	if testing.Short() {
		blocks = 15
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			if err := runWorkload(t, seed, blocks); err != nil {
				t.Fatalf("%v\nreproduce: go test ./engine/ledger -run 'TestRandomWorkloadInvariants' -ledger.seed=%d", err, seed)
			}
		})
	}
}

func runWorkload(t *testing.T, seed uint64, blocks int) error {
	l := newLedger(t, genesis(wlGenesis, wlNative))
	w := newWorkload(seed)
	applied := map[txn.Hash]uint64{} // hash -> height where it applied
	results := map[codes.Code]int{}
	for b := 0; b < blocks; b++ {
		w.sync(l)
		seqBefore := map[txn.AccountID]uint64{}
		l.Accounts(func(a *ledger.Account) { seqBefore[a.ID] = a.Seq })
		n := 1 + w.rng.IntN(60)
		txs, kinds := make([]*txn.Tx, n), make([]kind, n)
		for i := range txs {
			txs[i], kinds[i] = w.next(t)
		}
		res := l.Execute(w.height, txs)
		l.Apply(res)
		if err := l.CheckInvariants(); err != nil {
			return fmt.Errorf("block %d: %w", res.Height, err)
		}
		appliedBy := map[txn.AccountID]uint64{}
		for i, r := range res.Receipts {
			results[r.Result]++
			want, ok := precheckCode[kinds[i]]
			if kinds[i] == kReplay && r.Result == codes.Expired {
				want = codes.Expired // a replay whose last valid height has passed since
			}
			if ok && (r.Result != want || r.Fee != 0) {
				return fmt.Errorf("block %d tx %d kind %d: %s fee %d, want %s fee 0", res.Height, i, kinds[i], r.Result, r.Fee, want)
			}
			if !r.Applied() {
				continue
			}
			if r.Fee != txs[i].Fee {
				return fmt.Errorf("block %d tx %d charged %d, its fee is %d", res.Height, i, r.Fee, txs[i].Fee)
			}
			if h, dup := applied[r.Hash]; dup {
				return fmt.Errorf("tx %s applied at %d and again at %d", r.Hash, h, res.Height)
			}
			applied[r.Hash] = res.Height
			appliedBy[txs[i].Sender]++
			w.committed = append(w.committed, txs[i])
		}
		var err error
		l.Accounts(func(a *ledger.Account) {
			if want := seqBefore[a.ID] + appliedBy[a.ID]; err == nil && a.Seq != want && !(seqBefore[a.ID] == 0 && a.Seq == 1+appliedBy[a.ID]) {
				err = fmt.Errorf("block %d: account %s seq %d, want %d", res.Height, a.ID, a.Seq, want)
			}
		})
		if err != nil {
			return err
		}
	}
	t.Logf("results: %v", results)
	total := 0
	for _, n := range results {
		total += n
	}
	if results[codes.Success] < total/5 || results[codes.InsufficientFunds] == 0 {
		return fmt.Errorf("the workload is too weak: %v", results)
	}
	if len(applied) < blocks {
		return fmt.Errorf("only %d transactions applied in %d blocks: the workload is too weak", len(applied), blocks)
	}
	return nil
}

// TestReplayEveryCommittedTx re-submits every applied transaction of a workload in
// one last block: each fails with seq_past (or expired, when its last valid height
// has passed since), charges nothing and changes no balance.
func TestReplayEveryCommittedTx(t *testing.T) {
	l := newLedger(t, genesis(wlGenesis, wlNative))
	w := newWorkload(7)
	for b := 0; b < 10; b++ {
		w.sync(l)
		txs := make([]*txn.Tx, 30)
		for i := range txs {
			txs[i], _ = w.next(t)
		}
		for i, r := range execApply(t, l, txs).Receipts {
			if r.Applied() {
				w.committed = append(w.committed, txs[i])
			}
		}
	}
	before := l.Meta()
	res := execApply(t, l, w.committed)
	for i, r := range res.Receipts {
		if r.Result != codes.SeqPast && r.Result != codes.Expired || r.Fee != 0 {
			t.Errorf("replay %d: %s fee %d, want seq_past or expired, fee 0", i, r.Result, r.Fee)
		}
	}
	if after := l.Meta(); after.FeesBurned != before.FeesBurned {
		t.Errorf("replays burned %d", after.FeesBurned-before.FeesBurned)
	}
}
