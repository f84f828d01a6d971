package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"settle/engine/txn"
)

// sseLineBytesMax bounds one SSE line (a block event with all its hashes).
const sseLineBytesMax = 64 << 20

// blockEvent is the data of one "block" event of GET /v1/events (docs/api.md).
type blockEvent struct {
	Height uint64 `json:"height"`
	Txs    []struct {
		Hash   string `json:"hash"`
		Result string `json:"result"`
	} `json:"txs"`
}

// follower holds the one event-stream subscription of one target and matches the
// committed hashes against the tracker. Commits scale with blocks, not with
// transactions: there is never a poll per transaction.
type follower struct {
	base   string // "http://host:port"
	client *http.Client
	tr     *tracker
	events chan<- recEvent
	nowNs  func() int64

	height     uint64 // last block height seen
	haveHeight bool
	hashes     []txn.Hash
	results    []string
}

// run follows the stream until ctx ends, reconnecting from the last height seen.
// ready receives nil once the first subscription is open, or the error that kept
// it from opening (then run returns).
func (f *follower) run(ctx context.Context, ready chan<- error) {
	first := true
	for ctx.Err() == nil {
		err := f.stream(ctx, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if first {
			ready <- err
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (f *follower) stream(ctx context.Context, onOpen func()) error {
	url := f.base + "/v1/events"
	if f.haveHeight {
		url += "?from=" + strconv.FormatUint(f.height, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("subscribing to %s: status %d", url, resp.StatusCode)
	}
	onOpen()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), sseLineBytesMax)
	var event string
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0: // end of an event
			if len(data) > 0 && (event == "" || event == "block") {
				f.onBlock(data, f.nowNs())
			}
			event, data = "", data[:0]
		case line[0] == ':': // comment, keep-alive
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[len("event:"):]))
		case bytes.HasPrefix(line, []byte("data:")):
			d := line[len("data:"):]
			if len(d) > 0 && d[0] == ' ' {
				d = d[1:]
			}
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, d...)
		}
	}
	return sc.Err()
}

// parseBlock fills f.hashes and f.results from a block event, with the fast scanner
// or, if it gives up, encoding/json.
func (f *follower) parseBlock(data []byte) (height uint64, ok bool) {
	f.hashes, f.results = f.hashes[:0], f.results[:0]
	if scanBlock(data, &height, f.addTx) {
		return height, true
	}
	f.hashes, f.results = f.hashes[:0], f.results[:0]
	var ev blockEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return 0, false
	}
	for _, t := range ev.Txs {
		f.addTx([]byte(t.Hash), []byte(t.Result))
	}
	return ev.Height, true
}

// addTx appends one committed transaction; malformed hashes are skipped.
func (f *follower) addTx(hash, result []byte) {
	var h txn.Hash
	if len(hash) != 2*len(h) {
		return
	}
	if _, err := hex.Decode(h[:], hash); err != nil {
		return
	}
	f.hashes = append(f.hashes, h)
	f.results = append(f.results, f.intern(result))
}

// intern returns result as a string without allocating for the common codes.
func (f *follower) intern(result []byte) string {
	switch string(result) {
	case "success":
		return "success"
	case "":
		return ""
	}
	return string(result)
}

// onBlock matches a block's transactions; atNs is when the event arrived.
func (f *follower) onBlock(data []byte, atNs int64) {
	height, ok := f.parseBlock(data)
	if !ok {
		return // not a block we understand; the node's problem, not a commit
	}
	if !f.haveHeight || height > f.height {
		f.height, f.haveHeight = height, true
	}
	idx, res := f.tr.commit(f.hashes, f.results, nil, nil)
	if len(idx) > 0 {
		f.events <- recEvent{kind: evCommit, idx: idx, codes: res, atNs: atNs}
	}
}
