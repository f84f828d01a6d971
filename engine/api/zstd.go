package api

import (
	"errors"
	"sync"

	"github.com/klauspost/compress/zstd"

	"settle/engine/codes"
)

// decoderPool reuses zstd decoders (each holds sizeable buffers). It is a bounded
// free list, not a sync.Pool, so that decoders are Closed rather than dropped.
//
// A decoded batch is bounded twice: WithDecoderMaxMemory stops DecodeAll once a
// frame's output passes decodedBytesMax (or at once when the frame header
// announces more), and the window is bounded by the same figure. Output is
// checked per block, so a bomb costs at most about decodedBytesMax plus one block
// per frame before it is refused; its full size is never allocated.
type decoderPool struct {
	decodedBytesMax uint64
	free            chan *zstd.Decoder

	mu     sync.Mutex
	closed bool
}

func newDecoderPool(decodedBytesMax uint64, idleMax int) *decoderPool {
	return &decoderPool{decodedBytesMax: decodedBytesMax, free: make(chan *zstd.Decoder, max(idleMax, 1))}
}

func (p *decoderPool) get() (*zstd.Decoder, error) {
	select {
	case d := <-p.free:
		return d, nil
	default:
	}
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(p.decodedBytesMax),
		zstd.WithDecoderMaxWindow(max(p.decodedBytesMax, zstd.MinWindowSize)),
	)
}

func (p *decoderPool) put(d *zstd.Decoder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		select {
		case p.free <- d:
			return
		default:
		}
	}
	d.Close()
}

func (p *decoderPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for {
		select {
		case d := <-p.free:
			d.Close()
		default:
			return
		}
	}
}

// decode decompresses src into a fresh buffer (the caller keeps it: decoded
// transactions reference it). Errors are *codes.Error: body_too_large beyond the
// limit, malformed for anything that is not valid zstd.
func (p *decoderPool) decode(src []byte) ([]byte, error) {
	d, err := p.get()
	if err != nil {
		return nil, codes.Errorf(codes.Internal, "zstd decoder: %v", err)
	}
	defer p.put(d)
	out, err := d.DecodeAll(src, nil)
	switch {
	case errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded):
		return nil, codes.Errorf(codes.BodyTooLarge, "batch decompresses to more than %d bytes", p.decodedBytesMax)
	case err != nil:
		return nil, codes.Errorf(codes.Malformed, "bad zstd body: %v", err)
	case uint64(len(out)) > p.decodedBytesMax:
		return nil, codes.Errorf(codes.BodyTooLarge, "batch decompresses to more than %d bytes", p.decodedBytesMax)
	}
	return out, nil
}
