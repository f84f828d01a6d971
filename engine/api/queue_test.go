package api

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/engine/txn"
)

// queueFixture is a sender's queue in queue order: two urgent entries, then
// three normal ones (the last a two-leg transfer), each of a distinct block
// and index.
func queueFixture(t *testing.T) (txn.AccountID, []ledger.Queued) {
	t.Helper()
	sender, dest, other := testKey(t, 20).AccountID(), testKey(t, 21).AccountID(), testKey(t, 22).AccountID()
	usd := txn.Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: testKey(t, 9).AccountID()}
	var q []ledger.Queued
	for i, p := range []uint8{txn.PriorityUrgent, txn.PriorityUrgent, txn.PriorityNormal, txn.PriorityNormal, txn.PriorityNormal} {
		e := ledger.Queued{ID: ledger.QueueID{Sender: sender, Seq: uint64(10 + i)}, Priority: p, Height: uint64(3 + i),
			Index: uint32(i), Until: 1000 + uint64(i), Legs: []txn.Leg{{From: sender, To: dest, Asset: usd, Amount: uint64(100 * (i + 1))}}}
		e.Hash[0], e.Hash[31] = byte(i+1), 0x9e
		q = append(q, e)
	}
	q[4].Legs = append(q[4].Legs, txn.Leg{From: sender, To: other, Asset: txn.Native, Amount: 7})
	return sender, q
}

// TestQueueAnswer pages a sender's queue: every page carries the whole
// queue's count, urgent count and value, its entries in queue order with their
// 1-based positions, and a cursor to the next page (absent on the last).
func TestQueueAnswer(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	sender, q := queueFixture(t)
	ts.f.mu.Lock()
	ts.f.mu.queues[sender] = q
	ts.f.mu.Unlock()

	type page struct {
		Address    string             `json:"address"`
		Count      int                `json:"count"`
		Urgent     int                `json:"urgent"`
		Value      string             `json:"value"`
		Entries    []queueEntryAnswer `json:"entries"`
		NextCursor string             `json:"next_cursor"`
	}
	get := func(query string) page {
		t.Helper()
		a := ts.do(t, "GET", "/v1/account/"+sender.String()+"/queue"+query, nil, nil)
		if a.status != 200 {
			t.Fatalf("GET queue%s: %d %s", query, a.status, a.body)
		}
		var p page
		if err := json.Unmarshal(a.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name      string
		limit     int
		positions [][]int // per page
	}{
		{"one page", 0, [][]int{{1, 2, 3, 4, 5}}},
		{"pages of two", 2, [][]int{{1, 2}, {3, 4}, {5}}},
		{"exact pages", 5, [][]int{{1, 2, 3, 4, 5}}},
		{"pages of one", 1, [][]int{{1}, {2}, {3}, {4}, {5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cursor := ""
			for i, want := range tc.positions {
				query := ""
				if tc.limit > 0 {
					query = fmt.Sprintf("?limit=%d", tc.limit)
				}
				if cursor != "" {
					query += "&cursor=" + cursor
				}
				p := get(query)
				if p.Address != sender.String() || p.Count != 5 || p.Urgent != 2 || p.Value != "1507" {
					t.Fatalf("page %d: %+v", i, p)
				}
				if len(p.Entries) != len(want) {
					t.Fatalf("page %d: %d entries, want %d", i, len(p.Entries), len(want))
				}
				for k, e := range p.Entries {
					src := &q[want[k]-1]
					if e.Position != want[k] || e.Sequence != txn.Uint(src.ID.Seq) || e.Hash != src.Hash.String() ||
						e.Priority != txn.PriorityName(src.Priority) || e.QueuedHeight != src.Height ||
						e.Index != src.Index || e.QueueUntil != src.Until || len(e.Legs) != len(src.Legs) {
						t.Errorf("page %d entry %d: %+v, want %+v", i, k, e, src)
					}
					for l, leg := range e.Legs {
						w := src.Legs[l]
						if leg.From != w.From.String() || leg.To != w.To.String() || leg.Asset != w.Asset.String() || leg.Amount != txn.Uint(w.Amount) {
							t.Errorf("entry %d leg %d: %+v", want[k], l, leg)
						}
					}
				}
				if last := i == len(tc.positions)-1; last != (p.NextCursor == "") {
					t.Fatalf("page %d of %d: next cursor %q", i, len(tc.positions), p.NextCursor)
				}
				cursor = p.NextCursor
			}
		})
	}

	// An entry that leaves between two pages shifts nothing: the next page
	// starts after the cursor's entry, wherever it now is.
	p := get("?limit=2")
	ts.f.mu.Lock()
	ts.f.mu.queues[sender] = append(append([]ledger.Queued(nil), q[:1]...), q[2:]...) // the second entry settled
	ts.f.mu.Unlock()
	p = get("?limit=2&cursor=" + p.NextCursor)
	if len(p.Entries) != 2 || p.Entries[0].Sequence != 12 || p.Entries[0].Position != 2 || p.Count != 4 {
		t.Errorf("after a removal: %+v", p)
	}

	// A sender without a queue (or an account that does not exist) has an
	// empty one.
	empty := ts.do(t, "GET", "/v1/account/"+testKey(t, 30).AccountID().String()+"/queue", nil, nil)
	if empty.status != 200 || !strings.Contains(string(empty.body), `"entries":[]`) || !strings.Contains(string(empty.body), `"count":0`) {
		t.Errorf("empty queue: %d %s", empty.status, empty.body)
	}
}

func TestQueueBadInput(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	addr := testKey(t, 20).AccountID().String()
	for _, tc := range []struct{ name, path string }{
		{"bad address", "/v1/account/stlnotanaddress/queue"},
		{"limit zero", "/v1/account/" + addr + "/queue?limit=0"},
		{"limit too large", "/v1/account/" + addr + "/queue?limit=1001"},
		{"limit not a number", "/v1/account/" + addr + "/queue?limit=x"},
		{"cursor not hex", "/v1/account/" + addr + "/queue?cursor=" + strings.Repeat("z", queueCursorLen)},
		{"cursor too short", "/v1/account/" + addr + "/queue?cursor=00ff"},
		{"cursor too long", "/v1/account/" + addr + "/queue?cursor=" + strings.Repeat("0", queueCursorLen+2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.do(t, "GET", tc.path, nil, nil)
			if a.status != 400 || a.json(t)["code"] != string(codes.BadRequest) {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	if a := ts.do(t, "POST", "/v1/account/"+addr+"/queue", []byte("{}"), nil); a.status != 405 {
		t.Errorf("POST: %d %s", a.status, a.body)
	}
}

// TestTxAnswerQueue: a queued transaction's answer carries where it stands in
// the queue; others carry no queue object.
func TestTxAnswerQueue(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	committed, _, _ := seed(t, ts.f)
	if m := ts.do(t, "GET", "/v1/tx/"+committed.Hash().String(), nil, nil).json(t); m["queue"] != nil {
		t.Errorf("a payment's answer has a queue object: %v", m["queue"])
	}
	ts.f.mu.Lock()
	ts.f.mu.txs[committed.Hash()].Receipt.Result = codes.Queued
	ts.f.mu.Unlock()
	for _, tc := range []struct {
		name string
		st   QueueStatus
		want map[string]any
	}{
		{"waiting", QueueStatus{Priority: txn.PriorityUrgent, Until: 90},
			map[string]any{"status": "queued", "priority": "urgent", "queue_until": 90.0}},
		{"released", QueueStatus{Outcome: ledger.QueueReleased, Height: 7, Priority: txn.PriorityNormal, Until: 90},
			map[string]any{"status": "released", "left_height": 7.0, "settled_height": 7.0, "priority": "normal", "queue_until": 90.0}},
		{"offset", QueueStatus{Outcome: ledger.QueueOffset, Height: 8, Priority: txn.PriorityUrgent, Until: 90},
			map[string]any{"status": "offset", "left_height": 8.0, "settled_height": 8.0, "priority": "urgent", "queue_until": 90.0}},
		{"expired", QueueStatus{Outcome: ledger.QueueExpired, Height: 90, Priority: txn.PriorityNormal, Until: 90},
			map[string]any{"status": "expired", "left_height": 90.0, "priority": "normal", "queue_until": 90.0}},
		{"cancelled, priority not known", QueueStatus{Outcome: ledger.QueueCancelled, Height: 9, Until: 90},
			map[string]any{"status": "cancelled", "left_height": 9.0, "queue_until": 90.0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			ts.f.mu.Lock()
			ts.f.mu.queueSt[committed.Hash()] = &st
			ts.f.mu.Unlock()
			m := ts.do(t, "GET", "/v1/tx/"+committed.Hash().String(), nil, nil).json(t)
			got, _ := m["queue"].(map[string]any)
			if m["result"] != "queued" || len(got) != len(tc.want) {
				t.Fatalf("answer %v", m)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("queue.%s = %v, want %v (%v)", k, got[k], v, got)
				}
			}
		})
	}
}

// TestHistoryRoleQueue: queue events are stored with the automatic role that
// escrow returns use; the answer names them "queue" by their result code.
func TestHistoryRoleQueue(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	acct := testKey(t, 20).AccountID()
	ts.f.mu.Lock()
	for _, e := range []struct {
		role   store.Role
		result codes.Code
	}{
		{store.RoleExpiry, codes.QueueReleased},
		{store.RoleExpiry, codes.QueueOffset},
		{store.RoleExpiry, codes.QueueExpired},
		{store.RoleExpiry, codes.EscrowExpired},
		{store.RoleSender, codes.Queued},
		{store.RoleSender, codes.Success},
	} {
		ts.f.mu.history[acct] = append(ts.f.mu.history[acct], store.HistoryEntry{Height: 4, Role: e.role, Result: e.result})
	}
	ts.f.mu.Unlock()
	var ans struct {
		Entries []historyEntry `json:"entries"`
	}
	if err := json.Unmarshal(ts.do(t, "GET", "/v1/account/"+acct.String()+"/history", nil, nil).body, &ans); err != nil {
		t.Fatal(err)
	}
	want := []string{"queue", "queue", "queue", "expiry", "sender", "sender"}
	if len(ans.Entries) != len(want) {
		t.Fatalf("%d entries", len(ans.Entries))
	}
	for i, e := range ans.Entries {
		if e.Role != want[i] {
			t.Errorf("entry %d (%s): role %q, want %q", i, e.Result, e.Role, want[i])
		}
	}
}

// TestReportQueueSplit: report rows carry the released and offset parts of
// their sums; a position without them (a Backend that does not split) shows 0.
func TestReportQueueSplit(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	a, b := testKey(t, 20).AccountID(), testKey(t, 21).AccountID()
	n := func(v int64) *big.Int { return big.NewInt(v) }
	ts.f.mu.Lock()
	ts.f.mu.report = &store.Report{Positions: []store.Position{
		{Account: a, Asset: txn.Native, Credited: n(900), Debited: n(1000), ReleasedCredited: n(100), ReleasedDebited: n(200),
			OffsetCredited: n(300), OffsetDebited: n(400)},
		{Account: b, Asset: txn.Native, Credited: n(5), Debited: n(0)},
	}}
	ts.f.mu.Unlock()
	var ans struct {
		Positions []positionAnswer `json:"positions"`
	}
	if err := json.Unmarshal(ts.do(t, "GET", "/v1/report?from=1&to=3", nil, nil).body, &ans); err != nil {
		t.Fatal(err)
	}
	want := []positionAnswer{
		{Account: a.String(), Asset: "STL", Credited: "900", Debited: "1000", ReleasedCredited: "100", ReleasedDebited: "200",
			OffsetCredited: "300", OffsetDebited: "400", Net: "-100"},
		{Account: b.String(), Asset: "STL", Credited: "5", Debited: "0", ReleasedCredited: "0", ReleasedDebited: "0",
			OffsetCredited: "0", OffsetDebited: "0", Net: "5"},
	}
	if len(ans.Positions) != len(want) {
		t.Fatalf("positions %+v", ans.Positions)
	}
	for i := range want {
		if ans.Positions[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, ans.Positions[i], want[i])
		}
	}
}

// nextBlockWithQueue reads a block's queue events and then its block event.
func (c *sseClient) nextBlockWithQueue(t *testing.T) (blockEventData, []queueEventData) {
	t.Helper()
	var q []queueEventData
	for {
		ev, err := c.next()
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		switch ev.event {
		case "queue":
			if ev.id != "" {
				t.Errorf("a queue event with id %q", ev.id)
			}
			var e queueEventData
			if err := json.Unmarshal(ev.data, &e); err != nil {
				t.Fatalf("queue event %q: %v", ev.data, err)
			}
			q = append(q, e)
		case "block":
			var b blockEventData
			if err := json.Unmarshal(ev.data, &b); err != nil {
				t.Fatalf("block event %q: %v", ev.data, err)
			}
			if ev.id != jsonNumber(b.Height) {
				t.Errorf("id %q for height %d", ev.id, b.Height)
			}
			return b, q
		default:
			t.Fatalf("event %q", ev.event)
		}
	}
}

// TestEventsQueue: a block's queue events come as events of their own just
// before its block event, which counts them; the same live and replayed from
// the Backend; blocks without any have none and no count.
func TestEventsQueue(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	_, q := queueFixture(t)
	evs := []ledger.QueueEvent{{Entry: &q[0], Outcome: ledger.QueueReleased}, {Entry: &q[4], Outcome: ledger.QueueOffset},
		{Entry: &q[2], Outcome: ledger.QueueExpired}}
	txs := makeTxs(t, 3)
	ts.f.commit(txs[0])
	ts.f.commitQueue(evs, txs[1])
	check := func(b blockEventData, got []queueEventData, how string) {
		t.Helper()
		if len(got) != len(evs) || b.QueueEvents != len(evs) || b.TxCount != 1 {
			t.Fatalf("%s: block %d event %+v with %d queue events", how, b.Height, b, len(got))
		}
		for i := range got {
			e := evs[i]
			want := queueEventData{Hash: e.Entry.Hash.String(), Sender: e.Entry.ID.Sender.String(),
				Sequence: fmt.Sprint(e.Entry.ID.Seq), Outcome: e.Outcome.String(), LeftHeight: b.Height,
				Priority: txn.PriorityName(e.Entry.Priority), Legs: legAnswers(e.Entry.Legs)}
			if fmt.Sprint(got[i]) != fmt.Sprint(want) {
				t.Errorf("%s: queue event %d\n got %+v\nwant %+v", how, i, got[i], want)
			}
		}
	}
	c := openEvents(t, ts, "?from=0")
	if b, q := c.nextBlockWithQueue(t); b.Height != 1 || len(q) != 0 || b.QueueEvents != 0 {
		t.Fatalf("block 1 event %+v, %d queue events", b, len(q))
	}
	b, got := c.nextBlockWithQueue(t)
	check(b, got, "replayed")
	ts.f.commitQueue(evs, txs[2])
	b, got = c.nextBlockWithQueue(t)
	check(b, got, "live")
}

// TestQueueEventsBounded: a block with many queue events goes out in writes
// of bounded size, every event whole.
func TestQueueEventsBounded(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	_, q := queueFixture(t)
	evs := make([]ledger.QueueEvent, 2000) // about 1 MB of events
	for i := range evs {
		evs[i] = ledger.QueueEvent{Entry: &q[i%len(q)], Outcome: ledger.QueueOffset}
	}
	ts.f.commitQueue(evs, makeTxs(t, 1)...)
	c := openEvents(t, ts, "?from=0")
	b, got := c.nextBlockWithQueue(t)
	if len(got) != len(evs) || b.QueueEvents != len(evs) {
		t.Fatalf("%d queue events, the block counts %d", len(got), b.QueueEvents)
	}
}

// TestAppendBlockEventQueue: without queue events the block event is byte for
// byte what it was before the queue existed; a queue event is valid JSON
// without an id or a top-level height.
func TestAppendBlockEventQueue(t *testing.T) {
	_, q := queueFixture(t)
	rs := []ledger.Receipt{{Hash: txn.Hash{1}, Result: codes.Queued, Fee: 10}}
	want := "event: block\nid: 9\ndata: {\"height\":9,\"hash\":\"" + txn.Hash{2}.String() + "\",\"state_hash\":\"" + txn.Hash{3}.String() +
		"\",\"time_ms\":5,\"tx_count\":1,\"txs\":[{\"hash\":\"" + txn.Hash{1}.String() + "\",\"result\":\"queued\"}]}\n\n"
	if got := string(appendBlockEvent(nil, 9, txn.Hash{2}, txn.Hash{3}, 5, rs, 0)); got != want {
		t.Errorf("plain event\n got %q\nwant %q", got, want)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = appendBlockEvent(buf[:0], 9, txn.Hash{2}, txn.Hash{3}, 5, rs, 0) }); n != 0 {
		t.Errorf("a block event without queue events allocates %v times", n)
	}
	if got := string(appendBlockEvent(nil, 9, txn.Hash{2}, txn.Hash{3}, 5, rs, 3)); !strings.Contains(got, `"tx_count":1,"queue_events":3,"txs":`) {
		t.Errorf("event with queue events %q", got)
	}
	ev := string(appendQueueEvent(nil, 9, &ledger.QueueEvent{Entry: &q[4], Outcome: ledger.QueueCancelled}))
	data, ok := strings.CutPrefix(ev, "event: queue\ndata: ")
	if !ok || !strings.HasSuffix(data, "\n\n") || strings.Count(ev, "\n") != 3 {
		t.Fatalf("event %q", ev)
	}
	var top map[string]json.RawMessage
	var e queueEventData
	if json.Unmarshal([]byte(data), &top) != nil || json.Unmarshal([]byte(data), &e) != nil {
		t.Fatalf("not JSON: %s", data)
	}
	if _, ok := top["height"]; ok {
		t.Errorf("a queue event has a top-level height: %s", data)
	}
	if e.Outcome != "cancelled" || len(e.Legs) != 2 || e.Legs[1].Asset != "STL" || e.LeftHeight != 9 || e.Sequence != "14" {
		t.Errorf("queue event %+v", e)
	}
}
