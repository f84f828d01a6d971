package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"settle/engine/client"
)

func sseQueue(hash string, left uint64) string {
	return fmt.Sprintf("event: queue\ndata: {\"hash\":%q,\"sender\":\"stla\",\"sequence\":\"3\",\"outcome\":\"offset\",\"left_height\":%d,"+
		"\"priority\":\"normal\",\"legs\":[{\"from\":\"stla\",\"to\":\"stlb\",\"asset\":\"STL\",\"amount\":\"5\"}]}\n\n", hash, left)
}

func sseBlock(h uint64, queueEvents int) string {
	q := ""
	if queueEvents > 0 {
		q = fmt.Sprintf(`,"queue_events":%d`, queueEvents)
	}
	return fmt.Sprintf("event: block\nid: %d\ndata: {\"height\":%d,\"tx_count\":0%s,\"txs\":[]}\n\n", h, h, q)
}

// TestEventsGatherQueueEvents: Events hands out each block with the queue
// events that came before it; a stream cut among a block's queue events is
// resumed from the last block, and the block comes out once, whole.
func TestEventsGatherQueueEvents(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		switch conns.Add(1) {
		case 1:
			if r.URL.Query().Get("from") != "0" {
				t.Errorf("first connection from %q", r.URL.Query().Get("from"))
			}
			fmt.Fprint(w, ": subscribed\n\n", sseBlock(1, 0), sseQueue("a", 2), sseQueue("b", 2), sseBlock(2, 2), sseQueue("c", 3))
		default: // the first one was cut among block 3's queue events
			if r.URL.Query().Get("from") != "2" {
				t.Errorf("resumed from %q, want 2", r.URL.Query().Get("from"))
			}
			fmt.Fprint(w, ": subscribed\n\n", sseQueue("c", 3), sseQueue("d", 3), sseBlock(3, 2))
		}
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.Events(t.Context(), 0, func(ev *client.BlockEvent) bool {
		var hs []string
		for _, q := range ev.Queue {
			if q.LeftHeight != ev.Height || q.Outcome != "offset" || q.Sequence != 3 || len(q.Legs) != 1 || q.Legs[0].Amount != 5 {
				t.Errorf("block %d queue event %+v", ev.Height, q)
			}
			hs = append(hs, q.Hash)
		}
		got = append(got, fmt.Sprintf("%d:%s", ev.Height, strings.Join(hs, ",")))
		return ev.Height < 3
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1:", "2:a,b", "3:c,d"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("blocks %v, want %v", got, want)
	}
}

// TestEventsQueueCountMismatch: a block whose count disagrees with the queue
// events received is never handed out with some of them: the stream is read
// again from the last block, as after any broken stream.
func TestEventsQueueCountMismatch(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": subscribed\n\n", sseQueue("a", 1), sseBlock(1, 2))
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	calls := 0
	err = c.Events(ctx, 0, func(*client.BlockEvent) bool { calls++; return false })
	if !errors.Is(err, context.DeadlineExceeded) || calls != 0 || conns.Load() < 2 {
		t.Fatalf("err %v after %d blocks and %d connections", err, calls, conns.Load())
	}
}
