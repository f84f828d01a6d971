package api

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"settle/engine/codes"
)

// TestUnfinishedBodiesAreBounded sends what a slow or hostile client sends: the
// header of a full-size batch and all of its body but the last byte, on many
// connections at once. Before bodies were streamed the server buffered every
// one of them (connections × RequestBodyBytesMax); now only what the body
// budget admits is held and the other connections are refused at once.
func TestUnfinishedBodiesAreBounded(t *testing.T) {
	const (
		conns     = 16
		bodyBytes = 8 << 20
		budget    = 2 * bodyBytes
		admitted  = budget / bodyBytes
	)
	ts := startServer(t, Config{RequestBodyBytesMax: bodyBytes, BatchBytesMax: bodyBytes, BodyBytesInFlightMax: budget}, nil)
	body := make([]byte, bodyBytes-1)
	clients := make([]*rawClient, conns)
	for i := range clients {
		clients[i] = dialRaw(t, ts)
	}
	type outcome struct {
		a   answer
		err error
	}
	outcomes := make(chan outcome, conns)
	rise := measureRise(t, func() {
		var writers sync.WaitGroup
		for _, rc := range clients {
			writers.Add(1)
			go func() {
				defer writers.Done()
				if rc.sendHead("POST", "/v1/batch", bodyBytes, "Content-Type: application/octet-stream") == nil {
					rc.write(body, 10*time.Second) // a refused connection is closed under it
				}
			}()
			go func() {
				a, err := rc.answer(3 * time.Second)
				outcomes <- outcome{a, err}
			}()
		}
		writers.Wait()
		time.Sleep(100 * time.Millisecond) // let the server read what it reads
	})
	refusedJSON, refusedReset := 0, 0
	for range conns - admitted {
		o := <-outcomes
		switch {
		case o.err != nil && !strings.Contains(o.err.Error(), "timeout"):
			refusedReset++
		case o.err != nil:
			t.Errorf("a connection got no answer: %v", o.err)
		default:
			checkError(t, o.a, 503, codes.Overloaded)
			refusedJSON++
		}
	}
	t.Logf("%d connections × %d MiB bodies (all but one byte): %v; %d admitted, %d refused 503 overloaded, %d reset after the refusal",
		conns, bodyBytes>>20, rise, admitted, refusedJSON, refusedReset)
	if refusedJSON == 0 {
		t.Error("no connection saw the 503 overloaded answer")
	}
	if got := ts.s.bodies.used.Load(); got != budget {
		t.Errorf("body budget holds %d bytes while %d bodies are unfinished, want %d", got, admitted, budget)
	}
	if n := ts.metricValue(t, `settle_api_limit_refusals_total{limit="body_bytes_in_flight_max"}`); n != conns-admitted {
		t.Errorf("refusals counted: %v, want %d", n, conns-admitted)
	}
	// Unfinished bodies cost the budget and a little per connection, never the
	// sum of their Content-Lengths.
	rise.check(t, budget+16<<20, fmt.Sprintf("%d unfinished %d MiB bodies", conns, bodyBytes>>20))
	for _, rc := range clients {
		rc.c.Close()
	}
	if !waitFor(5*time.Second, func() bool { return ts.s.bodies.used.Load() == 0 }) {
		t.Errorf("body budget still holds %d bytes after the clients left", ts.s.bodies.used.Load())
	}
}

// TestBodyLimitFollowsRoute checks that a body's limit is the routed
// endpoint's and is decided before the body is read: each request below sends
// its header and 8 KiB of a much larger body, and must be answered at once.
func TestBodyLimitFollowsRoute(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	prefix := make([]byte, 8<<10)
	for _, tc := range []struct {
		name, method, path string
		contentLength      int
		status             int
		code               codes.Code
	}{
		{"unknown path ending in /v1/batch", "POST", "/anything/v1/batch", 16 << 20, 404, codes.NotFound},
		{"unknown path", "POST", "/nowhere", 16 << 20, 404, codes.NotFound},
		{"tx with a batch-sized body", "POST", "/v1/tx", 16 << 20, 413, codes.BodyTooLarge},
		{"tx over the small limit", "POST", "/v1/tx", smallBodyBytesMax + 1, 413, codes.BodyTooLarge},
		{"read with a body", "GET", "/v1/status", 1 << 20, 413, codes.BodyTooLarge},
		{"batch over RequestBodyBytesMax", "POST", "/v1/batch", RequestBodyBytesMaxDefault + 1, 413, codes.BodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.head(t, tc.method, tc.path, tc.contentLength)
			if _, err := rc.write(prefix, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			a, err := rc.answer(2 * time.Second)
			if err != nil {
				t.Fatalf("no answer after %d of %d body bytes: %v", len(prefix), tc.contentLength, err)
			}
			checkError(t, a, tc.status, tc.code)
			if tc.contentLength-len(prefix) > 256<<10 && !rc.closedByServer(time.Second) {
				t.Error("the connection stays open with most of a large body unread")
			}
			t.Logf("answered %d after %d of %d body bytes in %v", a.status, len(prefix), tc.contentLength, time.Since(start).Round(time.Millisecond))
		})
	}

	// Every spelling of the batch path that routes to it gets the batch limit.
	txs := makeTxs(t, 500)
	batch := batchOf(txs...)
	if len(batch) <= smallBodyBytesMax {
		t.Fatalf("test batch of %d bytes does not exceed the small limit", len(batch))
	}
	for _, path := range []string{"/v1/batch", "/v1//batch", "/v1/./batch", "/v1/%62atch"} {
		ts.f.mu.Lock()
		clear(ts.f.mu.pending)
		ts.f.mu.Unlock()
		a := ts.do(t, "POST", path, batch, nil)
		if a.status != 200 || !bytes.HasPrefix(a.body, []byte(`{"accepted":500,`)) {
			t.Errorf("POST %s with a %d KiB batch: %d %.200s", path, len(batch)>>10, a.status, a.body)
		}
	}
}

// TestChunkedBodies checks bodies without a Content-Length: bounded as they
// are read, and the budget given back afterwards.
func TestChunkedBodies(t *testing.T) {
	ts := startServer(t, Config{RequestBodyBytesMax: 1 << 20, BatchBytesMax: 1 << 20}, nil)
	chunked := func(body []byte) []byte {
		var b bytes.Buffer
		for len(body) > 0 {
			n := min(len(body), 10_000)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.Bytes()
	}
	post := func(path string, body []byte) answer {
		t.Helper()
		rc := dialRaw(t, ts)
		rc.head(t, "POST", path, -1, "Transfer-Encoding: chunked")
		go rc.write(chunked(body), 5*time.Second)
		a, err := rc.answer(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	txs := makeTxs(t, 300)
	if a := post("/v1/batch", batchOf(txs...)); a.status != 200 || !bytes.HasPrefix(a.body, []byte(`{"accepted":300,`)) {
		t.Errorf("chunked batch: %d %.200s", a.status, a.body)
	}
	checkError(t, post("/v1/batch", make([]byte, 1<<20+1)), 413, codes.BodyTooLarge)
	checkError(t, post("/v1/tx", make([]byte, smallBodyBytesMax+1)), 413, codes.BodyTooLarge)
	if !waitFor(2*time.Second, func() bool { return ts.s.bodies.used.Load() == 0 }) {
		t.Errorf("body budget holds %d bytes after the requests ended", ts.s.bodies.used.Load())
	}
}
