package api

import (
	"bufio"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/events"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// getEvents serves GET /v1/events?from=H: one SSE "block" event per committed
// block after H, in height order, never skipping. Blocks up to the current height
// are replayed from the Backend, then the stream follows a Subscription. A stream
// whose subscription is dropped (the client reads too slowly) ends; the client
// resumes with from= its last height.
func (s *Server) getEvents(ctx *fasthttp.RequestCtx, _ string) error {
	from, err := s.eventsFrom(ctx)
	if err != nil {
		return err
	}
	if ctx.IsHead() {
		// The headers of a stream, without opening one.
		ctx.Response.Header.SetContentType("text/event-stream")
		return nil
	}
	select {
	case s.streamSlots <- struct{}{}:
	default:
		return codes.Errorf(codes.Overloaded, "%d event streams open", cap(s.streamSlots))
	}
	// Subscribe before reading the height: a block committed in between is then
	// both in the replay and in the subscription (skipped as a duplicate), never
	// in neither.
	sub := s.b.Subscribe()
	head := s.b.Height()
	if from == noFrom {
		from = head
	}
	st := &eventStream{s: s, sub: sub, last: from, head: head, conn: ctx.Conn()}
	// The stream writer runs after this handler returns, for as long as the
	// stream lasts: fasthttp's per-answer write deadline would cut it, so the
	// stream sets a deadline per write itself.
	if err := ctx.SetWriteDeadline(time.Time{}); err != nil {
		sub.Close()
		<-s.streamSlots
		return codes.Errorf(codes.Internal, "event stream: %v", err)
	}
	h := &ctx.Response.Header
	h.SetContentType("text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	ctx.SetBodyStreamWriter(st.run)
	return nil
}

// noFrom marks a request without from= (stream from the current height).
const noFrom = ^uint64(0)

func (s *Server) eventsFrom(ctx *fasthttp.RequestCtx) (uint64, error) {
	v := ctx.QueryArgs().Peek("from")
	if v == nil {
		// A browser's EventSource resumes with Last-Event-ID: the last height seen.
		v = ctx.Request.Header.Peek("Last-Event-ID")
	}
	if len(v) == 0 {
		return noFrom, nil
	}
	h, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil || h == noFrom {
		return 0, codes.Errorf(codes.BadRequest, "from %q must be a block height", v)
	}
	// A stream starts after from, so from is at most the head: beyond it the
	// stream would hold a slot and send nothing until the chain got there, and
	// would then skip the blocks up to from. The head only grows, so reading it
	// before subscribing refuses nothing that would be valid after.
	if head := s.b.Height(); h > head {
		return 0, codes.Errorf(codes.BadRequest, "from %d is beyond the head %d: resume from at most the head", h, head)
	}
	return h, nil
}

// eventStream is one open /v1/events stream. It must not touch the RequestCtx.
type eventStream struct {
	s    *Server
	sub  *events.Subscription
	last uint64 // height of the last block sent (or the from= height)
	head uint64 // height read right after subscribing
	conn net.Conn
	buf  []byte
}

func (st *eventStream) run(w *bufio.Writer) {
	s := st.s
	s.metrics.streams.Inc()
	defer func() {
		st.sub.Close()
		<-s.streamSlots
		s.metrics.streams.Dec()
		if v := recover(); v != nil {
			s.cfg.Logf("api: panic in event stream: %v", v)
		}
	}()
	// A first comment flushes the header, so the client knows it is subscribed.
	if !st.write(w, []byte("retry: 1000\n: subscribed\n\n")) {
		return
	}
	if !st.replay(w, st.head) {
		return
	}
	ping := time.NewTicker(s.cfg.EventPingInterval)
	defer ping.Stop()
	for {
		select {
		case blk := <-st.sub.C:
			if !st.deliver(w, blk) {
				return
			}
		case <-st.sub.Dropped():
			return
		case <-ping.C:
			if !st.write(w, []byte(": ping\n\n")) {
				return
			}
		case <-s.base.Done():
			return
		}
	}
}

// deliver sends a block from the subscription, first replaying any gap from
// the Backend (there should be none, as the subscription began before the head
// was read) and skipping blocks already sent.
func (st *eventStream) deliver(w *bufio.Writer, blk *events.Block) bool {
	if blk.Height <= st.last {
		return true // already sent by the replay
	}
	if blk.Height > st.last+1 && !st.replay(w, blk.Height-1) {
		return false
	}
	return st.send(w, blk.Height, blk.Hash, blk.StateHash, blk.TimeMs, blk.Receipts, blk.Queue)
}

// replay sends the committed blocks (last, to] from the Backend.
func (st *eventStream) replay(w *bufio.Writer, to uint64) bool {
	for st.last < to {
		select {
		case <-st.s.base.Done():
			return false
		default:
		}
		rec, err := st.s.b.Block(st.last + 1)
		if err != nil {
			st.s.cfg.Logf("api: event stream replay of block %d: %v", st.last+1, err)
			return false
		}
		if !st.send(w, rec.Height, rec.Hash, rec.StateHash, rec.TimeMs, rec.Receipts, rec.QueueEvents) {
			return false
		}
	}
	return true
}

// queueWriteBytes is how much of a block's queue events a stream gathers
// before writing them: a block may hold many thousands (a gridlock resolution
// settles up to the genesis's gridlock_entries_max at once), and a stream's
// buffer must not grow with them.
const queueWriteBytes = 64 << 10

// send writes one block: its queue events first, each an event of its own
// without an id, then the block's event, whose id is its height. A client
// resuming from the last id it saw therefore never misses a queue event; it
// may see again those of a block whose event it did not receive.
func (st *eventStream) send(w *bufio.Writer, height uint64, hash, state txn.Hash, timeMs int64, rs []ledger.Receipt, q []ledger.QueueEvent) bool {
	st.buf = st.buf[:0]
	for i := range q {
		st.buf = appendQueueEvent(st.buf, height, &q[i])
		if len(st.buf) >= queueWriteBytes {
			if !st.write(w, st.buf) {
				return false
			}
			st.buf = st.buf[:0]
		}
	}
	st.buf = appendBlockEvent(st.buf, height, hash, state, timeMs, rs, len(q))
	if !st.write(w, st.buf) {
		return false
	}
	st.last = height
	return true
}

// write sends one event and flushes it, under the configured write timeout.
func (st *eventStream) write(w *bufio.Writer, b []byte) bool {
	if st.conn != nil {
		if err := st.conn.SetWriteDeadline(time.Now().Add(st.s.cfg.WriteTimeout)); err != nil {
			return false
		}
	}
	if _, err := w.Write(b); err != nil {
		return false
	}
	return w.Flush() == nil
}

// appendBlockEvent appends one SSE block event:
//
//	event: block
//	id: <height>
//	data: {"height":..,"hash":..,"state_hash":..,"time_ms":..,"tx_count":..,"txs":[{"hash":..,"result":..}]}
//
// It announces the transactions the block applied, each once per chain: a
// transaction the block carried without applying it (a replay, one out of
// sequence) is no commit and is left out, counted in "skipped" when there are
// any, so that a client trusting the latest event for a hash never sees a
// settled payment reported as failed. "queue_events" counts the queue events
// sent just before it (absent when none), so that a client can tell it has
// them all.
func appendBlockEvent(dst []byte, height uint64, hash, state txn.Hash, timeMs int64, rs []ledger.Receipt, queueEvents int) []byte {
	applied := 0
	for i := range rs {
		if rs[i].Applied() {
			applied++
		}
	}
	dst = append(dst, "event: block\nid: "...)
	dst = strconv.AppendUint(dst, height, 10)
	dst = append(dst, "\ndata: {\"height\":"...)
	dst = strconv.AppendUint(dst, height, 10)
	dst = append(dst, `,"hash":`...)
	dst = appendHexString(dst, hash[:])
	dst = append(dst, `,"state_hash":`...)
	dst = appendHexString(dst, state[:])
	dst = append(dst, `,"time_ms":`...)
	dst = strconv.AppendInt(dst, timeMs, 10)
	dst = append(dst, `,"tx_count":`...)
	dst = strconv.AppendInt(dst, int64(applied), 10)
	if skipped := len(rs) - applied; skipped > 0 {
		dst = append(dst, `,"skipped":`...)
		dst = strconv.AppendInt(dst, int64(skipped), 10)
	}
	if queueEvents > 0 {
		dst = append(dst, `,"queue_events":`...)
		dst = strconv.AppendInt(dst, int64(queueEvents), 10)
	}
	dst = append(dst, `,"txs":[`...)
	first := true
	for i := range rs {
		if !rs[i].Applied() {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"hash":`...)
		dst = appendHexString(dst, rs[i].Hash[:])
		dst = append(dst, `,"result":`...)
		dst = appendJSONString(dst, string(rs[i].Result))
		dst = append(dst, '}')
	}
	return append(dst, "]}\n\n"...)
}

// appendQueueEvent appends one SSE queue event, an RTGS queue entry that left
// the queue in block height:
//
//	event: queue
//	data: {"hash":..,"sender":..,"sequence":"7","outcome":"offset","left_height":42,"priority":"normal",
//	       "legs":[{"from":..,"to":..,"asset":..,"amount":".."}]}
//
// Sequences and amounts are decimal strings, as in transactions; the height a
// number, as in answers. It carries no id (the block's event after it does)
// and no top-level "height", so that a reader taking every data line for a
// block event skips it.
func appendQueueEvent(dst []byte, height uint64, ev *ledger.QueueEvent) []byte {
	e := ev.Entry
	dst = append(dst, "event: queue\ndata: {\"hash\":"...)
	dst = appendHexString(dst, e.Hash[:])
	dst = append(dst, `,"sender":`...)
	dst = appendJSONString(dst, e.ID.Sender.String())
	dst = append(dst, `,"sequence":"`...)
	dst = strconv.AppendUint(dst, e.ID.Seq, 10)
	dst = append(dst, `","outcome":`...)
	dst = appendJSONString(dst, ev.Outcome.String())
	dst = append(dst, `,"left_height":`...)
	dst = strconv.AppendUint(dst, height, 10)
	dst = append(dst, `,"priority":`...)
	dst = appendJSONString(dst, txn.PriorityName(e.Priority))
	dst = append(dst, `,"legs":[`...)
	for k := range e.Legs {
		l := &e.Legs[k]
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"from":`...)
		dst = appendJSONString(dst, l.From.String())
		dst = append(dst, `,"to":`...)
		dst = appendJSONString(dst, l.To.String())
		dst = append(dst, `,"asset":`...)
		dst = appendJSONString(dst, l.Asset.String())
		dst = append(dst, `,"amount":"`...)
		dst = strconv.AppendUint(dst, l.Amount, 10)
		dst = append(dst, `"}`...)
	}
	return append(dst, "]}\n\n"...)
}
