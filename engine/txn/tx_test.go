package txn

import (
	"bytes"
	"crypto/sha256"
	"math"
	"strings"
	"testing"

	"settle/engine/codes"
)

// testKey returns the key whose seed is the 32 bytes first, first+1, ...
func testKey(t testing.TB, first byte) Key {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	k, err := KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testPayment returns a signed issued-asset payment with a memo.
func testPayment(t testing.TB) *Tx {
	t.Helper()
	sender, dest, issuer := testKey(t, 0x01), testKey(t, 0x21), testKey(t, 0x41)
	tx := &Tx{
		Type: TypePayment, ChainID: "settle-test", Sender: sender.AccountID(),
		Seq: 1, Fee: 10, LastValid: 500, Memo: []byte("memo"),
		Dest: dest.AccountID(), Asset: Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: issuer.AccountID()},
		Amount: 12345,
	}
	if err := Sign(tx, sender); err != nil {
		t.Fatal(err)
	}
	return tx
}

// rawPayment returns an unsigned-but-well-formed transaction: fields that pass
// Check, with placeholder signatures (Decode does not verify signatures). Tests
// mutate it and encode it with AppendEncoding, which checks nothing.
func rawPayment() *Tx {
	tx := &Tx{
		Type: TypePayment, ChainID: "c", Seq: 1, Fee: 1, LastValid: 1,
		Asset: Native, Amount: 1,
		Sigs: []Sig{{PublicKey: [32]byte{1}, Signature: [64]byte{2}}},
	}
	tx.Sender[0] = 0xaa
	tx.Dest[0] = 0xbb
	return tx
}

func sigs(n int) []Sig {
	s := make([]Sig, n)
	for i := range s {
		s[i].PublicKey[0] = byte(i + 1)
	}
	return s
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s", want)
	}
	var ce *codes.Error
	if !asCoded(err, &ce) {
		t.Fatalf("error %v is not a *codes.Error", err)
	}
	if ce.Code != want {
		t.Fatalf("got code %s (%v), want %s", ce.Code, err, want)
	}
}

func TestRoundTrip(t *testing.T) {
	multi := rawPayment()
	multi.Sigs = sigs(SigCountMax)
	maxMemo := rawPayment()
	maxMemo.Memo = bytes.Repeat([]byte{0xff}, MemoBytesMax)
	maxMemo.ChainID = strings.Repeat("~", ChainIDLenMax)
	maxVals := rawPayment()
	maxVals.Seq, maxVals.LastValid, maxVals.Fee, maxVals.Amount = math.MaxUint64, math.MaxUint64, AmountMax, AmountMax
	zeroFee := rawPayment()
	zeroFee.Fee, zeroFee.Seq, zeroFee.LastValid = 0, 0, 0
	issued := rawPayment()
	issued.Asset = Asset{Code: [3]byte{'E', 'U', '9'}, Issuer: AccountID{19: 1}}
	cases := map[string]*Tx{
		"signed":       testPayment(t),
		"minimal":      rawPayment(),
		"eight sigs":   multi,
		"max sizes":    maxMemo,
		"max values":   maxVals,
		"zero fee":     zeroFee,
		"issued asset": issued,
	}
	for name, tx := range cases {
		t.Run(name, func(t *testing.T) {
			enc := AppendEncoding(nil, tx)
			if len(enc) > TxBytesMax {
				t.Fatalf("encoding is %d bytes, over TxBytesMax", len(enc))
			}
			in := bytes.Clone(enc)
			got, err := Decode(in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if again := AppendEncoding(nil, got); !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, enc)
			}
			if !bytes.Equal(got.Bytes(), enc) || got.Hash() != sha256.Sum256(enc) {
				t.Fatal("Bytes or Hash wrong after Decode")
			}
			if msg := got.SigningMessage(); !bytes.Equal(msg, enc[:len(msg)]) || len(msg) != bodyLen(tx) || enc[len(msg)] != byte(len(tx.Sigs)) {
				t.Fatal("signing message is not the prefix before the signature count")
			}
			var into Tx
			if err := DecodeInto(&into, in); err != nil || into.Hash() != got.Hash() {
				t.Fatalf("DecodeInto: %v", err)
			}
		})
	}
}

func TestSignSortsAndSeals(t *testing.T) {
	k1, k2, k3 := testKey(t, 0x01), testKey(t, 0x21), testKey(t, 0x41)
	tx := rawPayment()
	tx.Sender = k1.AccountID()
	if err := Sign(tx, k3, k1, k2); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(tx.Sigs); i++ {
		if bytes.Compare(tx.Sigs[i-1].PublicKey[:], tx.Sigs[i].PublicKey[:]) >= 0 {
			t.Fatal("signatures not sorted by public key")
		}
	}
	if _, err := Decode(bytes.Clone(tx.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, keys := range [][]Key{nil, {k1, k1}, make([]Key, SigCountMax+1)} {
		if err := Sign(rawPayment(), keys...); err == nil {
			t.Errorf("Sign with %d keys succeeded", len(keys))
		}
	}
	bad := rawPayment()
	bad.Amount = 0
	if err := Sign(bad, k1); codes.Of(err) != codes.AmountZero {
		t.Errorf("Sign of a zero amount: %v", err)
	}
}

// Offsets in the encoding of rawPayment (chain id "c", no memo).
const (
	offVersion  = 8
	offType     = 9
	offChainLen = 10
	offSeq      = 32
	offFee      = 40
	offMemoLen  = 56
	offAmount   = 101
	offSigCount = 109
)

func TestDecodeRejects(t *testing.T) {
	type mut struct {
		tx  func(*Tx)           // change fields before encoding
		raw func([]byte) []byte // change bytes after encoding
	}
	set := func(off int, v ...byte) func([]byte) []byte {
		return func(b []byte) []byte { copy(b[off:], v); return b }
	}
	cases := []struct {
		name string
		m    mut
		want codes.Code
	}{
		{"bad magic", mut{raw: set(0, 'X')}, codes.Malformed},
		{"batch magic", mut{raw: set(0, []byte(BatchMagic)...)}, codes.Malformed},
		{"version 0", mut{raw: set(offVersion, 0)}, codes.Malformed},
		{"version 2", mut{raw: set(offVersion, 2)}, codes.Malformed},
		{"type 0", mut{raw: set(offType, 0)}, codes.UnsupportedType},
		{"type 17", mut{raw: set(offType, 17)}, codes.UnsupportedType},
		{"type 255", mut{raw: set(offType, 255)}, codes.UnsupportedType},
		{"chain id empty", mut{tx: func(tx *Tx) { tx.ChainID = "" }}, codes.Malformed},
		{"chain id 33 bytes", mut{tx: func(tx *Tx) { tx.ChainID = strings.Repeat("a", 33) }}, codes.Malformed},
		{"chain id space", mut{tx: func(tx *Tx) { tx.ChainID = "a b" }}, codes.Malformed},
		{"chain id NUL", mut{tx: func(tx *Tx) { tx.ChainID = "a\x00" }}, codes.Malformed},
		{"chain id DEL", mut{tx: func(tx *Tx) { tx.ChainID = "\x7f" }}, codes.Malformed},
		{"chain id high bit", mut{tx: func(tx *Tx) { tx.ChainID = "é" }}, codes.Malformed},
		{"memo 513 bytes", mut{tx: func(tx *Tx) { tx.Memo = make([]byte, MemoBytesMax+1) }}, codes.Malformed},
		{"memo length past end", mut{raw: set(offMemoLen, 0xff, 0xff)}, codes.Malformed},
		{"zero sender", mut{tx: func(tx *Tx) { tx.Sender = AccountID{} }}, codes.Malformed},
		{"zero destination", mut{tx: func(tx *Tx) { tx.Dest = AccountID{} }}, codes.Malformed},
		{"self payment", mut{tx: func(tx *Tx) { tx.Dest = tx.Sender }}, codes.SelfPayment},
		{"0 signatures", mut{tx: func(tx *Tx) { tx.Sigs = nil }}, codes.Malformed},
		{"9 signatures", mut{tx: func(tx *Tx) { tx.Sigs = sigs(9) }}, codes.Malformed},
		{"sig count 255", mut{raw: set(offSigCount, 255)}, codes.Malformed},
		{"sig count 2, one present", mut{raw: set(offSigCount, 2)}, codes.Malformed},
		{"unsorted signers", mut{tx: func(tx *Tx) { tx.Sigs = sigs(3); tx.Sigs[0], tx.Sigs[2] = tx.Sigs[2], tx.Sigs[0] }}, codes.Malformed},
		{"repeated signer", mut{tx: func(tx *Tx) { tx.Sigs = sigs(2); tx.Sigs[1].PublicKey = tx.Sigs[0].PublicKey }}, codes.Malformed},
		{"amount 0", mut{tx: func(tx *Tx) { tx.Amount = 0 }}, codes.AmountZero},
		{"amount 2^62+1", mut{tx: func(tx *Tx) { tx.Amount = AmountMax + 1 }}, codes.AmountOverflow},
		{"amount max uint64", mut{raw: set(offAmount, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)}, codes.AmountOverflow},
		{"fee 2^62+1", mut{tx: func(tx *Tx) { tx.Fee = AmountMax + 1 }}, codes.AmountOverflow},
		{"fee max uint64", mut{raw: set(offFee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)}, codes.AmountOverflow},
		{"asset STL code", mut{tx: func(tx *Tx) { tx.Asset = Asset{Code: [3]byte{'S', 'T', 'L'}, Issuer: AccountID{1}} }}, codes.Malformed},
		{"asset lower case", mut{tx: func(tx *Tx) { tx.Asset = Asset{Code: [3]byte{'u', 's', 'd'}, Issuer: AccountID{1}} }}, codes.Malformed},
		{"asset short code", mut{tx: func(tx *Tx) { tx.Asset = Asset{Code: [3]byte{'U', 'S'}, Issuer: AccountID{1}} }}, codes.Malformed},
		{"asset punctuation", mut{tx: func(tx *Tx) { tx.Asset = Asset{Code: [3]byte{'U', '$', 'D'}, Issuer: AccountID{1}} }}, codes.Malformed},
		{"asset no issuer", mut{tx: func(tx *Tx) { tx.Asset = Asset{Code: [3]byte{'U', 'S', 'D'}} }}, codes.Malformed},
		{"asset zero code with issuer", mut{tx: func(tx *Tx) { tx.Asset = Asset{Issuer: AccountID{1}} }}, codes.Malformed},
		{"trailing byte", mut{raw: func(b []byte) []byte { return append(b, 0) }}, codes.Malformed},
		{"trailing signature", mut{raw: func(b []byte) []byte { return append(b, make([]byte, sigEntrySize)...) }}, codes.Malformed},
		{"over TxBytesMax", mut{raw: func(b []byte) []byte { return append(b, make([]byte, TxBytesMax)...) }}, codes.Malformed},
		{"empty", mut{raw: func([]byte) []byte { return nil }}, codes.Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx := rawPayment()
			if c.m.tx != nil {
				c.m.tx(tx)
			}
			b := AppendEncoding(nil, tx)
			if c.m.raw != nil {
				b = c.m.raw(b)
			}
			got, err := Decode(b)
			if got != nil {
				t.Error("Decode returned a transaction with an error")
			}
			wantCode(t, err, c.want)
		})
	}
}

func TestDecodeLimitsAccepted(t *testing.T) {
	for name, f := range map[string]func(*Tx){
		"amount 1":          func(tx *Tx) { tx.Amount = 1 },
		"amount 2^62":       func(tx *Tx) { tx.Amount = AmountMax },
		"fee 2^62":          func(tx *Tx) { tx.Fee = AmountMax },
		"chain id 32 bytes": func(tx *Tx) { tx.ChainID = strings.Repeat("!", 32) },
		"memo 512 bytes":    func(tx *Tx) { tx.Memo = make([]byte, MemoBytesMax) },
		"8 signatures":      func(tx *Tx) { tx.Sigs = sigs(8) },
	} {
		tx := rawPayment()
		f(tx)
		if _, err := Decode(AppendEncoding(nil, tx)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Every proper prefix of a valid encoding is rejected as malformed.
func TestDecodeTruncated(t *testing.T) {
	for name, tx := range map[string]*Tx{"signed": testPayment(t), "multi": func() *Tx { tx := rawPayment(); tx.Sigs = sigs(3); return tx }()} {
		enc := AppendEncoding(nil, tx)
		for n := 0; n < len(enc); n++ {
			_, err := Decode(bytes.Clone(enc[:n]))
			if codes.Of(err) != codes.Malformed {
				t.Fatalf("%s truncated to %d of %d bytes: got %v, want malformed", name, n, len(enc), err)
			}
		}
	}
}

func TestCheckOnBuiltTx(t *testing.T) {
	tx := rawPayment()
	tx.Type = 17
	wantCode(t, Check(tx), codes.UnsupportedType)
	tx = rawPayment()
	tx.Sigs = sigs(SigCountMax + 1)
	wantCode(t, Check(tx), codes.Malformed)
}

func TestDecodeAllocs(t *testing.T) {
	raw := rawPayment()
	raw.Asset = Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: AccountID{1}}
	raw.Memo = []byte("memo")
	enc := AppendEncoding(nil, raw)
	var tx Tx
	// The one allocation is the chain id string; memo and signatures alias enc or
	// the Tx's inline storage.
	if n := testing.AllocsPerRun(100, func() { _ = DecodeInto(&tx, enc) }); n > 0 {
		t.Errorf("DecodeInto allocates %.0f times per single-signature transaction, want 0 (the chain id is interned)", n)
	}
}
