package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"settle/engine/txn"
)

// BlockEvent is one committed block of the event stream (docs/api.md "Commit
// event stream"): the transactions it applied, with their final results.
type BlockEvent struct {
	Height    uint64 `json:"height"`
	Hash      string `json:"hash"`
	StateHash string `json:"state_hash"`
	TimeMs    int64  `json:"time_ms"`
	TxCount   int    `json:"tx_count"`
	Txs       []struct {
		Hash   string `json:"hash"`
		Result string `json:"result"`
	} `json:"txs"`
	Skipped int `json:"skipped,omitempty"` // carried without applying: no commit
	// QueueEvents counts the RTGS queue entries that left the queue in this
	// block; Queue holds them, gathered from the queue events the stream sent
	// just before the block's event.
	QueueEvents int          `json:"queue_events,omitempty"`
	Queue       []QueueEvent `json:"-"`
}

// QueueEvent is an RTGS queue entry that left the queue (docs/api.md "Commit
// event stream"): released, offset, expired or cancelled.
type QueueEvent struct {
	Hash       string   `json:"hash"` // the queued transaction's
	Sender     string   `json:"sender"`
	Sequence   txn.Uint `json:"sequence"`
	Outcome    string   `json:"outcome"`
	LeftHeight uint64   `json:"left_height"`
	Priority   string   `json:"priority"`
	Legs       []Leg    `json:"legs"`
}

// Leg is one transfer of a queued entry.
type Leg struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Asset  string   `json:"asset"`
	Amount txn.Uint `json:"amount"`
}

// eventLineBytesMax bounds one line of the stream (a block's event lists its
// transactions: 16,384 of them fit).
const eventLineBytesMax = 4 << 20

// Events follows the commit stream from the block after height from (the
// head when from is negative) and calls fn for each block, in height order,
// until fn returns false, ctx ends or the stream fails. A stream the node
// closes (a slow reader, a restart) is resumed from the last block seen, so fn
// sees every block once.
func (c *Client) Events(ctx context.Context, from int64, fn func(*BlockEvent) bool) error {
	last := from
	for {
		resumed, err := c.followOnce(ctx, last, func(ev *BlockEvent) bool {
			last = int64(ev.Height)
			return fn(ev)
		})
		switch {
		case errors.Is(err, errStopped):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !resumed:
			return err
		}
		// The stream ended after it was live: resume after a pause.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

var errStopped = errors.New("stopped by the callback")

// followOnce reads one connection of the stream. resumed reports whether it
// was live (subscribed), so that a later end is worth resuming.
func (c *Client) followOnce(ctx context.Context, from int64, fn func(*BlockEvent) bool) (resumed bool, err error) {
	path := "/v1/events"
	if from >= 0 {
		path += "?from=" + strconv.FormatInt(from, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, err := c.do(ctx, http.MethodGet, path, "", nil) // the same refusal, as an *APIError
		if err == nil {
			err = fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		return false, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), eventLineBytesMax)
	// A block's queue events come before its block event and carry no id: a
	// connection lost in between sends them again from the resumed height, so
	// those gathered here are only handed out with their block.
	var queue []QueueEvent
	kind := ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":") {
			resumed = true // ": subscribed", ": ping"
			continue
		}
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kind = k
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			if line == "" {
				kind = ""
			}
			continue // id:, retry:, the blank line between events
		}
		switch kind {
		case "queue":
			if len(queue) >= queueEventsMax {
				return resumed, fmt.Errorf("event stream: over %d queue events before a block", queueEventsMax)
			}
			var q QueueEvent
			if err := json.Unmarshal([]byte(data), &q); err != nil {
				return resumed, fmt.Errorf("event stream: queue event: %w", err)
			}
			queue = append(queue, q)
		case "block", "":
			var ev BlockEvent
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				return resumed, fmt.Errorf("event stream: %w", err)
			}
			if len(queue) != ev.QueueEvents {
				return resumed, fmt.Errorf("event stream: block %d counts %d queue events, %d came", ev.Height, ev.QueueEvents, len(queue))
			}
			ev.Queue, queue = queue, nil
			resumed = true
			if !fn(&ev) {
				return resumed, errStopped
			}
		}
		// Other kinds are for other clients.
	}
	return resumed, sc.Err()
}

// queueEventsMax bounds the queue events gathered for one block: far above
// what a block's end-of-block work can produce in practice, it keeps a faulty
// stream from growing the client without end.
const queueEventsMax = 1 << 20

// WaitCommitted waits until the transaction commits and returns its final
// status, or returns an error when this validator dropped it for good
// (expired, superseded: it can never commit). It follows the event stream
// from the block after height from; a negative from means the head at the
// time of the call. Pass the height read before submitting to be sure not to
// miss a fast commit.
func (c *Client) WaitCommitted(ctx context.Context, h txn.Hash, from int64) (*TxStatus, error) {
	if from < 0 {
		s, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		from = int64(s.Height)
	}
	// Every commit after from is on the stream; one at or before it shows here.
	if st, err := c.Tx(ctx, h); err == nil && st.Committed() {
		return st, nil
	}
	want := h.String()
	var found bool
	var gone error
	checked := time.Now()
	err := c.Events(ctx, from, func(ev *BlockEvent) bool {
		for _, tx := range ev.Txs {
			if tx.Hash == want {
				found = true
				return false
			}
		}
		if time.Since(checked) > time.Second { // a drop has no event: look now and then
			checked = time.Now()
			if st, err := c.Tx(ctx, h); err == nil && st.Status == "dropped" && (st.Reason == "expired" || st.Reason == "superseded") {
				gone = fmt.Errorf("transaction %s was dropped (%s) and can never commit", h, st.Reason)
				return false
			}
		}
		return true
	})
	switch {
	case gone != nil:
		return nil, gone
	case !found && err == nil:
		return nil, fmt.Errorf("transaction %s: the event stream ended", h)
	case !found:
		return nil, err
	}
	return c.Tx(ctx, h)
}
