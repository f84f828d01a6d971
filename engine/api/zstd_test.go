package api

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"runtime"
	"sync"
	"testing"
	"time"

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
	ts := startServer(t, Config{BatchBytesMax: 1 << 20}, nil)
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
	ts := startServer(t, Config{BatchBytesMax: 1 << 20}, nil)
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

// rleFrame hand-writes a zstd frame of RLE blocks (4 bytes per 128 KiB of
// zeros): the cheapest bomb there is. declare puts the content size in the
// header.
func rleFrame(size int, declare bool) []byte {
	f := binary.LittleEndian.AppendUint32(nil, zstdFrameMagic)
	if declare {
		f = append(f, 3<<6, 10<<3) // 8-byte content size, 1 MiB window
		f = binary.LittleEndian.AppendUint64(f, uint64(size))
	} else {
		f = append(f, 0, 10<<3) // no content size, 1 MiB window
	}
	for size > 0 {
		n := min(size, zstdBlockSizeMax)
		size -= n
		h := uint32(1<<1) | uint32(n)<<3 // RLE
		if size == 0 {
			h |= 1 // last
		}
		f = append(f, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	return f
}

// compressible returns n bytes that compress well but are not runs of one byte.
func compressible(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Intn(4))
	}
	return b
}

// zstdBombs are bodies of every shape that decompress past limit (or lie about
// their size), each a few KiB at most.
func zstdBombs(t *testing.T, limit int) map[string][]byte {
	t.Helper()
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false))
	defer enc.Close()
	// Declares limit bytes (a 1 KiB pattern over and over: a few bytes per
	// block), patched to declare less.
	lying := enc.EncodeAll(bytes.Repeat(compressible(1<<10, 1), limit>>10), nil)
	fcsAt := 5 // after the magic and the descriptor, and the window byte if any
	if lying[4]&(1<<5) == 0 {
		fcsAt++
	}
	if lying[4]>>6 != 2 || lying[4]&3 != 0 { // 4-byte content size, no dictionary
		t.Fatalf("unexpected frame header % x", lying[:10])
	}
	binary.LittleEndian.PutUint32(lying[fcsAt:], uint32(limit-64<<10))
	under := zstdBomb(t, limit-512<<10, true)
	bombs := map[string][]byte{
		"two RLE frames, no declared size":      append(rleFrame(limit-512<<10, false), rleFrame(limit-512<<10, false)...),
		"one RLE frame 16× the limit":           rleFrame(16*limit, false),
		"compressed zeros 16× the limit":        zstdBomb(t, 16*limit, true),
		"two compressed frames under the limit": append(append([]byte(nil), under...), under...),
		"declares less than it holds":           lying,
		"declares twice the limit":              rleFrame(2*limit, true),
		"RLE frame after a compressed one":      append(zstdBomb(t, limit-256<<10, true), rleFrame(limit, false)...),
	}
	for name, b := range bombs {
		if len(b) > 64<<10 {
			t.Fatalf("bomb %q is %d bytes compressed", name, len(b))
		}
	}
	return bombs
}

// TestZstdBombsConcurrently posts zstd bombs on 64 connections at once
// (SubmitInFlightMax: every one is decoded) and measures the memory the node
// spends refusing them: first the shape reported against the unbounded decoder
// (two frames of RLE blocks just under the limit, no declared size: 64 of them
// took a node from 850 MB to 5.2 GB), then every shape mixed.
//
// The target is 64 × (BatchBytesMax + 1 MiB). The design does better: decodes
// run ZstdDecodesMax at a time, each holding at most about 2¼ × BatchBytesMax
// (the output, plus a window or a lying frame's regrowth), so the rise is
// bounded by that whatever the number of connections: doubled for what the
// collector has not reclaimed yet, plus 64 MiB for everything else. The
// unbounded decoder's rise grew with the connections instead (with these
// settings: +1.4 to +2.3 GB for the reported shape, +630 to +790 MiB for every
// shape).
func TestZstdBombsConcurrently(t *testing.T) {
	const (
		limit   = 8 << 20
		clients = 64
		decodes = 2
	)
	ts := startServer(t, Config{BatchBytesMax: limit, SubmitInFlightMax: clients, ZstdDecodesMax: decodes}, nil)
	bombs := zstdBombs(t, limit)
	names := make([]string, 0, len(bombs))
	for n := range bombs {
		names = append(names, n)
	}
	reported := "two RLE frames, no declared size"
	for _, phase := range []struct {
		name  string
		shape func(i int) string
	}{
		{"the reported shape", func(int) string { return reported }},
		{"every shape", func(i int) string { return names[i%len(names)] }},
	} {
		rise := zstdBombRun(t, ts, clients, func(i int) (string, []byte) { n := phase.shape(i); return n, bombs[n] })
		t.Logf("%s: %d concurrent zstd bombs, BatchBytesMax %d MiB, ZstdDecodesMax %d: %v",
			phase.name, clients, limit>>20, decodes, rise)
		rise.check(t, clients*(limit+1<<20), phase.name+": target")
		rise.check(t, decodes*2*(9*limit/4)+64<<20, phase.name+": ZstdDecodesMax decodes at a time")
	}
	if ts.f.submitCalls.Load() != 0 {
		t.Error("Submit called for a bomb")
	}
	if !waitFor(2*time.Second, func() bool { return ts.s.bodies.used.Load() == 0 }) {
		t.Errorf("body budget holds %d bytes after the bombs", ts.s.bodies.used.Load())
	}
}

// zstdBombRun posts clients bombs at once, checks that each is refused, and
// returns the memory the server spent.
func zstdBombRun(t *testing.T, ts *testServer, clients int, bomb func(i int) (string, []byte)) memRise {
	conns := make([]*rawClient, clients)
	for i := range conns {
		conns[i] = dialRaw(t, ts)
	}
	type result struct {
		name string
		a    answer
		err  error
	}
	results := make(chan result, clients)
	start := make(chan struct{})
	rise := measureRise(t, func() {
		var wg sync.WaitGroup
		for i, rc := range conns {
			name, body := bomb(i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := rc.sendHead("POST", "/v1/batch", len(body), "Content-Encoding: zstd"); err != nil {
					results <- result{name, answer{}, err}
					return
				}
				if _, err := rc.write(body, 5*time.Second); err != nil {
					results <- result{name, answer{}, err}
					return
				}
				a, err := rc.answer(20 * time.Second)
				results <- result{name, a, err}
			}()
		}
		close(start)
		wg.Wait()
	})
	close(results)
	for r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		want, code := 413, codes.BodyTooLarge
		if r.name == "declares less than it holds" {
			want, code = 400, codes.Malformed
		}
		if r.a.status != want {
			t.Errorf("%s: %d %s, want %d", r.name, r.a.status, r.a.body, want)
			continue
		}
		checkError(t, r.a, want, code)
	}
	return rise
}

// zstdSamples are valid zstd bodies of many encoders' shapes, and corruptions
// of them, for checking zstdBounds against the decoder itself.
func zstdSamples(t testing.TB) [][]byte {
	var out [][]byte
	data := [][]byte{{}, []byte("x"), compressible(1000, 2), compressible(200<<10, 3), make([]byte, 300<<10), bytes.Repeat([]byte("abc"), 50_000)}
	opts := [][]zstd.EOption{
		{zstd.WithEncoderLevel(zstd.SpeedFastest)},
		{zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderCRC(false)},
		{zstd.WithSingleSegment(true)},
		{zstd.WithWindowSize(1 << 10), zstd.WithSingleSegment(false)},
		{zstd.WithNoEntropyCompression(true), zstd.WithZeroFrames(true)},
	}
	for _, o := range opts {
		enc, err := zstd.NewWriter(nil, o...)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range data {
			out = append(out, enc.EncodeAll(d, nil))
			var buf bytes.Buffer // streamed: no content size in the header
			enc.Reset(&buf)
			enc.Write(d)
			enc.Close()
			out = append(out, append([]byte(nil), buf.Bytes()...))
		}
		enc.Close()
	}
	skippable := binary.LittleEndian.AppendUint32(nil, zstdSkippableMagic|3)
	skippable = binary.LittleEndian.AppendUint32(skippable, 5)
	skippable = append(skippable, "hello"...)
	out = append(out, append(append(append([]byte(nil), skippable...), out[4]...), out[9]...))
	out = append(out, rleFrame(300<<10, true), rleFrame(300<<10, false))
	// Corruptions: truncations and flipped bytes of each.
	rng := rand.New(rand.NewSource(4))
	n := len(out)
	for _, b := range out[:n] {
		if len(b) < 2 {
			continue
		}
		out = append(out, b[:rng.Intn(len(b))])
		for range 3 {
			c := append([]byte(nil), b...)
			c[rng.Intn(len(c))] ^= byte(1 + rng.Intn(255))
			out = append(out, c)
		}
	}
	return out
}

// checkZstdBounds checks zstdBounds against an unbounded decoder: whatever the
// decoder decodes, the bounds must admit.
func checkZstdBounds(t *testing.T, dec *zstd.Decoder, in []byte) {
	lo, hi, err := zstdBounds(in)
	out, derr := dec.DecodeAll(in, nil)
	if derr != nil {
		return // the decoder refuses it too; nothing to agree on
	}
	if err != nil {
		t.Fatalf("zstdBounds refuses %d bytes the decoder decodes to %d: %v", len(in), len(out), err)
	}
	if n := uint64(len(out)); n < lo || n > hi {
		t.Fatalf("%d bytes decode to %d, outside the bounds [%d, %d]", len(in), n, lo, hi)
	}
}

func newReferenceDecoder(t testing.TB) *zstd.Decoder {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return dec
}

// FuzzZstdBounds checks zstdBounds against the decoder; its seeds (valid
// bodies of many encoders' shapes, and corruptions of them) run with every
// go test.
func FuzzZstdBounds(f *testing.F) {
	for _, in := range zstdSamples(f) {
		f.Add(in)
	}
	dec := newReferenceDecoder(f)
	f.Fuzz(func(t *testing.T, in []byte) { checkZstdBounds(t, dec, in) })
}

// TestZstdDecodeKeepsItsBuffer decodes every sample and bomb with a small
// limit. What the library's own decoder accepts under the same limit must
// decode to the same bytes, what it refuses must be refused; a batch that
// decodes must have been decoded into the buffer sized up front (never
// reallocated); and nothing may hold more than its reservation.
func TestZstdDecodeKeepsItsBuffer(t *testing.T) {
	const limit = 256 << 10
	z := newZstdDecoder(limit, 1, newAPIMetrics())
	defer z.close()
	ref, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(limit))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	inputs := zstdSamples(t)
	for _, b := range zstdBombs(t, limit) {
		inputs = append(inputs, b)
	}
	budget := &byteBudget{max: 1 << 30, refusals: newAPIMetrics().refusals[limitBodyBytesInFlight]}
	for i, in := range inputs {
		lease := bodyLease{b: budget}
		out, err := z.decode(t.Context(), in, &lease)
		want, werr := ref.DecodeAll(in, nil)
		switch {
		case werr == nil && len(want) <= limit:
			if err != nil || !bytes.Equal(out, want) {
				t.Errorf("input %d: decoded %d bytes, %v; the reference decodes %d bytes", i, len(out), err, len(want))
			}
		case err == nil:
			t.Errorf("input %d: decoded %d bytes that the reference refuses: %v", i, len(out), werr)
		}
		if int64(cap(out)) > lease.n {
			t.Errorf("input %d: output of cap %d, %d reserved", i, cap(out), lease.n)
		}
		lease.release()
	}
	if n := z.regrown.Load(); n != 0 {
		t.Errorf("DecodeAll reallocated the output buffer of %d batches that decoded", n)
	}
}
