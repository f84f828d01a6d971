package api

import (
	"errors"
	"math/big"
	"strconv"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/store"
	"settle/engine/txn"
)

// Reporter is an optional Backend extension: settlement reports over a height
// range (store.Store.Report). Backends without it answer GET /v1/report with 404
// not_found.
type Reporter interface {
	// Report sums every participant's (or one account's) transfers per asset
	// over heights from..to inclusive. store.ErrReportRange for a range that is
	// not committed or too long, store.ErrReportTooLarge for too many rows.
	Report(from, to uint64, account *txn.AccountID) (*store.Report, error)
}

// reportAnswer is GET /v1/report?from=H1&to=H2[&account=A].
type reportAnswer struct {
	From      uint64           `json:"from"`
	To        uint64           `json:"to"`
	Positions []positionAnswer `json:"positions"`
}

// positionAnswer is one (account, asset) row. Sums are decimal strings (they may
// exceed 2^64 over a long range); net is signed. The released and offset sums
// are the parts of credited and debited that RTGS queue entries settled (when
// funds arrived; by gridlock resolution): what settled at once, in its
// transaction, is the total less both.
type positionAnswer struct {
	Account          string `json:"account"`
	Asset            string `json:"asset"`
	Credited         string `json:"credited"`
	Debited          string `json:"debited"`
	ReleasedCredited string `json:"released_credited"`
	ReleasedDebited  string `json:"released_debited"`
	OffsetCredited   string `json:"offset_credited"`
	OffsetDebited    string `json:"offset_debited"`
	Net              string `json:"net"`
}

func (s *Server) getReport(ctx *fasthttp.RequestCtx, _ string) error {
	args := ctx.QueryArgs()
	from, err := heightArg(args.Peek("from"), "from")
	if err != nil {
		return err
	}
	to, err := heightArg(args.Peek("to"), "to")
	if err != nil {
		return err
	}
	var account *txn.AccountID
	if v := args.Peek("account"); v != nil {
		id, err := parseAddress(string(v))
		if err != nil {
			return err
		}
		account = &id
	}
	rep, err := s.b.Report(from, to, account)
	switch {
	case errors.Is(err, store.ErrReportRange), errors.Is(err, store.ErrReportTooLarge):
		return codes.Errorf(codes.BadRequest, "%v", err)
	case err != nil:
		return backendError(err, "report")
	}
	return writeJSON(ctx, fasthttp.StatusOK, newReportAnswer(rep))
}

func heightArg(v []byte, name string) (uint64, error) {
	if v == nil {
		return 0, codes.Errorf(codes.BadRequest, "query parameter %q (a height) is required", name)
	}
	h, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, codes.Errorf(codes.BadRequest, "%s %q must be a decimal height", name, v)
	}
	return h, nil
}

func newReportAnswer(rep *store.Report) *reportAnswer {
	ans := &reportAnswer{From: rep.From, To: rep.To, Positions: make([]positionAnswer, len(rep.Positions))}
	for i := range rep.Positions {
		p := &rep.Positions[i]
		ans.Positions[i] = positionAnswer{Account: p.Account.String(), Asset: p.Asset.String(),
			Credited: p.Credited.String(), Debited: p.Debited.String(),
			ReleasedCredited: bigString(p.ReleasedCredited), ReleasedDebited: bigString(p.ReleasedDebited),
			OffsetCredited: bigString(p.OffsetCredited), OffsetDebited: bigString(p.OffsetDebited),
			Net: p.Net().String()}
	}
	return ans
}

// bigString is b in decimal; nil (a Position built without the queue's split,
// as a Backend other than the store may) is "0".
func bigString(b *big.Int) string {
	if b == nil {
		return "0"
	}
	return b.String()
}
