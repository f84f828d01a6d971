package api

import (
	"bytes"
	"net"
	"runtime"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkSubmitBatch posts a batch of 1000 signed payments to POST /v1/batch
// against the fake backend (no verification, no mempool): the figure is the
// API's own cost per transaction (framing, decoding, hashing, the answer).
//
//	go test ./engine/api -run '^$' -bench SubmitBatch -benchmem
//
// Over a real loopback listener (TCP) and over an in-memory listener (no kernel).
func BenchmarkSubmitBatch(b *testing.B) {
	const n = 1000
	body := batchOf(makeTxs(b, n)...)
	for _, mode := range []string{"tcp", "inmemory"} {
		b.Run(mode, func(b *testing.B) {
			f := newFakeBackend(8)
			f.keep = false
			s := New(Config{}, f)
			var ln net.Listener
			var dial func(addr string) (net.Conn, error)
			if mode == "tcp" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				ln = l
			} else {
				mem := fasthttputil.NewInmemoryListener()
				ln, dial = mem, func(string) (net.Conn, error) { return mem.Dial() }
			}
			go s.Serve(ln)
			defer s.Shutdown(b.Context())
			c := &fasthttp.HostClient{Addr: ln.Addr().String(), Dial: dial, MaxResponseBodySize: 1 << 26}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + ln.Addr().String() + "/v1/batch")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/octet-stream")
			req.SetBodyRaw(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				if err := c.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 || !bytes.HasPrefix(resp.Body(), []byte(`{"accepted":1000,`)) {
					b.Fatalf("status %d: %.200s", resp.StatusCode(), resp.Body())
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/tx")
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*n), "allocs/tx")
		})
	}
}
