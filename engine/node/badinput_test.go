package node

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// TestBadInputOverHTTP drives the real node through the real HTTP API with every
// kind of bad input the spec lists, checks each gets its documented code and
// status, and that none of them changes the ledger or the mempool.
func TestBadInputOverHTTP(t *testing.T) {
	n, _, _ := testNode(t, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{RequestBodyBytesMax: 1 << 20}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()

	// One committed payment, so that replays and stale sequences have something to hit.
	first := pay(t, 0, 1, 1, 100)
	postJSON(t, base, first, http.StatusAccepted, "")
	testkit.WaitFor(t, 10*time.Second, "the first payment committed", func() bool { return n.Ledger().Meta().TxCount >= 1 })
	before := n.Ledger().Meta()
	usd := txn.Asset{Code: [3]byte{'X', 'Y', 'Z'}, Issuer: devnet.DemoKey(devnet.ChainID, 0).AccountID()}

	jsonCases := []struct {
		name string
		body string
		want codes.Code
	}{
		{"malformed JSON", `{"type":"payment",`, codes.Malformed},
		{"unknown field", strings.Replace(txJSON(t, pay(t, 2, 3, 1, 5)), `"type"`, `"colour":"red","type"`, 1), codes.UnknownField},
		{"bad signature", txJSON(t, tamper(pay(t, 2, 3, 1, 5))), codes.BadSignature},
		{"wrong chain id", txJSON(t, signed(t, 2, func(tx *txn.Tx) { tx.ChainID = "other-chain" })), codes.WrongChain},
		{"replayed transaction", txJSON(t, first), codes.Duplicate},
		{"stale sequence", txJSON(t, pay(t, 0, 1, 1, 7)), codes.SeqPast},
		{"sequence too far ahead", txJSON(t, pay(t, 2, 3, 5000, 5)), codes.SeqTooFar},
		{"zero amount", amountJSON(t, `"0"`), codes.AmountZero},
		{"negative amount", amountJSON(t, `"-5"`), codes.AmountNegative},
		{"overflowing amount", amountJSON(t, `"99999999999999999999999"`), codes.AmountOverflow},
		{"unknown asset", txJSON(t, signed(t, 2, func(tx *txn.Tx) { tx.Asset = usd })), codes.UnknownAsset},
		{"insufficient funds", txJSON(t, pay(t, 2, 3, 1, devnet.DefaultOptions().NativeEach)), codes.InsufficientFunds},
		{"oversized body", `{"memo":"` + strings.Repeat("ab", 40<<10) + `"}`, codes.BodyTooLarge},
	}
	for _, c := range jsonCases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(base+"/v1/tx", "application/json", strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, resp, c.want)
		})
	}
	valid := pay(t, 2, 3, 1, 5).Bytes()
	batch := txn.EncodeBatch([][]byte{valid})
	binCases := []struct {
		name string
		body []byte
		want codes.Code
	}{
		{"truncated batch", batch[:len(batch)-3], codes.Malformed},
		{"garbage batch", []byte("\x00\x01garbage that is not a batch"), codes.Malformed},
		{"trailing bytes", append(append([]byte(nil), batch...), 0), codes.Malformed},
	}
	for _, c := range binCases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := http.Post(base+"/v1/batch", "application/octet-stream", bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, resp, c.want)
		})
	}
	// A wrongly admitted transaction would be in the mempool (queued, or
	// proposed until its block commits) or, once committed, in the ledger.
	if st := n.Pool().Stats(); st.TxCount != 0 {
		t.Fatalf("bad input reached the mempool: %+v", st)
	}
	after := n.Ledger().Meta()
	if after != before || n.Pool().Stats().TxCount != 0 {
		t.Fatalf("bad input changed state: before %+v after %+v, mempool %d", before, after, n.Pool().Stats().TxCount)
	}
}

func checkError(t *testing.T, resp *http.Response, want codes.Code) {
	t.Helper()
	defer resp.Body.Close()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("status %d, body is not a JSON error: %v", resp.StatusCode, err)
	}
	if codes.Code(e.Code) != want || resp.StatusCode != want.HTTPStatus() || e.Message == "" {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Code, e.Message, want.HTTPStatus(), want)
	}
}

func postJSON(t *testing.T, base string, tx *txn.Tx, status int, code codes.Code) {
	t.Helper()
	resp, err := http.Post(base+"/v1/tx", "application/json", strings.NewReader(txJSON(t, tx)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("POST tx: status %d, want %d", resp.StatusCode, status)
	}
}

func txJSON(t *testing.T, tx *txn.Tx) string {
	t.Helper()
	j := txn.ToJSON(tx)
	j.Hash = ""
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func amountJSON(t *testing.T, amount string) string {
	s := txJSON(t, pay(t, 2, 3, 1, 5))
	return strings.Replace(s, `"amount":"5"`, `"amount":`+amount, 1)
}

func tamper(tx *txn.Tx) *txn.Tx {
	tx.Sigs[0].Signature[10] ^= 0x40
	return tx
}

func signed(t *testing.T, from int, edit func(*txn.Tx)) *txn.Tx {
	tx := pay(t, from, from+1, 1, 5)
	edit(tx)
	if err := txn.Sign(tx, devnet.DemoKey(devnet.ChainID, from)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestReportOverHTTP asks a real node for a settlement report over HTTP: the
// positions of one payment net to zero and the route is registered with metrics.
func TestReportOverHTTP(t *testing.T) {
	n, _, _ := testNode(t, 4)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()
	postJSON(t, base, pay(t, 0, 1, 1, 700), http.StatusAccepted, "")
	testkit.WaitFor(t, 10*time.Second, "the first payment committed", func() bool { return n.Ledger().Meta().TxCount >= 1 })
	resp, err := http.Get(base + "/v1/report?from=1&to=" + strconv.FormatUint(n.Height(), 10))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "700") {
		t.Fatalf("report: %d %s", resp.StatusCode, body)
	}
	resp2, err := http.Get(base + "/v1/report?from=5&to=1")
	if err != nil {
		t.Fatal(err)
	}
	checkError(t, resp2, codes.BadRequest)
}
