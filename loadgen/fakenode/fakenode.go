// Package fakenode is an in-process stand-in for a Settle validator that implements
// the parts of docs/api.md a load generator uses: POST /v1/batch, GET /v1/events,
// GET /v1/status and GET /v1/account/{address}. It admits every well-framed
// transaction without checking signatures or balances, "commits" them in blocks on
// a timer, and can stall its ingress or its commits on demand, so the load
// generator's measurement can be tested without a real node.
package fakenode

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"settle/engine/txn"
)

// Config shapes the fake node. Zero fields take defaults.
type Config struct {
	ChainID       string
	MinFee        uint64
	BlockInterval time.Duration // default 10 ms
	BlockTxMax    int           // default 20000
	RejectEvery   int           // reject every n-th transaction with mempool_full (0: never)
	FailEvery     int           // commit every n-th transaction with insufficient_funds (0: never)
	DropEvery     int           // admit every n-th transaction but never commit it (0: never)

	// A stall triggered once the node has admitted StallAfterTxs transactions (0:
	// never): for StallFor, batch requests wait before they are answered
	// (StallIngress) or no block is produced (otherwise).
	StallAfterTxs int64
	StallFor      time.Duration
	StallIngress  bool
}

// Stats are counters for tests.
type Stats struct {
	Batches    int64
	Admitted   int64
	Rejected   int64
	Committed  int64
	Height     uint64
	MaxPending int   // most admitted-but-uncommitted transactions seen at once
	OutOfOrder int64 // transactions whose sequence was not the sender's next
	Stalls     int
}

const (
	historyBlocks = 256
	subQueueMax   = 256
	batchBytesMax = txn.BatchBytesMax
)

// Node is a fake validator. Create with New, serve Handler, stop with Close.
type Node struct {
	cfg  Config
	dec  *zstd.Decoder
	stop chan struct{}
	done chan struct{}

	mu struct {
		sync.Mutex
		pending      [][]byte // encoded block-event entries of admitted txs
		seqs         map[txn.AccountID]uint64
		history      [][]byte // last blocks' SSE frames, oldest first
		subs         map[chan []byte]struct{}
		stats        Stats
		stallUntil   time.Time
		stallStarted bool
		n            int64 // transactions seen, for the every-n-th rules
	}
}

// New starts a fake node's block producer.
func New(cfg Config) *Node {
	if cfg.ChainID == "" {
		cfg.ChainID = "settle-dev"
	}
	if cfg.MinFee == 0 {
		cfg.MinFee = 10
	}
	if cfg.BlockInterval == 0 {
		cfg.BlockInterval = 10 * time.Millisecond
	}
	if cfg.BlockTxMax == 0 {
		cfg.BlockTxMax = 20000
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(uint64(batchBytesMax)), zstd.WithDecoderConcurrency(2))
	if err != nil {
		panic("fakenode: zstd decoder: " + err.Error()) // INVARIANT: static options
	}
	n := &Node{cfg: cfg, dec: dec, stop: make(chan struct{}), done: make(chan struct{})}
	n.mu.seqs = map[txn.AccountID]uint64{}
	n.mu.subs = map[chan []byte]struct{}{}
	go n.produce()
	return n
}

// Close stops the block producer and disconnects the event streams.
func (n *Node) Close() {
	close(n.stop)
	<-n.done
	n.dec.Close()
}

// Stats returns a snapshot of the counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.stats
}

// Handler serves the API subset.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/batch", n.handleBatch)
	mux.HandleFunc("GET /v1/events", n.handleEvents)
	mux.HandleFunc("GET /v1/status", n.handleStatus)
	mux.HandleFunc("GET /v1/account/{address}", n.handleAccount)
	return mux
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func (n *Node) handleBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(batchBytesMax)+1))
	if err != nil || len(body) > batchBytesMax {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "batch over the limit")
		return
	}
	if r.Header.Get("Content-Encoding") == "zstd" {
		if body, err = n.dec.DecodeAll(body, nil); err != nil || len(body) > batchBytesMax {
			writeError(w, http.StatusBadRequest, "malformed", "bad zstd body")
			return
		}
	}
	raws, err := txn.SplitBatch(body, nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	n.waitIngressStall()
	out := n.admit(raws)
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
}

func (n *Node) waitIngressStall() {
	n.mu.Lock()
	until := n.mu.stallUntil
	n.mu.Unlock()
	if n.cfg.StallIngress && time.Now().Before(until) {
		time.Sleep(time.Until(until))
	}
}

// admit decodes the batch's transactions and answers in docs/api.md's shape.
func (n *Node) admit(raws [][]byte) []byte {
	var tx txn.Tx
	codes := make([]string, len(raws))
	hashes := make([]txn.Hash, len(raws))
	accepted := 0
	n.mu.Lock()
	n.mu.stats.Batches++
	for j, raw := range raws {
		if err := txn.DecodeInto(&tx, raw); err != nil {
			codes[j] = "malformed"
			continue
		}
		hashes[j] = tx.Hash()
		codes[j] = n.admitLocked(&tx)
		if codes[j] == "accepted" {
			accepted++
		}
	}
	n.maybeStallLocked()
	n.mu.Unlock()
	out := fmt.Appendf(nil, `{"accepted":%d,"rejected":%d,"retry_after_ms":0,"results":[`, accepted, len(raws)-accepted)
	for j := range raws {
		if j > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"hash":"`...)
		out = hex.AppendEncode(out, hashes[j][:])
		out = append(out, `","code":"`...)
		out = append(out, codes[j]...)
		out = append(out, `"}`...)
	}
	return append(out, "]}"...)
}

func (n *Node) admitLocked(tx *txn.Tx) string {
	n.mu.n++
	if k := n.cfg.RejectEvery; k > 0 && n.mu.n%int64(k) == 0 {
		n.mu.stats.Rejected++
		return "mempool_full"
	}
	if next, ok := n.mu.seqs[tx.Sender]; ok && tx.Seq != next {
		n.mu.stats.OutOfOrder++
	}
	n.mu.seqs[tx.Sender] = tx.Seq + 1
	n.mu.stats.Admitted++
	if k := n.cfg.DropEvery; k > 0 && n.mu.n%int64(k) == 0 {
		return "accepted"
	}
	result := "success"
	if k := n.cfg.FailEvery; k > 0 && n.mu.n%int64(k) == 0 {
		result = "insufficient_funds"
	}
	h := tx.Hash()
	entry := fmt.Appendf(nil, `{"hash":"%s","result":"%s"}`, hex.EncodeToString(h[:]), result)
	n.mu.pending = append(n.mu.pending, entry)
	n.mu.stats.MaxPending = max(n.mu.stats.MaxPending, len(n.mu.pending))
	return "accepted"
}

func (n *Node) maybeStallLocked() {
	if n.cfg.StallAfterTxs > 0 && !n.mu.stallStarted && n.mu.stats.Admitted >= n.cfg.StallAfterTxs {
		n.mu.stallStarted = true
		n.mu.stallUntil = time.Now().Add(n.cfg.StallFor)
		n.mu.stats.Stalls++
	}
}

// produce makes a block every interval from the pending transactions.
func (n *Node) produce() {
	defer close(n.done)
	t := time.NewTicker(n.cfg.BlockInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			n.mu.Lock()
			for ch := range n.mu.subs {
				close(ch)
				delete(n.mu.subs, ch)
			}
			n.mu.Unlock()
			return
		case <-t.C:
			n.block()
		}
	}
}

func (n *Node) block() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.cfg.StallIngress && time.Now().Before(n.mu.stallUntil) {
		return
	}
	k := min(len(n.mu.pending), n.cfg.BlockTxMax)
	n.mu.stats.Height++
	h := n.mu.stats.Height
	frame := fmt.Appendf(nil, "event: block\nid: %d\ndata: {\"height\":%d,\"hash\":\"%064x\",\"state_hash\":\"%064x\",\"time_ms\":%d,\"tx_count\":%d,\"txs\":[",
		h, h, h, h, time.Now().UnixMilli(), k)
	for j, e := range n.mu.pending[:k] {
		if j > 0 {
			frame = append(frame, ',')
		}
		frame = append(frame, e...)
	}
	frame = append(frame, "]}\n\n"...)
	n.mu.pending = append(n.mu.pending[:0], n.mu.pending[k:]...)
	n.mu.stats.Committed += int64(k)
	if len(n.mu.history) == historyBlocks {
		n.mu.history = append(n.mu.history[:0], n.mu.history[1:]...)
	}
	n.mu.history = append(n.mu.history, frame)
	for ch := range n.mu.subs {
		select {
		case ch <- frame:
		default: // too far behind: disconnect, the client resumes with from=
			close(ch)
			delete(n.mu.subs, ch)
		}
	}
}

func (n *Node) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	from, hasFrom := uint64(0), false
	if s := r.URL.Query().Get("from"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "from must be a height")
			return
		}
		from, hasFrom = v, true
	}
	ch := make(chan []byte, subQueueMax)
	n.mu.Lock()
	if hasFrom {
		first := n.mu.stats.Height + 1 - uint64(len(n.mu.history))
		for i, f := range n.mu.history {
			if first+uint64(i) > from {
				ch <- f
			}
		}
	}
	n.mu.subs[ch] = struct{}{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		if _, ok := n.mu.subs[ch]; ok {
			delete(n.mu.subs, ch)
		}
		n.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": connected\n\n")
	fl.Flush()
	ping := time.NewTicker(time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case f, ok := <-ch:
			if !ok {
				return
			}
			if _, err := w.Write(f); err != nil {
				return
			}
			fl.Flush()
		case <-ping.C:
			io.WriteString(w, ": ping\n\n")
			fl.Flush()
		}
	}
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	st := n.mu.stats
	pending := len(n.mu.pending)
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"chain_id": n.cfg.ChainID, "node_id": "fake", "height": st.Height, "view": st.Height,
		"leader": "fake", "peers": 0, "state_hash": fmt.Sprintf("%064x", st.Height),
		"mempool":  map[string]any{"count": pending, "bytes": 0, "count_max": 1 << 20, "bytes_max": 1 << 30, "fill": 0},
		"base_fee": strconv.FormatUint(n.cfg.MinFee, 10), "min_fee": strconv.FormatUint(n.cfg.MinFee, 10),
		"ready": true,
	})
}

func (n *Node) handleAccount(w http.ResponseWriter, r *http.Request) {
	id, err := txn.ParseAddress(r.PathValue("address"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	n.mu.Lock()
	seq, ok := n.mu.seqs[id]
	n.mu.Unlock()
	if !ok {
		seq = 1
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"address": id.String(), "sequence": strconv.FormatUint(seq, 10),
		"balances": []map[string]string{{"asset": "STL", "amount": "1000000000"}}, "flags": 0,
	})
}
