package proof

import (
	"errors"
	"fmt"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/merkle"
	"settle/engine/store"
	"settle/engine/txn"
)

// Builder assembles proofs from a validator's store and ledger.
type Builder struct {
	ChainID string
	Store   *store.Store
	Ledger  *ledger.Ledger
	// GenesisStateHash gives the state hash before block 1 (the anchor of
	// height 1's proofs).
	GenesisStateHash func() (txn.Hash, error)
	// Solo is set for a network of one validator, which has no certificates.
	Solo bool
}

// claimScanMax bounds how many blocks after a height an anchor is looked for.
// A proposer claims its parent's height − 2 at the highest, so the first
// certified claim of a height normally comes 3 or 4 blocks later; more than
// this many means the claims lag (execution behind), and the answer is to
// retry.
const claimScanMax = 64

// Tx proves the committed transaction with hash h.
func (b *Builder) Tx(h txn.Hash) (*Tx, error) {
	if b.Solo {
		return nil, errSolo
	}
	rec, err := b.Store.Tx(h)
	if err != nil {
		return nil, err
	}
	blk, err := b.Store.Block(rec.Height)
	if err != nil {
		return nil, err
	}
	leaves := ledger.TxLeaves(blk.Receipts)
	if merkle.ListRoot(leaves) != merkle.Hash(blk.TxRoot) {
		return nil, fmt.Errorf("block %d: its stored receipts do not give its transaction root", rec.Height)
	}
	a, err := b.anchor(rec.Height)
	if err != nil {
		return nil, err
	}
	r := rec.Receipt
	p := &Tx{ChainID: b.ChainID, Height: rec.Height, Index: rec.Index, Count: uint32(len(leaves)),
		TxHash: r.Hash[:], Fee: r.Fee, Result: string(r.Result), Leg: r.Leg, Tx: rec.Raw, Anchor: a}
	for _, s := range merkle.ListPath(leaves, int(rec.Index)) {
		p.Path = append(p.Path, Hex(s[:]))
	}
	return p, nil
}

// Account proves account id's state at height (0: the newest height that is
// both kept and certified).
func (b *Builder) Account(id txn.AccountID, height uint64) (*Account, error) {
	if b.Solo {
		return nil, errSolo
	}
	if height == 0 {
		h, err := b.newestCertified()
		if err != nil {
			return nil, err
		}
		height = h
	}
	sp, err := b.Ledger.ProveAccount(height, id)
	if errors.Is(err, ledger.ErrHeightNotKept) {
		return nil, codes.Errorf(codes.NotFound, "%v (proof_heights_kept)", err)
	}
	if err != nil {
		return nil, err
	}
	a, err := b.anchor(height)
	if err != nil {
		return nil, err
	}
	if merkle.Hash(a.Steps[0].StateRoot) != sp.Root {
		return nil, fmt.Errorf("height %d: the kept state tree's root differs from the stored one", height)
	}
	p := &Account{ChainID: b.ChainID, Height: height, Address: id.String(), Key: sp.Key[:], Anchor: a}
	if sp.Account != nil {
		p.Value = sp.Account.AppendBinary(nil)
	}
	if l := sp.Proof.Leaf; l != nil {
		p.Leaf = &Leaf{Key: l.Key[:], ValueHash: l.ValueHash[:]}
	}
	for _, s := range sp.Proof.Siblings {
		p.Siblings = append(p.Siblings, Hex(s[:]))
	}
	return p, nil
}

// newestCertified is the newest kept height whose state a committed block's
// certified header claims.
func (b *Builder) newestCertified() (uint64, error) {
	head := b.Ledger.Meta().Height
	for h := head; h > 0 && h+claimScanMax > head; h-- {
		rec, _, err := b.Store.BlockHeader(h)
		if err != nil {
			return 0, err
		}
		if len(rec.Header) == 0 {
			return 0, errSolo
		}
		if rec.ClaimHeight > 0 && len(rec.Cert) > 0 {
			return rec.ClaimHeight, nil
		}
	}
	return 0, codes.Errorf(codes.NotReady, "no committed block certifies a state yet; retry in a moment")
}

var errSolo = codes.Errorf(codes.NotFound,
	"this network has one validator, which signs no certificates: proofs need a cluster (docs/api.md, \"Proofs\")")

// anchor finds the first committed block after height whose header claims a
// state at or above it, and the steps from height up to that claim.
func (b *Builder) anchor(height uint64) (Anchor, error) {
	if height == 0 {
		return Anchor{}, codes.Errorf(codes.BadRequest, "height 0 is the genesis: prove a height of at least 1")
	}
	var a Anchor
	if height == 1 {
		g, err := b.GenesisStateHash()
		if err != nil {
			return a, fmt.Errorf("genesis state hash: %w", err)
		}
		a.PrevStateHash = g[:]
	} else {
		prev, _, err := b.Store.BlockHeader(height - 1)
		if err != nil {
			return a, err
		}
		a.PrevStateHash = prev.StateHash[:]
	}
	head := b.Ledger.Meta().Height
	for h := height + 1; h <= head && h <= height+claimScanMax; h++ {
		rec, _, err := b.Store.BlockHeader(h)
		if err != nil {
			return a, err
		}
		if len(rec.Header) == 0 {
			return a, errSolo
		}
		if rec.ClaimHeight < height || len(rec.Cert) == 0 {
			continue
		}
		for k := height; k <= rec.ClaimHeight; k++ {
			s, _, err := b.Store.BlockHeader(k)
			if err != nil {
				return a, err
			}
			a.Steps = append(a.Steps, Step{Height: k, StateRoot: s.StateRoot[:], TxRoot: s.TxRoot[:]})
		}
		a.Header, a.Certificate = rec.Header, rec.Cert
		return a, nil
	}
	if height > head {
		// Stored but not yet installed (the node stores a block, then applies
		// it), or not committed at all: either way, ask again.
		return a, codes.Errorf(codes.NotReady, "height %d is not executed here yet (executed up to %d); retry in a moment", height, head)
	}
	return a, codes.Errorf(codes.NotReady,
		"no committed block certifies the state of height %d yet (executed up to %d); retry in a moment", height, head)
}
