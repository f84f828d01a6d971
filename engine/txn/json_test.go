package txn

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"settle/engine/codes"
)

func marshalTx(t testing.TB, tx *Tx) []byte {
	t.Helper()
	b, err := json.Marshal(ToJSON(tx))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJSONBinaryEquivalence(t *testing.T) {
	maxVals := rawPayment()
	maxVals.Seq, maxVals.LastValid = ^uint64(0), ^uint64(0)
	maxVals.Fee, maxVals.Amount = AmountMax, AmountMax
	multi := rawPayment()
	multi.Sigs = sigs(SigCountMax)
	for name, tx := range map[string]*Tx{"signed": testPayment(t), "minimal": rawPayment(), "max values": maxVals, "multi": multi} {
		t.Run(name, func(t *testing.T) {
			bin, err := Decode(AppendEncoding(nil, tx))
			if err != nil {
				t.Fatal(err)
			}
			fromJSON, err := ParseJSON(marshalTx(t, bin))
			if err != nil {
				t.Fatalf("ParseJSON of ToJSON: %v", err)
			}
			if !bytes.Equal(fromJSON.Bytes(), bin.Bytes()) || fromJSON.Hash() != bin.Hash() {
				t.Fatalf("JSON and binary forms differ:\n%x\n%x", fromJSON.Bytes(), bin.Bytes())
			}
			if !bytes.Equal(fromJSON.SigningMessage(), bin.SigningMessage()) {
				t.Fatal("signing messages differ")
			}
		})
	}
}

// jsonWith returns the JSON form of testPayment with one top-level field
// replaced by a raw JSON value (or removed when raw is "").
func jsonWith(t *testing.T, field, raw string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(marshalTx(t, testPayment(t)), &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseJSONRejects(t *testing.T) {
	good := string(marshalTx(t, testPayment(t)))
	sig := ToJSON(testPayment(t)).Signatures[0]
	cases := []struct {
		name string
		in   []byte
		want codes.Code
	}{
		{"unknown field", jsonWith(t, "colour", `"red"`), codes.UnknownField},
		{"unknown signature field", jsonWith(t, "signatures", `[{"public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`","x":1}]`), codes.UnknownField},
		{"negative string", jsonWith(t, "amount", `"-1"`), codes.AmountNegative},
		{"negative number", jsonWith(t, "amount", `-5`), codes.AmountNegative},
		{"negative fee", jsonWith(t, "fee", `"-0"`), codes.AmountNegative},
		{"amount 2^62+1", jsonWith(t, "amount", `"4611686018427387905"`), codes.AmountOverflow},
		{"amount 2^64", jsonWith(t, "amount", `"18446744073709551616"`), codes.AmountOverflow},
		{"amount huge number", jsonWith(t, "amount", `99999999999999999999999999`), codes.AmountOverflow},
		{"fee 2^62+1", jsonWith(t, "fee", `"4611686018427387905"`), codes.AmountOverflow},
		{"sequence 2^64", jsonWith(t, "sequence", `"18446744073709551616"`), codes.AmountOverflow},
		{"amount zero", jsonWith(t, "amount", `"0"`), codes.AmountZero},
		{"fraction string", jsonWith(t, "amount", `"1.5"`), codes.Malformed},
		{"fraction number", jsonWith(t, "amount", `1.5`), codes.Malformed},
		{"integral fraction", jsonWith(t, "amount", `1.0`), codes.Malformed},
		{"exponent number", jsonWith(t, "amount", `1e3`), codes.Malformed},
		{"exponent string", jsonWith(t, "amount", `"1E3"`), codes.Malformed},
		{"leading zero", jsonWith(t, "amount", `"0100"`), codes.Malformed},
		{"plus sign", jsonWith(t, "amount", `"+100"`), codes.Malformed},
		{"empty string", jsonWith(t, "amount", `""`), codes.Malformed},
		{"spaces in string", jsonWith(t, "amount", `" 100"`), codes.Malformed},
		{"null amount", jsonWith(t, "amount", `null`), codes.Malformed},
		{"bool amount", jsonWith(t, "amount", `true`), codes.Malformed},
		{"hex amount", jsonWith(t, "amount", `"0x10"`), codes.Malformed},
		{"hash mismatch", jsonWith(t, "hash", `"`+strings.Repeat("00", 32)+`"`), codes.Malformed},
		{"unknown type", jsonWith(t, "type", `"escrow_release"`), codes.UnsupportedType},
		{"missing type", jsonWith(t, "type", ""), codes.UnsupportedType},
		{"bad sender checksum", jsonWith(t, "sender", `"`+flipLast(ToJSON(testPayment(t)).Sender)+`"`), codes.Malformed},
		{"missing destination", jsonWith(t, "destination", ""), codes.Malformed},
		{"bad asset", jsonWith(t, "asset", `"USD"`), codes.Malformed},
		{"lower-case asset", jsonWith(t, "asset", `"usd/`+ToJSON(testPayment(t)).Sender+`"`), codes.Malformed},
		{"self payment", jsonWith(t, "destination", `"`+ToJSON(testPayment(t)).Sender+`"`), codes.SelfPayment},
		{"memo not hex", jsonWith(t, "memo", `"zz"`), codes.Malformed},
		{"memo odd length", jsonWith(t, "memo", `"abc"`), codes.Malformed},
		{"memo too long", jsonWith(t, "memo", `"`+strings.Repeat("00", MemoBytesMax+1)+`"`), codes.Malformed},
		{"chain id empty", jsonWith(t, "chain_id", `""`), codes.Malformed},
		{"no signatures", jsonWith(t, "signatures", `[]`), codes.Malformed},
		{"short public key", jsonWith(t, "signatures", `[{"public_key":"00","signature":"`+sig.Signature+`"}]`), codes.Malformed},
		{"short signature", jsonWith(t, "signatures", `[{"public_key":"`+sig.PublicKey+`","signature":"00"}]`), codes.Malformed},
		{"public key not hex", jsonWith(t, "signatures", `[{"public_key":"`+strings.Repeat("g", 64)+`","signature":"`+sig.Signature+`"}]`), codes.Malformed},
		{"nine signatures", jsonWith(t, "signatures", "["+strings.Repeat(`{"public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"},`, 8)+`{"public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"}]`), codes.Malformed},
		{"repeated signer", jsonWith(t, "signatures", `[{"public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"},{"public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"}]`), codes.Malformed},
		{"case-folded field", jsonWith(t, "AMOUNT", `"5"`), codes.UnknownField},
		{"capitalised field", []byte(strings.Replace(good, `"fee"`, `"Fee"`, 1)), codes.UnknownField},
		{"case-folded signature field", jsonWith(t, "signatures", `[{"Public_Key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"}]`), codes.UnknownField},
		{"repeated field", []byte(strings.Replace(good, `"fee":"10"`, `"fee":"10","fee":"11"`, 1)), codes.Malformed},
		{"repeated signature field", jsonWith(t, "signatures", `[{"public_key":"`+sig.PublicKey+`","public_key":"`+sig.PublicKey+`","signature":"`+sig.Signature+`"}]`), codes.Malformed},
		{"trailing object", []byte(good + ` {}`), codes.Malformed},
		{"trailing brace", []byte(good + `}`), codes.Malformed},
		{"trailing bracket", []byte(good + `]`), codes.Malformed},
		{"trailing garbage", []byte(good + `x`), codes.Malformed},
		{"truncated", []byte(good[:len(good)-1]), codes.Malformed},
		{"array", []byte(`[]`), codes.Malformed},
		{"empty", nil, codes.Malformed},
		{"too large", []byte(good + strings.Repeat(" ", 4*TxBytesMax)), codes.BodyTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tx, err := ParseJSON(c.in)
			if tx != nil {
				t.Error("ParseJSON returned a transaction with an error")
			}
			wantCode(t, err, c.want)
		})
	}
}

func TestParseJSONAccepts(t *testing.T) {
	want := testPayment(t)
	for _, c := range []struct{ name, field, raw string }{
		{"number amount", "amount", `12345`},
		{"no hash", "hash", ""},
		{"sequence as number", "sequence", `1`},
		{"whitespace around number", "amount", " 12345 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, err := ParseJSON(jsonWith(t, c.field, c.raw))
			if err != nil {
				t.Fatal(err)
			}
			if tx.Hash() != want.Hash() {
				t.Fatal("parsed a different transaction")
			}
		})
	}
	// Trailing whitespace is not trailing data.
	if _, err := ParseJSON(append(marshalTx(t, want), " \n\t"...)); err != nil {
		t.Fatalf("trailing whitespace: %v", err)
	}
}

func TestParseUint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		code codes.Code
	}{
		{"0", 0, codes.Success},
		{"1", 1, codes.Success},
		{"4611686018427387904", AmountMax, codes.Success},
		{"4611686018427387905", 0, codes.AmountOverflow},
		{"18446744073709551615", 0, codes.AmountOverflow},
		{"-1", 0, codes.AmountNegative},
		{"", 0, codes.Malformed},
		{"00", 0, codes.Malformed},
		{"1_000", 0, codes.Malformed},
	} {
		got, err := ParseUint(c.in)
		if codes.Of(err) != c.code || got != c.want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d, %s", c.in, got, err, c.want, c.code)
		}
	}
}

func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('a')
	if last == 'a' {
		repl = 'b'
	}
	return s[:len(s)-1] + string(repl)
}
