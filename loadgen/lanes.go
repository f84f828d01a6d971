package loadgen

import (
	"sync"

	"github.com/klauspost/compress/zstd"

	"settle/engine/txn"
)

// lane is one connection's queue. The dispatcher appends transaction indexes and
// never waits for the network; the lane's worker takes everything pending (up to a
// batch's limit) each time its connection is free, so a slow answer makes the next
// batch bigger instead of delaying the schedule. Lanes keep a sender's transactions
// in sequence order when routing by sender.
type lane struct {
	target int
	wake   chan struct{} // cap 1

	mu struct {
		sync.Mutex
		pending []uint32 // INVARIANT: entries before head were taken
		head    int
		closed  bool
	}
}

func newLane(target int) *lane { return &lane{target: target, wake: make(chan struct{}, 1)} }

// push appends indexes; the caller's slice may be reused after it returns.
func (l *lane) push(idx []uint32) {
	l.mu.Lock()
	l.mu.pending = append(l.mu.pending, idx...)
	l.mu.Unlock()
	l.signal()
}

func (l *lane) close() {
	l.mu.Lock()
	l.mu.closed = true
	l.mu.Unlock()
	l.signal()
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take moves up to n pending indexes into dst. It reports closed when the lane is
// closed and nothing is pending.
func (l *lane) take(dst []uint32, n int) (out []uint32, closed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := min(n, len(l.mu.pending)-l.mu.head)
	dst = append(dst, l.mu.pending[l.mu.head:l.mu.head+k]...)
	l.mu.head += k
	if l.mu.head == len(l.mu.pending) {
		l.mu.pending, l.mu.head = l.mu.pending[:0], 0
	}
	return dst, k == 0 && l.mu.closed
}

// laneWorker sends one lane's batches until the lane is closed and drained.
type laneWorker struct {
	l        *lane
	poster   batchPoster
	set      *TxSet
	tr       *tracker
	events   chan<- recEvent
	nowNs    func() int64
	batchMax int
	enc      *zstd.Encoder // nil: no compression

	body []byte
	zbuf []byte
	ans  batchAnswer
}

func (w *laneWorker) run() {
	for {
		<-w.l.wake
		for {
			idx, closed := w.l.take(make([]uint32, 0, 64), w.batchMax)
			if closed {
				return
			}
			if len(idx) == 0 {
				break
			}
			w.send(idx)
		}
	}
}

func (w *laneWorker) send(idx []uint32) {
	w.body = txn.AppendBatchHeader(w.body[:0], len(idx))
	for _, i := range idx {
		w.body = append(w.body, w.set.Frame(int(i))...)
	}
	body := w.body
	if w.enc != nil {
		w.zbuf = w.enc.EncodeAll(w.body, w.zbuf[:0])
		body = w.zbuf
	}
	sent := w.nowNs()
	status, answer, err := w.poster.PostBatch(body, w.enc != nil)
	at := w.nowNs()
	var codes []string
	if err != nil {
		codes = fillCodes(len(idx), codeHTTPError)
	} else {
		codes = parseBatchAnswer(status, answer, len(idx), &w.ans)
	}
	if codes != nil {
		w.tr.reject(idx, codes)
	}
	w.events <- recEvent{kind: evBatch, idx: idx, codes: codes, sentNs: sent, atNs: at}
}
