package api

import (
	"encoding/hex"
	"strconv"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/engine/txn"
)

// History page sizes.
const (
	historyLimitDefault = 100
	historyLimitMax     = store.HistoryPageMax
	// historyCursorLen is the length of the cursors store.History issues (13
	// bytes in hex). The store reports a cursor it cannot read as a plain error,
	// which would be a 500, so the API refuses any other shape up front.
	historyCursorLen = 26
)

// txAnswer is GET /v1/tx/{hash}.
type txAnswer struct {
	Hash   string  `json:"hash"`
	Status string  `json:"status"` // pending | committed | dropped
	Height *uint64 `json:"height,omitempty"`
	Index  *uint32 `json:"index,omitempty"`
	Result string  `json:"result,omitempty"`
	// FailedLeg is 1 + the index of the multi-leg transfer whose failure result
	// reports (absent for every other outcome).
	FailedLeg uint8     `json:"failed_leg,omitempty"`
	Fee       *txn.Uint `json:"fee,omitempty"`
	// Reason is why a dropped transaction left the mempool; Detail the
	// execution result of one that failed a precondition in a block.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Queue is where a transaction whose result is queued stands in the RTGS
	// queue (absent for every other transaction).
	Queue *queueStatusAnswer `json:"queue,omitempty"`
	Tx    *txn.JSON          `json:"tx,omitempty"`
}

// queueStatusAnswer is the queue part of GET /v1/tx/{hash}.
type queueStatusAnswer struct {
	Status string `json:"status"` // queued | released | offset | expired | cancelled
	// LeftHeight is the block it left the queue in (any outcome);
	// SettledHeight the same when it settled (released or offset).
	LeftHeight    *uint64 `json:"left_height,omitempty"`
	SettledHeight *uint64 `json:"settled_height,omitempty"`
	Priority      string  `json:"priority,omitempty"` // urgent | normal (absent when not known)
	QueueUntil    uint64  `json:"queue_until"`
}

func newQueueStatusAnswer(q *QueueStatus) *queueStatusAnswer {
	ans := &queueStatusAnswer{Status: "queued", Priority: txn.PriorityName(q.Priority), QueueUntil: q.Until}
	if q.Outcome == 0 {
		return ans
	}
	h := q.Height
	ans.Status, ans.LeftHeight = q.Outcome.String(), &h
	if q.Outcome == ledger.QueueReleased || q.Outcome == ledger.QueueOffset {
		ans.SettledHeight = &h
	}
	return ans
}

func (s *Server) getTx(ctx *fasthttp.RequestCtx, p string) error {
	h, err := txn.ParseHash(p)
	if err != nil {
		return codes.Errorf(codes.BadRequest, "transaction hash: %v", err)
	}
	st, err := s.b.Tx(h)
	if err != nil {
		return backendError(err, "transaction "+h.String())
	}
	ans := txAnswer{Hash: h.String(), Status: "pending"}
	tx := st.Tx
	switch {
	case st.Committed:
		ans.Status = "committed"
	case st.Dropped != nil:
		ans.Status, ans.Reason, ans.Detail = "dropped", st.Dropped.Reason, st.Dropped.Detail
		ans.Height = &st.Dropped.Height
	}
	if r := st.Record; st.Committed && r != nil {
		fee := txn.Uint(r.Receipt.Fee)
		ans.Height, ans.Index, ans.Result, ans.Fee = &r.Height, &r.Index, string(r.Receipt.Result), &fee
		ans.FailedLeg = r.Receipt.Leg
		if tx == nil && len(r.Raw) > 0 {
			if tx, err = txn.Decode(r.Raw); err != nil {
				return err // a stored transaction that does not decode: internal
			}
		}
	}
	if st.Queue != nil {
		ans.Queue = newQueueStatusAnswer(st.Queue)
	}
	if tx != nil {
		j := txn.ToJSON(tx)
		ans.Tx = &j
	}
	return writeJSON(ctx, fasthttp.StatusOK, &ans)
}

// accountAnswer is GET /v1/account/{address}. Every list in it is bounded by
// the ledger (lines, signers); escrows are counted, not listed.
type accountAnswer struct {
	Address    string          `json:"address"`
	Sequence   txn.Uint        `json:"sequence"`
	Balances   []balanceAnswer `json:"balances"`
	Flags      uint32          `json:"flags"`
	FlagNames  []string        `json:"flag_names"`
	TrustLines []lineAnswer    `json:"trust_lines"`
	Escrows    escrowsAnswer   `json:"escrows"`
	RegularKey string          `json:"regular_key,omitempty"` // hex; absent: none
	SignerList *signerList     `json:"signer_list,omitempty"`
}

type balanceAnswer struct {
	Asset  string   `json:"asset"`
	Amount txn.Uint `json:"amount"`
}

// lineAnswer is one trust line (at most ledger.LinesPerAccountMax).
type lineAnswer struct {
	Asset    string   `json:"asset"`
	Balance  txn.Uint `json:"balance"`
	Limit    txn.Uint `json:"limit"`
	Escrowed txn.Uint `json:"escrowed"`
	Flags    []string `json:"flags"` // "authorized", "frozen"
}

// escrowsAnswer summarises the open escrows the account created.
type escrowsAnswer struct {
	Count          int      `json:"count"`
	NativeEscrowed txn.Uint `json:"native_escrowed"`
}

type signerList struct {
	Quorum  uint32         `json:"quorum"`
	Signers []signerAnswer `json:"signers"`
}

type signerAnswer struct {
	PublicKey string `json:"public_key"`
	Weight    uint16 `json:"weight"`
}

// flagNames lists the names of the set bits of flags, in bit order.
func flagNames(flags uint32, names []flagName) []string {
	out := []string{}
	for _, n := range names {
		if flags&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

type flagName struct {
	bit  uint32
	name string
}

var (
	accountFlagNames = []flagName{{ledger.FlagMasterKeySet, "master_key_set"}, {ledger.FlagDisableMaster, "disable_master"}}
	lineFlagNames    = []flagName{{txn.LineFlagAuthorized, "authorized"}, {txn.LineFlagFrozen, "frozen"}}
)

func parseAddress(p string) (txn.AccountID, error) {
	id, err := txn.ParseAddress(p)
	if err != nil {
		return id, codes.Errorf(codes.BadRequest, "%v", err)
	}
	return id, nil
}

func (s *Server) getAccount(ctx *fasthttp.RequestCtx, p string) error {
	id, err := parseAddress(p)
	if err != nil {
		return err
	}
	a, ok := s.b.Account(id)
	if !ok {
		return codes.Errorf(codes.NotFound, "account %s not found", id)
	}
	return writeJSON(ctx, fasthttp.StatusOK, newAccountAnswer(&a))
}

func newAccountAnswer(a *ledger.Account) *accountAnswer {
	x := a.Extended()
	ans := &accountAnswer{Address: a.ID.String(), Sequence: txn.Uint(a.Seq), Flags: a.Flags,
		FlagNames: flagNames(a.Flags, accountFlagNames),
		Balances:  make([]balanceAnswer, 0, 1+len(a.Issued)), TrustLines: make([]lineAnswer, 0, len(a.Issued)),
		Escrows: escrowsAnswer{Count: int(x.EscrowCount), NativeEscrowed: txn.Uint(x.NativeEscrowed)}}
	ans.Balances = append(ans.Balances, balanceAnswer{Asset: txn.Native.String(), Amount: txn.Uint(a.Native)})
	for _, b := range a.Issued {
		if b.Amount != 0 {
			ans.Balances = append(ans.Balances, balanceAnswer{Asset: b.Asset.String(), Amount: txn.Uint(b.Amount)})
		}
		ans.TrustLines = append(ans.TrustLines, lineAnswer{Asset: b.Asset.String(), Balance: txn.Uint(b.Amount),
			Limit: txn.Uint(b.Limit), Escrowed: txn.Uint(b.Escrowed), Flags: flagNames(b.Flags, lineFlagNames)})
	}
	if x.RegularKey != ([txn.PublicKeySize]byte{}) {
		ans.RegularKey = hex.EncodeToString(x.RegularKey[:])
	}
	if x.Quorum != 0 {
		ans.SignerList = &signerList{Quorum: x.Quorum, Signers: make([]signerAnswer, len(x.Signers))}
		for i, s := range x.Signers {
			ans.SignerList.Signers[i] = signerAnswer{PublicKey: hex.EncodeToString(s.PublicKey[:]), Weight: s.Weight}
		}
	}
	return ans
}

// historyAnswer is GET /v1/account/{address}/history.
type historyAnswer struct {
	Entries    []historyEntry `json:"entries"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

type historyEntry struct {
	Height       uint64   `json:"height"`
	Index        uint32   `json:"index"`
	Hash         string   `json:"hash"`
	Result       string   `json:"result"`
	Role         string   `json:"role"`
	Asset        string   `json:"asset"`
	Amount       txn.Uint `json:"amount"`
	Fee          txn.Uint `json:"fee"`
	Counterparty string   `json:"counterparty"`
}

func (s *Server) getHistory(ctx *fasthttp.RequestCtx, p string) error {
	id, err := parseAddress(p)
	if err != nil {
		return err
	}
	args := ctx.QueryArgs()
	limit := historyLimitDefault
	if v := args.Peek("limit"); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > historyLimitMax {
			return codes.Errorf(codes.BadRequest, "limit %q must be an integer from 1 to %d", v, historyLimitMax)
		}
		limit = n
	}
	cursor := string(args.Peek("cursor"))
	if cursor != "" && (len(cursor) != historyCursorLen || !isHex(cursor)) {
		return codes.Errorf(codes.BadRequest, "cursor is not one this node issued")
	}
	entries, next, err := s.b.History(id, cursor, limit)
	if err != nil {
		return backendError(err, "account "+id.String())
	}
	ans := historyAnswer{Entries: make([]historyEntry, len(entries)), NextCursor: next}
	for i, e := range entries {
		ans.Entries[i] = historyEntry{Height: e.Height, Index: e.Index, Hash: e.Hash.String(),
			Result: string(e.Result), Role: historyRole(&e), Asset: e.Asset.String(),
			Amount: txn.Uint(e.Amount), Fee: txn.Uint(e.Fee), Counterparty: e.Counterparty.String()}
	}
	return writeJSON(ctx, fasthttp.StatusOK, &ans)
}

// historyRole names an entry's role. Queue events are stored with the role of
// automatic end-of-block entries (store.RoleExpiry), which escrow returns
// share: the result code tells them apart, and a client sees "queue".
func historyRole(e *store.HistoryEntry) string {
	if e.Role == store.RoleExpiry && store.IsQueueResult(e.Result) {
		return "queue"
	}
	return e.Role.String()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

// blockAnswer is GET /v1/block/{height}.
type blockAnswer struct {
	Height    uint64   `json:"height"`
	Hash      string   `json:"hash"`
	Parent    string   `json:"parent"`
	StateHash string   `json:"state_hash"`
	TimeMs    int64    `json:"time_ms"`
	TxCount   int      `json:"tx_count"`
	Txs       []string `json:"txs"`
	Results   []string `json:"results"`
	// Applied[i] says whether transaction i applied. One that did not (a failed
	// precondition: sequence, expiry, signer, fee) changed nothing and is not
	// committed: its hash may still apply in a later block.
	Applied     []bool      `json:"applied"`
	Certificate certificate `json:"certificate"`
}

// certificate is the quorum certificate that committed a block, in consensus's
// own encoding (empty for a single validator).
type certificate struct {
	Hex string `json:"hex"`
}

func (s *Server) getBlock(ctx *fasthttp.RequestCtx, p string) error {
	var height uint64
	if p == "latest" {
		if height = s.b.Height(); height == 0 {
			return codes.Errorf(codes.NotFound, "no block committed yet")
		}
	} else {
		h, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return codes.Errorf(codes.BadRequest, "height %q must be a decimal integer or \"latest\"", p)
		}
		height = h
	}
	rec, err := s.b.Block(height)
	if err != nil {
		return backendError(err, "block "+strconv.FormatUint(height, 10))
	}
	ans := blockAnswer{Height: rec.Height, Hash: rec.Hash.String(), Parent: rec.Parent.String(),
		StateHash: rec.StateHash.String(), TimeMs: rec.TimeMs, TxCount: len(rec.Receipts),
		Txs: make([]string, len(rec.Receipts)), Results: make([]string, len(rec.Receipts)),
		Applied: make([]bool, len(rec.Receipts)), Certificate: certificate{Hex: hex.EncodeToString(rec.Cert)}}
	for i, r := range rec.Receipts {
		ans.Txs[i], ans.Results[i], ans.Applied[i] = r.Hash.String(), string(r.Result), r.Applied()
	}
	return writeJSON(ctx, fasthttp.StatusOK, &ans)
}

func (s *Server) getStatus(ctx *fasthttp.RequestCtx, _ string) error {
	st := s.b.Status()
	if st.Peers == nil {
		st.Peers = []string{}
	}
	return writeJSON(ctx, fasthttp.StatusOK, &st)
}
