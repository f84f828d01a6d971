package transport

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkCompress measures compressors on a typical proposal payload (2,000
// payments of 218 bytes). ratio = compressed/raw; MB/s is of raw bytes.
//
//	go test ./consensus/transport -run '^$' -bench Compress -benchtime 2s
func BenchmarkCompress(b *testing.B) {
	payload := proposalPayload(2000)
	type codec struct {
		name string
		enc  func([]byte) []byte
		dec  func([]byte) ([]byte, error)
	}
	zenc := func(l zstd.EncoderLevel) func([]byte) []byte {
		e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
		return func(p []byte) []byte { return e.EncodeAll(p, nil) }
	}
	zdec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	zd := func(p []byte) ([]byte, error) { return zdec.DecodeAll(p, nil) }
	s2d := func(p []byte) ([]byte, error) { return s2.Decode(nil, p) }
	codecs := []codec{
		{"zstd-fastest", zenc(zstd.SpeedFastest), zd},
		{"zstd-default", zenc(zstd.SpeedDefault), zd},
		{"s2", func(p []byte) []byte { return s2.Encode(nil, p) }, s2d},
		{"s2-better", func(p []byte) []byte { return s2.EncodeBetter(nil, p) }, s2d},
	}
	for _, c := range codecs {
		comp := c.enc(payload)
		ratio := float64(len(comp)) / float64(len(payload))
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				c.enc(payload)
			}
			b.ReportMetric(ratio, "ratio")
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := c.dec(comp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoopback sends frames from one transport to another over 127.0.0.1 and
// reports frames/s and MB/s (of uncompressed frame bytes), at most 32 in flight,
// over TLS 1.3 (the default) and plaintext (DisableTLS). cpu-µs/frame is the
// process's CPU time (both transports, user and system) per frame: on a shared
// machine it is steadier than the wall-clock rate, and it is what encryption
// costs a validator.
//
//	go test ./consensus/transport -run '^$' -bench Loopback -benchtime 2s
func BenchmarkLoopback(b *testing.B) {
	proposal := proposalPayload(2000)
	vote := proposalPayload(1)[:200]
	cases := []struct {
		name        string
		frame       []byte
		compression Compression
	}{
		{"vote-200B", vote, CompressionS2},
		{"proposal-436KB/raw", proposal, CompressionNone},
		{"proposal-436KB/s2", proposal, CompressionS2},
		{"proposal-436KB/zstd", proposal, CompressionZstd},
	}
	for _, tc := range cases {
		for _, m := range modes {
			b.Run(tc.name+"/"+m.name, func(b *testing.B) {
				benchLoopback(b, tc.frame, tc.compression, m.disableTLS)
			})
		}
	}
}

func benchLoopback(b *testing.B, frame []byte, compression Compression, disableTLS bool) {
	src, dst := benchPair(b, compression, disableTLS)
	const inFlightMax = 32
	credits := make(chan struct{}, inFlightMax)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range b.N {
			<-dst.Recv()
			<-credits
		}
	}()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for range b.N {
		credits <- struct{}{}
		for !src.Send(1, frame) {
			time.Sleep(10 * time.Microsecond)
		}
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/frame")
	ps := peerStats(src, 1)
	b.ReportMetric(float64(ps.SentBytes)/float64(ps.SentFrames), "wireB/frame")
}

func benchPair(b *testing.B, compression Compression, disableTLS bool) (src, dst *Transport) {
	lns := []net.Listener{nil, nil}
	var peers []Peer
	for i := range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns[i] = ln
		peers = append(peers, Peer{Index: i, PublicKey: pub(testKey(i)), Addr: ln.Addr().String()})
	}
	nodes := make([]*Transport, 2)
	for i := range 2 {
		tr, err := New(Config{ChainID: testChainID, Self: i, Key: testKey(i), Peers: peers,
			Listener: lns[i], Compression: compression, DisableTLS: disableTLS, DialBackoffMin: time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		if err := tr.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(tr.Close)
		nodes[i] = tr
	}
	for !peerStats(nodes[0], 1).Connected || !peerStats(nodes[1], 0).Connected {
		time.Sleep(time.Millisecond)
	}
	return nodes[0], nodes[1]
}
