package transport

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// recorder keeps every byte a proxy forwarded, both directions together.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// proxy forwards every connection accepted on ln to backend, recording what
// crosses it before forwarding, until ln is closed.
func proxy(t *testing.T, ln net.Listener, backend string, rec *recorder) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", backend)
			if err != nil {
				in.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, io.TeeReader(src, rec))
				dst.Close()
				src.Close()
			}
			wg.Add(2)
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
}

// TestWireIsEncrypted routes validator 0's connection to validator 1 through a
// recording TCP proxy and sends a payment-like payload each way. With TLS
// neither the payload nor the validators' keys (TLS 1.3 encrypts certificates)
// cross in the clear; the plaintext mode is the control that shows the test
// would see them.
func TestWireIsEncrypted(t *testing.T) {
	payload := bytes.Repeat([]byte("PAY iban=DE89370400440532013000 amount=125000.00 EUR memo=invoice-4711;"), 20)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			rec := &recorder{}
			lns := []net.Listener{listen(t, "127.0.0.1:0"), listen(t, "127.0.0.1:0")}
			px := listen(t, "127.0.0.1:0")
			proxy(t, px, lns[1].Addr().String(), rec)
			peers := []Peer{
				{Index: 0, PublicKey: pub(testKey(0)), Addr: lns[0].Addr().String()},
				{Index: 1, PublicKey: pub(testKey(1)), Addr: px.Addr().String()}, // 0 dials 1 through the proxy
			}
			nodes := make([]*Transport, 2)
			for i := range nodes {
				tr, err := New(Config{ChainID: testChainID, Self: i, Key: testKey(i), Peers: peers, Listener: lns[i],
					Compression: CompressionNone, DisableTLS: m.disableTLS, DialBackoffMin: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				if err := tr.Start(context.Background()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(tr.Close)
				nodes[i] = tr
			}
			for from, to := range []int{1, 0} {
				for !nodes[from].Send(to, payload) {
					time.Sleep(time.Millisecond)
				}
				if in := recvOne(t, nodes[to]); !bytes.Equal(in.Frame, payload) || in.From != from {
					t.Fatalf("node %d got %d bytes from %d", to, len(in.Frame), in.From)
				}
			}
			wire := rec.bytes()
			if len(wire) < 2*len(payload) {
				t.Fatalf("the proxy saw %d bytes, less than the payloads", len(wire))
			}
			clear := map[string][]byte{"payload": payload[:64], "key 0": pub(testKey(0)), "key 1": pub(testKey(1))}
			for what, b := range clear {
				if seen := bytes.Contains(wire, b); seen != m.disableTLS {
					t.Errorf("%s in the clear on the wire: %v, want %v", what, seen, m.disableTLS)
				}
			}
		})
	}
}
