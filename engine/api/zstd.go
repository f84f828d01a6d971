package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	"settle/engine/codes"
)

// zstdDecoder decompresses batches with a bound on memory that holds before
// anything is allocated, whatever the input:
//
//  1. zstdBounds walks the frame and block headers (no decoding) and bounds
//     the decoded size from below and above: a frame that declares its content
//     size decodes to exactly that; one that does not decodes to its raw and RLE
//     block sizes plus at most one block maximum (128 KiB) per compressed block.
//     A lower bound over the limit is refused at once: a bomb of RLE blocks
//     costs nothing.
//  2. When the upper bound is within the limit (every honest batch whose frames
//     declare their size, and most that do not), DecodeAll writes into a buffer
//     of exactly that size (plus the decoder's copy slack), reserved from the
//     request's body lease first. The output is the decoder's history, so no
//     window buffer is allocated, and as every honest block fits by
//     construction the buffer is not reallocated. (A frame that declares less
//     than its last block holds can make the decoder grow it once, by Go's
//     append, before the frame is refused: about 1¼ × its size more, within
//     the frame's decode slot.)
//  3. Otherwise (a bomb, or a batch near the limit in frames of unknown size) a
//     one-shot streaming decoder reads into a buffer of limit+1 bytes, which
//     cannot grow, with a window of at most streamWindowBytesMax; reaching the
//     last byte means the batch is too large.
//  4. At most decodesMax decompressions run at once (a request waits for a
//     slot), so bombs on many connections cost at most decodesMax decodes'
//     memory: each holds at most BatchBytesMax plus one window, or 2¼ ×
//     BatchBytesMax for a lying frame.
type zstdDecoder struct {
	dec             *zstd.Decoder // DecodeAll only, shared by the slots
	slots           chan struct{}
	decodedBytesMax int
	metrics         *apiMetrics
	// regrown counts decodes that succeeded although DecodeAll reallocated
	// their output buffer. INVARIANT: 0, which is what makes the size computed
	// up front the size kept; the tests check it on every input they try (the
	// process would not crash on it: the input came from a client).
	regrown atomic.Int64
}

// streamWindowBytesMax bounds the window of frames decoded by the streaming
// decoder (step 3): 8 MiB is what RFC 8878 asks every decoder to support, and
// the default window of the zstd and klauspost encoders.
const streamWindowBytesMax = 8 << 20

// decodeOverAlloc is slack the decoder uses for its fast copies at the end of
// the output (the library allocates the same when it sizes a buffer itself).
const decodeOverAlloc = 32

func newZstdDecoder(decodedBytesMax, decodesMax int, m *apiMetrics) *zstdDecoder {
	dec, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(decodesMax),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(decodedBytesMax)),
		// DecodeAll's window is the output buffer: it needs no bound of its own
		// beyond the output's (the library also caps it there), and a
		// single-segment frame's window is its content size, so a smaller bound
		// would refuse valid batches.
		zstd.WithDecoderMaxWindow(max(uint64(decodedBytesMax), zstd.MinWindowSize)),
		zstd.WithDecodeAllCapLimit(true),
	)
	if err != nil {
		panic(err) // only options can fail, and these are constant
	}
	return &zstdDecoder{dec: dec, slots: make(chan struct{}, decodesMax), decodedBytesMax: decodedBytesMax, metrics: m}
}

func (z *zstdDecoder) close() { z.dec.Close() }

// decode decompresses src into a fresh buffer that the caller keeps (decoded
// transactions reference it), reserving it from lease. ctx bounds the wait for a
// decode slot. Errors are *codes.Error: body_too_large beyond the limit,
// malformed for anything that is not valid zstd, overloaded when no slot frees
// in time or the body budget is spent.
func (z *zstdDecoder) decode(ctx context.Context, src []byte, lease *bodyLease) ([]byte, error) {
	lo, hi, err := zstdBounds(src)
	if err != nil {
		return nil, err
	}
	limit := uint64(z.decodedBytesMax)
	if lo > limit {
		return nil, z.tooLarge()
	}
	select {
	case z.slots <- struct{}{}:
	default:
		select {
		case z.slots <- struct{}{}:
		case <-ctx.Done():
			z.metrics.refused(limitZstdDecodes)
			return nil, codes.Errorf(codes.Overloaded, "%d zstd decompressions in progress", cap(z.slots))
		}
	}
	defer func() { <-z.slots }()
	if hi <= limit {
		return z.decodeAll(src, int(hi), lease)
	}
	return z.decodeStream(src, lease)
}

// decodeAll decodes src, which decodes to at most size bytes, in one call.
func (z *zstdDecoder) decodeAll(src []byte, size int, lease *bodyLease) ([]byte, error) {
	if err := lease.grow(size + decodeOverAlloc); err != nil {
		return nil, err
	}
	out, err := z.dec.DecodeAll(src, make([]byte, 0, size+decodeOverAlloc))
	if err == nil && cap(out) != size+decodeOverAlloc {
		z.regrown.Add(1)
	}
	switch {
	case errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) && len(out) == 0:
		// A window, or a single segment, larger than the limit: refused from its header.
		return nil, codes.Errorf(codes.BodyTooLarge, "a zstd frame needs a window larger than the %d-byte batch limit", z.decodedBytesMax)
	case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrFrameSizeExceeded):
		return nil, codes.Errorf(codes.Malformed, "bad zstd body: a frame decodes to more than its header declares")
	case err != nil:
		return nil, codes.Errorf(codes.Malformed, "bad zstd body: %v", err)
	}
	return z.trim(out, lease), nil
}

// decodeStream decodes src, which may decode past the limit, into a buffer of
// limit+1 bytes.
func (z *zstdDecoder) decodeStream(src []byte, lease *bodyLease) ([]byte, error) {
	window := min(streamWindowBytesMax, z.decodedBytesMax)
	if err := lease.grow(z.decodedBytesMax + 1 + window); err != nil {
		return nil, err
	}
	d, err := zstd.NewReader(bytes.NewReader(src),
		zstd.WithDecoderConcurrency(1), // synchronous: no goroutines
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(uint64(z.decodedBytesMax)),
		zstd.WithDecoderMaxWindow(uint64(max(window, zstd.MinWindowSize))),
	)
	if err != nil {
		return nil, codes.Errorf(codes.Internal, "zstd stream decoder: %v", err)
	}
	defer d.Close()
	out := make([]byte, z.decodedBytesMax+1)
	n, err := io.ReadFull(d, out)
	switch {
	case err == nil: // filled the byte past the limit
		return nil, z.tooLarge()
	case errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return nil, z.tooLarge()
	case errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, codes.Errorf(codes.BodyTooLarge, "a zstd frame of unknown size needs a window over %d bytes", window)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return z.trim(out[:n], lease), nil
	}
	return nil, codes.Errorf(codes.Malformed, "bad zstd body: %v", err)
}

// trim copies out to a buffer of its own size when the slack is large: the
// mempool keeps the whole buffer for as long as it keeps any transaction of
// the batch.
func (z *zstdDecoder) trim(out []byte, lease *bodyLease) []byte {
	if cap(out)-len(out) > max(len(out)/8, 64<<10) && lease.grow(len(out)) == nil {
		out = append(make([]byte, 0, len(out)), out...)
	}
	return out
}

func (z *zstdDecoder) tooLarge() error {
	return codes.Errorf(codes.BodyTooLarge, "batch decompresses to more than %d bytes", z.decodedBytesMax)
}

// zstd framing (RFC 8878).
const (
	zstdFrameMagic     = 0xFD2FB528
	zstdSkippableMagic = 0x184D2A50 // the low 4 bits are free
	zstdBlockSizeMax   = 128 << 10
)

func zstdMalformed(format string, args ...any) error {
	return codes.Errorf(codes.Malformed, "bad zstd body: "+format, args...)
}

// zstdBounds returns bounds on what src decodes to, from its frame and block
// headers alone: at least lo bytes, at most hi. It checks the framing (magic
// numbers, reserved bits, block types and sizes, lengths) but not the content,
// which only decoding can.
func zstdBounds(src []byte) (lo, hi uint64, err error) {
	for len(src) > 0 {
		if len(src) < 4 {
			return 0, 0, zstdMalformed("truncated frame")
		}
		magic := binary.LittleEndian.Uint32(src)
		if magic&^0xF == zstdSkippableMagic {
			if len(src) < 8 {
				return 0, 0, zstdMalformed("truncated skippable frame")
			}
			n := uint64(binary.LittleEndian.Uint32(src[4:]))
			if n > uint64(len(src)-8) {
				return 0, 0, zstdMalformed("truncated skippable frame")
			}
			src = src[8+n:]
			continue
		}
		if magic != zstdFrameMagic {
			return 0, 0, zstdMalformed("not a zstd frame")
		}
		n, flo, fhi, err := zstdFrameBounds(src[4:])
		if err != nil {
			return 0, 0, err
		}
		lo, hi = addSat(lo, flo), addSat(hi, fhi)
		src = src[4+n:]
	}
	return lo, hi, nil
}

// zstdFrameBounds reads one frame after its magic number: its length in b and
// the bounds on its decoded size.
func zstdFrameBounds(b []byte) (n int, lo, hi uint64, err error) {
	if len(b) < 1 {
		return 0, 0, 0, zstdMalformed("truncated frame header")
	}
	fhd := b[0]
	if fhd&(1<<3) != 0 {
		return 0, 0, 0, zstdMalformed("reserved bit set in a frame header")
	}
	single := fhd&(1<<5) != 0
	hasChecksum := fhd&(1<<2) != 0
	pos := 1
	var window uint64
	if !single {
		if len(b) < pos+1 {
			return 0, 0, 0, zstdMalformed("truncated frame header")
		}
		exp, mant := uint64(b[pos]>>3), uint64(b[pos]&7)
		base := uint64(1) << (10 + exp)
		window = base + base/8*mant
		pos++
	}
	pos += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	fcsBytes := [4]int{0, 2, 4, 8}[fhd>>6]
	if fhd>>6 == 0 && single {
		fcsBytes = 1
	}
	if len(b) < pos+fcsBytes {
		return 0, 0, 0, zstdMalformed("truncated frame header")
	}
	var fcs uint64
	switch fcsBytes {
	case 1:
		fcs = uint64(b[pos])
	case 2:
		fcs = uint64(binary.LittleEndian.Uint16(b[pos:])) + 256
	case 4:
		fcs = uint64(binary.LittleEndian.Uint32(b[pos:]))
	case 8:
		fcs = binary.LittleEndian.Uint64(b[pos:])
	}
	pos += fcsBytes
	if single {
		window = max(fcs, zstd.MinWindowSize)
	}
	blockMax := min(window, zstdBlockSizeMax)
	var exact, compressed uint64 // decoded bytes of raw and RLE blocks; compressed blocks
	for last := false; !last; {
		if len(b) < pos+3 {
			return 0, 0, 0, zstdMalformed("truncated block header")
		}
		h := uint32(b[pos]) | uint32(b[pos+1])<<8 | uint32(b[pos+2])<<16
		pos += 3
		last = h&1 != 0
		size := uint64(h >> 3)
		if size > blockMax {
			return 0, 0, 0, zstdMalformed("block of %d bytes in a frame whose blocks are at most %d", size, blockMax)
		}
		stored := size
		switch (h >> 1) & 3 {
		case 0: // raw
			exact += size
		case 1: // RLE: one byte, repeated size times
			exact += size
			stored = 1
		case 2:
			compressed++
		default:
			return 0, 0, 0, zstdMalformed("reserved block type")
		}
		if uint64(len(b)-pos) < stored {
			return 0, 0, 0, zstdMalformed("truncated block")
		}
		pos += int(stored)
	}
	if hasChecksum {
		if len(b) < pos+4 {
			return 0, 0, 0, zstdMalformed("truncated frame checksum")
		}
		pos += 4
	}
	most := addSat(exact, mulSat(compressed, blockMax))
	if fcsBytes == 0 {
		return pos, exact, most, nil
	}
	if fcs < exact || fcs > most {
		return 0, 0, 0, zstdMalformed("frame declares %d bytes, its blocks make %d to %d", fcs, exact, most)
	}
	return pos, fcs, fcs, nil
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func mulSat(a, b uint64) uint64 {
	if b != 0 && a > math.MaxUint64/b {
		return math.MaxUint64
	}
	return a * b
}
