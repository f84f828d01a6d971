package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"settle/engine/codes"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

// Receipt is the outcome of one transaction in a block.
type Receipt struct {
	Hash   txn.Hash
	Result codes.Code // codes.Success or an execution code
	Fee    uint64     // fee actually charged (0 when the transaction did not apply at all)
}

// Applied reports whether the transaction consumed its sequence and fee.
func (r *Receipt) Applied() bool { return r.Fee > 0 }

// BlockResult is what executing a block would change. Nothing is installed until
// Apply; the node makes it durable in between.
type BlockResult struct {
	Height    uint64
	Receipts  []Receipt
	Accounts  []*Account   // touched accounts' new states, sorted by id
	Assets    []*AssetInfo // touched assets' new records
	Meta      Meta         // totals after the block, including the new state hash
	nativeIn  uint64       // INVARIANT: sum of native balance decreases == increases + fees
	nativeOut uint64
}

// overlay is the block-local view: committed state plus this block's writes.
type overlay struct {
	l        *Ledger
	accounts map[txn.AccountID]*Account
	assets   map[txn.Asset]*AssetInfo
}

func (o *overlay) account(id txn.AccountID) *Account {
	if a, ok := o.accounts[id]; ok {
		return a
	}
	a := o.l.account(id)
	if a == nil {
		return nil
	}
	c := a.clone()
	o.accounts[id] = c
	return c
}

func (o *overlay) asset(as txn.Asset) *AssetInfo {
	if a, ok := o.assets[as]; ok {
		return a
	}
	o.l.mu.RLock()
	a := o.l.mu.assets[as]
	o.l.mu.RUnlock()
	if a == nil {
		return nil
	}
	c := *a
	o.assets[as] = &c
	return &c
}

// Execute runs txs as block `height` against the committed state and returns the
// result without installing it. It is a pure function of (committed state, height,
// txs): every replica gets the same receipts and state hash. Transactions must have
// passed Decode (stateless checks) and signature verification.
func (l *Ledger) Execute(height uint64, txs []*txn.Tx) *BlockResult {
	meta := l.Meta()
	if height != meta.Height+1 {
		panic(fmt.Sprintf("ledger: execute height %d after %d", height, meta.Height))
	}
	o := &overlay{l: l, accounts: make(map[txn.AccountID]*Account, 2*len(txs)), assets: map[txn.Asset]*AssetInfo{}}
	res := &BlockResult{Height: height, Receipts: make([]Receipt, len(txs)), Meta: meta}
	for i, tx := range txs {
		r := &res.Receipts[i]
		r.Hash = tx.Hash()
		r.Result, r.Fee = l.apply(o, res, height, tx)
		res.Meta.FeesBurned += r.Fee
		res.Meta.TxCount++
	}
	// INVARIANT: a block conserves native supply: what left balances is what arrived
	// plus the fees burned.
	if res.nativeOut != res.nativeIn+(res.Meta.FeesBurned-meta.FeesBurned) {
		panic(fmt.Sprintf("ledger: block %d native out %d != in %d + fees %d", height, res.nativeOut, res.nativeIn, res.Meta.FeesBurned-meta.FeesBurned))
	}
	res.Accounts = make([]*Account, 0, len(o.accounts))
	for _, a := range o.accounts {
		res.Accounts = append(res.Accounts, a)
	}
	sort.Slice(res.Accounts, func(i, j int) bool { return bytes.Compare(res.Accounts[i].ID[:], res.Accounts[j].ID[:]) < 0 })
	for _, a := range o.assets {
		res.Assets = append(res.Assets, a)
	}
	sort.Slice(res.Assets, func(i, j int) bool { return assetLess(res.Assets[i].Asset, res.Assets[j].Asset) })
	res.Meta.Height = height
	res.Meta.StateHash = stateHash(meta.StateHash, res)
	return res
}

// apply executes one transaction. Preconditions that fail leave no trace but the
// receipt (fee 0); failures after the fee is claimable charge the fee and consume
// the sequence (docs/ledger.md, "Result codes").
func (l *Ledger) apply(o *overlay, res *BlockResult, height uint64, tx *txn.Tx) (codes.Code, uint64) {
	if code := l.precheck(o, height, tx); code != codes.Success {
		return code, 0
	}
	sender := o.account(tx.Sender)
	sender.Seq++
	sender.Native -= tx.Fee
	res.nativeOut += tx.Fee
	if sender.Flags&FlagMasterKeySet == 0 {
		sender.MasterKey = tx.Sigs[0].PublicKey
		sender.Flags |= FlagMasterKeySet
	}
	switch tx.Type {
	case txn.TypePayment:
		return l.pay(o, res, tx), tx.Fee
	}
	panic(fmt.Sprintf("ledger: transaction type %d passed precheck", tx.Type))
}

// precheck decides whether tx may claim its fee: it must not be expired, the chain
// and signer must be right, the sequence must be the account's next, and the
// native balance must cover the fee.
func (l *Ledger) precheck(o *overlay, height uint64, tx *txn.Tx) codes.Code {
	if tx.ChainID != l.chainID {
		return codes.WrongChain
	}
	if height > tx.LastValid {
		return codes.Expired
	}
	if tx.Fee < l.baseFee {
		return codes.FeeTooLow
	}
	sender := o.account(tx.Sender)
	if sender == nil {
		return codes.NoAccount
	}
	if code := authorized(sender, tx); code != codes.Success {
		return code
	}
	switch {
	case tx.Seq < sender.Seq:
		return codes.SeqPast
	case tx.Seq > sender.Seq:
		return codes.SeqTooFar
	case sender.Native < tx.Fee:
		return codes.InsufficientFunds
	}
	return codes.Success
}

// authorized checks that the (already verified) signatures speak for the account:
// today one signature by the account's master key. The first transaction of an
// account created by a payment binds the key whose hash is the account id, after
// checking it is not weak.
func authorized(a *Account, tx *txn.Tx) codes.Code {
	if len(tx.Sigs) != 1 {
		return codes.NotAuthorized
	}
	pub := tx.Sigs[0].PublicKey
	if a.Flags&FlagMasterKeySet != 0 {
		if pub != a.MasterKey {
			return codes.NotAuthorized
		}
		return codes.Success
	}
	if txn.AccountIDFromPublicKey(pub[:]) != a.ID {
		return codes.NotAuthorized
	}
	if sigverify.WeakKey(pub[:]) {
		return codes.WeakKey
	}
	return codes.Success
}

// pay moves tx.Amount of tx.Asset; the fee is already charged.
func (l *Ledger) pay(o *overlay, res *BlockResult, tx *txn.Tx) codes.Code {
	sender := o.account(tx.Sender)
	if tx.Asset.IsNative() {
		if sender.Native < tx.Amount {
			return codes.InsufficientFunds
		}
		dest := o.account(tx.Dest)
		if dest == nil {
			// A native payment to an unknown address creates the account; its key
			// is bound by its first transaction.
			dest = &Account{ID: tx.Dest, Seq: 1}
			o.accounts[tx.Dest] = dest
		}
		sender.Native -= tx.Amount
		dest.Native += tx.Amount // cannot overflow: total native supply <= AmountMax
		res.nativeOut += tx.Amount
		res.nativeIn += tx.Amount
		return codes.Success
	}
	return payIssued(o, tx, sender)
}

func payIssued(o *overlay, tx *txn.Tx, sender *Account) codes.Code {
	info := o.asset(tx.Asset)
	if info == nil {
		return codes.UnknownAsset
	}
	issuer := tx.Asset.Issuer
	if sender.ID != issuer && sender.Balance(tx.Asset) < tx.Amount {
		return codes.InsufficientFunds
	}
	dest := o.account(tx.Dest)
	if dest == nil {
		return codes.NoDestination
	}
	switch {
	case sender.ID == issuer: // issuance
		if info.Outstanding+tx.Amount > txn.AmountMax {
			return codes.AmountOverflow
		}
		info.Outstanding += tx.Amount
	case dest.ID == issuer: // redemption
		info.Outstanding -= tx.Amount
	}
	if sender.ID != issuer {
		sender.setBalance(tx.Asset, sender.Balance(tx.Asset)-tx.Amount)
	}
	if dest.ID != issuer {
		dest.setBalance(tx.Asset, dest.Balance(tx.Asset)+tx.Amount)
	}
	return codes.Success
}

// stateHash chains the previous state hash with this block's effects: the new
// encodings of every touched account and asset (sorted) and every receipt. Two
// replicas that start from one genesis and execute the same blocks get the same
// chain; any divergence in any write changes every later hash.
func stateHash(prev txn.Hash, res *BlockResult) txn.Hash {
	h := sha256.New()
	var buf [256]byte
	b := append(buf[:0], "settle/state/v1"...)
	b = append(b, prev[:]...)
	b = binary.BigEndian.AppendUint64(b, res.Height)
	h.Write(b)
	for _, a := range res.Accounts {
		b = append(buf[:0], a.ID[:]...)
		b = a.AppendBinary(b)
		h.Write(b)
	}
	for _, a := range res.Assets {
		k := AssetKey(a.Asset)
		b = append(buf[:0], k[:]...)
		h.Write(a.AppendBinary(b))
	}
	for i := range res.Receipts {
		r := &res.Receipts[i]
		b = append(buf[:0], r.Hash[:]...)
		b = append(b, r.Result...)
		b = binary.BigEndian.AppendUint64(b, r.Fee)
		h.Write(b)
	}
	var out txn.Hash
	h.Sum(out[:0])
	return out
}

// Apply installs an executed block's result. The caller must have made it durable
// first. INVARIANT: results are applied in height order, each exactly once.
func (l *Ledger) Apply(res *BlockResult) {
	l.mu.Lock()
	if res.Height != l.mu.meta.Height+1 {
		l.mu.Unlock()
		panic(fmt.Sprintf("ledger: apply height %d after %d", res.Height, l.mu.meta.Height))
	}
	for _, a := range res.Assets {
		l.mu.assets[a.Asset] = a
	}
	l.mu.meta = res.Meta
	l.mu.Unlock()
	for _, a := range res.Accounts {
		s := &l.shards[shardOf(a.ID)]
		s.mu.Lock()
		s.accounts[a.ID] = a
		s.mu.Unlock()
	}
}
