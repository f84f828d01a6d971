package api

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"

	"settle/engine/codes"
)

// zstdBomb compresses zeroBytes of zeros. streamed hides the content size from
// the frame header (the decoder then only finds out while decoding).
func zstdBomb(t *testing.T, zeroBytes int, streamed bool) []byte {
	t.Helper()
	var out bytes.Buffer
	zeros := make([]byte, 1<<20)
	if !streamed {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
		defer enc.Close()
		return enc.EncodeAll(make([]byte, zeroBytes), nil)
	}
	enc, err := zstd.NewWriter(&out, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < zeroBytes; n += len(zeros) {
		if _, err := enc.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestZstdBomb(t *testing.T) {
	ts := startServer(t, Config{MaxBatchBytes: 1 << 20}, nil)
	const bombBytes = 256 << 20
	for _, tc := range []struct {
		name     string
		streamed bool
		size     int
	}{
		{"content size in header", false, 8 << 20},
		{"content size unknown", true, bombBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bomb := zstdBomb(t, tc.size, tc.streamed)
			if len(bomb) > 1<<20 {
				t.Fatalf("bomb is %d bytes compressed", len(bomb))
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			a := ts.do(t, "POST", "/v1/batch", bomb, map[string]string{"Content-Encoding": "zstd"})
			runtime.ReadMemStats(&after)
			checkError(t, a, 413, codes.BodyTooLarge)
			// The decoder stops near the 1 MiB limit: allow generous slack for the
			// client, the server and the decoder's buffers, far below the bomb.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
				t.Errorf("refusing the bomb allocated %d MiB", alloc>>20)
			}
			if ts.f.submitCalls.Load() != 0 {
				t.Error("Submit called for a bomb")
			}
		})
	}
}

func TestZstdWithinLimit(t *testing.T) {
	ts := startServer(t, Config{MaxBatchBytes: 1 << 20}, nil)
	txs := makeTxs(t, 50)
	enc, _ := zstd.NewWriter(nil)
	body := enc.EncodeAll(batchOf(txs...), nil)
	enc.Close()
	a := ts.do(t, "POST", "/v1/batch", body, map[string]string{"Content-Encoding": "ZSTD"})
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	// Two concatenated frames are one valid body too.
	two := append(append([]byte(nil), body...), body...)
	a = ts.do(t, "POST", "/v1/batch", two, map[string]string{"Content-Encoding": "zstd"})
	checkError(t, a, 400, codes.Malformed) // a batch followed by a second batch: trailing bytes
}
