package api

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"settle/engine/codes"
)

// idleClients opens n connections that each send one GET /healthz and then
// nothing: what locked every other client out when they filled Concurrency.
func idleClients(t *testing.T, ts *testServer, n int) []*rawClient {
	t.Helper()
	out := make([]*rawClient, n)
	for i := range out {
		out[i] = dialRaw(t, ts)
		a, err := out[i].get(t, "/healthz")
		if err != nil || a.status != 200 {
			t.Fatalf("idle client %d: %v %d %s", i, err, a.status, a.body)
		}
	}
	return out
}

// checkRefusal checks a refusal answered on a new connection: JSON with a
// stable code, a Retry-After, and the connection closed.
func checkRefusal(t *testing.T, rc *rawClient, status int, code codes.Code) {
	t.Helper()
	a, err := rc.get(t, "/healthz")
	if err != nil {
		t.Fatalf("refused connection got no answer: %v", err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(a.body), []byte("{")) {
		t.Fatalf("refusal is not JSON: %d %q", a.status, a.body)
	}
	checkError(t, a, status, code)
	if a.header.Get("Retry-After") == "" {
		t.Error("refusal without Retry-After")
	}
	if !rc.closedByServer(2 * time.Second) {
		t.Error("refused connection left open")
	}
}

// TestIdleConnectionsDoNotLockOthersOut fills Concurrency with connections
// that sent one request and went idle, as a client that leaks keep-alive
// connections does. Before, every new client got fasthttp's plain-text 503
// until the idle timeout (60 s); now each new client closes the connection
// that has waited longest and is served.
func TestIdleConnectionsDoNotLockOthersOut(t *testing.T) {
	const conns, newcomers = 64, 20
	// Only the bound on connections at work: no shorter wait under pressure,
	// and the newcomers come from another address than the idle connections.
	ts := startServer(t, Config{Concurrency: conns, ConnsPerIPMax: conns, IdleTimeoutUnderPressure: IdleTimeoutDefault}, nil)
	if !canDialFrom(ts, "127.0.0.2") {
		t.Skip("cannot dial from a second loopback address")
	}
	idle := idleClients(t, ts, conns)
	start := time.Now()
	var arrived []*rawClient
	for i := range newcomers { // each keeps its connection: each needs room
		rc := dialRawFrom(t, ts, "127.0.0.2")
		arrived = append(arrived, rc)
		a, err := rc.get(t, "/healthz")
		if err != nil || a.status != 200 {
			t.Fatalf("new client %d with %d idle connections open: %v %d %q", i, conns, err, a.status, a.body)
		}
	}
	served := time.Since(start)
	closedAt := make([]bool, len(idle))
	var wg sync.WaitGroup
	for i, rc := range idle {
		wg.Go(func() { closedAt[i] = rc.closedByServer(200 * time.Millisecond) })
	}
	wg.Wait()
	closed := 0
	for i, c := range closedAt {
		if c {
			closed++
			// Neighbours may swap: a client reads its answer, and the next one
			// connects, before the server marks the first one waiting.
			if i >= newcomers+2 {
				t.Errorf("idle connection %d closed while older ones stay", i)
			}
		}
	}
	t.Logf("%d idle connections at Concurrency %d: %d new clients served in %v, %d longest-idle connections closed",
		conns, conns, newcomers, served.Round(time.Millisecond), closed)
	if closed != newcomers {
		t.Errorf("%d idle connections closed for %d new clients", closed, newcomers)
	}
	if n := ts.metricValue(t, `settle_api_idle_connections_closed_total{reason="evicted"}`); n != newcomers {
		t.Errorf("evictions counted: %v, want %d", n, newcomers)
	}

	// When every connection is busy with a request, a new one is refused, in JSON.
	for _, rc := range append(idle, arrived...) {
		rc.c.Close()
	}
	if !waitFor(2*time.Second, func() bool { return ts.metricValue(t, "settle_api_connections_open") == 0 }) {
		t.Fatalf("%v connections still open", ts.metricValue(t, "settle_api_connections_open"))
	}
	for range conns {
		dialRaw(t, ts).head(t, "POST", "/v1/tx", 1000) // and not the body: busy reading it
	}
	if !waitFor(2*time.Second, func() bool { return ts.metricValue(t, "settle_api_connections_open") == conns }) {
		t.Fatalf("%v connections open, want %d", ts.metricValue(t, "settle_api_connections_open"), conns)
	}
	time.Sleep(50 * time.Millisecond) // let the server read their headers
	checkRefusal(t, dialRawFrom(t, ts, "127.0.0.2"), 503, codes.Overloaded)
	if n := ts.metricValue(t, `settle_api_limit_refusals_total{limit="concurrency"}`); n != 1 {
		t.Errorf("refusals counted: %v, want 1", n)
	}
}

// TestConnsPerIPMax checks the bound on one client address, and that other
// addresses are still served.
func TestConnsPerIPMax(t *testing.T) {
	const perIP = 8
	ts := startServer(t, Config{Concurrency: 64, ConnsPerIPMax: perIP}, nil)
	first := idleClients(t, ts, perIP)
	checkRefusal(t, dialRaw(t, ts), 429, codes.TooManyConns)
	if n := ts.metricValue(t, `settle_api_limit_refusals_total{limit="conns_per_ip_max"}`); n != 1 {
		t.Errorf("refusals counted: %v, want 1", n)
	}
	// Another address on the loopback network is another client.
	if canDialFrom(ts, "127.0.0.2") {
		for i := range perIP {
			if a, err := dialRawFrom(t, ts, "127.0.0.2").get(t, "/healthz"); err != nil || a.status != 200 {
				t.Errorf("127.0.0.2 connection %d: %v %d %s", i, err, a.status, a.body)
			}
		}
	} else {
		t.Log("cannot dial from 127.0.0.2: the second address is not checked")
	}
	// A connection given back makes room for one more.
	first[0].c.Close()
	if !waitFor(2*time.Second, func() bool { return ts.metricValue(t, "settle_api_connections_open") < 2*perIP }) {
		t.Fatal("the closed connection is still counted")
	}
	if a, err := dialRaw(t, ts).get(t, "/healthz"); err != nil || a.status != 200 {
		t.Errorf("after one connection closed: %v %d %s", err, a.status, a.body)
	}
}

// TestIdleTimeoutUnderPressure checks that waiting connections keep
// IdleTimeout below half of Concurrency, and are closed after
// IdleTimeoutUnderPressure above it.
func TestIdleTimeoutUnderPressure(t *testing.T) {
	const concurrency, short = 40, 300 * time.Millisecond
	ts := startServer(t, Config{Concurrency: concurrency, ConnsPerIPMax: concurrency, IdleTimeoutUnderPressure: short}, nil)

	calm := idleClients(t, ts, concurrency/2-1)
	time.Sleep(2 * short)
	for i, rc := range calm {
		if rc.closedByServer(time.Millisecond) {
			t.Fatalf("connection %d closed below the pressure mark", i)
		}
		rc.c.Close()
	}
	if !waitFor(2*time.Second, func() bool { return ts.metricValue(t, "settle_api_connections_open") == 0 }) {
		t.Fatal("connections still counted after closing")
	}

	start := time.Now()
	busy := idleClients(t, ts, concurrency/2+5) // past half of Concurrency
	closed := 0
	var first, last time.Duration
	for _, rc := range busy {
		if rc.closedByServer(5 * short) {
			closed++
			if first == 0 {
				first = time.Since(start)
			}
			last = time.Since(start)
		}
	}
	t.Logf("%d waiting connections of Concurrency %d: %d closed by the node, between %v and %v (IdleTimeout %v, under pressure %v)",
		len(busy), concurrency, closed, first.Round(time.Millisecond), last.Round(time.Millisecond), IdleTimeoutDefault, short)
	if closed != len(busy) {
		t.Errorf("%d of %d waiting connections closed under pressure", closed, len(busy))
	}
	if first < short/2 {
		t.Errorf("a waiting connection closed after %v, before its %v", first, short)
	}
	if n := ts.metricValue(t, `settle_api_idle_connections_closed_total{reason="pressure"}`); n < float64(len(busy)) {
		t.Errorf("pressure closes counted: %v, want %d", n, len(busy))
	}

	// A new connection that sends nothing under pressure is told why it is closed.
	for range concurrency / 2 {
		dialRaw(t, ts)
	}
	a, err := dialRaw(t, ts).answer(5 * short)
	if err != nil {
		t.Fatalf("silent connection under pressure: %v", err)
	}
	checkError(t, a, 503, codes.Overloaded)
}

// TestConnRefusalTexts pins the refusal's wire form: a whole HTTP answer
// with the JSON error, for a client that reads it before sending anything.
func TestConnRefusalTexts(t *testing.T) {
	ts := startServer(t, Config{Concurrency: 4, ConnsPerIPMax: 1}, nil)
	idleClients(t, ts, 1)
	rc := dialRaw(t, ts)
	a, err := rc.answer(2 * time.Second) // sends nothing
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, a, 429, codes.TooManyConns)
	if m := a.json(t); !strings.Contains(fmt.Sprint(m["message"]), "127.0.0.1") || m["retry_after_ms"] != 1000.0 {
		t.Errorf("refusal %v", m)
	}
}

// TestSilentConnectionClosedWithoutAnswer: a client's spare pooled connection
// that never carries a request is closed at ReadTimeout without an answer.
// Before, it got "400 timed out reading the request", which Go's HTTP client
// logs as an unsolicited response on an idle connection. A request begun and
// not finished in time still gets its 400.
func TestSilentConnectionClosedWithoutAnswer(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	ts := startServer(t, Config{ReadTimeout: readTimeout}, nil)

	silent := dialRaw(t, ts)
	silent.c.SetReadDeadline(time.Now().Add(10 * readTimeout))
	b, err := silent.br.ReadByte()
	if err == nil {
		t.Fatalf("a connection that sent nothing got an answer starting %q", b)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a connection that sent nothing is still open after %v", 10*readTimeout)
	}
	if n := ts.metricValue(t, `settle_api_idle_connections_closed_total{reason="timeout"}`); n < 1 {
		t.Errorf("timeout closes counted: %v, want 1", n)
	}

	partial := dialRaw(t, ts)
	if _, err := partial.write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"), time.Second); err != nil {
		t.Fatal(err)
	}
	a, err := partial.answer(10 * readTimeout)
	if err != nil {
		t.Fatalf("a half-sent request got no answer: %v", err)
	}
	checkError(t, a, 400, codes.BadRequest)
}
