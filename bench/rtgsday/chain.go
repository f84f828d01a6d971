package rtgsday

import (
	"encoding/hex"
	"fmt"

	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// The simulated network's constants. The settlement asset is an issued
// asset so that a bank's liquidity is its EUR balance alone: fees are paid in
// native units, of which every bank holds far more than the day costs.
const (
	chainID         = "settle-rtgs-day"
	baseFee         = 10
	nativeEachMinor = 1_000_000_000_000 // fees of a whole day are at most payments × baseFee
	assetCode       = "EUR"
)

// chain is a day turned into ledger terms: the banks' keys and account ids
// (demo account 0 is the central bank that issues EUR, bank i is demo
// account i+1), and each payment's queued_payment transaction, built once
// and replayed on every run: the transactions do not depend on the
// liquidity or the mode, only the genesis does.
type chain struct {
	day     *Day
	cbPub   string // hex public key of the issuer
	bankPub []string
	bankID  []txn.AccountID
	asset   txn.Asset
	txs     []*txn.Tx
	byBlock [][]*txn.Tx // txs[i] of the payments arriving in block b, in order
	// immediateByBlock are the same payments as plain payments (ModeImmediate).
	immediateByBlock [][]*txn.Tx
	byQueueID        map[ledger.QueueID]int // payment index of each (sender, sequence)
	endBlocks        int                    // blocks after the day with no new payments
	lastHeight       uint64                 // height of the run's last block; every payment's queue_until
}

// newChain derives the keys and builds the transactions. A payment arriving
// in block b (0-based) is submitted at height b+1, valid only there
// (last_valid = b+1: a bank submits it once), and may wait in the queue
// until the end of the run's last block, after the end-of-day blocks.
func newChain(d *Day, endBlocks int) (*chain, error) {
	if endBlocks < 0 {
		return nil, fmt.Errorf("end-of-day blocks %d must not be negative", endBlocks)
	}
	c := &chain{day: d, endBlocks: endBlocks, lastHeight: uint64(d.Blocks() + endBlocks),
		byBlock: make([][]*txn.Tx, d.Blocks()), immediateByBlock: make([][]*txn.Tx, d.Blocks()), byQueueID: make(map[ledger.QueueID]int, len(d.Payments))}
	cb := devnet.DemoKey(chainID, 0)
	pub := cb.PublicKey()
	c.cbPub = hex.EncodeToString(pub[:])
	asset, err := txn.ParseAsset(assetCode + "/" + cb.AccountID().String())
	if err != nil {
		return nil, fmt.Errorf("settlement asset: %w", err)
	}
	c.asset = asset
	pubs := make([][txn.PublicKeySize]byte, d.Banks())
	for i := range pubs {
		k := devnet.DemoKey(chainID, i+1)
		pubs[i] = k.PublicKey()
		c.bankPub = append(c.bankPub, hex.EncodeToString(pubs[i][:]))
		c.bankID = append(c.bankID, k.AccountID())
	}
	seq := make([]uint64, d.Banks())
	for i := range seq {
		seq[i] = 1 // a genesis account's first sequence
	}
	c.txs = make([]*txn.Tx, len(d.Payments))
	for i, p := range d.Payments {
		prio := txn.PriorityNormal
		if p.Urgent {
			prio = txn.PriorityUrgent
		}
		h := uint64(p.Block + 1)
		tx := &txn.Tx{Type: txn.TypeQueuedPayment, ChainID: chainID, Sender: c.bankID[p.From], Seq: seq[p.From],
			Fee: baseFee, LastValid: h, Dest: c.bankID[p.To], Asset: c.asset, Amount: p.Amount,
			Priority: prio, QueueUntil: c.lastHeight, Sigs: []txn.Sig{{PublicKey: pubs[p.From]}}}
		sealed, err := seal(tx)
		if err != nil {
			return nil, fmt.Errorf("payment %d (%d → %d, block %d): %w", i, p.From, p.To, p.Block, err)
		}
		plain := *tx
		plain.Type, plain.Priority, plain.QueueUntil = txn.TypePayment, 0, 0
		sealedPlain, err := seal(&plain)
		if err != nil {
			return nil, fmt.Errorf("payment %d as a plain payment: %w", i, err)
		}
		c.immediateByBlock[p.Block] = append(c.immediateByBlock[p.Block], sealedPlain)
		c.byQueueID[ledger.QueueID{Sender: tx.Sender, Seq: tx.Seq}] = i
		seq[p.From]++
		c.txs[i] = sealed
		c.byBlock[p.Block] = append(c.byBlock[p.Block], sealed)
	}
	return c, nil
}

// seal gives tx its canonical encoding and hash without signing it: the
// encoding carries the sender's public key and an all-zero signature, and
// Decode (which runs the stateless checks but verifies no signature)
// computes the hash. Execute only checks which keys signed, so the day
// needs no Ed25519 signing: 30,000 signatures would cost more than the
// ledger's whole run.
func seal(tx *txn.Tx) (*txn.Tx, error) {
	return txn.Decode(txn.AppendEncoding(nil, tx))
}

// genesis returns the genesis of a run: the issuer and the banks with
// opening EUR balances liq (minor units), and the queue's gridlock
// resolution every k blocks (0: none, plain RTGS with FIFO queues). The
// queue is always spelled out: a genesis without one runs the ledger's
// default, which resolves gridlock every 10 blocks.
func (c *chain) genesis(liq []uint64, k uint64, o RunOptions) *ledger.Genesis {
	val := devnet.ValidatorKey(chainID, 0).PublicKey()
	g := &ledger.Genesis{ChainID: chainID, BaseFee: baseFee,
		Validators: []ledger.GenesisValidator{{Name: "v0", PublicKey: hex.EncodeToString(val[:])}},
		Assets:     []ledger.GenesisAsset{{Code: assetCode, Issuer: c.asset.Issuer.String()}},
		Queue: &ledger.GenesisQueue{GridlockEveryBlocks: k, GridlockRoundsMax: o.GridlockRoundsMax,
			ReleaseAttemptsMax: o.ReleaseAttemptsMax}}
	g.Accounts = append(g.Accounts, ledger.GenesisAccount{PublicKey: c.cbPub, Native: nativeEachMinor})
	for i, pub := range c.bankPub {
		// A zero balance still opens the line (limit at the maximum), so a
		// bank without liquidity can receive.
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{PublicKey: pub, Native: nativeEachMinor,
			Issued: []ledger.GenesisBalance{{Asset: c.asset.String(), Amount: txn.Uint(liq[i])}}})
	}
	return g
}
