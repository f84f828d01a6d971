// Package proof defines the proofs a validator serves (docs/api.md, "Proofs")
// and builds them from its store and ledger: a transaction's inclusion with its
// result, and an account's state at a height, each anchored in a certified
// block header. Checking them is consensus/lightclient's job, which trusts
// nothing but the genesis; docs/protocol.md ("Proofs") specifies the bytes for
// a verifier in any language.
package proof

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Hex is a byte string that travels as lowercase hex in JSON.
type Hex []byte

// MarshalJSON writes the hex string.
func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

// UnmarshalJSON reads a hex string strictly (even length, hex digits only).
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a hex string: %w", err)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex string: %w", err)
	}
	*h = v
	return nil
}

// Step is one executed height's two roots.
type Step struct {
	Height    uint64 `json:"height"`
	StateRoot Hex    `json:"state_root"`
	TxRoot    Hex    `json:"tx_root"`
}

// Anchor ties a height's roots to a certified block: folding the steps into
// the state hash chain from PrevStateHash gives the state hash that Header
// claims for its exec height, and Certificate is a quorum certificate on
// Header.
type Anchor struct {
	// PrevStateHash is the state hash before Steps[0].Height.
	PrevStateHash Hex `json:"prev_state_hash"`
	// Steps run from the proven height up to the header's exec height, one per
	// height.
	Steps []Step `json:"steps"`
	// Header is a consensus block header (docs/consensus.md, "Wire formats").
	Header Hex `json:"header"`
	// Certificate is the QC on Header, in the consensus QC encoding.
	Certificate Hex `json:"certificate"`
}

// Tx proves that a transaction was executed at Height with the given result.
type Tx struct {
	ChainID string `json:"chain_id"`
	Height  uint64 `json:"height"`
	Index   uint32 `json:"index"`
	Count   uint32 `json:"count"` // the block's transaction count
	TxHash  Hex    `json:"tx_hash"`
	Fee     uint64 `json:"fee"`
	Result  string `json:"result"`
	Leg     uint8  `json:"leg"`
	// Path is the RFC 6962 audit path from the receipt's leaf to the
	// transaction root of Height (Steps[0].TxRoot).
	Path []Hex `json:"path"`
	// Tx is the signed transaction itself (its hash is TxHash).
	Tx Hex `json:"tx"`
	Anchor
}

// Leaf is a state-tree leaf.
type Leaf struct {
	Key       Hex `json:"key"`
	ValueHash Hex `json:"value_hash"`
}

// Account proves an account's state at Height, or that it does not exist.
type Account struct {
	ChainID string `json:"chain_id"`
	Height  uint64 `json:"height"`
	Address string `json:"address"`
	// Key is the account's state-tree key; Value its storage encoding, empty
	// when the account does not exist.
	Key   Hex `json:"key"`
	Value Hex `json:"value"`
	// Leaf and Siblings are the state-tree path (merkle.StateProof) to Key
	// under Steps[0].StateRoot.
	Leaf     *Leaf `json:"leaf"`
	Siblings []Hex `json:"siblings"`
	Anchor
}
