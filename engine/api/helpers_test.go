package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"settle/engine/codes"
	"settle/engine/events"
	"settle/engine/ledger"
	"settle/engine/proof"
	"settle/engine/store"
	"settle/engine/txn"
)

const testChainID = "settle-test"

// fakeBackend is an in-memory Backend. Submit accepts every transaction unless
// reject says otherwise; blocks are committed with commit.
type fakeBackend struct {
	ready       atomic.Bool
	submitCalls atomic.Int64
	submitTxs   atomic.Int64
	keep        bool // keep submitted transactions (off in benchmarks)

	// reject, when set, decides each transaction's admission error.
	reject func(tx *txn.Tx) error
	// submitHook, when set, runs inside Submit (to block it, for instance).
	submitHook func()
	// blockHook, when set, runs inside Block before answering.
	blockHook func(h uint64)
	// failBlock, when non-zero, makes Block fail at that height with an I/O error.
	failBlock uint64
	// subscribeHook, when set, runs right after Subscribe registers.
	subscribeHook func()

	bc *events.Broadcaster

	mu struct {
		sync.Mutex
		pending  map[txn.Hash]*txn.Tx
		txs      map[txn.Hash]*store.TxRecord
		accounts map[txn.AccountID]ledger.Account
		history  map[txn.AccountID][]store.HistoryEntry
		queues   map[txn.AccountID][]ledger.Queued // in queue order
		queueSt  map[txn.Hash]*QueueStatus
		report   *store.Report        // nil: no reports
		blocks   []*store.BlockRecord // blocks[h-1]
	}
}

var _ Backend = (*fakeBackend)(nil)

func newFakeBackend(queueMax int) *fakeBackend {
	f := &fakeBackend{bc: events.New(queueMax), keep: true}
	f.ready.Store(true)
	f.mu.pending = map[txn.Hash]*txn.Tx{}
	f.mu.txs = map[txn.Hash]*store.TxRecord{}
	f.mu.accounts = map[txn.AccountID]ledger.Account{}
	f.mu.history = map[txn.AccountID][]store.HistoryEntry{}
	f.mu.queues = map[txn.AccountID][]ledger.Queued{}
	f.mu.queueSt = map[txn.Hash]*QueueStatus{}
	return f
}

func (f *fakeBackend) ChainID() string { return testChainID }

func (f *fakeBackend) Submit(ctx context.Context, txs []*txn.Tx, errs []error) {
	f.submitCalls.Add(1)
	f.submitTxs.Add(int64(len(txs)))
	if f.submitHook != nil {
		f.submitHook()
	}
	for i, tx := range txs {
		if tx.ChainID != testChainID {
			errs[i] = codes.Errorf(codes.WrongChain, "chain %q", tx.ChainID)
			continue
		}
		if f.reject != nil {
			if errs[i] = f.reject(tx); errs[i] != nil {
				continue
			}
		}
		if f.keep {
			f.mu.Lock()
			f.mu.pending[tx.Hash()] = tx
			f.mu.Unlock()
		}
	}
}

func (f *fakeBackend) Tx(h txn.Hash) (TxStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.mu.txs[h]; ok {
		return TxStatus{Committed: true, Record: r, Queue: f.mu.queueSt[h]}, nil
	}
	if tx, ok := f.mu.pending[h]; ok {
		return TxStatus{Tx: tx}, nil
	}
	return TxStatus{}, fmt.Errorf("load tx %s: %w", h, store.ErrNotFound)
}

func (f *fakeBackend) Account(id txn.AccountID) (ledger.Account, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.mu.accounts[id]
	return a, ok
}

func (f *fakeBackend) History(id txn.AccountID, cursor string, limit int) ([]store.HistoryEntry, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.mu.history[id]
	start := 0
	if cursor != "" {
		fmt.Sscanf(cursor, "%026x", &start)
	}
	if start > len(all) {
		start = len(all)
	}
	end := min(start+limit, len(all))
	next := ""
	if end < len(all) {
		next = fmt.Sprintf("%026x", end)
	}
	return all[start:end], next, nil
}

func (f *fakeBackend) Queue(sender txn.AccountID) []ledger.Queued {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ledger.Queued(nil), f.mu.queues[sender]...)
}

func (f *fakeBackend) Block(h uint64) (*store.BlockRecord, error) {
	if f.blockHook != nil {
		f.blockHook(h)
	}
	if h == f.failBlock {
		return nil, fmt.Errorf("read block %d: disk on fire at /var/lib/settle", h)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if h == 0 || h > uint64(len(f.mu.blocks)) {
		return nil, fmt.Errorf("load block %d: %w", h, store.ErrNotFound)
	}
	return f.mu.blocks[h-1], nil
}

func (f *fakeBackend) Height() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.mu.blocks))
}

func (f *fakeBackend) Status() Status {
	return Status{ChainID: testChainID, NodeID: "node-0", Height: f.Height(), Leader: "node-0",
		BaseFee: 10, MinFee: 10, Ready: f.ready.Load(), Mempool: Mempool{CountMax: 1000, BytesMax: 1 << 20}}
}

func (f *fakeBackend) Subscribe() *events.Subscription {
	s := f.bc.Subscribe()
	if f.subscribeHook != nil {
		f.subscribeHook()
	}
	return s
}

func (f *fakeBackend) Ready() bool { return f.ready.Load() }

func (f *fakeBackend) WriteMetrics(w io.Writer) { io.WriteString(w, "fake_backend_up 1\n") }

// The fake is a single validator without reports, as far as these two go.
func (f *fakeBackend) TxProof(txn.Hash) (*proof.Tx, error) {
	return nil, codes.Errorf(codes.NotFound, "the fake backend proves nothing")
}

func (f *fakeBackend) AccountProof(txn.AccountID, uint64) (*proof.Account, error) {
	return nil, codes.Errorf(codes.NotFound, "the fake backend proves nothing")
}

func (f *fakeBackend) Partition([]int) error {
	return codes.Errorf(codes.NotFound, "this validator runs no replica transport")
}

func (f *fakeBackend) Report(from, to uint64, _ *txn.AccountID) (*store.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mu.report == nil {
		return nil, codes.Errorf(codes.NotFound, "the fake backend serves no settlement reports")
	}
	r := *f.mu.report
	r.From, r.To = from, to
	return &r, nil
}

// commit appends a block holding txs (each committed with result success unless
// listed in results) and publishes it.
func (f *fakeBackend) commit(txs ...*txn.Tx) *store.BlockRecord { return f.commitQueue(nil, txs...) }

// commitQueue is commit of a block at whose end the queue events q happened.
func (f *fakeBackend) commitQueue(q []ledger.QueueEvent, txs ...*txn.Tx) *store.BlockRecord {
	f.mu.Lock()
	h := uint64(len(f.mu.blocks)) + 1
	rec := &store.BlockRecord{Height: h, TimeMs: 1_700_000_000_000 + int64(h), QueueEvents: q}
	rec.Hash[0], rec.Hash[31] = byte(h), 0xbb
	rec.StateHash[0] = byte(h)
	if h > 1 {
		rec.Parent = f.mu.blocks[h-2].Hash
	}
	for i, tx := range txs {
		r := ledger.Receipt{Hash: tx.Hash(), Result: codes.Success, Fee: tx.Fee}
		rec.Receipts = append(rec.Receipts, r)
		f.mu.txs[tx.Hash()] = &store.TxRecord{Height: h, Index: uint32(i), Receipt: r, Raw: tx.Bytes()}
		delete(f.mu.pending, tx.Hash())
	}
	f.mu.blocks = append(f.mu.blocks, rec)
	f.mu.Unlock()
	f.bc.Publish(&events.Block{Height: h, Hash: rec.Hash, StateHash: rec.StateHash, TimeMs: rec.TimeMs, Receipts: rec.Receipts, Queue: q})
	return rec
}

// testKey returns a deterministic signing key.
func testKey(t testing.TB, n byte) txn.Key {
	seed := bytes.Repeat([]byte{n + 1}, 32)
	k, err := txn.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// makeTx returns a signed payment with sequence seq.
func makeTx(t testing.TB, from, to txn.Key, seq uint64) *txn.Tx {
	tx := &txn.Tx{Type: txn.TypePayment, ChainID: testChainID, Sender: from.AccountID(), Seq: seq,
		Fee: 10, LastValid: 1000, Dest: to.AccountID(), Amount: 100 + seq}
	if err := txn.Sign(tx, from); err != nil {
		t.Fatal(err)
	}
	return tx
}

// makeTxs returns n signed payments from one sender.
func makeTxs(t testing.TB, n int) []*txn.Tx {
	from, to := testKey(t, 1), testKey(t, 2)
	out := make([]*txn.Tx, n)
	for i := range out {
		out[i] = makeTx(t, from, to, uint64(i+1))
	}
	return out
}

func batchOf(txs ...*txn.Tx) []byte {
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Bytes()
	}
	return txn.EncodeBatch(raws)
}

// testServer is a Server on 127.0.0.1:0 with a fake backend.
type testServer struct {
	s    *Server
	f    *fakeBackend
	base string
	c    *http.Client
}

func startServer(t testing.TB, cfg Config, f *fakeBackend) *testServer {
	t.Helper()
	if f == nil {
		f = newFakeBackend(64)
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = "s3cret-token"
	}
	if cfg.Logf == nil {
		// What the server logs is shown with the test's output; fasthttp's
		// warnings (a streamed body read whole, for one) would show here.
		var mu sync.Mutex
		var lines []string
		cfg.Logf = func(format string, args ...any) {
			mu.Lock()
			lines = append(lines, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		t.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			for _, l := range lines {
				t.Logf("server log: %s", l)
			}
		})
	}
	s := New(cfg, f)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	ts := &testServer{s: s, f: f, base: "http://" + ln.Addr().String(),
		c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}}
	t.Cleanup(func() {
		ts.c.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %q", a.status, err, a.body)
	}
	return m
}

func (ts *testServer) do(t testing.TB, method, path string, body []byte, hdr map[string]string) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}
