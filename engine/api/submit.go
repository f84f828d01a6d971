package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/txn"
)

// resultAccepted is the per-transaction code of an admitted transaction. It is an
// admission verdict, not an engine code: "success" is the execution result.
const resultAccepted = "accepted"

// acquireSubmit takes a submission slot, or reports overload, or that the node is
// not ready. release must be called when the slot was taken.
func (s *Server) acquireSubmit() error {
	if !s.b.Ready() {
		return codes.Errorf(codes.NotReady, "node is starting or catching up")
	}
	select {
	case s.submitSlots <- struct{}{}:
		return nil
	default:
		s.metrics.refused(limitSubmitInFlight)
		return codes.Errorf(codes.Overloaded, "%d submissions in flight", cap(s.submitSlots))
	}
}

func (s *Server) releaseSubmit() { <-s.submitSlots }

// submitCtx bounds Backend.Submit; Shutdown cancels it.
func (s *Server) submitCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.base, s.cfg.SubmitTimeout)
}

// submitTx serves POST /v1/tx: one transaction in JSON form.
func (s *Server) submitTx(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.acquireSubmit(); err != nil {
		return err
	}
	defer s.releaseSubmit()
	body, done, err := smallBody(ctx)
	if err != nil {
		return err
	}
	// ParseJSON builds a fresh, sealed transaction: nothing it returns refers to
	// the body buffer, so the Backend may keep it.
	tx, err := txn.ParseJSON(body)
	done()
	if err != nil {
		return err
	}
	txs := [1]*txn.Tx{tx}
	errs := [1]error{}
	sctx, cancel := s.submitCtx()
	s.b.Submit(sctx, txs[:], errs[:])
	cancel()
	if errs[0] != nil {
		return errs[0]
	}
	buf := make([]byte, 0, 110)
	buf = append(buf, `{"hash":`...)
	h := tx.Hash()
	buf = appendHexString(buf, h[:])
	buf = append(buf, `,"status":"accepted"}`+"\n"...)
	ctx.Response.Header.SetContentType(contentJSON)
	ctx.Response.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.SetBodyRaw(buf)
	return nil
}

// batchScratch is per-request scratch that nothing outside the handler keeps.
type batchScratch struct {
	raws    [][]byte // sub-slices of the request's own copy of the batch
	results []error  // per transaction; nil = accepted
	pos     []int32  // index in the batch of each decoded transaction
	out     []byte   // the answer, copied into the response
}

var scratchPool = sync.Pool{New: func() any { return new(batchScratch) }}

func (sc *batchScratch) release() {
	// Drop references so a pooled scratch keeps no batch alive.
	clear(sc.raws)
	clear(sc.results)
	sc.raws, sc.results, sc.pos, sc.out = sc.raws[:0], sc.results[:0], sc.pos[:0], sc.out[:0]
	if cap(sc.out) > 4<<20 {
		sc.out = nil // one huge answer should not pin its buffer forever
	}
	scratchPool.Put(sc)
}

// submitBatch serves POST /v1/batch: the binary batch format, optionally zstd.
func (s *Server) submitBatch(ctx *fasthttp.RequestCtx, _ string) error {
	if err := s.acquireSubmit(); err != nil {
		return err
	}
	defer s.releaseSubmit()
	// The lease covers the batch's bytes until the answer is built; after that
	// the Backend's own bounds (the mempool) account for what it keeps.
	lease := bodyLease{b: s.bodies}
	defer lease.release()
	data, err := s.batchBody(ctx, &lease)
	if err != nil {
		return err
	}
	s.metrics.batchBytes.Update(float64(len(data)))
	sc := scratchPool.Get().(*batchScratch)
	defer sc.release()
	if sc.raws, err = txn.SplitBatch(data, sc.raws[:0]); err != nil {
		return err // framing: the whole request is refused, nothing submitted
	}
	n := len(sc.raws)
	s.metrics.batchTxs.Update(float64(n))
	sc.results = slices.Grow(sc.results[:0], n)[:n]
	clear(sc.results) // nil means accepted: no verdict may leak from a pooled earlier request

	// One slab for every transaction: the Backend keeps pointers into it for as
	// long as it keeps the transactions, as it keeps data (their raw bytes).
	slab := make([]txn.Tx, n)
	txs := make([]*txn.Tx, 0, n)
	sc.pos = sc.pos[:0]
	for i, raw := range sc.raws {
		if err := txn.DecodeInto(&slab[i], raw); err != nil {
			sc.results[i] = err
			continue
		}
		txs = append(txs, &slab[i])
		sc.pos = append(sc.pos, int32(i))
	}
	if len(txs) > 0 {
		errs := make([]error, len(txs))
		sctx, cancel := s.submitCtx()
		s.b.Submit(sctx, txs, errs)
		cancel()
		for j, e := range errs {
			sc.results[sc.pos[j]] = e
		}
	}
	sc.out = s.appendBatchAnswer(ctx, sc.out[:0], sc.raws, slab, sc.results)
	ctx.Response.Header.SetContentType(contentJSON)
	ctx.Response.SetStatusCode(fasthttp.StatusOK)
	ctx.Response.SetBody(sc.out) // copies: sc.out goes back to the pool
	return nil
}

// batchBody returns the batch bytes in memory the request owns: decoded
// transactions keep references to them, and fasthttp reuses its own buffers
// after the handler returns. A plain batch is read straight into a buffer of
// its exact size; a compressed one into a recycled buffer, then decompressed.
// Every byte is reserved from the lease before it is allocated.
func (s *Server) batchBody(ctx *fasthttp.RequestCtx, lease *bodyLease) ([]byte, error) {
	enc := ctx.Request.Header.ContentEncoding()
	switch {
	case len(enc) == 0 || bytes.EqualFold(enc, []byte("identity")):
		return readBody(ctx, nil, s.cfg.BatchBytesMax, lease)
	case bytes.EqualFold(enc, []byte("zstd")):
		p := getScratchBody()
		raw, err := readBody(ctx, (*p)[:0], s.cfg.RequestBodyBytesMax, lease)
		if err != nil {
			putScratchBody(p, *p)
			return nil, err
		}
		sctx, cancel := s.submitCtx() // bounds the wait for a decode slot
		data, err := s.zstd.decode(sctx, raw, lease)
		cancel()
		putScratchBody(p, raw)
		return data, err
	}
	return nil, codes.Errorf(codes.BadRequest, "Content-Encoding %q is not supported (use zstd or none)", enc)
}

// appendBatchAnswer writes the batch answer:
// {"accepted":N,"rejected":M,"retry_after_ms":R,"results":[{"hash":..,"code":..[,"message":..]},...]}
func (s *Server) appendBatchAnswer(ctx *fasthttp.RequestCtx, dst []byte, raws [][]byte, slab []txn.Tx, results []error) []byte {
	rejected, retry := 0, false
	var tally codeTally
	for _, e := range results {
		if e != nil {
			rejected++
			c := codes.Of(e)
			retry = retry || c.Retryable()
			tally.add(c)
		}
	}
	tally.add2(resultAccepted, len(results)-rejected)
	tally.flush(s.metrics)
	var retryMs int64
	if retry {
		retryMs = s.setRetryAfter(ctx)
	}
	if need := 64 + len(results)*(len(`{"hash":"","code":"accepted"},`)+64); cap(dst) < need {
		dst = make([]byte, 0, need)
	}
	dst = append(dst, `{"accepted":`...)
	dst = strconv.AppendInt(dst, int64(len(results)-rejected), 10)
	dst = append(dst, `,"rejected":`...)
	dst = strconv.AppendInt(dst, int64(rejected), 10)
	dst = append(dst, `,"retry_after_ms":`...)
	dst = strconv.AppendInt(dst, retryMs, 10)
	dst = append(dst, `,"results":[`...)
	for i, e := range results {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"hash":`...)
		h := slab[i].Hash()
		if slab[i].Bytes() == nil {
			// A transaction that did not decode has no hash from Decode; it is
			// still SHA-256 of its bytes, which is what the client computed.
			h = sha256.Sum256(raws[i])
		}
		dst = appendHexString(dst, h[:])
		if e == nil {
			dst = append(dst, `,"code":"accepted"}`...)
			continue
		}
		dst = append(dst, `,"code":`...)
		dst = appendJSONString(dst, string(codes.Of(e)))
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, errMessage(e))
		dst = append(dst, '}')
	}
	return append(dst, "]}\n"...)
}

// errMessage is the human part of a coded error.
func errMessage(err error) string {
	var ce *codes.Error
	if errors.As(err, &ce) {
		return ce.Msg
	}
	if codes.Of(err) == codes.Internal {
		return "internal error"
	}
	return err.Error()
}

// codeTally counts a batch's results per code before touching the shared
// counters: a batch has few distinct codes, so a short list beats a map.
type codeTally struct {
	codes  [8]codes.Code
	counts [8]int
	n      int
	extra  []codes.Code // codes beyond the eighth distinct one, one entry per tx
}

func (t *codeTally) add(c codes.Code) { t.add2(c, 1) }

func (t *codeTally) add2(c codes.Code, k int) {
	for i := 0; i < t.n; i++ {
		if t.codes[i] == c {
			t.counts[i] += k
			return
		}
	}
	if t.n < len(t.codes) {
		t.codes[t.n], t.counts[t.n] = c, k
		t.n++
		return
	}
	for ; k > 0; k-- {
		t.extra = append(t.extra, c)
	}
}

func (t *codeTally) flush(m *apiMetrics) {
	for i := 0; i < t.n; i++ {
		m.txResult(t.codes[i], t.counts[i])
	}
	for _, c := range t.extra {
		m.txResult(c, 1)
	}
}
