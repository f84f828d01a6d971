package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/engine/txn"
)

const adminToken = "s3cret-token"

// seed fills the fake with two committed blocks, a pending transaction, an
// account and its history.
func seed(t *testing.T, f *fakeBackend) (committed, pending *txn.Tx, acct txn.AccountID) {
	t.Helper()
	txs := makeTxs(t, 3)
	f.commit(txs[0])
	f.commit(txs[1])
	f.mu.Lock()
	f.mu.pending[txs[2].Hash()] = txs[2]
	acct = txs[0].Sender
	f.mu.accounts[acct] = ledger.Account{ID: acct, Seq: 3, Native: 1_000_000,
		Issued: []ledger.Balance{{Asset: txn.Asset{Code: [3]byte{'U', 'S', 'D'}, Issuer: txs[0].Dest}, Amount: 42}}}
	for i := 0; i < 5; i++ {
		f.mu.history[acct] = append(f.mu.history[acct], store.HistoryEntry{Height: uint64(5 - i), Role: store.RoleSender,
			Hash: txs[0].Hash(), Result: codes.Success, Amount: 7, Fee: 10, Counterparty: txs[0].Dest})
	}
	f.mu.Unlock()
	return txs[0], txs[2], acct
}

func TestHappyPaths(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	committed, pending, acct := seed(t, ts.f)
	fresh := makeTx(t, testKey(t, 5), testKey(t, 6), 1)
	txJSON, err := json.Marshal(txn.ToJSON(fresh))
	if err != nil {
		t.Fatal(err)
	}
	batchTxs := makeTxs(t, 4)
	plain := batchOf(batchTxs...)
	enc, _ := zstd.NewWriter(nil)
	compressed := enc.EncodeAll(plain, nil)
	enc.Close()

	tests := []struct {
		name, method, path string
		body               []byte
		hdr                map[string]string
		status             int
		check              func(t *testing.T, a answer)
	}{
		{"submit tx", "POST", "/v1/tx", txJSON, nil, 202, func(t *testing.T, a answer) {
			m := a.json(t)
			if m["hash"] != fresh.Hash().String() || m["status"] != "accepted" {
				t.Errorf("answer %v", m)
			}
		}},
		{"submit batch", "POST", "/v1/batch", plain, map[string]string{"Content-Type": "application/octet-stream"}, 200, func(t *testing.T, a answer) {
			checkBatchAnswer(t, a, batchTxs, []string{"accepted", "accepted", "accepted", "accepted"})
		}},
		{"submit batch zstd", "POST", "/v1/batch", compressed, map[string]string{"Content-Encoding": "zstd"}, 200, func(t *testing.T, a answer) {
			checkBatchAnswer(t, a, batchTxs, []string{"accepted", "accepted", "accepted", "accepted"})
		}},
		{"committed tx", "GET", "/v1/tx/" + committed.Hash().String(), nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			if m["status"] != "committed" || m["height"] != 1.0 || m["index"] != 0.0 || m["result"] != "success" || m["fee"] != "10" {
				t.Errorf("answer %v", m)
			}
			if tx, _ := m["tx"].(map[string]any); tx["hash"] != committed.Hash().String() || tx["sequence"] != "1" {
				t.Errorf("tx %v", m["tx"])
			}
		}},
		{"pending tx", "GET", "/v1/tx/" + strings.ToUpper(pending.Hash().String()), nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			if m["status"] != "pending" || m["height"] != nil || m["tx"] == nil {
				t.Errorf("answer %v", m)
			}
		}},
		{"account", "GET", "/v1/account/" + acct.String(), nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			bal, _ := m["balances"].([]any)
			if m["address"] != acct.String() || m["sequence"] != "3" || m["flags"] != 0.0 || len(bal) != 2 {
				t.Fatalf("answer %v", m)
			}
			if b0 := bal[0].(map[string]any); b0["asset"] != "STL" || b0["amount"] != "1000000" {
				t.Errorf("native balance %v", b0)
			}
			if b1 := bal[1].(map[string]any); !strings.HasPrefix(b1["asset"].(string), "USD/stl") || b1["amount"] != "42" {
				t.Errorf("issued balance %v", b1)
			}
		}},
		{"history first page", "GET", "/v1/account/" + acct.String() + "/history?limit=2", nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			es, _ := m["entries"].([]any)
			if len(es) != 2 || m["next_cursor"] != "00000000000000000000000002" {
				t.Fatalf("answer %v", m)
			}
			e := es[0].(map[string]any)
			if e["height"] != 5.0 || e["role"] != "sender" || e["amount"] != "7" || e["result"] != "success" || e["asset"] != "STL" {
				t.Errorf("entry %v", e)
			}
		}},
		{"history last page", "GET", "/v1/account/" + acct.String() + "/history?limit=1000&cursor=00000000000000000000000004", nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			if es, _ := m["entries"].([]any); len(es) != 1 || m["next_cursor"] != nil {
				t.Errorf("answer %v", m)
			}
		}},
		{"block", "GET", "/v1/block/1", nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			txs, _ := m["txs"].([]any)
			if m["height"] != 1.0 || m["tx_count"] != 1.0 || len(txs) != 1 || txs[0] != committed.Hash().String() {
				t.Errorf("answer %v", m)
			}
			if _, ok := m["certificate"].(map[string]any); !ok {
				t.Errorf("certificate %v", m["certificate"])
			}
		}},
		{"latest block", "GET", "/v1/block/latest", nil, nil, 200, func(t *testing.T, a answer) {
			if m := a.json(t); m["height"] != 2.0 {
				t.Errorf("answer %v", m)
			}
		}},
		{"status", "GET", "/v1/status", nil, nil, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			if m["chain_id"] != testChainID || m["height"] != 2.0 || m["ready"] != true || m["peers"] == nil {
				t.Errorf("answer %v", m)
			}
		}},
		{"healthz", "GET", "/healthz", nil, nil, 200, nil},
		{"readyz", "GET", "/readyz", nil, nil, 200, nil},
		{"head healthz", "HEAD", "/healthz", nil, nil, 200, nil},
		{"admin config", "GET", "/v1/admin/config", nil, map[string]string{"Authorization": "Bearer " + adminToken}, 200, func(t *testing.T, a answer) {
			m := a.json(t)
			if m["max_request_body_bytes"] != float64(RequestBodyBytesMaxDefault) || m["chain_id"] != testChainID {
				t.Errorf("answer %v", m)
			}
			if bytes.Contains(a.body, []byte(adminToken)) {
				t.Errorf("admin config leaks the token: %s", a.body)
			}
		}},
		{"metrics", "GET", "/metrics", nil, nil, 200, func(t *testing.T, a answer) {
			for _, want := range []string{`settle_api_requests_total{route="submit_batch",code="ok"}`,
				`settle_api_batch_txs_bucket`, `settle_api_request_duration_seconds_bucket{route="tx"`,
				`settle_api_batch_tx_results_total{code="accepted"} 8`, "fake_backend_up 1", "go_goroutines"} {
				if !bytes.Contains(a.body, []byte(want)) {
					t.Errorf("metrics lack %s", want)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.do(t, tc.method, tc.path, tc.body, tc.hdr)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.method != "HEAD" && !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") && tc.name != "metrics" {
				t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func checkBatchAnswer(t *testing.T, a answer, txs []*txn.Tx, want []string) {
	t.Helper()
	var ans struct {
		Accepted     int   `json:"accepted"`
		Rejected     int   `json:"rejected"`
		RetryAfterMs int64 `json:"retry_after_ms"`
		Results      []struct {
			Hash    string `json:"hash"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"results"`
	}
	if err := json.Unmarshal(a.body, &ans); err != nil {
		t.Fatalf("batch answer: %v: %s", err, a.body)
	}
	if len(ans.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(ans.Results), len(want))
	}
	acc := 0
	for i, r := range ans.Results {
		if r.Code != want[i] {
			t.Errorf("result %d: code %q (%s), want %q", i, r.Code, r.Message, want[i])
		}
		if r.Code == "accepted" {
			acc++
		} else if r.Message == "" {
			t.Errorf("result %d: rejection without a message", i)
		}
		if i < len(txs) && r.Hash != txs[i].Hash().String() {
			t.Errorf("result %d: hash %s, want %s", i, r.Hash, txs[i].Hash())
		}
	}
	if ans.Accepted != acc || ans.Rejected != len(want)-acc {
		t.Errorf("accepted %d rejected %d, want %d and %d", ans.Accepted, ans.Rejected, acc, len(want)-acc)
	}
}

func TestBadInput(t *testing.T) {
	ts := startServer(t, Config{RequestBodyBytesMax: 256 << 10, BatchBytesMax: 128 << 10}, nil)
	_, _, acct := seed(t, ts.f)
	good := makeTxs(t, 2)
	goodJSON, _ := json.Marshal(txn.ToJSON(good[0]))
	batch := batchOf(good...)
	badMagic := append([]byte("SETTLEBX"), batch[8:]...)
	trailing := append(append([]byte(nil), batch...), 0)
	zeroCount := append([]byte(txn.BatchMagic), 0, 0, 0, 0)
	hugeCount := binary.BigEndian.AppendUint32([]byte(txn.BatchMagic), 1<<20)
	withUnknown := bytes.Replace(goodJSON, []byte(`"type"`), []byte(`"colour":"red","type"`), 1)
	withUpper := bytes.Replace(goodJSON, []byte(`"type"`), []byte(`"Type"`), 1)
	oversized := batchOf(good...)
	oversized = append(oversized, make([]byte, 300<<10)...) // over RequestBodyBytesMax

	tests := []struct {
		name, method, path string
		body               []byte
		hdr                map[string]string
		status             int
		code               codes.Code
	}{
		{"malformed JSON", "POST", "/v1/tx", []byte(`{"type":`), nil, 400, codes.Malformed},
		{"JSON not an object", "POST", "/v1/tx", []byte(`[1,2]`), nil, 400, codes.Malformed},
		{"unknown JSON field", "POST", "/v1/tx", withUnknown, nil, 400, codes.UnknownField},
		{"JSON field wrong case", "POST", "/v1/tx", withUpper, nil, 400, codes.UnknownField},
		{"JSON tx too large", "POST", "/v1/tx", bytes.Repeat([]byte(" "), 10<<10), nil, 413, codes.BodyTooLarge},
		{"JSON body over the small limit", "POST", "/v1/tx", bytes.Repeat([]byte(" "), 100<<10), nil, 413, codes.BodyTooLarge},
		{"empty batch body", "POST", "/v1/batch", []byte{}, nil, 400, codes.Malformed},
		{"truncated batch", "POST", "/v1/batch", batch[:len(batch)-5], nil, 400, codes.Malformed},
		{"truncated batch header", "POST", "/v1/batch", batch[:10], nil, 400, codes.Malformed},
		{"garbage batch", "POST", "/v1/batch", bytes.Repeat([]byte{0xa5}, 500), nil, 400, codes.Malformed},
		{"bad batch magic", "POST", "/v1/batch", badMagic, nil, 400, codes.Malformed},
		{"batch trailing byte", "POST", "/v1/batch", trailing, nil, 400, codes.Malformed},
		{"batch of zero", "POST", "/v1/batch", zeroCount, nil, 400, codes.Malformed},
		{"batch count too large", "POST", "/v1/batch", hugeCount, nil, 400, codes.Malformed},
		{"oversized batch body", "POST", "/v1/batch", oversized, nil, 413, codes.BodyTooLarge},
		{"decoded batch over the limit", "POST", "/v1/batch", append(batchOf(good...), make([]byte, 130<<10)...), nil, 413, codes.BodyTooLarge},
		{"garbage zstd", "POST", "/v1/batch", []byte("not zstd at all"), map[string]string{"Content-Encoding": "zstd"}, 400, codes.Malformed},
		{"unsupported encoding", "POST", "/v1/batch", batch, map[string]string{"Content-Encoding": "gzip"}, 400, codes.BadRequest},
		{"bad hex hash", "GET", "/v1/tx/zz" + strings.Repeat("0", 62), nil, nil, 400, codes.BadRequest},
		{"short hash", "GET", "/v1/tx/abcd", nil, nil, 400, codes.BadRequest},
		{"unknown tx", "GET", "/v1/tx/" + strings.Repeat("ab", 32), nil, nil, 404, codes.NotFound},
		{"bad address", "GET", "/v1/account/stlnotanaddress", nil, nil, 400, codes.BadRequest},
		{"bad address checksum", "GET", "/v1/account/" + flipLast(acct.String()), nil, nil, 400, codes.BadRequest},
		{"unknown account", "GET", "/v1/account/" + good[0].Dest.String(), nil, nil, 404, codes.NotFound},
		{"history bad address", "GET", "/v1/account/xyz/history", nil, nil, 400, codes.BadRequest},
		{"history limit zero", "GET", "/v1/account/" + acct.String() + "/history?limit=0", nil, nil, 400, codes.BadRequest},
		{"history limit too large", "GET", "/v1/account/" + acct.String() + "/history?limit=1001", nil, nil, 400, codes.BadRequest},
		{"history limit not a number", "GET", "/v1/account/" + acct.String() + "/history?limit=ten", nil, nil, 400, codes.BadRequest},
		{"history bad cursor", "GET", "/v1/account/" + acct.String() + "/history?cursor=%00%01", nil, nil, 400, codes.BadRequest},
		{"bad height", "GET", "/v1/block/abc", nil, nil, 400, codes.BadRequest},
		{"negative height", "GET", "/v1/block/-1", nil, nil, 400, codes.BadRequest},
		{"height overflow", "GET", "/v1/block/18446744073709551616", nil, nil, 400, codes.BadRequest},
		{"block beyond head", "GET", "/v1/block/99", nil, nil, 404, codes.NotFound},
		{"bad events from", "GET", "/v1/events?from=x", nil, nil, 400, codes.BadRequest},
		{"unknown route", "GET", "/v2/status", nil, nil, 404, codes.NotFound},
		{"extra segment", "GET", "/v1/block/1/extra", nil, nil, 404, codes.NotFound},
		{"empty param", "GET", "/v1/tx/", nil, nil, 404, codes.NotFound},
		{"wrong method on submit", "GET", "/v1/batch", nil, nil, 405, codes.BadRequest},
		{"wrong method on read", "POST", "/v1/status", []byte("{}"), nil, 405, codes.BadRequest},
		{"admin without token", "GET", "/v1/admin/config", nil, nil, 401, codes.Unauthorized},
		{"admin wrong token", "GET", "/v1/admin/config", nil, map[string]string{"Authorization": "Bearer nope"}, 401, codes.Unauthorized},
		{"admin token not bearer", "GET", "/v1/admin/config", nil, map[string]string{"Authorization": adminToken}, 401, codes.Unauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.f.submitCalls.Load()
			a := ts.do(t, tc.method, tc.path, tc.body, tc.hdr)
			checkError(t, a, tc.status, tc.code)
			if tc.method == "GET" || tc.method == "POST" && tc.path == "/v1/batch" || tc.path == "/v1/tx" {
				if n := ts.f.submitCalls.Load() - before; n != 0 {
					t.Errorf("Submit called %d times for a refused request", n)
				}
			}
			if tc.status == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-1] == 'a' {
		b[len(b)-1] = 'b'
	} else {
		b[len(b)-1] = 'a'
	}
	return string(b)
}

// checkError checks a JSON error answer.
func checkError(t *testing.T, a answer, status int, code codes.Code) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil && !code.Retryable() {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	if e.Code != string(code) || e.Message == "" {
		t.Errorf("error %+v, want code %q with a message", e, code)
	}
	if status != 405 && code.HTTPStatus() != status {
		t.Errorf("code %s has status %d in codes, answered %d", code, code.HTTPStatus(), status)
	}
}

func TestBatchPerTransactionResults(t *testing.T) {
	f := newFakeBackend(8)
	txs := makeTxs(t, 5)
	full := txs[3].Hash()
	f.reject = func(tx *txn.Tx) error {
		if tx.Hash() == full {
			return codes.Errorf(codes.MempoolFull, "mempool holds 1000 of 1000")
		}
		return nil
	}
	ts := startServer(t, Config{RetryAfter: 1500 * time.Millisecond}, f)
	// txs[1] gets a zero amount (refused by Decode's stateless checks);
	// txs[2] is on the wrong chain (refused by the backend).
	bad := append([]byte(nil), txs[1].Bytes()...)
	bad[len(bad)-1-txn.SignatureSize-txn.PublicKeySize-1] = 0 // last amount byte
	wrongChain := &txn.Tx{Type: txn.TypePayment, ChainID: "other", Sender: txs[2].Sender, Seq: 3, Fee: 10, LastValid: 9, Dest: txs[2].Dest, Amount: 5}
	if err := txn.Sign(wrongChain, testKey(t, 1)); err != nil {
		t.Fatal(err)
	}
	raws := [][]byte{txs[0].Bytes(), bad, wrongChain.Bytes(), txs[3].Bytes(), []byte("garbage"), txs[4].Bytes()}
	a := ts.do(t, "POST", "/v1/batch", txn.EncodeBatch(raws), nil)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	// Hashes of undecodable transactions are SHA-256 of their bytes.
	hashed := []*txn.Tx{txs[0], nil, wrongChain, txs[3], nil, txs[4]}
	checkBatchAnswer(t, a, nil, []string{"accepted", "amount_zero", "wrong_chain", "mempool_full", "malformed", "accepted"})
	var ans struct {
		RetryAfterMs int64 `json:"retry_after_ms"`
		Results      []struct {
			Hash string `json:"hash"`
		} `json:"results"`
	}
	json.Unmarshal(a.body, &ans)
	for i, tx := range hashed {
		if tx != nil && ans.Results[i].Hash != tx.Hash().String() {
			t.Errorf("result %d hash %s, want %s", i, ans.Results[i].Hash, tx.Hash())
		}
	}
	if ans.RetryAfterMs != 1500 || a.header.Get("Retry-After") != "2" {
		t.Errorf("retry_after_ms %d, Retry-After %q; want 1500 and 2", ans.RetryAfterMs, a.header.Get("Retry-After"))
	}
	if got := f.submitTxs.Load(); got != 4 {
		t.Errorf("backend saw %d transactions, want the 4 that decoded", got)
	}
}

func TestRetryAfterOnMempoolFull(t *testing.T) {
	f := newFakeBackend(8)
	f.reject = func(*txn.Tx) error { return codes.Errorf(codes.MempoolFull, "mempool full") }
	ts := startServer(t, Config{RetryAfter: 200 * time.Millisecond}, f)
	body, _ := json.Marshal(txn.ToJSON(makeTxs(t, 1)[0]))
	a := ts.do(t, "POST", "/v1/tx", body, nil)
	checkError(t, a, 429, codes.MempoolFull)
	if a.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1 (at least a second)", a.header.Get("Retry-After"))
	}
	if m := a.json(t); m["retry_after_ms"] != 200.0 {
		t.Errorf("retry_after_ms %v", m["retry_after_ms"])
	}
}

func TestNotReadyAndOverloaded(t *testing.T) {
	f := newFakeBackend(8)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	f.submitHook = func() {
		entered <- struct{}{}
		<-release
	}
	ts := startServer(t, Config{SubmitInFlightMax: 1}, f)
	body := batchOf(makeTxs(t, 1)...)
	done := make(chan answer, 1)
	go func() { done <- ts.do(t, "POST", "/v1/batch", body, nil) }()
	<-entered
	a := ts.do(t, "POST", "/v1/batch", body, nil)
	checkError(t, a, 503, codes.Overloaded)
	if a.header.Get("Retry-After") == "" {
		t.Error("overloaded without Retry-After")
	}
	close(release)
	if a := <-done; a.status != 200 {
		t.Errorf("first batch: %d %s", a.status, a.body)
	}

	f.ready.Store(false)
	checkError(t, ts.do(t, "POST", "/v1/batch", body, nil), 503, codes.NotReady)
	checkError(t, ts.do(t, "GET", "/readyz", nil, nil), 503, codes.NotReady)
	if a := ts.do(t, "GET", "/healthz", nil, nil); a.status != 200 {
		t.Errorf("healthz while not ready: %d", a.status)
	}
}

func TestAdminToken(t *testing.T) {
	ts := startServer(t, Config{AdminToken: "tok"}, nil)
	for _, tc := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer", 401}, {"Bearer ", 401}, {"Bearer to", 401}, {"Bearer tokk", 401}, {"bearer tok", 401}, {"Bearer tok", 200}} {
		hdr := map[string]string{}
		if tc.auth != "" {
			hdr["Authorization"] = tc.auth
		}
		a := ts.do(t, "GET", "/v1/admin/config", nil, hdr)
		if a.status != tc.status {
			t.Errorf("Authorization %q: status %d, want %d", tc.auth, a.status, tc.status)
		}
		if a.status == 401 && a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: 401 without WWW-Authenticate", tc.auth)
		}
	}
	// A server configured without a token refuses everyone, even an empty bearer.
	s := New(Config{}, newFakeBackend(1))
	if s.cfg.AdminToken != "" {
		t.Fatal("default token is not empty")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{RequestBodyBytesMax: 100}, false},
		{Config{BatchBytesMax: 10}, false},
		{Config{BodyBytesInFlightMax: 1 << 20}, false}, // below the default 16 MiB body
		{Config{RequestBodyBytesMax: 1 << 20, BatchBytesMax: 1 << 20, BodyBytesInFlightMax: 1 << 20}, true},
		{Config{ZstdDecodesMax: -1}, false},
		{Config{ReadTimeout: -1}, false},
		{Config{Concurrency: 64}, true}, // ConnsPerIPMax defaults to at most Concurrency
		{Config{Concurrency: 64, ConnsPerIPMax: 65}, false},
		{Config{IdleTimeout: time.Second}, true}, // IdleTimeoutUnderPressure defaults to at most IdleTimeout
		{Config{IdleTimeout: time.Second, IdleTimeoutUnderPressure: 2 * time.Second}, false},
		{Config{SubmitInFlightMax: -1}, false},
		{Config{EventPingInterval: time.Millisecond}, false},
		{Config{RetryAfter: -time.Second}, false},
		{Config{ProfileSecondsMax: 3601}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate = %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\n\r\t", "utf8 é ✓ 😀",
		"bad utf8 \xff\xfe end", "mixed \"\xc3\x28\" \u2028"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q → %s: %v", s, b, err)
			continue
		}
		var want string // what encoding/json makes of s (invalid bytes → U+FFFD each)
		ref, _ := json.Marshal(s)
		json.Unmarshal(ref, &want)
		if got != want {
			t.Errorf("%q → %s → %q, want %q", s, b, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		path  string
		route *route
		param string
	}{
		{"/v1/tx", routeSubmitTx, ""},
		{"/v1/tx/ab", routeTx, "ab"},
		{"/v1/account/x", routeAccount, "x"},
		{"/v1/account/x/history", routeHistory, "x"},
		{"/v1/account//history", routeNotFound, ""},
		{"/v1/account/x/y/history", routeNotFound, ""},
		{"/v1/account/x/queue", routeQueue, "x"},
		{"/v1/account//queue", routeNotFound, ""},
		{"/v1/account/x/y/queue", routeNotFound, ""},
		{"/v1/block/latest", routeBlock, "latest"},
		{"/v1/blocks", routeNotFound, ""},
		{"/", routeNotFound, ""},
	} {
		r, p := match(tc.path)
		if r != tc.route || p != tc.param {
			t.Errorf("%s: route %s %q, want %s %q", tc.path, r.name, p, tc.route.name, tc.param)
		}
	}
}

// TestSubmittedTxOutlivesRequest checks that a batch's transactions stay intact
// after fasthttp reuses the request buffers: the backend keeps them.
func TestSubmittedTxOutlivesRequest(t *testing.T) {
	f := newFakeBackend(8)
	ts := startServer(t, Config{}, f)
	first := makeTxs(t, 20)
	if a := ts.do(t, "POST", "/v1/batch", batchOf(first...), nil); a.status != 200 {
		t.Fatal(a.status)
	}
	// Overwrite the server's buffers with other requests on the same connection.
	other := batchOf(makeTx(t, testKey(t, 7), testKey(t, 8), 1))
	for i := 0; i < 20; i++ {
		ts.do(t, "POST", "/v1/batch", other, nil)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, tx := range first {
		kept := f.mu.pending[tx.Hash()]
		if kept == nil || !bytes.Equal(kept.Bytes(), tx.Bytes()) {
			t.Fatalf("tx %d changed after its request ended", i)
		}
		if _, err := txn.Decode(kept.Bytes()); err != nil {
			t.Fatalf("tx %d no longer decodes: %v", i, err)
		}
	}
}

func TestInternalErrorHidesDetails(t *testing.T) {
	f := newFakeBackend(8)
	f.failBlock = 7
	var logged []string
	var mu sync.Mutex
	ts := startServer(t, Config{Logf: func(format string, args ...any) {
		mu.Lock()
		logged = append(logged, fmt.Sprintf(format, args...))
		mu.Unlock()
	}}, f)
	a := ts.do(t, "GET", "/v1/block/7", nil, nil)
	checkError(t, a, 500, codes.Internal)
	if bytes.Contains(a.body, []byte("disk")) {
		t.Errorf("internal details leaked: %s", a.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "disk on fire") {
		t.Errorf("log %q", logged)
	}
}
