package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"settle/engine/txn"
)

// batchPoster sends one batch body and returns the HTTP status and answer body. The
// answer is valid until the next call. One poster belongs to one lane (one goroutine).
type batchPoster interface {
	PostBatch(body []byte, compressed bool) (status int, answer []byte, err error)
}

// fastPoster posts with fasthttp: a HostClient per target, shared by that target's
// lanes, each lane holding its own request and response objects.
type fastPoster struct {
	hc      *fasthttp.HostClient
	req     *fasthttp.Request
	resp    *fasthttp.Response
	uri     string
	timeout time.Duration
}

func newFastHostClient(tg target, tc *tls.Config, conns int, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                tg.addr,
		IsTLS:               tg.tls,
		TLSConfig:           tc.Clone(),
		MaxConns:            conns,
		MaxConnWaitTimeout:  timeout, // lanes never exceed MaxConns; this covers reconnect races
		ReadTimeout:         timeout,
		WriteTimeout:        timeout,
		MaxIdleConnDuration: time.Minute,
		MaxResponseBodySize: 64 << 20,
	}
}

func newFastPoster(hc *fasthttp.HostClient, tg target, timeout time.Duration) *fastPoster {
	return &fastPoster{hc: hc, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		uri: tg.base() + "/v1/batch", timeout: timeout}
}

func (p *fastPoster) PostBatch(body []byte, compressed bool) (int, []byte, error) {
	p.req.Reset()
	p.req.SetRequestURI(p.uri)
	p.req.Header.SetMethod(http.MethodPost)
	p.req.Header.SetContentType("application/octet-stream")
	if compressed {
		p.req.Header.Set("Content-Encoding", "zstd")
	}
	p.req.SetBodyRaw(body)
	p.resp.Reset()
	if err := p.hc.DoTimeout(p.req, p.resp, p.timeout); err != nil {
		return 0, nil, err
	}
	return p.resp.StatusCode(), p.resp.Body(), nil
}

// netPoster posts with net/http over a keep-alive Transport per target.
type netPoster struct {
	client *http.Client
	url    string
	buf    bytes.Buffer
}

func newNetClient(tc *tls.Config, conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:     tc.Clone(),
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}

func (p *netPoster) PostBatch(body []byte, compressed bool) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if compressed {
		req.Header.Set("Content-Encoding", "zstd")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	p.buf.Reset()
	if _, err := p.buf.ReadFrom(io.LimitReader(resp.Body, 64<<20)); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, p.buf.Bytes(), nil
}

// batchAnswer is the JSON answer of POST /v1/batch (docs/api.md).
type batchAnswer struct {
	Accepted     int   `json:"accepted"`
	Rejected     int   `json:"rejected"`
	RetryAfterMs int64 `json:"retry_after_ms"`
	Results      []struct {
		Code string `json:"code"`
	} `json:"results"`
}

// Codes the load generator assigns itself, beside the node's codes.
const (
	codeHTTPError = "http_error" // the request failed: connection, timeout
	codeBadAnswer = "bad_answer" // the answer did not parse or had the wrong length
	codeAccepted  = "accepted"   // the per-transaction code of an admitted transaction
)

// parseBatchAnswer returns one code per transaction, or nil when all were accepted.
func parseBatchAnswer(status int, body []byte, n int, ans *batchAnswer) []string {
	if status != http.StatusOK {
		var e struct {
			Code string `json:"code"`
		}
		code := fmt.Sprintf("http_%d", status)
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			code = e.Code
		}
		return fillCodes(n, code)
	}
	if scanAllAccepted(body, n) {
		return nil
	}
	ans.Results = ans.Results[:0]
	ans.Rejected, ans.Accepted = 0, 0
	if err := json.Unmarshal(body, ans); err != nil || len(ans.Results) != n {
		return fillCodes(n, codeBadAnswer)
	}
	if ans.Rejected == 0 && ans.Accepted == n {
		return nil
	}
	out := make([]string, n)
	for j, r := range ans.Results {
		if r.Code != codeAccepted {
			out[j] = r.Code
		}
	}
	return out
}

func fillCodes(n int, code string) []string {
	out := make([]string, n)
	for j := range out {
		out[j] = code
	}
	return out
}

// nodeStatus is the part of GET /v1/status the load generator reads.
type nodeStatus struct {
	ChainID string   `json:"chain_id"`
	Height  uint64   `json:"height"`
	BaseFee txn.Uint `json:"base_fee"`
	MinFee  txn.Uint `json:"min_fee"`
	Ready   bool     `json:"ready"`
}

// apiClient makes the few setup queries (status, accounts) over net/http.
type apiClient struct {
	http *http.Client
	base string // "http://host:port"
}

func (a *apiClient) getJSON(ctx context.Context, path string, out any) (status int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return resp.StatusCode, fmt.Errorf("GET %s: %w", path, err)
	}
	return resp.StatusCode, nil
}

func (a *apiClient) status(ctx context.Context) (nodeStatus, error) {
	var s nodeStatus
	code, err := a.getJSON(ctx, "/v1/status", &s)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET /v1/status answered %d", code)
	}
	return s, err
}

// accountSeq returns the account's next sequence; an unknown account starts at 1.
func (a *apiClient) accountSeq(ctx context.Context, id txn.AccountID) (uint64, error) {
	var acc struct {
		Sequence txn.Uint `json:"sequence"`
	}
	code, err := a.getJSON(ctx, "/v1/account/"+id.String(), &acc)
	switch {
	case err != nil:
		return 0, err
	case code == http.StatusNotFound:
		return 1, nil
	case code != http.StatusOK:
		return 0, fmt.Errorf("GET /v1/account/%s answered %d", id, code)
	}
	return uint64(acc.Sequence), nil
}
