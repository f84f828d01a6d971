// Package lightclient checks Settle's proofs (engine/proof) trusting nothing
// but the genesis: the chain id and the validators' public keys. A proof is
// accepted only if a quorum of those validators signed the block header it is
// anchored in, the header claims the state hash that the proof's roots fold
// into, and the Merkle path leads from the proven leaf to the right root.
// Why a certified claim is the true state: docs/consensus.md, "Execution
// state hashes"; the bytes: docs/protocol.md, "Proofs".
package lightclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"settle/consensus/hotstuff"
	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/merkle"
	"settle/engine/proof"
	"settle/engine/txn"
)

// The kinds of refusal; every error Verify* returns wraps one of them.
var (
	ErrMalformed   = errors.New("malformed proof")
	ErrWrongChain  = errors.New("proof from another chain")
	ErrCertificate = errors.New("certificate does not verify")
	ErrAnchor      = errors.New("roots do not fold into the certified state hash")
	ErrPath        = errors.New("merkle path does not lead to the root")
	ErrContent     = errors.New("proven content is inconsistent")
)

// Trust is what a light client trusts: one network's genesis.
type Trust struct {
	ChainID    string
	Validators [][]byte // Ed25519 public keys, in genesis order
}

// FromGenesis takes the chain id and validator keys of a genesis.
func FromGenesis(g *ledger.Genesis) (Trust, error) {
	t := Trust{ChainID: g.ChainID}
	for i, v := range g.Validators {
		pub, err := hex.DecodeString(v.PublicKey)
		if err != nil || len(pub) != 32 {
			return Trust{}, fmt.Errorf("genesis validator %d: public key %q is not 32 bytes of hex", i, v.PublicKey)
		}
		t.Validators = append(t.Validators, pub)
	}
	return t, nil
}

// Certified is what a verified anchor establishes.
type Certified struct {
	Height     uint64 // the proven height
	StateRoot  merkle.Hash
	TxRoot     merkle.Hash
	StateHash  txn.Hash // at the header's exec height
	BlockHash  txn.Hash // of the certified header
	BlockView  uint64
	Signers    int // validators whose signatures the certificate carries
	Validators int
}

// VerifiedTx is a transaction proven executed.
type VerifiedTx struct {
	Certified
	Index   uint32
	Receipt ledger.Receipt
	Tx      *txn.Tx // nil when the proof did not carry it
}

// VerifyTx checks a transaction proof; want, when non-zero, is the hash the
// caller asked about.
func (t Trust) VerifyTx(p *proof.Tx, want txn.Hash) (*VerifiedTx, error) {
	if p.ChainID != t.ChainID {
		return nil, fmt.Errorf("%w: chain %q, trusted %q", ErrWrongChain, p.ChainID, t.ChainID)
	}
	var r ledger.Receipt
	if len(p.TxHash) != len(r.Hash) {
		return nil, fmt.Errorf("%w: tx_hash is %d bytes", ErrMalformed, len(p.TxHash))
	}
	copy(r.Hash[:], p.TxHash)
	if want != (txn.Hash{}) && r.Hash != want {
		return nil, fmt.Errorf("%w: the proof is for %s, not %s", ErrContent, r.Hash, want)
	}
	if !resultName(p.Result) {
		return nil, fmt.Errorf("%w: %q is not an execution result name", ErrMalformed, p.Result)
	}
	r.Fee, r.Result, r.Leg = p.Fee, codes.Code(p.Result), p.Leg
	c, err := t.verifyAnchor(&p.Anchor, p.Height)
	if err != nil {
		return nil, err
	}
	path, err := hashes(p.Path, "path")
	if err != nil {
		return nil, err
	}
	leaf := merkle.LeafHash(ledger.AppendReceiptLeaf(nil, p.Index, &r))
	if err := merkle.VerifyList(leaf, uint64(p.Index), uint64(p.Count), path, c.TxRoot); err != nil {
		return nil, fmt.Errorf("%w: transaction %d of %d at height %d: %w", ErrPath, p.Index, p.Count, p.Height, err)
	}
	v := &VerifiedTx{Certified: *c, Index: p.Index, Receipt: r}
	if len(p.Tx) > 0 {
		tx, err := txn.Decode(p.Tx)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: the carried transaction: %w", ErrMalformed, err)
		case tx.Hash() != r.Hash:
			return nil, fmt.Errorf("%w: the carried transaction hashes to %s, the receipt says %s", ErrContent, tx.Hash(), r.Hash)
		case tx.ChainID != t.ChainID:
			return nil, fmt.Errorf("%w: the carried transaction is for chain %q", ErrContent, tx.ChainID)
		}
		v.Tx = tx
	}
	return v, nil
}

// VerifiedAccount is an account's state proven at a height.
type VerifiedAccount struct {
	Certified
	ID      txn.AccountID
	Account *ledger.Account // nil: proven absent
}

// VerifyAccount checks an account proof for id.
func (t Trust) VerifyAccount(p *proof.Account, id txn.AccountID) (*VerifiedAccount, error) {
	if p.ChainID != t.ChainID {
		return nil, fmt.Errorf("%w: chain %q, trusted %q", ErrWrongChain, p.ChainID, t.ChainID)
	}
	key := ledger.AccountStateKey(id)
	if !bytes.Equal(p.Key, key[:]) {
		return nil, fmt.Errorf("%w: the proof's key is not account %s's", ErrContent, id)
	}
	c, err := t.verifyAnchor(&p.Anchor, p.Height)
	if err != nil {
		return nil, err
	}
	sp := merkle.StateProof{}
	if sp.Siblings, err = hashes(p.Siblings, "siblings"); err != nil {
		return nil, err
	}
	if p.Leaf != nil {
		k, err1 := hash32(p.Leaf.Key, "leaf key")
		vh, err2 := hash32(p.Leaf.ValueHash, "leaf value hash")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		sp.Leaf = &merkle.Leaf{Key: k, ValueHash: vh}
	}
	vh, present, err := merkle.VerifyState(c.StateRoot, key, sp)
	if err != nil {
		return nil, fmt.Errorf("%w: account %s at height %d: %w", ErrPath, id, p.Height, err)
	}
	v := &VerifiedAccount{Certified: *c, ID: id}
	switch {
	case !present && len(p.Value) > 0:
		return nil, fmt.Errorf("%w: the path proves account %s absent, the proof carries a value", ErrContent, id)
	case !present:
		return v, nil
	case sha256.Sum256(p.Value) != vh:
		return nil, fmt.Errorf("%w: the carried value does not hash to the proven leaf", ErrContent)
	}
	a, err := ledger.DecodeAccount(id, p.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: the proven account value: %w", ErrMalformed, err)
	}
	v.Account = a
	return v, nil
}

// verifyAnchor checks the certificate on the header, then folds the steps
// into the state hash the header claims. It returns the roots of height.
func (t Trust) verifyAnchor(a *proof.Anchor, height uint64) (*Certified, error) {
	h, err := hotstuff.DecodeHeader(a.Header)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	qc, err := hotstuff.DecodeQC(a.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	blockHash := sha256.Sum256(a.Header)
	switch {
	case qc.BlockHash != hotstuff.Hash(blockHash):
		return nil, fmt.Errorf("%w: it certifies block %x, the header hashes to %x", ErrCertificate, qc.BlockHash[:8], blockHash[:8])
	case qc.View != h.View:
		return nil, fmt.Errorf("%w: it is for view %d, the header is of view %d", ErrCertificate, qc.View, h.View)
	}
	if err := hotstuff.VerifyQC(t.ChainID, t.Validators, hotstuff.VerifyZIP215, &qc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if len(a.Steps) == 0 || a.Steps[0].Height != height || height == 0 {
		return nil, fmt.Errorf("%w: the steps must start at the proven height %d", ErrMalformed, height)
	}
	state, err := hash32(a.PrevStateHash, "prev_state_hash")
	if err != nil {
		return nil, err
	}
	c := &Certified{Height: height, BlockHash: blockHash, BlockView: h.View, Signers: qc.Signers.Count(), Validators: len(t.Validators)}
	for i, s := range a.Steps {
		if s.Height != height+uint64(i) {
			return nil, fmt.Errorf("%w: step %d is height %d, want %d", ErrMalformed, i, s.Height, height+uint64(i))
		}
		sr, err1 := hash32(s.StateRoot, "state_root")
		tr, err2 := hash32(s.TxRoot, "tx_root")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		if i == 0 {
			c.StateRoot, c.TxRoot = sr, tr
		}
		state = ledger.StateCommitment(state, s.Height, sr, tr)
	}
	last := a.Steps[len(a.Steps)-1].Height
	switch {
	case h.ExecHeight != last:
		return nil, fmt.Errorf("%w: the steps end at height %d, the header claims height %d", ErrAnchor, last, h.ExecHeight)
	case h.ExecStateHash != hotstuff.Hash(state):
		return nil, fmt.Errorf("%w: they give state hash %x at height %d, the certified header claims %x",
			ErrAnchor, state[:8], last, h.ExecStateHash[:8])
	}
	c.StateHash = state
	return c, nil
}

// resultName reports whether s has the shape of a result code: 1 to 64 of
// a-z and '_' (the leaf binds its bytes; this only keeps garbage out).
func resultName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

func hash32(b []byte, what string) (merkle.Hash, error) {
	var h merkle.Hash
	if len(b) != len(h) {
		return h, fmt.Errorf("%w: %s is %d bytes, want 32", ErrMalformed, what, len(b))
	}
	copy(h[:], b)
	return h, nil
}

// pathMax bounds a path: 256 levels of the state tree, 64 of a list.
const pathMax = merkle.KeyBits

func hashes(hs []proof.Hex, what string) ([]merkle.Hash, error) {
	if len(hs) > pathMax {
		return nil, fmt.Errorf("%w: %s has %d hashes, at most %d", ErrMalformed, what, len(hs), pathMax)
	}
	out := make([]merkle.Hash, len(hs))
	for i, h := range hs {
		v, err := hash32(h, what)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
