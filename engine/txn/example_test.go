package txn_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"settle/engine/txn"
)

// The worked example of docs/protocol.md. TestProtocolExample rebuilds it from
// these inputs and checks every value that the document and testdata/example.json
// show, so the document cannot drift from the code. After a deliberate change to
// the encoding, run
//
//	go test ./engine/txn -run TestProtocolExample -update-example
//
// to rewrite testdata/example.json, and paste the blocks the test prints into
// docs/protocol.md.

var updateExample = flag.Bool("update-example", false, "rewrite testdata/example.json from the code")

const (
	exampleDocPath  = "../../docs/protocol.md"
	exampleJSONPath = "testdata/example.json"
)

// seedRange returns the 32-byte seed first, first+1, ..., first+31.
func seedRange(first byte) []byte {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = first + byte(i)
	}
	return s
}

func mustKey(seed []byte) txn.Key {
	k, err := txn.KeyFromSeed(seed)
	if err != nil {
		panic(err)
	}
	return k
}

// exampleKeys are the sender (seed 0x01..0x20), destination (0x21..0x40) and
// issuer (0x41..0x60) of the worked example.
func exampleKeys() (sender, dest, issuer txn.Key) {
	return mustKey(seedRange(0x01)), mustKey(seedRange(0x21)), mustKey(seedRange(0x41))
}

// exampleTx builds and signs the worked example's payment.
func exampleTx() *txn.Tx {
	sender, dest, issuer := exampleKeys()
	tx := &txn.Tx{
		Type:      txn.TypePayment,
		ChainID:   "settle-example",
		Sender:    sender.AccountID(),
		Seq:       7,
		Fee:       12,
		LastValid: 100000,
		Memo:      []byte("INV-0042"),
		Dest:      dest.AccountID(),
		Asset:     txn.Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: issuer.AccountID()},
		Amount:    2500000,
	}
	if err := txn.Sign(tx, sender); err != nil {
		panic(err)
	}
	return tx
}

// exampleVectors are the values testdata/example.json holds.
type exampleVectors struct {
	SenderSeed       string   `json:"sender_seed"`
	SenderPublicKey  string   `json:"sender_public_key"`
	SenderAccountID  string   `json:"sender_account_id"`
	SenderAddress    string   `json:"sender_address"`
	DestSeed         string   `json:"destination_seed"`
	DestPublicKey    string   `json:"destination_public_key"`
	DestAccountID    string   `json:"destination_account_id"`
	DestAddress      string   `json:"destination_address"`
	IssuerSeed       string   `json:"issuer_seed"`
	IssuerPublicKey  string   `json:"issuer_public_key"`
	IssuerAccountID  string   `json:"issuer_account_id"`
	IssuerAddress    string   `json:"issuer_address"`
	SigningMessage   string   `json:"signing_message"`
	Signature        string   `json:"signature"`
	Encoding         string   `json:"encoding"`
	Hash             string   `json:"hash"`
	JSON             txn.JSON `json:"json"`
	EncodingBytesLen int      `json:"encoding_len"`
}

func buildExampleVectors() exampleVectors {
	sender, dest, issuer := exampleKeys()
	tx := exampleTx()
	pub := func(k txn.Key) string { p := k.PublicKey(); return hex.EncodeToString(p[:]) }
	id := func(k txn.Key) string { a := k.AccountID(); return hex.EncodeToString(a[:]) }
	return exampleVectors{
		SenderSeed:       hex.EncodeToString(sender.Seed()),
		SenderPublicKey:  pub(sender),
		SenderAccountID:  id(sender),
		SenderAddress:    sender.AccountID().String(),
		DestSeed:         hex.EncodeToString(dest.Seed()),
		DestPublicKey:    pub(dest),
		DestAccountID:    id(dest),
		DestAddress:      dest.AccountID().String(),
		IssuerSeed:       hex.EncodeToString(issuer.Seed()),
		IssuerPublicKey:  pub(issuer),
		IssuerAccountID:  id(issuer),
		IssuerAddress:    issuer.AccountID().String(),
		SigningMessage:   hex.EncodeToString(tx.SigningMessage()),
		Signature:        hex.EncodeToString(tx.Sigs[0].Signature[:]),
		Encoding:         hex.EncodeToString(tx.Bytes()),
		Hash:             tx.Hash().String(),
		JSON:             txn.ToJSON(tx),
		EncodingBytesLen: len(tx.Bytes()),
	}
}

// exampleLayout renders the annotated encoding table of docs/protocol.md: one row
// per field (long fields wrap at 32 bytes), offset and length in decimal.
func exampleLayout(tx *txn.Tx) string {
	b := tx.Bytes()
	c, m := len(tx.ChainID), len(tx.Memo)
	type field struct {
		name string
		n    int
	}
	fields := []field{
		{"magic \"SETTLETX\"", 8}, {"version", 1}, {"type (1 = payment)", 1},
		{"chain id length", 1}, {"chain id", c}, {"sender account id", 20},
		{"sequence", 8}, {"fee", 8}, {"last valid height", 8},
		{"memo length", 2}, {"memo", m}, {"destination account id", 20},
		{"asset currency code", 3}, {"asset issuer account id", 20}, {"amount", 8},
		{"signature count", 1},
	}
	for range tx.Sigs {
		fields = append(fields, field{"signature 0: public key", 32}, field{"signature 0: signature", 64})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "offset  len  hex%61s field\n", "")
	off := 0
	for _, f := range fields {
		for i := 0; i < f.n || i == 0 && f.n == 0; i += 32 {
			end := min(i+32, f.n)
			if i == 0 {
				fmt.Fprintf(&sb, "%6d  %3d  %-64s %s\n", off, f.n, hex.EncodeToString(b[off:off+end]), f.name)
			} else {
				fmt.Fprintf(&sb, "%6s  %3s  %-64s\n", "", "", hex.EncodeToString(b[off+i:off+end]))
			}
		}
		off += f.n
	}
	if off != len(b) {
		panic(fmt.Sprintf("layout covers %d of %d bytes", off, len(b)))
	}
	return strings.TrimRight(sb.String(), "\n") + "\n"
}

// wrapHex splits a hex string into lines of 64 characters.
func wrapHex(s string) string {
	var sb strings.Builder
	for len(s) > 64 {
		sb.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	sb.WriteString(s + "\n")
	return sb.String()
}

func TestProtocolExample(t *testing.T) {
	got := buildExampleVectors()
	gotJSON, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	gotJSON = append(gotJSON, '\n')
	if *updateExample {
		if err := os.WriteFile(exampleJSONPath, gotJSON, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(exampleJSONPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, gotJSON) {
		t.Errorf("%s differs from the code; rerun with -update-example if the change is deliberate:\n%s", exampleJSONPath, gotJSON)
	}

	// The vectors are self-consistent: the signature verifies over the signing
	// message, the hash is SHA-256 of the encoding, the encoding decodes.
	tx := exampleTx()
	msg, _ := hex.DecodeString(got.SigningMessage)
	sig, _ := hex.DecodeString(got.Signature)
	pub, _ := hex.DecodeString(got.SenderPublicKey)
	if !ed25519.Verify(pub, msg, sig) {
		t.Error("example signature does not verify")
	}
	enc, _ := hex.DecodeString(got.Encoding)
	if sum := sha256.Sum256(enc); hex.EncodeToString(sum[:]) != got.Hash {
		t.Error("example hash is not SHA-256 of the encoding")
	}
	if !bytes.HasPrefix(enc, msg) || enc[len(msg)] != 1 {
		t.Error("signing message is not the encoding up to the signature count")
	}
	if _, err := txn.Decode(enc); err != nil {
		t.Errorf("example does not decode: %v", err)
	}
	if idSum := sha256.Sum256(append([]byte("settle/account/v1"), pub...)); hex.EncodeToString(idSum[:20]) != got.SenderAccountID {
		t.Error("sender account id is not the documented derivation")
	}

	doc, err := os.ReadFile(exampleDocPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{
		"annotated encoding": exampleLayout(tx),
		"signing message":    wrapHex(got.SigningMessage),
		"full encoding":      wrapHex(got.Encoding),
		"signature":          wrapHex(got.Signature),
	}
	jsonForm, _ := json.MarshalIndent(got.JSON, "", "  ")
	blocks["JSON form"] = string(jsonForm) + "\n"
	for name, block := range blocks {
		if !bytes.Contains(doc, []byte("```\n"+block+"```")) {
			t.Errorf("%s does not contain the example's %s as a code block; it should read:\n```\n%s```", exampleDocPath, name, block)
		}
	}
	values := map[string]string{
		"sender seed": got.SenderSeed, "sender public key": got.SenderPublicKey,
		"sender account id": got.SenderAccountID, "sender address": got.SenderAddress,
		"destination seed": got.DestSeed, "destination public key": got.DestPublicKey,
		"destination account id": got.DestAccountID, "destination address": got.DestAddress,
		"issuer seed": got.IssuerSeed, "issuer public key": got.IssuerPublicKey,
		"issuer account id": got.IssuerAccountID, "issuer address": got.IssuerAddress,
		"hash": got.Hash,
	}
	for name, v := range values {
		if !bytes.Contains(doc, []byte("`"+v+"`")) {
			t.Errorf("%s does not show the example's %s `%s`", exampleDocPath, name, v)
		}
	}
}

// ExampleSign signs the worked example of docs/protocol.md.
func ExampleSign() {
	sender, dest, _ := exampleKeys()
	tx := &txn.Tx{
		Type:      txn.TypePayment,
		ChainID:   "settle-example",
		Sender:    sender.AccountID(),
		Seq:       7,
		Fee:       12,
		LastValid: 100000,
		Dest:      dest.AccountID(),
		Asset:     txn.Native,
		Amount:    1000,
	}
	if err := txn.Sign(tx, sender); err != nil {
		fmt.Println(err)
		return
	}
	back, err := txn.Decode(tx.Bytes())
	fmt.Println(len(tx.Bytes()), err, back.Hash() == tx.Hash())
	// Output: 219 <nil> true
}

// ExampleParseAddress reads the text form of an account id.
func ExampleParseAddress() {
	sender, _, _ := exampleKeys()
	id, err := txn.ParseAddress(sender.AccountID().String())
	fmt.Println(err, id == sender.AccountID(), len(sender.AccountID().String()) == txn.AddressLen)
	if _, err := txn.ParseAddress("stl" + strings.Repeat("a", txn.AddressLen-3)); err != nil {
		fmt.Println("rejected")
	}
	// Output:
	// <nil> true true
	// rejected
}
