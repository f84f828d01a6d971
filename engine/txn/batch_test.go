package txn

import (
	"bytes"
	"encoding/binary"
	"testing"

	"settle/engine/codes"
)

func TestBatchRoundTrip(t *testing.T) {
	raws := [][]byte{testPayment(t).Bytes(), {}, {1, 2, 3}, AppendEncoding(nil, rawPayment())}
	b := EncodeBatch(raws)
	prefix := [][]byte{[]byte("kept")}
	got, err := SplitBatch(b, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1+len(raws) || string(got[0]) != "kept" {
		t.Fatalf("SplitBatch did not append to dst: %d entries", len(got))
	}
	for i, r := range raws {
		if !bytes.Equal(got[1+i], r) {
			t.Fatalf("tx %d differs", i)
		}
	}
	// Sub-slices are capped: appending to one never overwrites the next.
	_ = append(got[3], 0xee)
	if !bytes.Equal(got[4], raws[3]) {
		t.Fatal("appending to a split transaction overwrote its neighbour")
	}
	if !bytes.Equal(EncodeBatch(got[1:]), b) {
		t.Fatal("re-encoding differs")
	}
}

func TestBatchMax(t *testing.T) {
	raws := make([][]byte, BatchTxMax)
	got, err := SplitBatch(EncodeBatch(raws), nil)
	if err != nil || len(got) != BatchTxMax {
		t.Fatalf("batch of %d: %d, %v", BatchTxMax, len(got), err)
	}
}

func TestSplitBatchRejects(t *testing.T) {
	good := EncodeBatch([][]byte{{1, 2, 3}, {4}})
	withCount := func(n uint32) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[len(BatchMagic):], n)
		return b
	}
	cases := []struct {
		name string
		in   []byte
		want codes.Code
	}{
		{"empty", nil, codes.Malformed},
		{"magic only", []byte(BatchMagic), codes.Malformed},
		{"bad magic", append([]byte("SETTLETX"), good[len(BatchMagic):]...), codes.Malformed},
		{"count 0", EncodeBatch(nil), codes.Malformed},
		{"count too many", withCount(BatchTxMax + 1), codes.Malformed},
		{"count max uint32", withCount(^uint32(0)), codes.Malformed},
		{"count above content", withCount(3), codes.Malformed},
		{"count below content", withCount(1), codes.Malformed},
		{"trailing byte", append(bytes.Clone(good), 0), codes.Malformed},
		{"too large", make([]byte, BatchBytesMax+1), codes.BodyTooLarge},
	}
	for n := 0; n < len(good); n++ {
		cases = append(cases, struct {
			name string
			in   []byte
			want codes.Code
		}{"truncated", good[:n], codes.Malformed})
	}
	for _, c := range cases {
		got, err := SplitBatch(c.in, nil)
		if got != nil {
			t.Errorf("%s: SplitBatch returned transactions with an error", c.name)
		}
		if codes.Of(err) != c.want {
			t.Errorf("%s (%d bytes): got %v, want %s", c.name, len(c.in), err, c.want)
		}
	}
}
