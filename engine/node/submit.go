package node

import (
	"context"
	"errors"
	"slices"
	"sync"

	"settle/engine/codes"
	"settle/engine/sigverify"
	"settle/engine/txn"
	"settle/mempool"
)

// Submit admits transactions (see api.Backend). Cheap checks against the committed
// state run first, so that transactions that cannot apply cost no signature check;
// then every remaining signature is verified in one batched, parallel call; then
// the mempool admits them. Each signature is verified once on this validator: the
// mempool's entries are trusted by block assembly and execution.
func (n *Node) Submit(ctx context.Context, txs []*txn.Tx, errs []error) {
	n.submit(ctx, txs, errs, true)
}

// submit is Submit; gossip says whether admitted transactions go to the other
// validators (false for transactions that came by gossip).
func (n *Node) submit(ctx context.Context, txs []*txn.Tx, errs []error, gossip bool) {
	if len(errs) != len(txs) {
		panic("node: Submit with mismatched result slice")
	}
	if !n.Ready() {
		for i := range errs {
			errs[i] = codes.Errorf(codes.NotReady, "node is starting, stopping or catching up")
		}
		return
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc.reset())
	height := n.Height() + 1
	minFee := n.pool.MinFee()
	for i, tx := range txs {
		if errs[i] = n.precheck(tx, height, minFee); errs[i] != nil {
			continue
		}
		for s := range tx.Sigs {
			sg := &tx.Sigs[s]
			sc.items = append(sc.items, sigverify.Item{Pub: sg.PublicKey[:], Msg: tx.SigningMessage(), Sig: sg.Signature[:]})
			sc.owner = append(sc.owner, i)
		}
	}
	if len(sc.items) > 0 {
		sc.ok = slices.Grow(sc.ok[:0], len(sc.items))[:len(sc.items)] // pooled: no allocation per call once warm
		if _, err := n.verifier.Verify(ctx, sc.items, sc.ok); err != nil {
			for _, i := range sc.owner {
				errs[i] = codes.Errorf(codes.Overloaded, "signature verification: %v", err)
			}
			return
		}
		for k, ok := range sc.ok {
			if !ok && errs[sc.owner[k]] == nil {
				errs[sc.owner[k]] = codes.Errorf(codes.BadSignature, "the signature by key %x does not verify", sc.items[k].Pub)
				n.metrics.badSignatures.Inc()
			}
		}
	}
	var raws [][]byte
	for i, tx := range txs {
		if errs[i] != nil {
			continue
		}
		if errs[i] = n.admit(tx, height); errs[i] == nil && gossip {
			raws = append(raws, tx.Bytes())
		}
	}
	if len(raws) > 0 {
		n.orderer.Gossip(raws)
	}
	if gossip {
		n.metrics.admitted(errs)
	}
}

type scratch struct {
	items []sigverify.Item
	ok    []bool
	owner []int // owner[k] is the index of the tx that items[k] belongs to
}

func (s *scratch) reset() *scratch {
	s.items, s.ok, s.owner = s.items[:0], s.ok[:0], s.owner[:0]
	return s
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

// precheck rejects what cannot apply against the committed state. It is advisory
// (the state may change before execution, which re-checks everything) but it keeps
// the documented codes at the door and leaves the ledger untouched.
func (n *Node) precheck(tx *txn.Tx, height, minFee uint64) error {
	if tx.ChainID != n.cfg.Genesis.ChainID {
		return codes.Errorf(codes.WrongChain, "chain id %q, this network is %q", tx.ChainID, n.cfg.Genesis.ChainID)
	}
	if tx.LastValid < height {
		return codes.Errorf(codes.Expired, "last valid height %d already passed (next block %d)", tx.LastValid, height)
	}
	if n.pool.HasFrom(tx.Sender, tx.Hash()) {
		return codes.Errorf(codes.Duplicate, "transaction %s is already pending", tx.Hash())
	}
	if tx.Fee < minFee {
		return codes.Errorf(codes.FeeTooLow, "fee %d below the current minimum %d", tx.Fee, minFee)
	}
	err := n.ledger.CheckAdmission(tx, n.cfg.Mempool.SeqAheadMax)
	if codes.Of(err) == codes.SeqPast && n.store.Committed(tx.Hash()) {
		return codes.Errorf(codes.Duplicate, "transaction %s is already committed", tx.Hash())
	}
	return err
}

// admit hands a verified transaction to the mempool.
func (n *Node) admit(tx *txn.Tx, height uint64) error {
	acc, _ := n.ledger.Account(tx.Sender)
	e := mempool.Entry[*txn.Tx]{Hash: tx.Hash(), Sender: tx.Sender, Seq: tx.Seq, Fee: tx.Fee, LastValid: tx.LastValid, SizeBytes: len(tx.Bytes()), Tx: tx}
	err := n.pool.Add(e, acc.Seq, height)
	if err == nil {
		return nil
	}
	var fee *mempool.FeeTooLowError
	switch {
	case errors.As(err, &fee):
		return codes.Errorf(codes.FeeTooLow, "fee %d below the current minimum %d", tx.Fee, fee.MinFee)
	case errors.Is(err, mempool.ErrDuplicate):
		return codes.Errorf(codes.Duplicate, "transaction %s is already pending", tx.Hash())
	case errors.Is(err, mempool.ErrSeqPast):
		return codes.Errorf(codes.SeqPast, "sequence %d already used", tx.Seq)
	case errors.Is(err, mempool.ErrSeqTooFar):
		return codes.Errorf(codes.SeqTooFar, "sequence %d too far ahead", tx.Seq)
	case errors.Is(err, mempool.ErrSeqTaken):
		return codes.Errorf(codes.SeqTaken, "sequence %d is held by another pending transaction", tx.Seq)
	case errors.Is(err, mempool.ErrFull):
		return codes.Errorf(codes.MempoolFull, "%v", err)
	case errors.Is(err, mempool.ErrExpired):
		return codes.Errorf(codes.Expired, "%v", err)
	}
	return codes.Errorf(codes.Internal, "mempool: %v", err)
}
