package txn

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"settle/engine/codes"
)

// The fuzz targets run their seeds (f.Add and testdata/fuzz/<target>/) as unit
// tests under plain `go test`. To fuzz for longer, one target at a time:
//
//	go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 5m ./engine/txn
//
// Any crasher is saved under testdata/fuzz/<target>/ and becomes a regression test.

// coded fails the test if err is not a *codes.Error.
func coded(t *testing.T, err error) {
	t.Helper()
	var ce *codes.Error
	if err != nil && !asCoded(err, &ce) {
		t.Fatalf("error %v is not a *codes.Error", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(testPayment(f).Bytes())
	f.Add(AppendEncoding(nil, rawPayment()))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		tx, err := Decode(in)
		coded(t, err)
		if !bytes.Equal(in, orig) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			return
		}
		// Canonical: the only encoding of the decoded transaction is the input.
		if enc := AppendEncoding(nil, tx); !bytes.Equal(enc, in) {
			t.Fatalf("decode→encode differs:\n in %x\nout %x", in, enc)
		}
		if tx.Hash() != sha256.Sum256(in) || !bytes.Equal(tx.Bytes(), in) {
			t.Fatal("Hash or Bytes wrong")
		}
		msg := tx.SigningMessage()
		if !bytes.HasPrefix(in, msg) || int(in[len(msg)]) != len(tx.Sigs) {
			t.Fatal("signing message is not the prefix before the signature count")
		}
		// Every valid binary transaction has a JSON form that reads back to it.
		j, err := json.Marshal(ToJSON(tx))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseJSON(j)
		if err != nil {
			t.Fatalf("JSON form %s does not parse: %v", j, err)
		}
		if !bytes.Equal(back.Bytes(), in) {
			t.Fatalf("JSON round trip differs:\n in %x\nout %x", in, back.Bytes())
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add(marshalTx(f, testPayment(f)))
	f.Add([]byte(`{"type":"payment","amount":"-1"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		tx, err := ParseJSON(in)
		coded(t, err)
		if err != nil {
			return
		}
		bin, err := Decode(bytes.Clone(tx.Bytes()))
		if err != nil {
			t.Fatalf("the binary form of parsed JSON does not decode: %v", err)
		}
		if bin.Hash() != tx.Hash() || !bytes.Equal(AppendEncoding(nil, tx), tx.Bytes()) {
			t.Fatal("JSON and binary forms disagree")
		}
		again, err := ParseJSON(marshalTx(t, tx))
		if err != nil || again.Hash() != tx.Hash() {
			t.Fatalf("ToJSON does not read back: %v", err)
		}
	})
}

func FuzzSplitBatch(f *testing.F) {
	f.Add(EncodeBatch([][]byte{testPayment(f).Bytes(), {1, 2}}))
	f.Add(EncodeBatch(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		raws, err := SplitBatch(in, nil)
		coded(t, err)
		if err != nil {
			return
		}
		if len(raws) == 0 || len(raws) > BatchTxMax {
			t.Fatalf("%d transactions accepted", len(raws))
		}
		if enc := EncodeBatch(raws); !bytes.Equal(enc, in) {
			t.Fatal("split→encode differs")
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, id := range testIDs(3) {
		f.Add(id.String())
	}
	f.Add("stl")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseAddress(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("ParseAddress(%q) accepted a non-canonical form of %s", s, id)
		}
	})
}
