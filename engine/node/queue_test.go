package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/client"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// queuedPay is demo account from's queued native payment to demo account to.
func queuedPay(t testing.TB, from, to int, seq, amount uint64, prio uint8) *txn.Tx {
	t.Helper()
	k := devnet.DemoKey(devnet.ChainID, from)
	tx := &txn.Tx{Type: txn.TypeQueuedPayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seq, Fee: 10,
		LastValid: 1000, QueueUntil: 100_000, Dest: devnet.DemoKey(devnet.ChainID, to).AccountID(), Asset: txn.Native,
		Amount: amount, Priority: prio}
	if err := txn.Sign(tx, k); err != nil {
		t.Fatal(err)
	}
	return tx
}

func queueCancel(t testing.TB, from int, seq, queued uint64) *txn.Tx {
	t.Helper()
	k := devnet.DemoKey(devnet.ChainID, from)
	tx := &txn.Tx{Type: txn.TypeQueueCancel, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seq, Fee: 10,
		LastValid: 1000, QueueSeq: queued}
	if err := txn.Sign(tx, k); err != nil {
		t.Fatal(err)
	}
	return tx
}

// streamLog records what a client following the commit stream saw.
type streamLog struct {
	mu     sync.Mutex
	queue  map[string]client.QueueEvent // by the queued transaction's hash, the last event
	blocks map[uint64]int               // queue events per block
}

func (l *streamLog) event(hash string) (client.QueueEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.queue[hash]
	return e, ok
}

func (l *streamLog) count(height uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocks[height]
}

// TestQueueOverHTTP drives a real node (Pebble on disk, real HTTP, the Go
// client on the commit stream) through the RTGS queue: three accounts without
// liquidity queue payments that form a ring, which waits while incomplete and
// settles by offset in the block that closes it (gridlock resolution every
// block); a fourth queues an urgent and a normal payment, is funded enough for
// one (the urgent one is released, the normal one waits), then cancels the
// other. At each step the account queue, the transaction status's queue
// object, the history, the report's split, the stream's queue events and the
// metrics agree.
func TestQueueOverHTTP(t *testing.T) {
	const (
		ringA, ringB, ringC = 1, 2, 3
		dAcct, eAcct, fAcct = 4, 5, 6
		funder              = 7
		little              = 100       // fees only
		amount              = 1_000_000 // what each queued payment moves
	)
	o := devnet.DefaultOptions()
	o.Accounts = 8
	g := devnet.Genesis(o)
	for _, i := range []int{ringA, ringB, ringC, dAcct} {
		g.Accounts[i].Native = little
	}
	g.Queue = &ledger.GenesisQueue{GridlockEveryBlocks: 1}
	n, _, _ := testNodeOf(t, g)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()
	addr := func(i int) string { return devnet.DemoKey(devnet.ChainID, i).AccountID().String() }

	cl, err := client.New(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	seen := &streamLog{queue: map[string]client.QueueEvent{}, blocks: map[uint64]int{}}
	ctx, cancel := context.WithCancel(t.Context())
	streamDone := make(chan error, 1)
	go func() {
		streamDone <- cl.Events(ctx, 0, func(ev *client.BlockEvent) bool {
			seen.mu.Lock()
			defer seen.mu.Unlock()
			seen.blocks[ev.Height] = len(ev.Queue)
			for _, q := range ev.Queue {
				seen.queue[q.Hash] = q
			}
			return true
		})
	}()
	defer func() {
		cancel()
		if err := <-streamDone; err != nil && ctx.Err() == nil {
			t.Errorf("event stream: %v", err)
		}
	}()

	type txAnswer struct {
		Status string          `json:"status"`
		Height uint64          `json:"height"`
		Result string          `json:"result"`
		Queue  *client.TxQueue `json:"queue"`
	}
	txStatus := func(tx *txn.Tx) txAnswer {
		t.Helper()
		var a txAnswer
		getJSON(t, base+"/v1/tx/"+tx.Hash().String(), &a)
		return a
	}
	waitQueue := func(what string, tx *txn.Tx, status string) txAnswer {
		t.Helper()
		var a txAnswer
		testkit.WaitFor(t, 20*time.Second, what, func() bool {
			a = txStatus(tx)
			return a.Status == "committed" && a.Queue != nil && a.Queue.Status == status
		})
		if a.Result != "queued" {
			t.Fatalf("%s: result %q, want queued", what, a.Result)
		}
		return a
	}
	queueOf := func(i int) client.Queue {
		t.Helper()
		var q client.Queue
		getJSON(t, base+"/v1/account/"+addr(i)+"/queue", &q)
		return q
	}
	type historyAnswer struct {
		Entries []struct {
			Height       uint64   `json:"height"`
			Hash         string   `json:"hash"`
			Result       string   `json:"result"`
			Role         string   `json:"role"`
			Asset        string   `json:"asset"`
			Amount       txn.Uint `json:"amount"`
			Fee          txn.Uint `json:"fee"`
			Counterparty string   `json:"counterparty"`
		} `json:"entries"`
	}
	report := func(i int) (row struct{ Credited, Debited, ReleasedCredited, ReleasedDebited, OffsetCredited, OffsetDebited string }) {
		t.Helper()
		var rep client.Report
		getJSON(t, fmt.Sprintf("%s/v1/report?from=1&to=%d&account=%s", base, n.Height(), addr(i)), &rep)
		for _, p := range rep.Positions {
			if p.Asset == "STL" {
				row.Credited, row.Debited, row.ReleasedCredited, row.ReleasedDebited = p.Credited, p.Debited, p.ReleasedCredited, p.ReleasedDebited
				row.OffsetCredited, row.OffsetDebited = p.OffsetCredited, p.OffsetDebited
			}
		}
		return row
	}

	// 1. Two thirds of the ring, and D's normal then urgent payment: all wait.
	ab, bc := queuedPay(t, ringA, ringB, 1, amount, txn.PriorityNormal), queuedPay(t, ringB, ringC, 1, amount, txn.PriorityNormal)
	df, de := queuedPay(t, dAcct, fAcct, 1, amount, txn.PriorityNormal), queuedPay(t, dAcct, eAcct, 2, amount, txn.PriorityUrgent)
	postBatch(t, base, ab, bc, df, de)
	for _, tx := range []*txn.Tx{ab, bc, df, de} {
		a := waitQueue("the payment queues", tx, "queued")
		if a.Queue.QueueUntil != 100_000 || a.Queue.LeftHeight != 0 || a.Queue.SettledHeight != 0 ||
			a.Queue.Priority != txn.PriorityName(tx.Priority) {
			t.Errorf("queued %s: %+v", tx.Hash(), a.Queue)
		}
	}
	if q := queueOf(ringA); q.Count != 1 || q.Urgent != 0 || q.Value != amount || len(q.Entries) != 1 ||
		q.Entries[0].Hash != ab.Hash().String() || q.Entries[0].Position != 1 || q.Entries[0].Sequence != 1 ||
		q.Entries[0].Priority != "normal" || q.Entries[0].QueueUntil != 100_000 || len(q.Entries[0].Legs) != 1 ||
		q.Entries[0].Legs[0] != (client.Leg{From: addr(ringA), To: addr(ringB), Asset: "STL", Amount: amount}) {
		t.Errorf("A's queue: %+v", q)
	}
	// D's urgent payment (sequence 2) is ahead of its earlier normal one.
	if q := queueOf(dAcct); q.Count != 2 || q.Urgent != 1 || q.Value != 2*amount || len(q.Entries) != 2 ||
		q.Entries[0].Sequence != 2 || q.Entries[0].Position != 1 || q.Entries[0].Priority != "urgent" ||
		q.Entries[1].Sequence != 1 || q.Entries[1].Position != 2 {
		t.Errorf("D's queue: %+v", q)
	}
	// The same through the cursor, a page at a time.
	if p1, err := cl.Queue(t.Context(), devnet.DemoKey(devnet.ChainID, dAcct).AccountID(), "", 1); err != nil || len(p1.Entries) != 1 || p1.NextCursor == "" {
		t.Errorf("D's first page: %+v, %v", p1, err)
	} else if p2, err := cl.Queue(t.Context(), devnet.DemoKey(devnet.ChainID, dAcct).AccountID(), p1.NextCursor, 1); err != nil ||
		len(p2.Entries) != 1 || p2.Entries[0].Sequence != 1 || p2.Entries[0].Position != 2 || p2.NextCursor != "" {
		t.Errorf("D's second page: %+v, %v", p2, err)
	}
	metric(t, base, "settle_queue_entries", 4)
	metric(t, base, "settle_queue_urgent_entries", 1)
	metric(t, base, "settle_queue_value", 4*amount)

	// 2. C closes the ring: the three settle together by offset, in the block
	// that queued the last one.
	ca := queuedPay(t, ringC, ringA, 1, amount, txn.PriorityNormal)
	postBatch(t, base, ca)
	closed := waitQueue("the ring settles by offset", ca, "offset")
	h := closed.Height
	for _, tx := range []*txn.Tx{ab, bc, ca} {
		a := txStatus(tx)
		if a.Queue == nil || a.Queue.Status != "offset" || a.Queue.LeftHeight != h || a.Queue.SettledHeight != h || a.Queue.Priority != "normal" {
			t.Errorf("ring payment %s: %+v", tx.Hash(), a.Queue)
		}
	}
	for _, i := range []int{ringA, ringB, ringC} {
		if q := queueOf(i); q.Count != 0 || len(q.Entries) != 0 {
			t.Errorf("account %d's queue after the offset: %+v", i, q)
		}
		a, _ := n.Account(devnet.DemoKey(devnet.ChainID, i).AccountID())
		if a.Native != little-10 {
			t.Errorf("account %d: native %d after the offset, want %d (the fee)", i, a.Native, little-10)
		}
	}
	var hist historyAnswer
	getJSON(t, base+"/v1/account/"+addr(ringA)+"/history", &hist)
	var queueEntries, own int
	for _, e := range hist.Entries {
		switch {
		case e.Role == "queue":
			queueEntries++
			ok := e.Height == h && e.Result == "queue_offset" && e.Amount == amount && e.Fee == 0 && e.Asset == "STL" &&
				(e.Hash == ab.Hash().String() && e.Counterparty == addr(ringB) || e.Hash == ca.Hash().String() && e.Counterparty == addr(ringC))
			if !ok {
				t.Errorf("A's queue history entry %+v", e)
			}
		case e.Hash == ab.Hash().String():
			own++
			if e.Role != "sender" || e.Result != "queued" || e.Fee != 10 || e.Amount != amount || e.Counterparty != addr(ringB) {
				t.Errorf("A's entry of its queued payment %+v", e)
			}
		}
	}
	if queueEntries != 2 || own != 1 {
		t.Errorf("A's history: %d queue entries (want 2: paid to B, paid by C), %d of its own payment: %+v", queueEntries, own, hist.Entries)
	}
	for _, i := range []int{ringA, ringB, ringC} {
		want := fmt.Sprint(amount)
		if r := report(i); r.Credited != want || r.Debited != want || r.OffsetCredited != want || r.OffsetDebited != want ||
			r.ReleasedCredited != "0" || r.ReleasedDebited != "0" {
			t.Errorf("account %d's report row %+v", i, r)
		}
	}
	testkit.WaitFor(t, 10*time.Second, "the stream announces the offset", func() bool { return seen.count(h) == 3 })
	for _, tx := range []*txn.Tx{ab, bc, ca} {
		e, _ := seen.event(tx.Hash().String())
		if e.Outcome != "offset" || e.LeftHeight != h || e.Sender != tx.Sender.String() || e.Sequence != 1 || len(e.Legs) != 1 ||
			e.Legs[0] != (client.Leg{From: tx.Sender.String(), To: tx.Dest.String(), Asset: "STL", Amount: amount}) {
			t.Errorf("stream event of %s: %+v", tx.Hash(), e)
		}
	}

	// 3. D is funded for one payment: the urgent one is released, the normal
	// one keeps waiting.
	postBatch(t, base, pay(t, funder, dAcct, 1, amount+amount/2))
	released := waitQueue("D's urgent payment is released", de, "released")
	if released.Queue.LeftHeight == 0 || released.Queue.SettledHeight != released.Queue.LeftHeight || released.Queue.Priority != "urgent" {
		t.Errorf("released: %+v", released.Queue)
	}
	if a := txStatus(df); a.Queue == nil || a.Queue.Status != "queued" {
		t.Errorf("D's normal payment: %+v", a.Queue)
	}
	if q := queueOf(dAcct); q.Count != 1 || len(q.Entries) != 1 || q.Entries[0].Sequence != 1 || q.Entries[0].Position != 1 {
		t.Errorf("D's queue after the release: %+v", q)
	}
	want := fmt.Sprint(amount)
	if r := report(dAcct); r.Debited != want || r.ReleasedDebited != want || r.OffsetDebited != "0" || r.Credited != fmt.Sprint(amount+amount/2) ||
		r.ReleasedCredited != "0" {
		t.Errorf("D's report row %+v", r)
	}
	if r := report(eAcct); r.Credited != want || r.ReleasedCredited != want || r.OffsetCredited != "0" {
		t.Errorf("E's report row %+v", r)
	}
	testkit.WaitFor(t, 10*time.Second, "the stream announces the release", func() bool {
		e, ok := seen.event(de.Hash().String())
		return ok && e.Outcome == "released" && e.LeftHeight == released.Queue.LeftHeight && e.Priority == "urgent"
	})

	// 4. D cancels the normal one.
	postBatch(t, base, queueCancel(t, dAcct, 3, 1))
	cancelled := waitQueue("D's normal payment is cancelled", df, "cancelled")
	if cancelled.Queue.SettledHeight != 0 || cancelled.Queue.LeftHeight == 0 {
		t.Errorf("cancelled: %+v", cancelled.Queue)
	}
	if q := queueOf(dAcct); q.Count != 0 {
		t.Errorf("D's queue after the cancel: %+v", q)
	}
	testkit.WaitFor(t, 10*time.Second, "the stream announces the cancel", func() bool {
		e, ok := seen.event(df.Hash().String())
		return ok && e.Outcome == "cancelled"
	})
	metric(t, base, "settle_queue_entries", 0)
	metric(t, base, `settle_queue_settled_total{mechanism="offset"}`, 3)
	metric(t, base, `settle_queue_settled_total{mechanism="released"}`, 1)
	metric(t, base, "settle_queue_expired_total", 0)
	metric(t, base, "settle_queue_oldest_age_blocks", 0)
	if err := n.Ledger().CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}

// metric checks one sample of GET /metrics.
func metric(t *testing.T, base, series string, want float64) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var got float64
			if _, err := fmt.Sscan(v, &got); err != nil || got != want {
				t.Errorf("%s = %q, want %v", series, v, want)
			}
			return
		}
	}
	t.Errorf("/metrics lacks %s", series)
}
