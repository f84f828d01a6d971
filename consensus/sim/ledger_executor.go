package sim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"

	"settle/consensus/hotstuff"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

// ErrBadSignature marks a payload holding a transaction whose signature does not
// verify (sigverify's ZIP-215 rule).
var ErrBadSignature = errors.New("sim: transaction signature does not verify")

// verifiedCountMax bounds the per-replica set of payloads already verified.
const verifiedCountMax = 1024

// LedgerExecutor runs the real ledger engine (settle/engine/ledger) as one
// replica's application. A payload is a txn batch (txn.EncodeBatch of signed
// transactions) or empty (an empty block).
//
// Crash model: like the real node, which makes every executed block durable
// (store.CommitBlock) before installing it (ledger.Apply), the committed ledger
// state survives a crash. On restart (Recover) the in-memory ledger is rebuilt
// from that durable state with ledger.Restore and its invariants are checked, as
// node.recover does with store.Load; only memory-only data (the cache of verified
// payloads) is lost. A wiped disk loses everything: the cluster then builds a fresh
// executor from genesis and the replica re-executes every block it commits again.
type LedgerExecutor struct {
	genesis  *ledger.Genesis
	ledger   *ledger.Ledger
	verified map[[32]byte]struct{} // memory only: payload digests ValidatePayload accepted
	err      error                 // first execution-order error, reported by CheckInvariants
	stats    LedgerStats
}

// LedgerStats counts what an executor did.
type LedgerStats struct {
	Blocks     uint64 // blocks executed
	Txs        uint64 // transactions executed (any result)
	Succeeded  uint64 // receipts with codes.Success
	Refused    uint64 // committed payloads that failed validation and ran as empty blocks
	Rejected   uint64 // proposed payloads ValidatePayload refused
	BadSigs    uint64 // of those, refused for a signature that does not verify
	Recoveries uint64 // restarts from durable state
}

// NewLedgerExecutor builds a height-0 ledger from g.
func NewLedgerExecutor(g *ledger.Genesis) (*LedgerExecutor, error) {
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return nil, fmt.Errorf("ledger executor: %w", err)
	}
	return &LedgerExecutor{genesis: g, ledger: l, verified: map[[32]byte]struct{}{}}, nil
}

// Ledger exposes the committed ledger (read-only use).
func (e *LedgerExecutor) Ledger() *ledger.Ledger { return e.ledger }

// Stats returns the executor's counters.
func (e *LedgerExecutor) Stats() LedgerStats { return e.stats }

// StateHash is the state hash after the last executed block.
func (e *LedgerExecutor) StateHash() [32]byte { return e.ledger.Meta().StateHash }

// ValidatePayload is the replica's vote-time check: the batch framing, every
// transaction's stateless checks (txn.Decode) and every signature (sigverify).
func (e *LedgerExecutor) ValidatePayload(payload []byte) error {
	if _, err := decodeVerified(payload); err != nil {
		e.stats.Rejected++
		if errors.Is(err, ErrBadSignature) {
			e.stats.BadSigs++
		}
		return err
	}
	if len(e.verified) >= verifiedCountMax {
		clear(e.verified)
	}
	e.verified[sha256.Sum256(payload)] = struct{}{}
	return nil
}

// Execute runs the committed payload as block `height` and installs the result.
// A payload that fails validation (only a replica that skips ValidatePayload, or
// a broken consensus, can commit one) runs as an empty block: every replica
// reaches the same verdict, so the state stays deterministic.
func (e *LedgerExecutor) Execute(height uint64, payload []byte) [32]byte {
	meta := e.ledger.Meta()
	if height != meta.Height+1 {
		if e.err == nil {
			e.err = fmt.Errorf("%w: height %d after %d", errOutOfOrder, height, meta.Height)
		}
		return meta.StateHash
	}
	var txs []*txn.Tx
	var err error
	if _, ok := e.verified[sha256.Sum256(payload)]; ok {
		txs, err = txn.DecodeBatch(payload) // signatures already checked by this replica
	} else {
		txs, err = decodeVerified(payload) // e.g. after a restart lost the cache
	}
	if err != nil {
		txs = nil
		e.stats.Refused++
	}
	res := e.ledger.Execute(height, txs)
	e.ledger.Apply(res) // the simulated store has made it durable
	e.stats.Blocks++
	e.stats.Txs += uint64(len(res.Receipts))
	for i := range res.Receipts {
		if res.Receipts[i].Result == codes.Success {
			e.stats.Succeeded++
		}
	}
	return res.Meta.StateHash
}

// CheckInvariants reports blocks executed out of order and the ledger's supply
// invariants (native conserved with burned fees, issued outstanding = holdings).
func (e *LedgerExecutor) CheckInvariants() error {
	if e.err != nil {
		return e.err
	}
	return e.ledger.CheckInvariants()
}

// Recover rebuilds the in-memory ledger from the durable committed state
// (accounts, assets and open escrows, copied), as a restarted node does, and
// checks its invariants.
func (e *LedgerExecutor) Recover() error {
	var accounts []*ledger.Account
	e.ledger.Accounts(func(a *ledger.Account) {
		c := *a
		c.Issued = slices.Clone(a.Issued)
		if a.Ext != nil {
			x := *a.Ext
			x.Signers = slices.Clone(a.Ext.Signers)
			c.Ext = &x
		}
		accounts = append(accounts, &c)
	})
	infos := e.ledger.Assets()
	assets := make([]*ledger.AssetInfo, len(infos))
	for i := range infos {
		assets[i] = &infos[i]
	}
	open := e.ledger.Escrows()
	escrows := make([]*ledger.Escrow, len(open))
	for i, es := range open {
		c := *es // as read back from the durable escrow records
		escrows[i] = &c
	}
	l := ledger.Restore(e.genesis, e.ledger.Meta(), accounts, assets, escrows...)
	if err := l.CheckInvariants(); err != nil {
		return fmt.Errorf("ledger executor recover at height %d: %w", l.Meta().Height, err)
	}
	e.ledger = l
	e.verified = map[[32]byte]struct{}{}
	e.stats.Recoveries++
	return nil
}

// decodeVerified is decodePayload plus a batch check of every signature.
func decodeVerified(payload []byte) ([]*txn.Tx, error) {
	txs, err := txn.DecodeBatch(payload)
	if err != nil || len(txs) == 0 {
		return txs, err
	}
	var items []sigverify.Item
	var owner []int
	for i, tx := range txs {
		msg := tx.SigningMessage()
		for j := range tx.Sigs {
			s := &tx.Sigs[j]
			items = append(items, sigverify.Item{Pub: s.PublicKey[:], Msg: msg, Sig: s.Signature[:]})
			owner = append(owner, i)
		}
	}
	ok := make([]bool, len(items))
	if sigverify.VerifyBatch(items, ok) {
		return txs, nil
	}
	bad := slices.Index(ok, false)
	return nil, fmt.Errorf("payload tx %d (%s): %w", owner[bad], txs[owner[bad]].Hash(), ErrBadSignature)
}

// LedgerAppOptions shape the simulated ledger application.
type LedgerAppOptions struct {
	Accounts      int   // demo accounts funded at genesis; default 32
	TxPerBlockMax int   // transactions per honest proposal, 1 to this; default 8
	PoolSeed      int64 // derives each pooled transaction's destination and amount
}

// LedgerApp is the ledger application of a simulated cluster: it builds every
// replica's LedgerExecutor from one devnet genesis and makes the leaders'
// payloads, signed payments among the demo accounts.
//
// Transactions come from a pool: the transaction of sender i with sequence s is a
// pure function of (PoolSeed, i, s), signed once and memoised (Ed25519 signing is
// deterministic), so runs stay fast and every seed reproduces. A leader picks
// senders with the cluster's rng and gives each its next sequence on the chain it
// extends: the sequence committed in its own ledger, advanced past the
// transactions in the uncommitted ancestors of the proposal's parent.
type LedgerApp struct {
	opts        LedgerAppOptions
	genesis     *ledger.Genesis
	genesisHash hotstuff.Hash
	keys        []txn.Key
	ids         []txn.AccountID
	index       map[txn.AccountID]int
	usd         txn.Asset

	mu   sync.Mutex
	pool map[poolKey][]byte // signed encodings
}

type poolKey struct {
	sender int
	seq    uint64
}

// simChainID is the ledger's chain id in the simulator.
const simChainID = "settle-sim"

// NewLedgerApp builds the genesis and the demo keys.
func NewLedgerApp(opts LedgerAppOptions) (*LedgerApp, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 32
	}
	if opts.TxPerBlockMax == 0 {
		opts.TxPerBlockMax = 8
	}
	if opts.Accounts < 2 || opts.TxPerBlockMax < 1 {
		return nil, fmt.Errorf("ledger app: want at least 2 accounts and 1 tx per block, got %d and %d", opts.Accounts, opts.TxPerBlockMax)
	}
	g := devnet.Genesis(devnet.Options{ChainID: simChainID, Accounts: opts.Accounts, NativeEach: 1_000_000_000_000, BaseFee: 10})
	l, err := ledger.FromGenesis(g)
	if err != nil {
		return nil, fmt.Errorf("ledger app genesis: %w", err)
	}
	a := &LedgerApp{opts: opts, genesis: g, genesisHash: hotstuff.Hash(l.Meta().StateHash),
		index: map[txn.AccountID]int{}, pool: map[poolKey][]byte{}}
	for i := 0; i < opts.Accounts; i++ {
		k := devnet.DemoKey(simChainID, i)
		a.keys = append(a.keys, k)
		a.ids = append(a.ids, k.AccountID())
		a.index[k.AccountID()] = i
	}
	a.usd = txn.Asset{Issuer: a.ids[0]}
	copy(a.usd.Code[:], "USD")
	return a, nil
}

// Genesis is the application's genesis.
func (a *LedgerApp) Genesis() *ledger.Genesis { return a.genesis }

// Configure makes a cluster run this application.
func (a *LedgerApp) Configure(o *Options) {
	o.NewExecutor = a.NewExecutor
	o.Payloads = a
	o.GenesisStateHash = a.genesisHash
}

// NewExecutor is a fresh replica ledger at genesis.
func (a *LedgerApp) NewExecutor() Executor {
	e, err := NewLedgerExecutor(a.genesis)
	if err != nil {
		panic(err) // INVARIANT: NewLedgerApp built this genesis once already
	}
	return e
}

// Payload proposes 1 to TxPerBlockMax payments; a bad one has one transaction
// whose body or signature was altered after signing.
func (a *LedgerApp) Payload(c *Cluster, n *Node, req hotstuff.PayloadRequest, bad bool) []byte {
	next := a.pendingSeqs(n, req.Parent)
	var committed *ledger.Ledger
	if e, ok := n.exec.(*LedgerExecutor); ok {
		committed = e.ledger
	}
	count := 1 + c.rng.Intn(a.opts.TxPerBlockMax)
	raws := make([][]byte, 0, count)
	for range count {
		i := c.rng.Intn(len(a.ids))
		seq, ok := next[i]
		if !ok {
			seq = 1
			if committed != nil {
				if acc, found := committed.Account(a.ids[i]); found {
					seq = acc.Seq
				}
			}
		}
		next[i] = seq + 1
		raws = append(raws, a.signed(i, seq))
	}
	if bad {
		j := c.rng.Intn(len(raws))
		raw := slices.Clone(raws[j])
		if c.rng.Intn(2) == 0 {
			raw[len(raw)-txn.SignatureSize+3] ^= 0x40 // inside R
		} else {
			raw[len(raw)-2-(1+txn.PublicKeySize+txn.SignatureSize)] ^= 0x10 // the amount, kept nonzero
		}
		raws[j] = raw
	}
	return txn.EncodeBatch(raws)
}

// Equivocal drops the last transaction (an empty block when there is only one).
func (a *LedgerApp) Equivocal(payload []byte) []byte {
	raws, err := txn.SplitBatch(payload, nil)
	if err != nil || len(raws) < 2 {
		return nil
	}
	return txn.EncodeBatch(raws[:len(raws)-1])
}

// pendingSeqs returns, for each sender with transactions in the uncommitted
// ancestors of parent (as stored on n's disk), the sequence after its last one.
func (a *LedgerApp) pendingSeqs(n *Node, parent hotstuff.Hash) map[int]uint64 {
	next := map[int]uint64{}
	for b, ok := n.disk.blocks[parent]; ok && b.Height > n.committedHeight; b, ok = n.disk.blocks[b.Parent] {
		txs, err := txn.DecodeBatch(b.Payload)
		if err != nil {
			continue
		}
		for _, tx := range txs {
			if i, known := a.index[tx.Sender]; known && tx.Seq+1 > next[i] {
				next[i] = tx.Seq + 1
			}
		}
	}
	return next
}

// signed returns the pooled transaction of sender i with sequence seq.
func (a *LedgerApp) signed(i int, seq uint64) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := poolKey{i, seq}
	if raw, ok := a.pool[k]; ok {
		return raw
	}
	h := mix64(uint64(a.opts.PoolSeed) ^ uint64(i)<<40 ^ seq)
	dest := (i + 1 + int(h%uint64(len(a.ids)-1))) % len(a.ids)
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: simChainID, Sender: a.ids[i], Seq: seq, Fee: a.genesis.BaseFee,
		LastValid: 1 << 40, Dest: a.ids[dest], Asset: txn.Native, Amount: 1 + (h>>32)%1000}
	if i == 0 && h&1 == 0 {
		tx.Asset = a.usd // issuance: exercises the outstanding-supply invariant
	}
	if err := txn.Sign(tx, a.keys[i]); err != nil {
		panic(fmt.Sprintf("sim: sign pooled tx: %v", err)) // INVARIANT: the fields above pass Check
	}
	a.pool[k] = tx.Bytes()
	return a.pool[k]
}

// mix64 is the SplitMix64 finaliser: a fixed, well-spread function of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
