package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"settle/engine/codes"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	event, id string
	data      []byte
}

// sseClient reads a /v1/events stream.
type sseClient struct {
	resp   *http.Response
	sc     *bufio.Scanner
	pings  int
	cancel context.CancelFunc
}

func openEvents(t *testing.T, ts *testServer, query string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.base+"/v1/events"+query, nil)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &sseClient{resp: resp, sc: bufio.NewScanner(resp.Body), cancel: cancel}
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next event; io.EOF when the server ended the stream.
func (c *sseClient) next() (sseEvent, error) {
	var ev sseEvent
	for c.sc.Scan() {
		line := c.sc.Text()
		switch {
		case line == "":
			if ev.event != "" {
				return ev, nil
			}
		case line == ": ping":
			c.pings++
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "event: "):
			ev.event = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data = append(ev.data, line[len("data: "):]...)
		}
	}
	if err := c.sc.Err(); err != nil {
		return ev, err
	}
	return ev, io.EOF
}

type blockEventData struct {
	Height  uint64 `json:"height"`
	Hash    string `json:"hash"`
	TxCount int    `json:"tx_count"`
	Txs     []struct {
		Hash   string `json:"hash"`
		Result string `json:"result"`
	} `json:"txs"`
	QueueEvents int `json:"queue_events"`
}

type queueEventData struct {
	Hash       string      `json:"hash"`
	Sender     string      `json:"sender"`
	Sequence   string      `json:"sequence"`
	Outcome    string      `json:"outcome"`
	LeftHeight uint64      `json:"left_height"`
	Priority   string      `json:"priority"`
	Legs       []legAnswer `json:"legs"`
}

func (c *sseClient) nextBlock(t *testing.T) blockEventData {
	t.Helper()
	ev, err := c.next()
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	var b blockEventData
	if ev.event != "block" {
		t.Fatalf("event %q, want block", ev.event)
	}
	if err := json.Unmarshal(ev.data, &b); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	if ev.id != jsonNumber(b.Height) {
		t.Errorf("id %q for height %d", ev.id, b.Height)
	}
	return b
}

func jsonNumber(v uint64) string { b, _ := json.Marshal(v); return string(b) }

func TestEventsReplayThenLive(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	txs := makeTxs(t, 6)
	for _, tx := range txs[:3] {
		ts.f.commit(tx)
	}
	c := openEvents(t, ts, "?from=1")
	for _, want := range []uint64{2, 3} { // replayed from the backend
		if b := c.nextBlock(t); b.Height != want {
			t.Fatalf("height %d, want %d", b.Height, want)
		}
	}
	ts.f.commit(txs[3], txs[4])
	ts.f.commit(txs[5])
	b := c.nextBlock(t)
	if b.Height != 4 || b.TxCount != 2 || len(b.Txs) != 2 || b.Txs[1].Hash != txs[4].Hash().String() || b.Txs[1].Result != "success" {
		t.Fatalf("block 4 event %+v", b)
	}
	if b := c.nextBlock(t); b.Height != 5 {
		t.Fatalf("height %d, want 5", b.Height)
	}
}

func TestEventsDefaultFromIsHead(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	txs := makeTxs(t, 3)
	ts.f.commit(txs[0])
	ts.f.commit(txs[1])
	c := openEvents(t, ts, "")
	ts.f.commit(txs[2])
	if b := c.nextBlock(t); b.Height != 3 {
		t.Fatalf("height %d, want 3 (the first block after connecting)", b.Height)
	}
}

// TestEventsNoDuplicateAtHandover commits a block between Subscribe and the
// height read: it is in the replay and in the subscription, and must be sent once.
func TestEventsNoDuplicateAtHandover(t *testing.T) {
	f := newFakeBackend(64)
	txs := makeTxs(t, 3)
	f.commit(txs[0])
	fired := false
	f.subscribeHook = func() {
		if !fired {
			fired = true
			f.commit(txs[1])
		}
	}
	ts := startServer(t, Config{}, f)
	c := openEvents(t, ts, "?from=0")
	for _, want := range []uint64{1, 2} {
		if b := c.nextBlock(t); b.Height != want {
			t.Fatalf("height %d, want %d", b.Height, want)
		}
	}
	f.commit(txs[2])
	if b := c.nextBlock(t); b.Height != 3 {
		t.Fatalf("height %d, want 3 (block 2 sent twice?)", b.Height)
	}
}

// TestEventsEndOnDrop fills a subscription (queue of 1) while the stream is busy
// replaying: the subscription is dropped and the stream ends, so the client
// resumes from its last height and misses nothing.
func TestEventsEndOnDrop(t *testing.T) {
	f := newFakeBackend(1)
	txs := makeTxs(t, 6)
	f.commit(txs[0])
	f.commit(txs[1])
	gate := make(chan struct{})
	inReplay := make(chan struct{}, 1)
	f.blockHook = func(h uint64) {
		if h == 2 {
			select {
			case inReplay <- struct{}{}:
				<-gate
			default:
			}
		}
	}
	ts := startServer(t, Config{}, f)
	c := openEvents(t, ts, "?from=0")
	<-inReplay
	f.commit(txs[2])
	f.commit(txs[3]) // the second publish overflows the queue of 1: dropped
	close(gate)
	var last uint64
	for {
		ev, err := c.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		var b blockEventData
		json.Unmarshal(ev.data, &b)
		if b.Height != last+1 {
			t.Fatalf("height %d after %d", b.Height, last)
		}
		last = b.Height
	}
	if last < 2 {
		t.Fatalf("stream ended after height %d, want the replay (2) at least", last)
	}
	// Resume: everything after last arrives, in order.
	c2 := openEvents(t, ts, "?from="+jsonNumber(last))
	for h := last + 1; h <= 4; h++ {
		if b := c2.nextBlock(t); b.Height != h {
			t.Fatalf("resumed stream: height %d, want %d", b.Height, h)
		}
	}
}

func TestEventsPingAndShutdown(t *testing.T) {
	f := newFakeBackend(8)
	ts := startServer(t, Config{EventPingInterval: 20 * time.Millisecond}, f)
	c := openEvents(t, ts, "")
	done := make(chan error, 1)
	go func() {
		_, err := c.next() // no blocks: only pings until the stream ends
		done <- err
	}()
	deadline := time.After(5 * time.Second)
	for f.bc.Subscribers() == 0 {
		select {
		case <-deadline:
			t.Fatal("no subscription")
		case <-time.After(5 * time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond) // a few ping periods
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want EOF", err)
	}
	if c.pings == 0 {
		t.Error("no ping comment received")
	}
	if n := f.bc.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions left open", n)
	}
}

func TestEventsStreamLimit(t *testing.T) {
	ts := startServer(t, Config{EventStreamsMax: 1}, nil)
	if a := ts.do(t, "HEAD", "/v1/events", nil, nil); a.status != 200 || a.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("HEAD: %d %q", a.status, a.header.Get("Content-Type"))
	}
	openEvents(t, ts, "") // HEAD took no slot
	checkError(t, ts.do(t, "GET", "/v1/events", nil, nil), 503, "overloaded")
}

// TestEventsFromBeyondHead checks that from= (or Last-Event-ID) beyond the
// head is refused before a stream slot is taken: such a stream used to be
// accepted, hold one of the EventStreamsMax slots and deliver nothing.
func TestEventsFromBeyondHead(t *testing.T) {
	f := newFakeBackend(8)
	ts := startServer(t, Config{EventStreamsMax: 1}, f)
	f.commit(makeTxs(t, 1)...)
	f.commit()
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		path string
	}{
		{"from the head + 1", nil, "/v1/events?from=3"},
		{"from far beyond", nil, "/v1/events?from=1000000"},
		{"Last-Event-ID beyond", map[string]string{"Last-Event-ID": "3"}, "/v1/events"},
	} {
		a := ts.do(t, "GET", tc.path, nil, tc.hdr)
		checkError(t, a, 400, codes.BadRequest)
		if !strings.Contains(string(a.body), "beyond the head 2") {
			t.Errorf("%s: message %s does not name the head", tc.name, a.body)
		}
	}
	// The one slot is free: a stream from the head opens and follows.
	c := openEvents(t, ts, "?from=2")
	f.commit()
	if b := c.nextBlock(t); b.Height != 3 {
		t.Errorf("first event at height %d, want 3", b.Height)
	}
}
