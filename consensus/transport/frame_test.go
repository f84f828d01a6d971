package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

func header(length uint32, flag byte) []byte {
	h := binary.BigEndian.AppendUint32(nil, length)
	return append(h, flag)
}

func zstdBomb(t testing.TB, decodedBytes int) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(make([]byte, decodedBytes), nil)
}

func TestCodecReadFrame(t *testing.T) {
	const frameMax = 1 << 16
	c, err := newCodec(CompressionZstd, frameMax, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	bomb := zstdBomb(t, 4*frameMax)
	s2Bomb := s2.Encode(nil, make([]byte, 4*frameMax))
	s2Small := s2.Encode(nil, []byte("hello hello hello"))
	tests := []struct {
		name string
		wire []byte
		want []byte
		err  error
	}{
		{"raw", append(header(4, flagRaw), "abc"...), []byte("abc"), nil},
		{"empty", header(1, flagRaw), []byte{}, nil},
		{"zero length", header(0, flagRaw), nil, ErrFrameTooLarge},
		{"announced too large", header(frameMax+2, flagRaw), nil, ErrFrameTooLarge},
		{"announced 4 GiB", header(0xffffffff, flagRaw), nil, ErrFrameTooLarge},
		{"unknown flag", append(header(2, 7), 'x'), nil, ErrBadFrame},
		{"bad zstd", append(header(4, flagZstd), "abc"...), nil, ErrBadFrame},
		{"zstd bomb", append(header(uint32(1+len(bomb)), flagZstd), bomb...), nil, ErrBadFrame},
		{"bad s2", append(header(4, flagS2), "abc"...), nil, ErrBadFrame},
		{"s2 bomb", append(header(uint32(1+len(s2Bomb)), flagS2), s2Bomb...), nil, ErrFrameTooLarge},
		{"s2", append(header(uint32(1+len(s2Small)), flagS2), s2Small...), []byte("hello hello hello"), nil},
		{"truncated", append(header(10, flagRaw), "abc"...), nil, io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := c.readFrame(bytes.NewReader(tc.wire), make([]byte, frameHeaderBytes))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("frame = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, comp := range []Compression{CompressionS2, CompressionZstd} {
		testCodecRoundTrip(t, comp)
	}
}

func testCodecRoundTrip(t *testing.T, comp Compression) {
	c, err := newCodec(comp, 1<<20, 1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for _, f := range [][]byte{nil, []byte("small"), bytes.Repeat([]byte("ab"), 5000), proposalPayload(100)} {
		wire, compressed := c.encode(f)
		if compressed != (len(f) > 1024) {
			t.Errorf("%d bytes: compressed = %v", len(f), compressed)
		}
		got, n, err := c.readFrame(bufio.NewReader(bytes.NewReader(wire)), make([]byte, frameHeaderBytes))
		if err != nil || n != len(wire) || !bytes.Equal(got, f) {
			t.Fatalf("%d bytes: round trip got %d bytes, n=%d, err %v", len(f), len(got), n, err)
		}
	}
}

// TestBadFramesCloseConnection authenticates as validator 0 and then sends a
// frame validator 1 must refuse: the connection is closed and counted.
func TestBadFramesCloseConnection(t *testing.T) {
	const frameMax = 1024
	tests := []struct {
		name string
		wire func(t *testing.T) []byte
	}{
		{"oversized", func(*testing.T) []byte { return header(1<<30, flagRaw) }},
		{"unknown flag", func(*testing.T) []byte { return append(header(2, 9), 0) }},
		{"zstd bomb", func(t *testing.T) []byte {
			b := zstdBomb(t, 1<<20)
			return append(header(uint32(1+len(b)), flagZstd), b...)
		}},
		{"s2 bomb", func(t *testing.T) []byte {
			b := s2.Encode(nil, make([]byte, 1<<20))
			return append(header(uint32(1+len(b)), flagS2), b...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newClusterOnly(t, 2, func(i int, cfg *Config) { cfg.FrameBytesMax = frameMax }, map[int]bool{0: true})
			client := rawNode(t, false, testChainID, 0, pub(c.keys[0]), signer(c.keys[0]), nil, c.peers)
			raw, err := net.Dial("tcp", c.addrs[1])
			if err != nil {
				t.Fatal(err)
			}
			conn := client.secure(raw, 1)
			defer conn.Close()
			if _, err := client.handshake(conn, 1); err != nil {
				t.Fatal(err)
			}
			good := append(header(3, flagRaw), "ok"...)
			if _, err := conn.Write(append(good, tc.wire(t)...)); err != nil {
				t.Fatal(err)
			}
			if in := recvOne(t, c.nodes[1]); string(in.Frame) != "ok" {
				t.Fatalf("got %q", in.Frame)
			}
			raw.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(raw); err != nil {
				t.Fatalf("connection not closed: %v", err)
			}
			waitFor(t, "protocol error counted", func() bool { return peerStats(c.nodes[1], 0).ProtocolErrors == 1 })
		})
	}
}

func TestSendRefusesOversizedFrame(t *testing.T) {
	c := newCluster(t, 2, func(i int, cfg *Config) { cfg.FrameBytesMax = 1024 })
	if c.nodes[0].Send(1, make([]byte, 1025)) {
		t.Fatal("oversized frame accepted")
	}
	if ps := peerStats(c.nodes[0], 1); ps.Drops != 1 {
		t.Fatalf("Drops = %d", ps.Drops)
	}
}

// FuzzReadFrame: no input may panic, allocate beyond the bound or decode to more
// than FrameBytesMax bytes; a frame that decodes re-encodes to the same frame.
func FuzzReadFrame(f *testing.F) {
	c, err := newCodec(CompressionS2, 1<<16, 64, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(header(4, flagRaw), "abc"...))
	f.Add(append(header(uint32(1+len(s2.Encode(nil, make([]byte, 100)))), flagS2), s2.Encode(nil, make([]byte, 100))...))
	f.Add(append(header(9, flagZstd), zstdBomb(f, 100)...))
	f.Add(header(0xffffffff, flagRaw))
	f.Fuzz(func(t *testing.T, wire []byte) {
		frame, _, err := c.readFrame(bytes.NewReader(wire), make([]byte, frameHeaderBytes))
		if err != nil {
			return
		}
		if len(frame) > c.frameBytesMax {
			t.Fatalf("decoded %d bytes", len(frame))
		}
		again, _, err := c.readFrame(bytes.NewReader(mustEncode(c, frame)), make([]byte, frameHeaderBytes))
		if err != nil || !bytes.Equal(again, frame) {
			t.Fatalf("re-encode round trip failed: %v", err)
		}
	})
}

func mustEncode(c *codec, frame []byte) []byte {
	w, _ := c.encode(frame)
	return w
}
