package node

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// TestOpenAPIMatchesServer drives a real node's API through every documented
// route and checks each request and answer against docs/openapi.yaml with
// kin-openapi: undocumented status codes, fields the document lacks
// (additionalProperties is false throughout) and wrongly typed values fail.
func TestOpenAPIMatchesServer(t *testing.T) {
	ctx := t.Context()
	oa := testkit.LoadOpenAPI(t, "../../docs/openapi.yaml")
	n, _, _ := testNode(t, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	base := "http://" + ln.Addr().String()

	call := func(method, path, contentType string, body []byte, wantStatus int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		// Requests meant to be refused are not valid by design; the batch is
		// binary, with nothing to validate.
		status, got := oa.Call(t, req, body, contentType != "application/octet-stream" && wantStatus < 400)
		if status != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, got)
		}
		return got
	}

	pay1 := pay(t, 1, 2, 1, 100)
	js, err := json.Marshal(txn.ToJSON(pay1))
	if err != nil {
		t.Fatal(err)
	}
	call("POST", "/v1/tx", "application/json", js, 202)
	call("POST", "/v1/tx", "application/json", js, 409) // duplicate
	call("POST", "/v1/tx", "application/json", []byte(`{"type":"payment"}`), 400)
	batch := txn.EncodeBatch([][]byte{pay(t, 3, 4, 1, 5).Bytes(), pay(t, 3, 4, 1, 5).Bytes()})
	call("POST", "/v1/batch", "application/octet-stream", batch, 200)
	call("POST", "/v1/batch", "application/octet-stream", []byte("SETTLEBT"), 400)

	testkit.WaitFor(t, 10*time.Second, "the payment commits", func() bool {
		st, err := n.Tx(pay1.Hash())
		return err == nil && st.Committed
	})
	pending := pay(t, 5, 6, 2, 1) // sequence 2 before 1: waits in the mempool
	call("POST", "/v1/tx", "application/json", mustJSON(t, pending), 202)

	call("GET", "/v1/tx/"+pay1.Hash().String(), "", nil, 200)
	call("GET", "/v1/tx/"+pending.Hash().String(), "", nil, 200)
	call("GET", "/v1/tx/"+strings.Repeat("ab", 32), "", nil, 404)
	call("GET", "/v1/tx/xyz", "", nil, 400)
	addr := devnet.DemoKey(devnet.ChainID, 1).AccountID().String()
	call("GET", "/v1/account/"+addr, "", nil, 200)
	call("GET", "/v1/account/stlnotanaddress", "", nil, 400)
	call("GET", "/v1/account/"+addr+"/history?limit=10", "", nil, 200)
	call("GET", "/v1/block/1", "", nil, 200)
	call("GET", "/v1/block/latest", "", nil, 200)
	call("GET", "/v1/block/999999", "", nil, 404)
	call("GET", "/v1/status", "", nil, 200)
	call("GET", fmt.Sprintf("/v1/report?from=1&to=%d", n.Height()), "", nil, 200)
	call("GET", fmt.Sprintf("/v1/report?from=1&to=%d&account=%s", n.Height(), addr), "", nil, 200)
	call("GET", "/v1/report?from=1", "", nil, 400)
	// A single validator signs no certificates: its proofs are refused (the
	// answers of a cluster's are checked by consensus/cluster's
	// TestProofsFromLiveCluster against this document).
	call("GET", "/v1/proof/tx/"+pay1.Hash().String(), "", nil, 404)
	call("GET", "/v1/proof/account/"+addr+"?height=1", "", nil, 404)
	call("GET", "/v1/proof/account/"+addr+"?height=x", "", nil, 400)
	// The RTGS queue: a payment beyond its sender's balance waits (its status
	// carries the queue object, its sender's queue lists it), then funds
	// release it (the history's queue role, the report's split).
	each := devnet.DefaultOptions().NativeEach
	waiting := queuedPay(t, 7, 6, 1, each+1000, txn.PriorityUrgent)
	call("POST", "/v1/tx", "application/json", mustJSON(t, waiting), 202)
	testkit.WaitFor(t, 10*time.Second, "the queued payment commits", func() bool {
		st, err := n.Tx(waiting.Hash())
		return err == nil && st.Committed
	})
	queuer := devnet.DemoKey(devnet.ChainID, 7).AccountID().String()
	call("GET", "/v1/tx/"+waiting.Hash().String(), "", nil, 200)
	call("GET", "/v1/account/"+queuer+"/queue", "", nil, 200)
	call("GET", "/v1/account/"+queuer+"/queue?limit=1000", "", nil, 200)
	call("GET", "/v1/account/"+queuer+"/queue?cursor=zz", "", nil, 400)
	call("GET", "/v1/account/stlnotanaddress/queue", "", nil, 400)
	call("POST", "/v1/tx", "application/json", mustJSON(t, pay(t, 0, 7, 1, 10_000)), 202)
	testkit.WaitFor(t, 10*time.Second, "the queued payment is released", func() bool {
		st, err := n.Tx(waiting.Hash())
		return err == nil && st.Queue != nil && st.Queue.Outcome == ledger.QueueReleased
	})
	call("GET", "/v1/tx/"+waiting.Hash().String(), "", nil, 200)
	call("GET", "/v1/account/"+queuer+"/history", "", nil, 200)
	call("GET", fmt.Sprintf("/v1/report?from=1&to=%d&account=%s", n.Height(), queuer), "", nil, 200)

	call("GET", "/healthz", "", nil, 200)
	call("GET", "/readyz", "", nil, 200)
	call("GET", "/metrics", "", nil, 200)

	// The event stream is a stream: TestNotAppliedIsNotCommitted and
	// engine/api's tests follow it.
	for _, op := range oa.Unseen("/v1/events") {
		t.Errorf("%s is documented but this test never called it", op)
	}
}

func mustJSON(t *testing.T, tx *txn.Tx) []byte {
	t.Helper()
	b, err := json.Marshal(txn.ToJSON(tx))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
