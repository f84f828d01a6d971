package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"settle/engine/api"
	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// TestOpenAPIMatchesServer drives a real node's API through every documented
// route and checks each request and answer against docs/openapi.yaml with
// kin-openapi: undocumented status codes, fields the document lacks
// (additionalProperties is false throughout) and wrongly typed values fail.
func TestOpenAPIMatchesServer(t *testing.T) {
	ctx := t.Context()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("docs/openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	doc.Servers = nil // match paths on whatever address the test server has
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	n, _, _ := testNode(t, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{}, n)
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	base := "http://" + ln.Addr().String()
	seen := map[string]bool{}

	call := func(method, path, contentType string, body []byte, wantStatus int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: not in docs/openapi.yaml: %v", method, path, err)
		}
		seen[route.Method+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		// Requests meant to be refused are not valid by design; the batch is
		// binary, with nothing to validate.
		if contentType != "application/octet-stream" && wantStatus < 400 {
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				t.Fatalf("%s %s: the request does not match the document: %v", method, path, err)
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, got)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
			Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s %s: the answer (%d) does not match docs/openapi.yaml: %v\n%s", method, path, resp.StatusCode, err, got)
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
	call("GET", "/healthz", "", nil, 200)
	call("GET", "/readyz", "", nil, 200)
	call("GET", "/metrics", "", nil, 200)

	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if path == "/v1/events" {
				continue // a stream: TestNotAppliedIsNotCommitted and engine/api's tests follow it
			}
			if !seen[method+" "+path] {
				t.Errorf("%s %s is documented but this test never called it", method, path)
			}
		}
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
