package api

import (
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strconv"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/txn"
)

// Queue page sizes. A sender holds at most ledger.QueuedPerAccountMax
// entries; a page is at most queueLimitMax of them.
const (
	queueLimitDefault = 100
	queueLimitMax     = 1000
	// queueCursorLen is the hex length of a queue cursor: the queue-order key
	// of the last entry of the previous page, priority u8 | queued height u64
	// | index u32 (unique: one transaction per block index).
	queueCursorLen = 2 * (1 + 8 + 4)
)

// queueAnswer is GET /v1/account/{address}/queue. Count, urgent and value
// describe the whole queue, entries one page of it.
type queueAnswer struct {
	Address string `json:"address"`
	Count   int    `json:"count"`
	Urgent  int    `json:"urgent"`
	// Value is the sum of every entry's legs in minor units, across assets
	// (a size, not an amount of one asset), saturating at txn.AmountMax.
	Value      txn.Uint           `json:"value"`
	Entries    []queueEntryAnswer `json:"entries"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// queueEntryAnswer is one waiting transfer.
type queueEntryAnswer struct {
	Position     int         `json:"position"` // 1-based place in the sender's queue
	Sequence     txn.Uint    `json:"sequence"`
	Hash         string      `json:"hash"`
	Priority     string      `json:"priority"` // urgent | normal
	QueuedHeight uint64      `json:"queued_height"`
	Index        uint32      `json:"index"` // its transaction's index in that block
	QueueUntil   uint64      `json:"queue_until"`
	Legs         []legAnswer `json:"legs"`
}

// legAnswer is one transfer of a queued entry (or of a queue event).
type legAnswer struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Asset  string   `json:"asset"`
	Amount txn.Uint `json:"amount"`
}

// queueCursor is an entry's place in queue order, what a page continues
// after: priority u8 | queued height u64 | index u32.
func queueCursor(q *ledger.Queued) string {
	var b [queueCursorLen / 2]byte
	b[0] = q.Priority
	binary.BigEndian.PutUint64(b[1:], q.Height)
	binary.BigEndian.PutUint32(b[9:], q.Index)
	return hex.EncodeToString(b[:])
}

// parseQueueCursor returns the place a cursor names, as an entry carrying
// only the fields of queue order.
func parseQueueCursor(s string) (*ledger.Queued, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != queueCursorLen/2 {
		return nil, codes.Errorf(codes.BadRequest, "cursor is not one this node issued")
	}
	return &ledger.Queued{Priority: b[0], Height: binary.BigEndian.Uint64(b[1:]), Index: binary.BigEndian.Uint32(b[9:])}, nil
}

// getQueue pages the sender's queue in queue order. A page starts strictly
// after its cursor's entry, so entries that left meanwhile shift nothing; an
// entry whose priority changed between pages may be seen twice or not at all
// (positions are those of the answer's own moment). Cost: a copy of the
// sender's queue (at most 10,000 entries) per request.
func (s *Server) getQueue(ctx *fasthttp.RequestCtx, p string) error {
	id, err := parseAddress(p)
	if err != nil {
		return err
	}
	args := ctx.QueryArgs()
	limit := queueLimitDefault
	if v := args.Peek("limit"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > queueLimitMax {
			return codes.Errorf(codes.BadRequest, "limit %q must be an integer from 1 to %d", v, queueLimitMax)
		}
		limit = n
	}
	start := 0
	all := s.b.Queue(id)
	if v := args.Peek("cursor"); len(v) > 0 {
		after, err := parseQueueCursor(string(v))
		if err != nil {
			return err
		}
		// The first entry after the cursor, by the ledger's queue order.
		start = sort.Search(len(all), func(m int) bool { return after.Before(&all[m]) })
	}
	ans := queueAnswer{Address: id.String(), Count: len(all)}
	var value uint64
	for i := range all {
		q := &all[i]
		if q.Priority == txn.PriorityUrgent {
			ans.Urgent++
		}
		if value += q.Value(); value > txn.AmountMax {
			value = txn.AmountMax
		}
	}
	ans.Value = txn.Uint(value)
	end := min(start+limit, len(all))
	ans.Entries = make([]queueEntryAnswer, 0, end-start)
	for i := start; i < end; i++ {
		q := &all[i]
		ans.Entries = append(ans.Entries, queueEntryAnswer{Position: i + 1, Sequence: txn.Uint(q.ID.Seq),
			Hash: q.Hash.String(), Priority: txn.PriorityName(q.Priority), QueuedHeight: q.Height, Index: q.Index,
			QueueUntil: q.Until, Legs: legAnswers(q.Legs)})
	}
	if end < len(all) {
		ans.NextCursor = queueCursor(&all[end-1])
	}
	return writeJSON(ctx, fasthttp.StatusOK, &ans)
}

func legAnswers(legs []txn.Leg) []legAnswer {
	out := make([]legAnswer, len(legs))
	for i := range legs {
		l := &legs[i]
		out[i] = legAnswer{From: l.From.String(), To: l.To.String(), Asset: l.Asset.String(), Amount: txn.Uint(l.Amount)}
	}
	return out
}
