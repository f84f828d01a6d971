package lightclient

import (
	"errors"
	"fmt"

	"settle/engine/proof"
	"settle/engine/txn"
)

// Vectors is the test-vector file format (testdata/proofs.json): a network's
// trust and proofs with the outcome each must get. A verifier in another
// language can check itself against it (docs/protocol.md, "Proofs").
type Vectors struct {
	ChainID    string      `json:"chain_id"`
	Validators []proof.Hex `json:"validators"` // Ed25519 public keys, genesis order
	Cases      []Vector    `json:"cases"`
}

// Vector is one proof and its expected outcome.
type Vector struct {
	Name string `json:"name"`
	// Want is "ok" or the refusal: malformed, wrong_chain, certificate,
	// anchor, path or content.
	Want string `json:"want"`
	// TrustChainID, when set, is the chain id the verifier trusts instead of
	// the file's (with the same validators).
	TrustChainID string `json:"trust_chain_id,omitempty"`
	// TxHash is the transaction asked about (for Tx), Address the account
	// (for Account).
	TxHash  proof.Hex      `json:"tx_hash,omitempty"`
	Tx      *proof.Tx      `json:"tx_proof,omitempty"`
	Address string         `json:"address,omitempty"`
	Account *proof.Account `json:"account_proof,omitempty"`
}

var refusals = map[string]error{"malformed": ErrMalformed, "wrong_chain": ErrWrongChain, "certificate": ErrCertificate,
	"anchor": ErrAnchor, "path": ErrPath, "content": ErrContent}

// Trust is the file's trust.
func (vs *Vectors) Trust() Trust {
	t := Trust{ChainID: vs.ChainID}
	for _, k := range vs.Validators {
		t.Validators = append(t.Validators, k)
	}
	return t
}

// Check verifies the case under t (with TrustChainID applied) and reports
// whether the outcome is the one wanted.
func (v *Vector) Check(t Trust) error {
	if v.TrustChainID != "" {
		t.ChainID = v.TrustChainID
	}
	var err error
	switch {
	case v.Tx != nil:
		var want txn.Hash
		copy(want[:], v.TxHash)
		_, err = t.VerifyTx(v.Tx, want)
	case v.Account != nil:
		id, perr := txn.ParseAddress(v.Address)
		if perr != nil {
			return fmt.Errorf("case address: %w", perr)
		}
		_, err = t.VerifyAccount(v.Account, id)
	default:
		return errors.New("case carries no proof")
	}
	if v.Want == "ok" {
		if err != nil {
			return fmt.Errorf("refused (%v), want accepted", err)
		}
		return nil
	}
	want, ok := refusals[v.Want]
	switch {
	case !ok:
		return fmt.Errorf("unknown outcome %q", v.Want)
	case err == nil:
		return fmt.Errorf("accepted, want refused as %s", v.Want)
	case !errors.Is(err, want):
		return fmt.Errorf("refused as %v, want %s", err, v.Want)
	}
	return nil
}
