package api

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"settle/engine/codes"
	"settle/engine/proof"
	"settle/engine/txn"
)

// Prover serves proofs (docs/api.md, "Proofs"): a single validator answers
// with a codes.NotFound error, as it signs no certificates.
type Prover interface {
	// TxProof proves a committed transaction's inclusion and result;
	// store.ErrNotFound when it is not committed.
	TxProof(h txn.Hash) (*proof.Tx, error)
	// AccountProof proves an account's state at height (0: the newest
	// certified kept height), or its absence.
	AccountProof(id txn.AccountID, height uint64) (*proof.Account, error)
}

func (s *Server) getTxProof(ctx *fasthttp.RequestCtx, p string) error {
	h, err := txn.ParseHash(p)
	if err != nil {
		return codes.Errorf(codes.BadRequest, "transaction hash: %v", err)
	}
	pr, err := s.b.TxProof(h)
	if err != nil {
		return backendError(err, "committed transaction "+h.String())
	}
	return writeJSON(ctx, fasthttp.StatusOK, pr)
}

func (s *Server) getAccountProof(ctx *fasthttp.RequestCtx, p string) error {
	id, err := parseAddress(p)
	if err != nil {
		return err
	}
	var height uint64
	if v := ctx.QueryArgs().Peek("height"); v != nil {
		if height, err = strconv.ParseUint(string(v), 10, 64); err != nil || height == 0 {
			return codes.Errorf(codes.BadRequest, "height %q must be a positive decimal integer", v)
		}
	}
	pr, err := s.b.AccountProof(id, height)
	if err != nil {
		return backendError(err, "account proof")
	}
	return writeJSON(ctx, fasthttp.StatusOK, pr)
}
