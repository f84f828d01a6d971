package transport

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Wire format of one frame:
//
//	length u32 big-endian | flag u8 | payload (length-1 bytes)
//
// flag 0: payload is the frame; flag 1: payload is one zstd frame, flag 2: one
// S2 block, whose decoded bytes are the frame. length is checked against
// FrameBytesMax+1 before anything is allocated. A receiver decodes every flag
// whatever its own Config.Compression.
const (
	frameHeaderBytes = 5
	flagRaw          = 0
	flagZstd         = 1
	flagS2           = 2
)

// Compression selects how frames above Config.CompressMinBytes are compressed.
type Compression uint8

const (
	// CompressionS2 (the default) is klauspost/compress/s2: about 3.5 times
	// faster than zstd's fastest level for a slightly larger output.
	CompressionS2 Compression = iota
	// CompressionZstd is zstd at its fastest level.
	CompressionZstd
	// CompressionNone sends every frame raw.
	CompressionNone
)

// codec builds wire frames and parses them. The zstd encoder and decoder are safe
// for concurrent EncodeAll/DecodeAll calls.
type codec struct {
	compression      Compression
	frameBytesMax    int
	compressMinBytes int // <0: never compress
	enc              *zstd.Encoder
	dec              *zstd.Decoder
}

func newCodec(compression Compression, frameBytesMax, compressMinBytes, decodersMax int) (*codec, error) {
	c := &codec{compression: compression, frameBytesMax: frameBytesMax, compressMinBytes: compressMinBytes}
	if compression == CompressionNone {
		c.compressMinBytes = -1
	}
	var err error
	c.enc, err = zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // TCP and the signatures inside cover integrity
		zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("transport: zstd encoder: %w", err)
	}
	// INVARIANT: DecodeAll never returns more than frameBytesMax bytes, and a
	// window larger than a frame is refused, so a small hostile input cannot
	// make the decoder allocate more than about one frame.
	c.dec, err = zstd.NewReader(nil,
		zstd.WithDecoderMaxMemory(uint64(frameBytesMax)),
		zstd.WithDecoderMaxWindow(uint64(max(frameBytesMax, 1<<10))),
		zstd.WithDecoderConcurrency(decodersMax))
	if err != nil {
		return nil, fmt.Errorf("transport: zstd decoder: %w", err)
	}
	return c, nil
}

func (c *codec) close() {
	c.enc.Close()
	c.dec.Close()
}

// encode returns the complete wire bytes of frame (header included), compressed
// when that pays. It never retains frame. The caller checked len(frame).
func (c *codec) encode(frame []byte) (wire []byte, compressed bool) {
	if c.compressMinBytes >= 0 && len(frame) > c.compressMinBytes {
		flag := byte(flagZstd)
		if c.compression == CompressionS2 {
			flag = flagS2
			wire = make([]byte, frameHeaderBytes+s2.MaxEncodedLen(len(frame)))
			wire = wire[:frameHeaderBytes+len(s2.Encode(wire[frameHeaderBytes:], frame))]
		} else {
			wire = make([]byte, frameHeaderBytes, frameHeaderBytes+len(frame)/2)
			wire = c.enc.EncodeAll(frame, wire)
		}
		if len(wire)-frameHeaderBytes < len(frame) {
			binary.BigEndian.PutUint32(wire, uint32(len(wire)-4))
			wire[4] = flag
			return wire, true
		}
	}
	wire = make([]byte, frameHeaderBytes+len(frame))
	binary.BigEndian.PutUint32(wire, uint32(1+len(frame)))
	wire[4] = flagRaw
	copy(wire[frameHeaderBytes:], frame)
	return wire, false
}

// readFrame reads one wire frame from r and returns the decoded frame and the
// number of wire bytes read. hdr is a 5-byte scratch buffer.
func (c *codec) readFrame(r io.Reader, hdr []byte) (frame []byte, wireBytes int, err error) {
	if _, err := io.ReadFull(r, hdr[:frameHeaderBytes]); err != nil {
		return nil, 0, err
	}
	n := int(binary.BigEndian.Uint32(hdr))
	// INVARIANT: checked before allocating: a peer cannot make us allocate more
	// than FrameBytesMax+1 bytes per frame.
	if n < 1 || n-1 > c.frameBytesMax {
		return nil, 0, fmt.Errorf("%w: %d bytes announced, max %d", ErrFrameTooLarge, n-1, c.frameBytesMax)
	}
	payload := make([]byte, n-1)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, 0, err
	}
	wireBytes = 4 + n
	switch hdr[4] {
	case flagRaw:
		return payload, wireBytes, nil
	case flagZstd:
		frame, err := c.dec.DecodeAll(payload, nil)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: zstd: %v", ErrBadFrame, err)
		}
		if len(frame) > c.frameBytesMax {
			return nil, 0, fmt.Errorf("%w: decoded %d bytes, max %d", ErrFrameTooLarge, len(frame), c.frameBytesMax)
		}
		return frame, wireBytes, nil
	case flagS2:
		n, err := s2.DecodedLen(payload)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: s2: %v", ErrBadFrame, err)
		}
		// INVARIANT: the decoded length is checked before allocating.
		if n > c.frameBytesMax {
			return nil, 0, fmt.Errorf("%w: s2 block decodes to %d bytes, max %d", ErrFrameTooLarge, n, c.frameBytesMax)
		}
		frame, err := s2.Decode(make([]byte, n), payload)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: s2: %v", ErrBadFrame, err)
		}
		return frame, wireBytes, nil
	default:
		return nil, 0, fmt.Errorf("%w: unknown flag %d", ErrBadFrame, hdr[4])
	}
}
