package txn_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"settle/engine/codes"
	"settle/engine/txn"
)

// Worked examples of the interbank types (docs/protocol.md §4.1). Each is built
// from the keys of the payment example and signed; TestInterbankExamples checks
// that docs/protocol.md shows each example's full encoding and hash and that
// testdata/interbank_examples.json holds the same values. After a deliberate change:
//
//	go test ./engine/txn -run TestInterbankExamples -update-interbank
var updateInterbank = flag.Bool("update-interbank", false, "rewrite testdata/interbank_examples.json and print the doc blocks")

const interbankJSONPath = "testdata/interbank_examples.json"

// interbankTxs returns one signed example per interbank type, in type order.
func interbankTxs() []*txn.Tx {
	sender, dest, issuer := exampleKeys()
	usd := txn.Asset{Issuer: issuer.AccountID()}
	copy(usd.Code[:], "USD")
	base := func(t txn.Type, from txn.Key, seq uint64) *txn.Tx {
		return &txn.Tx{Type: t, ChainID: "settle-example", Sender: from.AccountID(), Seq: seq, Fee: 12, LastValid: 100000}
	}
	var out []*txn.Tx
	add := func(tx *txn.Tx, keys ...txn.Key) {
		if err := txn.Sign(tx, keys...); err != nil {
			panic(fmt.Sprintf("example %s: %v", tx.Type, err))
		}
		out = append(out, tx)
	}
	tx := base(txn.TypeTrustSet, sender, 1)
	tx.Asset, tx.Limit = usd, 1_000_000_000
	add(tx, sender)
	tx = base(txn.TypeEscrowCreate, sender, 2)
	tx.Dest, tx.Asset, tx.Amount, tx.ExpiryHeight = dest.AccountID(), usd, 2500000, 5000
	tx.Condition = sha256.Sum256([]byte("example fulfillment, 32 bytes.."))
	add(tx, sender)
	tx = base(txn.TypeEscrowFinish, dest, 1)
	tx.Owner, tx.EscrowSeq, tx.Fulfillment = sender.AccountID(), 2, []byte("example fulfillment, 32 bytes..")
	add(tx, dest)
	tx = base(txn.TypeEscrowCancel, dest, 2)
	tx.Owner, tx.EscrowSeq = sender.AccountID(), 2
	add(tx, dest)
	tx = base(txn.TypeMultiLeg, sender, 3)
	tx.Legs = []txn.Leg{{From: sender.AccountID(), To: dest.AccountID(), Asset: txn.Native, Amount: 1000},
		{From: dest.AccountID(), To: sender.AccountID(), Asset: usd, Amount: 100}}
	add(tx, sender, dest)
	tx = base(txn.TypeSignerListSet, sender, 4)
	tx.Quorum = 2
	tx.Signers = []txn.SignerEntry{{PublicKey: dest.PublicKey(), Weight: 1}, {PublicKey: issuer.PublicKey(), Weight: 1}}
	if bytes.Compare(tx.Signers[0].PublicKey[:], tx.Signers[1].PublicKey[:]) > 0 {
		tx.Signers[0], tx.Signers[1] = tx.Signers[1], tx.Signers[0]
	}
	add(tx, sender)
	tx = base(txn.TypeRegularKeySet, sender, 5)
	tx.RegularKey = dest.PublicKey()
	add(tx, sender)
	tx = base(txn.TypeAccountSet, sender, 6)
	tx.SetFlags = txn.AccountFlagDisableMaster
	add(tx, sender)
	tx = base(txn.TypeAssetSet, issuer, 1)
	tx.Asset, tx.Holder, tx.SetFlags = usd, sender.AccountID(), txn.LineFlagFrozen
	add(tx, issuer)
	tx = base(txn.TypeClawback, issuer, 2)
	tx.Holder, tx.Asset, tx.Amount = sender.AccountID(), usd, 500
	add(tx, issuer)
	tx = base(txn.TypeLimitsSet, issuer, 3)
	tx.Holder, tx.Asset, tx.PerTxMax, tx.WindowMax, tx.WindowBlocks = sender.AccountID(), usd, 1_000_000, 10_000_000, 1000
	add(tx, issuer)
	tx = base(txn.TypeQueuedPayment, sender, 7)
	tx.Dest, tx.Asset, tx.Amount, tx.Priority, tx.QueueUntil = dest.AccountID(), usd, 75_000_000, txn.PriorityUrgent, 100500
	add(tx, sender)
	tx = base(txn.TypeQueuedMultiLeg, sender, 8)
	tx.Legs = []txn.Leg{{From: sender.AccountID(), To: dest.AccountID(), Asset: usd, Amount: 40_000_000},
		{From: dest.AccountID(), To: sender.AccountID(), Asset: txn.Native, Amount: 1000}}
	tx.Priority, tx.QueueUntil = txn.PriorityNormal, 100500
	add(tx, sender, dest)
	tx = base(txn.TypeQueuePrioritySet, sender, 9)
	tx.QueueSeq, tx.Priority = 8, txn.PriorityUrgent
	add(tx, sender)
	tx = base(txn.TypeQueueCancel, sender, 10)
	tx.QueueSeq = 7
	add(tx, sender)
	return out
}

type interbankVector struct {
	Type string          `json:"type"`
	Hex  string          `json:"hex"`
	Hash string          `json:"hash"`
	JSON json.RawMessage `json:"json"`
}

func TestInterbankExamples(t *testing.T) {
	var vecs []interbankVector
	for _, tx := range interbankTxs() {
		j, _ := json.Marshal(txn.ToJSON(tx))
		vecs = append(vecs, interbankVector{Type: tx.Type.String(), Hex: hex.EncodeToString(tx.Bytes()), Hash: tx.Hash().String(), JSON: j})
		// Every example decodes, re-encodes byte for byte and survives JSON.
		got, err := txn.Decode(tx.Bytes())
		if err != nil {
			t.Fatalf("%s: decode: %v", tx.Type, err)
		}
		if !bytes.Equal(txn.AppendEncoding(nil, got), tx.Bytes()) {
			t.Errorf("%s: re-encoding differs", tx.Type)
		}
		back, err := txn.ParseJSON(j)
		if err != nil || back.Hash() != tx.Hash() {
			t.Errorf("%s: JSON round trip: %v", tx.Type, err)
		}
	}
	want, _ := json.MarshalIndent(vecs, "", "  ")
	if *updateInterbank {
		if err := os.WriteFile(interbankJSONPath, append(want, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, v := range vecs {
			fmt.Printf("%s\nhex:  %s\nhash: %s\n\n", v.Type, v.Hex, v.Hash)
		}
	}
	have, err := os.ReadFile(interbankJSONPath)
	if err != nil || !bytes.Equal(bytes.TrimSpace(have), want) {
		t.Errorf("%s differs from the code (err %v); rerun with -update-interbank", interbankJSONPath, err)
	}
	doc, err := os.ReadFile(exampleDocPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vecs {
		if !strings.Contains(string(doc), v.Hex) || !strings.Contains(string(doc), v.Hash) {
			t.Errorf("docs/protocol.md lacks the %s example's encoding or hash", v.Type)
		}
	}
}

// TestInterbankRejects mutates valid examples into each stateless rejection.
func TestInterbankRejects(t *testing.T) {
	txs := interbankTxs()
	byType := map[txn.Type]*txn.Tx{}
	for _, tx := range txs {
		byType[tx.Type] = tx
	}
	weak := [32]byte{1} // the identity point: small order
	tests := []struct {
		name string
		typ  txn.Type
		mut  func(tx *txn.Tx)
		want codes.Code
	}{
		{"trust set on native", txn.TypeTrustSet, func(tx *txn.Tx) { tx.Asset = txn.Native }, codes.Malformed},
		{"trust set by the issuer", txn.TypeTrustSet, func(tx *txn.Tx) { tx.Sender = tx.Asset.Issuer }, codes.Malformed},
		{"trust limit overflow", txn.TypeTrustSet, func(tx *txn.Tx) { tx.Limit = txn.AmountMax + 1 }, codes.AmountOverflow},
		{"escrow without expiry", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.ExpiryHeight = 0 }, codes.Malformed},
		{"escrow without any lock", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.Condition = [32]byte{} }, codes.Malformed},
		{"escrow release after expiry", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.ReleaseHeight = tx.ExpiryHeight }, codes.Malformed},
		{"escrow zero amount", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.Amount = 0 }, codes.AmountZero},
		{"escrow to self", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.Dest = tx.Sender }, codes.SelfPayment},
		{"escrow by the issuer", txn.TypeEscrowCreate, func(tx *txn.Tx) { tx.Sender = tx.Asset.Issuer }, codes.Malformed},
		{"finish without owner", txn.TypeEscrowFinish, func(tx *txn.Tx) { tx.Owner = txn.AccountID{} }, codes.Malformed},
		{"fulfillment too long", txn.TypeEscrowFinish, func(tx *txn.Tx) { tx.Fulfillment = make([]byte, 65) }, codes.Malformed},
		{"cancel with fulfillment", txn.TypeEscrowCancel, func(tx *txn.Tx) { tx.Fulfillment = []byte{1} }, codes.Malformed},
		{"no legs", txn.TypeMultiLeg, func(tx *txn.Tx) { tx.Legs = nil }, codes.Malformed},
		{"nine legs", txn.TypeMultiLeg, func(tx *txn.Tx) { tx.Legs = append(tx.Legs, make([]txn.Leg, 7)...) }, codes.Malformed},
		{"leg to itself", txn.TypeMultiLeg, func(tx *txn.Tx) { tx.Legs = []txn.Leg{{From: tx.Sender, To: tx.Sender, Amount: 1}} }, codes.SelfPayment},
		{"leg of zero", txn.TypeMultiLeg, func(tx *txn.Tx) { tx.Legs = []txn.Leg{{From: tx.Sender, To: tx.Owner, Amount: 0}} }, codes.AmountZero},
		{"signer weight zero", txn.TypeSignerListSet, func(tx *txn.Tx) { tx.Signers = append([]txn.SignerEntry(nil), tx.Signers...); tx.Signers[0].Weight = 0 }, codes.Malformed},
		{"quorum unreachable", txn.TypeSignerListSet, func(tx *txn.Tx) { tx.Quorum = 3 }, codes.Malformed},
		{"signers unsorted", txn.TypeSignerListSet, func(tx *txn.Tx) {
			tx.Signers = []txn.SignerEntry{tx.Signers[1], tx.Signers[0]}
		}, codes.Malformed},
		{"weak signer", txn.TypeSignerListSet, func(tx *txn.Tx) { tx.Quorum, tx.Signers = 1, []txn.SignerEntry{{PublicKey: weak, Weight: 1}} }, codes.WeakKey},
		{"weak regular key", txn.TypeRegularKeySet, func(tx *txn.Tx) { tx.RegularKey = weak }, codes.WeakKey},
		{"unknown account flag", txn.TypeAccountSet, func(tx *txn.Tx) { tx.SetFlags = 1 }, codes.Malformed},
		{"flag set and cleared", txn.TypeAccountSet, func(tx *txn.Tx) { tx.ClearFlags = tx.SetFlags }, codes.Malformed},
		{"asset set by a non-issuer", txn.TypeAssetSet, func(tx *txn.Tx) { tx.Sender = tx.Holder }, codes.Malformed},
		{"line flag on the asset", txn.TypeAssetSet, func(tx *txn.Tx) { tx.Holder, tx.SetFlags = txn.AccountID{}, 1<<5 }, codes.Malformed},
		{"clawback zero", txn.TypeClawback, func(tx *txn.Tx) { tx.Amount = 0 }, codes.AmountZero},
		{"clawback from the issuer", txn.TypeClawback, func(tx *txn.Tx) { tx.Holder = tx.Sender }, codes.Malformed},
		{"window too long", txn.TypeLimitsSet, func(tx *txn.Tx) { tx.WindowBlocks = txn.WindowBlocksMax + 1 }, codes.Malformed},
		{"window without length", txn.TypeLimitsSet, func(tx *txn.Tx) { tx.WindowBlocks = 0 }, codes.Malformed},
		{"queued without priority", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.Priority = 0 }, codes.Malformed},
		{"queued priority 3", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.Priority = 3 }, codes.Malformed},
		{"queue until before last valid", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.QueueUntil = tx.LastValid - 1 }, codes.Malformed},
		{"queue until too far", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.QueueUntil = tx.LastValid + txn.QueueBlocksMax + 1 }, codes.Malformed},
		{"queued zero", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.Amount = 0 }, codes.AmountZero},
		{"queued to self", txn.TypeQueuedPayment, func(tx *txn.Tx) { tx.Dest = tx.Sender }, codes.SelfPayment},
		{"queued no legs", txn.TypeQueuedMultiLeg, func(tx *txn.Tx) { tx.Legs = nil }, codes.Malformed},
		{"queued leg to itself", txn.TypeQueuedMultiLeg, func(tx *txn.Tx) { tx.Legs = []txn.Leg{{From: tx.Sender, To: tx.Sender, Amount: 1}} }, codes.SelfPayment},
		{"queued legs without priority", txn.TypeQueuedMultiLeg, func(tx *txn.Tx) { tx.Priority = 0 }, codes.Malformed},
		{"priority set to 0", txn.TypeQueuePrioritySet, func(tx *txn.Tx) { tx.Priority = 0 }, codes.Malformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := *byType[tc.typ]
			tc.mut(&tx)
			if err := txn.Check(&tx); codes.Of(err) != tc.want {
				t.Errorf("check: %v, want %s", err, tc.want)
			}
			// The binary form of the mutated body is refused by Decode too.
			raw := txn.AppendEncoding(nil, &tx)
			if len(raw) <= txn.TxBytesMax && tc.name != "cancel with fulfillment" { // a cancel's encoding has no fulfillment field
				if _, err := txn.Decode(raw); codes.Of(err) != tc.want {
					t.Errorf("decode: %v, want %s", err, tc.want)
				}
			}
		})
	}
}

// TestInterbankTruncation cuts every example at every length: always malformed.
func TestInterbankTruncation(t *testing.T) {
	for _, tx := range interbankTxs() {
		enc := tx.Bytes()
		for n := 0; n < len(enc); n++ {
			if _, err := txn.Decode(enc[:n]); codes.Of(err) != codes.Malformed {
				t.Fatalf("%s truncated to %d: %v", tx.Type, n, err)
			}
		}
	}
}

// TestInterbankJSONRejects: fields of another type, missing required fields.
func TestInterbankJSONRejects(t *testing.T) {
	for _, tc := range []struct {
		name, typ, key, value string
		want                  codes.Code
	}{
		{"amount on a trust set", "trust_set", "amount", `"5"`, codes.UnknownField},
		{"legs on a payment", "trust_set", "legs", `[]`, codes.UnknownField},
		{"quorum beyond u32", "signer_list_set", "quorum", `"4294967296"`, codes.Malformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tx *txn.Tx
			for _, x := range interbankTxs() {
				if x.Type.String() == tc.typ {
					tx = x
				}
			}
			var m map[string]any
			b, _ := json.Marshal(txn.ToJSON(tx))
			_ = json.Unmarshal(b, &m)
			var v any
			_ = json.Unmarshal([]byte(tc.value), &v)
			m[tc.key] = v
			delete(m, "hash")
			b, _ = json.Marshal(m)
			if _, err := txn.ParseJSON(b); codes.Of(err) != tc.want {
				t.Errorf("%v, want %s", err, tc.want)
			}
		})
	}
	j := txn.ToJSON(interbankTxs()[0])
	j.Limit = nil
	if _, err := txn.FromJSON(&j); codes.Of(err) != codes.Malformed {
		t.Errorf("trust set without limit: %v", err)
	}
}
