package ledger

import (
	"bytes"
	"fmt"
	"sort"

	"settle/engine/codes"
	"settle/engine/merkle"
	"settle/engine/sigverify"
	"settle/engine/txn"
)

// Receipt is the outcome of one transaction in a block.
type Receipt struct {
	Hash   txn.Hash
	Result codes.Code // codes.Success or an execution code
	Fee    uint64     // fee actually charged (0 when the transaction did not apply at all)
	// Leg is 1 + the index of the multi-leg transfer that failed (the one Result
	// describes); 0 for every other outcome.
	Leg uint8
}

// Applied reports whether the transaction consumed its sequence and fee: its
// receipt is final and its hash can never apply again. (The genesis base fee is
// at least 1, so every applied transaction pays a fee.) A transaction that did
// not apply changed nothing; its hash is not consumed.
func (r *Receipt) Applied() bool { return r.Fee > 0 }

// MayApplyLater reports whether a transaction that did not apply could still
// apply in a later block: its sequence is ahead of the account's (a block
// carried it before its predecessor). Every other failed precondition (a used
// sequence, expiry, the signer, the fee) is final for that transaction as the
// state stands.
func (r *Receipt) MayApplyLater() bool { return !r.Applied() && r.Result == codes.SeqTooFar }

// Transfer is one movement of value that a successful transaction made: a
// payment, a multi-leg leg, an escrow finish (from the escrow's owner) or a
// clawback (from the holder to the issuer). Settlement reports and the history
// are built from them (BlockResult.TxTransfers). Fees, escrow creation,
// cancellation and expiry are not transfers: they settle nothing between
// parties.
type Transfer struct {
	Tx     uint32 // index of the transaction in the block
	From   txn.AccountID
	To     txn.AccountID
	Asset  txn.Asset
	Amount uint64
}

// BlockResult is what executing a block would change. Nothing is installed until
// Apply; the node makes it durable in between.
type BlockResult struct {
	Height   uint64
	Receipts []Receipt
	Accounts []*Account    // touched accounts' new states, sorted by id
	Assets   []*AssetInfo  // touched assets' new records
	Escrows  []EscrowWrite // escrows created or removed, sorted by id
	// Transfers are the value movements of successful transactions other than
	// payments, in execution order. A successful payment's one transfer is the
	// payment itself and is not repeated here, which keeps the common case
	// free: read a block's transfers through TxTransfers.
	Transfers []Transfer
	// Expired are the escrows returned to their owners automatically at the end
	// of the block because their expiry height is at or below it, in the order
	// returned: by (expiry height, owner, sequence). They are also in Escrows
	// (removed) and their owners in Accounts; no transaction stands for them.
	Expired []*Escrow
	// Queue are the queued entries created, changed or removed, sorted by id.
	Queue []QueueWrite
	// QueueEvents are the queued entries that left the queue, in the order
	// they did (QueueEvent).
	QueueEvents []QueueEvent
	Meta        Meta        // totals after the block, including the new state hash
	tree        merkle.Tree // the state tree after the block
	nativeIn    uint64      // INVARIANT: sum of native balance decreases == increases + fees
	nativeOut   uint64
}

// TxTransfers returns the transfers of transaction i of the block (txs are the
// block's transactions, as given to Execute), given rest, the part of
// r.Transfers not yet consumed by transactions before i; it returns the rest
// after i. A caller walks the block in order starting with r.Transfers.
// one is scratch space for a payment's transfer, so the walk allocates nothing.
func (r *BlockResult) TxTransfers(txs []*txn.Tx, i int, rest []Transfer, one *[1]Transfer) (mine, after []Transfer) {
	n := 0
	for n < len(rest) && rest[n].Tx == uint32(i) {
		n++
	}
	mine, after = rest[:n], rest[n:]
	if tx := txs[i]; (tx.Type == txn.TypePayment || tx.Type == txn.TypeQueuedPayment) && r.Receipts[i].Result == codes.Success {
		one[0] = Transfer{Tx: uint32(i), From: tx.Sender, To: tx.Dest, Asset: tx.Asset, Amount: tx.Amount}
		mine = one[:]
	}
	return mine, after
}

// overlay is the block-local view: committed state plus this block's writes.
type overlay struct {
	l        *Ledger
	accounts map[txn.AccountID]*Account
	assets   map[txn.Asset]*AssetInfo
	escrows  map[EscrowID]*Escrow // nil value: removed in this block
	removed  map[EscrowID]*Escrow // the records of the escrows removed in this block
	q        queueOverlay
	journal  *journal // non-nil while a multi-leg transaction runs
}

// removeEscrow removes an open escrow (finished, cancelled or expired).
func (o *overlay) removeEscrow(e *Escrow) {
	if o.removed == nil {
		o.removed = map[EscrowID]*Escrow{}
	}
	o.removed[e.ID] = e
	o.escrows[e.ID] = nil
}

func (o *overlay) account(id txn.AccountID) *Account {
	a, ok := o.accounts[id]
	if o.journal != nil {
		o.journal.saveAccount(id, a, ok)
	}
	if ok {
		return a
	}
	if a = o.l.account(id); a == nil {
		return nil
	}
	c := a.clone()
	o.accounts[id] = c
	return c
}

// create adds a new account to the overlay.
func (o *overlay) create(id txn.AccountID) *Account {
	a := &Account{ID: id, Seq: 1}
	o.accounts[id] = a
	return a
}

func (o *overlay) asset(as txn.Asset) *AssetInfo {
	a, ok := o.assets[as]
	if o.journal != nil {
		o.journal.saveAsset(as, a, ok)
	}
	if ok {
		return a
	}
	o.l.mu.RLock()
	a = o.l.mu.assets[as]
	o.l.mu.RUnlock()
	if a == nil {
		return nil
	}
	c := *a
	o.assets[as] = &c
	return &c
}

func (o *overlay) escrow(id EscrowID) *Escrow {
	if e, ok := o.escrows[id]; ok {
		return e
	}
	o.l.mu.RLock()
	e := o.l.mu.escrows[id]
	o.l.mu.RUnlock()
	return e
}

// Execute runs txs as block `height` against the committed state and returns the
// result without installing it. It is a pure function of (committed state, height,
// txs): every replica gets the same receipts and state hash. Transactions must have
// passed Decode (stateless checks) and signature verification of every signature;
// execution only checks which keys signed. Cost: O(len(txs)), each transaction
// bounded (at most txn.LegCountMax legs, txn.SigCountMax signatures).
func (l *Ledger) Execute(height uint64, txs []*txn.Tx) *BlockResult {
	l.mu.RLock()
	meta, tree := l.mu.meta, l.mu.tree
	l.mu.RUnlock()
	if height != meta.Height+1 {
		panic(fmt.Sprintf("ledger: execute height %d after %d", height, meta.Height))
	}
	o := &overlay{l: l, accounts: make(map[txn.AccountID]*Account, 2*len(txs)), assets: map[txn.Asset]*AssetInfo{},
		escrows: map[EscrowID]*Escrow{}}
	res := &BlockResult{Height: height, Receipts: make([]Receipt, len(txs)), Meta: meta}
	for i, tx := range txs {
		r := &res.Receipts[i]
		r.Hash = tx.Hash()
		r.Result, r.Fee, r.Leg = l.apply(o, res, height, uint32(i), tx)
		res.Meta.FeesBurned += r.Fee
		if r.Applied() {
			res.Meta.TxCount++
		}
	}
	l.expireEscrows(o, res, height)
	l.settleQueue(o, res, height)
	// INVARIANT: a block conserves native supply: what left balances (spendable or
	// escrowed) is what arrived plus the fees burned.
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
	for id, e := range o.escrows {
		if e == nil {
			res.Escrows = append(res.Escrows, EscrowWrite{ID: id, Escrow: o.removed[id], Deleted: true})
		} else {
			res.Escrows = append(res.Escrows, EscrowWrite{ID: id, Escrow: e})
		}
	}
	sort.Slice(res.Escrows, func(i, j int) bool { return escrowLess(res.Escrows[i].ID, res.Escrows[j].ID) })
	res.Queue = o.queueWrites()
	res.Meta.Height = height
	l.commit(res, meta, tree)
	return res
}

// apply executes one transaction. Preconditions that fail leave no trace but the
// receipt (fee 0); failures after the fee is claimable charge the fee and consume
// the sequence (docs/ledger.md, "Result codes").
func (l *Ledger) apply(o *overlay, res *BlockResult, height uint64, idx uint32, tx *txn.Tx) (codes.Code, uint64, uint8) {
	code, bind := l.precheck(o, height, tx)
	if code != codes.Success {
		return code, 0, 0
	}
	sender := o.account(tx.Sender)
	sender.Seq++
	sender.Native -= tx.Fee
	res.nativeOut += tx.Fee
	if bind >= 0 {
		sender.MasterKey = tx.Sigs[bind].PublicKey
		sender.Flags |= FlagMasterKeySet
	}
	x := &execCtx{l: l, o: o, res: res, height: height, idx: idx, tx: tx}
	switch tx.Type {
	case txn.TypePayment:
		return x.transfer(tx.Sender, tx.Dest, tx.Asset, tx.Amount), tx.Fee, 0
	case txn.TypeMultiLeg:
		code, leg := x.multiLeg()
		return code, tx.Fee, leg
	case txn.TypeTrustSet:
		return x.trustSet(), tx.Fee, 0
	case txn.TypeEscrowCreate:
		return x.escrowCreate(), tx.Fee, 0
	case txn.TypeEscrowFinish:
		return x.escrowFinish(), tx.Fee, 0
	case txn.TypeEscrowCancel:
		return x.escrowCancel(), tx.Fee, 0
	case txn.TypeSignerListSet:
		return x.signerListSet(), tx.Fee, 0
	case txn.TypeRegularKeySet:
		return x.regularKeySet(), tx.Fee, 0
	case txn.TypeAccountSet:
		return x.accountSet(), tx.Fee, 0
	case txn.TypeAssetSet:
		return x.assetSet(), tx.Fee, 0
	case txn.TypeClawback:
		return x.clawback(), tx.Fee, 0
	case txn.TypeLimitsSet:
		return x.limitsSet(), tx.Fee, 0
	case txn.TypeQueuedPayment, txn.TypeQueuedMultiLeg:
		code, leg := x.queuedTransfer()
		return code, tx.Fee, leg
	case txn.TypeQueueCancel:
		return x.queueCancel(), tx.Fee, 0
	case txn.TypeQueuePrioritySet:
		return x.queuePrioritySet(), tx.Fee, 0
	}
	panic(fmt.Sprintf("ledger: transaction type %d passed precheck", tx.Type))
}

// precheck decides whether tx may claim its fee: it must not be expired, the chain
// and signer must be right, the sequence must be the account's next, and the
// native balance must cover the fee. bind is the index of the signature whose key
// becomes the sender's master key (-1: none).
func (l *Ledger) precheck(o *overlay, height uint64, tx *txn.Tx) (codes.Code, int) {
	if tx.ChainID != l.chainID {
		return codes.WrongChain, -1
	}
	if height > tx.LastValid {
		return codes.Expired, -1
	}
	if tx.Fee < l.baseFee {
		return codes.FeeTooLow, -1
	}
	if !tx.Type.Known() {
		return codes.UnsupportedType, -1
	}
	sender := o.account(tx.Sender)
	if sender == nil {
		return codes.NoAccount, -1
	}
	code, bind := authorized(sender, tx.Sigs)
	if code != codes.Success {
		return code, -1
	}
	switch {
	case tx.Seq < sender.Seq:
		return codes.SeqPast, -1
	case tx.Seq > sender.Seq:
		return codes.SeqTooFar, -1
	case sender.Native < tx.Fee:
		return codes.InsufficientFunds, -1
	}
	return codes.Success, bind
}

// authorized checks that the (already verified) signatures speak for the account:
// its master key (unless disabled), its regular key, or signer-list keys whose
// weights reach the quorum. Extra signatures are allowed (a multi-leg transaction
// carries its co-signers'). An account created by a payment has no key yet: a
// signature by the key its id derives from authorises it and binds that key
// (bind is its index; -1 otherwise), after checking it is not weak.
func authorized(a *Account, sigs []txn.Sig) (code codes.Code, bind int) {
	masterOK := a.Flags&FlagDisableMaster == 0
	x := a.Ext // nil for a plain account: master key only
	if a.Flags&FlagMasterKeySet != 0 {
		regular := x != nil && x.RegularKey != ([txn.PublicKeySize]byte{})
		for i := range sigs {
			pub := &sigs[i].PublicKey
			if masterOK && *pub == a.MasterKey || regular && *pub == x.RegularKey {
				return codes.Success, -1
			}
		}
	} else {
		for i := range sigs {
			pub := sigs[i].PublicKey
			if txn.AccountIDFromPublicKey(pub[:]) != a.ID {
				continue
			}
			if sigverify.WeakKey(pub[:]) {
				return codes.WeakKey, -1
			}
			return codes.Success, i
		}
	}
	if x == nil || x.Quorum == 0 {
		return codes.NotAuthorized, -1
	}
	var weight uint32
	for i := range sigs {
		for _, s := range x.Signers { // both lists hold at most 8 entries
			if s.PublicKey == sigs[i].PublicKey {
				weight += uint32(s.Weight)
			}
		}
	}
	if weight >= x.Quorum {
		return codes.Success, -1
	}
	return codes.NotAuthorized, -1
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
	for _, w := range res.Escrows {
		if w.Deleted {
			if e := l.mu.escrows[w.ID]; e != nil {
				l.mu.expiry.remove(e.ExpiryHeight, w.ID)
				delete(l.mu.escrows, w.ID)
			}
		} else {
			l.mu.escrows[w.ID] = w.Escrow
			l.mu.expiry.add(w.Escrow.ExpiryHeight, w.ID)
		}
	}
	l.mu.expiry.prune(res.Height)
	l.mu.queue.install(res.Queue, res.Height)
	l.mu.meta = res.Meta
	// The accounts go in under l.mu too, with the tree, so that a state proof
	// sees a tree and accounts of one height.
	replaced := make([]*Account, len(res.Accounts))
	for i, a := range res.Accounts {
		s := &l.shards[shardOf(a.ID)]
		s.mu.Lock()
		replaced[i] = s.accounts[a.ID]
		s.accounts[a.ID] = a
		s.mu.Unlock()
	}
	l.installTreeLocked(treeVersion{height: res.Height, tree: res.tree, written: res.Accounts, replaced: replaced})
	l.mu.Unlock()
}
