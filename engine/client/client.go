// Package client is a Go client of a Settle validator's HTTP API (docs/api.md,
// docs/openapi.yaml): submit signed transactions one by one or in binary
// batches, wait for a commit through the event stream, and read
// transactions, accounts, history, blocks, status and settlement reports.
// Refusals come back as *APIError with the API's stable code.
//
//	c, err := client.New("127.0.0.1:7700")
//	hash, err := c.Submit(ctx, tx)
//	st, err := c.WaitCommitted(ctx, hash, 0)
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"settle/engine/codes"
	"settle/engine/proof"
	"settle/engine/txn"
)

// answerBytesMax bounds what is read of one answer (a history page of 1,000
// entries or a report of 100,000 rows stays well below it).
const answerBytesMax = 64 << 20

// Client talks to one validator. It is safe for concurrent use.
type Client struct {
	base string
	http *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with h (timeouts,
// proxies, connection pools are then h's).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithTLS sets the TLS configuration of an https:// node (a private CA, a
// client certificate).
func WithTLS(tc *tls.Config) Option {
	return func(c *Client) { c.http = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}} }
}

// New returns a client of the validator at node: host:port (plain HTTP),
// http://host:port or https://host:port.
func New(node string, opts ...Option) (*Client, error) {
	base := node
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("client: node %q: want host:port, http://host:port or https://host:port", node)
	}
	c := &Client{base: u.Scheme + "://" + u.Host, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Base is the node's base URL.
func (c *Client) Base() string { return c.base }

// APIError is a refusal or an error the node answered with.
type APIError struct {
	Status     int        // HTTP status
	Code       codes.Code // the stable code (docs/api.md "Codes")
	Message    string
	RetryAfter time.Duration // from Retry-After, for the codes that ask to retry
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// Retryable reports whether the node asked to retry later (backpressure,
// not ready): the same transaction may be sent again.
func (e *APIError) Retryable() bool { return e.RetryAfter > 0 || e.Code.Retryable() }

// CodeOf returns the API code of err (an *APIError anywhere in its chain),
// or "" for other errors.
func CodeOf(err error) codes.Code {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Raw sends a GET for path (with its query) and returns the answer's body as
// the node sent it.
func (c *Client) Raw(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, "", nil)
}

func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, answerBytesMax))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(string(b))}
		var ans struct{ Code, Message string }
		if json.Unmarshal(b, &ans) == nil && ans.Code != "" {
			e.Code, e.Message = codes.Code(ans.Code), ans.Message
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return nil, e
	}
	return b, nil
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	b, err := c.Raw(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: answer: %w", path, err)
	}
	return nil
}

// Submit sends one signed transaction (POST /v1/tx, its JSON form) and returns
// its hash once the node admitted it. Admitted is not committed: see
// WaitCommitted.
func (c *Client) Submit(ctx context.Context, tx *txn.Tx) (txn.Hash, error) {
	j := txn.ToJSON(tx)
	j.Hash = ""
	body, err := json.Marshal(j)
	if err != nil {
		return txn.Hash{}, err
	}
	b, err := c.do(ctx, http.MethodPost, "/v1/tx", "application/json", body)
	if err != nil {
		return txn.Hash{}, err
	}
	var ans struct{ Hash string }
	if err := json.Unmarshal(b, &ans); err != nil {
		return txn.Hash{}, fmt.Errorf("POST /v1/tx: answer: %w", err)
	}
	if h := tx.Hash(); ans.Hash != h.String() {
		return txn.Hash{}, fmt.Errorf("POST /v1/tx: the node answered for %s, not %s", ans.Hash, h)
	}
	return tx.Hash(), nil
}

// BatchResult is the answer to a batch: one result per transaction, in order.
type BatchResult struct {
	Accepted     int             `json:"accepted"`
	Rejected     int             `json:"rejected"`
	RetryAfterMs int             `json:"retry_after_ms"`
	Results      []BatchTxResult `json:"results"`
}

// BatchTxResult is one transaction's verdict: Code is "accepted" or a
// rejection code.
type BatchTxResult struct {
	Hash    string     `json:"hash"`
	Code    codes.Code `json:"code"`
	Message string     `json:"message,omitempty"`
}

// SubmitBatch sends transactions in one binary batch (POST /v1/batch). Each
// gets its own verdict; an error means the node refused the whole request.
func (c *Client) SubmitBatch(ctx context.Context, txs []*txn.Tx) (*BatchResult, error) {
	raws := make([][]byte, len(txs))
	for i, tx := range txs {
		raws[i] = tx.Bytes()
	}
	b, err := c.do(ctx, http.MethodPost, "/v1/batch", "application/octet-stream", txn.EncodeBatch(raws))
	if err != nil {
		return nil, err
	}
	var res BatchResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("POST /v1/batch: answer: %w", err)
	}
	if len(res.Results) != len(txs) {
		return nil, fmt.Errorf("POST /v1/batch: %d results for %d transactions", len(res.Results), len(txs))
	}
	return &res, nil
}

// TxStatus is GET /v1/tx/{hash}: committed (final), pending or dropped.
type TxStatus struct {
	Hash      string   `json:"hash"`
	Status    string   `json:"status"`
	Height    uint64   `json:"height,omitempty"`
	Index     uint32   `json:"index,omitempty"`
	Result    string   `json:"result,omitempty"`
	FailedLeg int      `json:"failed_leg,omitempty"`
	Fee       txn.Uint `json:"fee,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	// Queue is where a transaction whose result is "queued" stands in the
	// RTGS queue (nil for every other transaction).
	Queue *TxQueue  `json:"queue,omitempty"`
	Tx    *txn.JSON `json:"tx,omitempty"`
}

// TxQueue is the queue part of a queued transaction's status.
type TxQueue struct {
	Status        string `json:"status"` // queued | released | offset | expired | cancelled
	LeftHeight    uint64 `json:"left_height,omitempty"`
	SettledHeight uint64 `json:"settled_height,omitempty"` // released or offset
	Priority      string `json:"priority,omitempty"`
	QueueUntil    uint64 `json:"queue_until"`
}

// Committed reports whether the transaction is final.
func (s *TxStatus) Committed() bool { return s.Status == "committed" }

// Tx returns a transaction's status.
func (c *Client) Tx(ctx context.Context, h txn.Hash) (*TxStatus, error) {
	var st TxStatus
	return &st, c.getJSON(ctx, "/v1/tx/"+h.String(), &st)
}

// Account is GET /v1/account/{address}.
type Account struct {
	Address    string    `json:"address"`
	Sequence   txn.Uint  `json:"sequence"`
	Balances   []Balance `json:"balances"`
	Flags      uint32    `json:"flags"`
	FlagNames  []string  `json:"flag_names"`
	TrustLines []struct {
		Asset    string   `json:"asset"`
		Balance  txn.Uint `json:"balance"`
		Limit    txn.Uint `json:"limit"`
		Escrowed txn.Uint `json:"escrowed"`
		Flags    []string `json:"flags"`
	} `json:"trust_lines"`
	Escrows struct {
		Count          int      `json:"count"`
		NativeEscrowed txn.Uint `json:"native_escrowed"`
	} `json:"escrows"`
	RegularKey string `json:"regular_key,omitempty"`
	SignerList *struct {
		Quorum  uint32 `json:"quorum"`
		Signers []struct {
			PublicKey string `json:"public_key"`
			Weight    uint16 `json:"weight"`
		} `json:"signers"`
	} `json:"signer_list,omitempty"`
}

// Balance is one asset's spendable amount.
type Balance struct {
	Asset  string   `json:"asset"`
	Amount txn.Uint `json:"amount"`
}

// Account returns an account's committed state.
func (c *Client) Account(ctx context.Context, id txn.AccountID) (*Account, error) {
	var a Account
	return &a, c.getJSON(ctx, "/v1/account/"+id.String(), &a)
}

// History is one page of an account's applied transactions, newest first.
type History struct {
	Entries []struct {
		Height       uint64   `json:"height"`
		Index        uint32   `json:"index"`
		Hash         string   `json:"hash"`
		Result       string   `json:"result"`
		Role         string   `json:"role"`
		Asset        string   `json:"asset"`
		Amount       txn.Uint `json:"amount"`
		Fee          txn.Uint `json:"fee"`
		Counterparty string   `json:"counterparty"`
	} `json:"entries"`
	NextCursor string `json:"next_cursor,omitempty"` // "" when nothing older remains
}

// History returns up to limit (1 to 1000; 0: the node's default) entries of
// an account's history older than cursor ("" for the newest).
func (c *Client) History(ctx context.Context, id txn.AccountID, cursor string, limit int) (*History, error) {
	var h History
	return &h, c.getJSON(ctx, pagePath("/v1/account/"+id.String()+"/history", cursor, limit), &h)
}

// pagePath is a paged endpoint's path with its cursor and limit, when given.
func pagePath(path, cursor string, limit int) string {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// Queue is one page of an account's RTGS queue as a sender, in queue order.
type Queue struct {
	Address string   `json:"address"`
	Count   int      `json:"count"` // the whole queue's
	Urgent  int      `json:"urgent"`
	Value   txn.Uint `json:"value"`
	Entries []struct {
		Position     int      `json:"position"`
		Sequence     txn.Uint `json:"sequence"`
		Hash         string   `json:"hash"`
		Priority     string   `json:"priority"`
		QueuedHeight uint64   `json:"queued_height"`
		Index        uint32   `json:"index"`
		QueueUntil   uint64   `json:"queue_until"`
		Legs         []Leg    `json:"legs"`
	} `json:"entries"`
	NextCursor string `json:"next_cursor,omitempty"` // "" on the last page
}

// Queue returns up to limit (1 to 1000; 0: the node's default) entries of an
// account's queue after cursor ("" for the head of the queue).
func (c *Client) Queue(ctx context.Context, id txn.AccountID, cursor string, limit int) (*Queue, error) {
	var out Queue
	return &out, c.getJSON(ctx, pagePath("/v1/account/"+id.String()+"/queue", cursor, limit), &out)
}

// Status is GET /v1/status.
type Status struct {
	ChainID          string   `json:"chain_id"`
	NodeID           string   `json:"node_id"`
	Height           uint64   `json:"height"`
	View             uint64   `json:"view"`
	Leader           string   `json:"leader"`
	Peers            []string `json:"peers"`
	StateHash        string   `json:"state_hash"`
	BaseFee          uint64   `json:"base_fee"`
	MinFee           uint64   `json:"min_fee"`
	Ready            bool     `json:"ready"`
	Syncing          bool     `json:"syncing"`
	BehindBlocks     uint64   `json:"behind_blocks"`
	SafetyRecovering bool     `json:"safety_recovering"`
	TxCount          uint64   `json:"tx_count"`
	VerifyQueue      int      `json:"verify_queue"` // signature batches waiting for the verifier pool
	Mempool          struct {
		Count    int     `json:"count"`
		Bytes    int     `json:"bytes"`
		CountMax int     `json:"count_max"`
		BytesMax int     `json:"bytes_max"`
		Fill     float64 `json:"fill"`
	} `json:"mempool"`
}

// Status returns the node's summary.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.getJSON(ctx, "/v1/status", &s)
}

// Report is GET /v1/report: net settlement positions over committed heights.
type Report struct {
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Positions []struct {
		Account  string `json:"account"`
		Asset    string `json:"asset"`
		Credited string `json:"credited"` // decimal: may pass 2^64 over a long range
		Debited  string `json:"debited"`
		// The parts of Credited and Debited that queued transfers settled:
		// released when funds arrived, offset by gridlock resolution.
		ReleasedCredited string `json:"released_credited"`
		ReleasedDebited  string `json:"released_debited"`
		OffsetCredited   string `json:"offset_credited"`
		OffsetDebited    string `json:"offset_debited"`
		Net              string `json:"net"` // signed
	} `json:"positions"`
}

// Report returns the positions over heights from..to (inclusive), of every
// participant or, with account non-nil, of that one.
func (c *Client) Report(ctx context.Context, from, to uint64, account *txn.AccountID) (*Report, error) {
	q := url.Values{"from": {strconv.FormatUint(from, 10)}, "to": {strconv.FormatUint(to, 10)}}
	if account != nil {
		q.Set("account", account.String())
	}
	var r Report
	return &r, c.getJSON(ctx, "/v1/report?"+q.Encode(), &r)
}

// TxProof fetches a committed transaction's proof (GET /v1/proof/tx/HASH).
// Check it with consensus/lightclient before believing it.
func (c *Client) TxProof(ctx context.Context, h txn.Hash) (*proof.Tx, error) {
	var p proof.Tx
	if err := c.getJSON(ctx, "/v1/proof/tx/"+h.String(), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// AccountProof fetches an account's state proof at height (0: the newest
// certified one; GET /v1/proof/account/ADDR[?height=H]).
func (c *Client) AccountProof(ctx context.Context, id txn.AccountID, height uint64) (*proof.Account, error) {
	path := "/v1/proof/account/" + id.String()
	if height > 0 {
		path += "?height=" + strconv.FormatUint(height, 10)
	}
	var p proof.Account
	if err := c.getJSON(ctx, path, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
