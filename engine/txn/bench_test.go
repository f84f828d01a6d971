package txn

import (
	"encoding/json"
	"testing"
)

// go test -run '^$' -bench . -benchmem ./engine/txn

func BenchmarkDecode(b *testing.B) {
	enc := testPayment(b).Bytes()
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeInto(b *testing.B) {
	enc := testPayment(b).Bytes()
	var tx Tx
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeInto(&tx, enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	tx := testPayment(b)
	buf := make([]byte, 0, TxBytesMax)
	b.SetBytes(int64(len(tx.Bytes())))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncoding(buf[:0], tx)
	}
}

func BenchmarkSign(b *testing.B) {
	key := testKey(b, 0x01)
	tx := testPayment(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := Sign(tx, key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	j, err := json.Marshal(ToJSON(testPayment(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(j)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseJSON(j); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitBatch(b *testing.B) {
	raw := testPayment(b).Bytes()
	raws := make([][]byte, 1024)
	for i := range raws {
		raws[i] = raw
	}
	batch := EncodeBatch(raws)
	dst := make([][]byte, 0, len(raws))
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = SplitBatch(batch, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
