// Package codes is the one place where Settle's stable error and result codes live,
// with the table that maps each to an HTTP status. Every layer (decoding, admission,
// execution, the API) reports failures as a *codes.Error so that an integrator sees
// the same code for the same problem wherever it is found.
//
// Codes are part of the public API: never rename or reuse one. docs/api.md lists them.
package codes

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error or result code.
type Code string

// Request and transaction rejection codes (never reach a block).
const (
	Malformed         Code = "malformed"          // undecodable binary or JSON, bad field
	UnknownField      Code = "unknown_field"      // JSON carries a field the schema lacks
	BodyTooLarge      Code = "body_too_large"     // request body over the limit
	UnsupportedType   Code = "unsupported_type"   // transaction type not known or not enabled
	WrongChain        Code = "wrong_chain"        // chain id differs from this network's
	BadSignature      Code = "bad_signature"      // a signature does not verify
	WeakKey           Code = "weak_key"           // small-order or invalid public key
	AmountZero        Code = "amount_zero"        // amount must be positive
	AmountNegative    Code = "amount_negative"    // amount below zero (JSON only)
	AmountOverflow    Code = "amount_overflow"    // amount beyond the maximum, or a sum overflows
	SelfPayment       Code = "self_payment"       // sender equals destination
	UnknownAsset      Code = "unknown_asset"      // issued asset not declared on the ledger
	NoAccount         Code = "no_account"         // sender account does not exist
	NotAuthorized     Code = "not_authorized"     // signatures do not authorise the sender
	InsufficientFunds Code = "insufficient_funds" // balance below amount plus fee
	SeqPast           Code = "seq_past"           // sequence already used
	SeqTooFar         Code = "seq_too_far"        // sequence too far ahead of the account's
	SeqTaken          Code = "seq_taken"          // another pending tx holds this sequence
	Duplicate         Code = "duplicate"          // same transaction hash already known
	Expired           Code = "expired"            // last valid height already passed
	FeeTooLow         Code = "fee_too_low"        // fee below the current minimum fee
	MempoolFull       Code = "mempool_full"       // backpressure: retry later
	Overloaded        Code = "overloaded"         // a pipeline stage is saturated: retry later
	NotFound          Code = "not_found"          // unknown transaction, account or block
	BadRequest        Code = "bad_request"        // bad query parameter
	Unauthorized      Code = "unauthorized"       // operator endpoint without a valid token
	NotReady          Code = "not_ready"          // node still starting or catching up
	Internal          Code = "internal"           // a bug or an I/O failure on the node
)

// TooManyConns refuses a connection, not a request: it is answered on a new
// connection when its client address already holds the most the node allows.
const TooManyConns Code = "too_many_connections" // this client address holds the most connections allowed: reuse them

// Execution result codes, recorded in receipts of transactions that made it into a
// block. Success applies the transaction. A failure found after the fee became
// claimable (insufficient funds for the amount, no destination, unknown asset,
// overflow) consumes the sequence and charges the fee, as the XRP Ledger's tec codes
// do; a failed precondition (sequence, expiry, chain, signer, fee) charges nothing and
// changes nothing but the receipt. docs/ledger.md has the full table.
const (
	Success Code = "success"
	// InsufficientFunds, NoAccount, UnknownAsset, AmountOverflow, NotAuthorized and
	// Expired are also execution results when the state changed between admission and
	// execution.
	NoDestination Code = "no_destination" // issued asset sent to an account that does not exist

	// Interbank results (docs/ledger.md): trust lines, freezes, compliance,
	// escrow and multi-signature.
	NoTrustLine       Code = "no_trust_line"       // the holder has no trust line for the issued asset
	TrustLimit        Code = "trust_limit"         // the holder's balance would pass its trust-line limit
	LineNotAuthorized Code = "line_not_authorized" // the asset requires authorisation and the issuer has not given it
	Frozen            Code = "frozen"              // the trust line or the whole asset is frozen
	OutflowLimit      Code = "outflow_limit"       // a per-transaction or rolling-window outflow limit forbids it
	NotPermitted      Code = "not_permitted"       // the sender may not do this (not the authority, flag forbids it)
	NoAlternativeKey  Code = "no_alternative_key"  // the change would leave the account with no key that can sign
	TooManyEntries    Code = "too_many_entries"    // the account holds the maximum number of lines, escrows or limits
	EscrowNotFound    Code = "escrow_not_found"    // no escrow with this owner and sequence
	EscrowLocked      Code = "escrow_locked"       // finish before the escrow's release height
	EscrowExpired     Code = "escrow_expired"      // finish at or after the escrow's expiry height
	EscrowNotExpired  Code = "escrow_not_expired"  // cancel before expiry by someone other than the destination
	BadFulfillment    Code = "bad_fulfillment"     // the fulfillment does not hash to the escrow's condition

	// The RTGS queue (docs/ledger.md, "Queued payments and liquidity saving").
	QueueNotFound Code = "queue_not_found" // no queued transaction of the sender with this sequence
)

// Results that are never a refusal, so they carry no HTTP status and are not
// in All: a receipt's (like Success) or a history entry's.
const (
	Queued        Code = "queued"         // receipt: a queued transfer could not settle yet and waits in the queue (fee charged)
	QueueReleased Code = "queue_released" // history: a queued transfer settled from the queue when funds arrived
	QueueOffset   Code = "queue_offset"   // history: a queued transfer settled by gridlock resolution (multilateral offsetting)
	QueueExpired  Code = "queue_expired"  // history: a queued transfer left the queue unsettled at the end of its queue_until block
)

var httpStatus = map[Code]int{
	Malformed:         http.StatusBadRequest,
	UnknownField:      http.StatusBadRequest,
	BodyTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedType:   http.StatusBadRequest,
	WrongChain:        http.StatusBadRequest,
	BadSignature:      http.StatusBadRequest,
	WeakKey:           http.StatusBadRequest,
	AmountZero:        http.StatusBadRequest,
	AmountNegative:    http.StatusBadRequest,
	AmountOverflow:    http.StatusBadRequest,
	SelfPayment:       http.StatusBadRequest,
	UnknownAsset:      http.StatusUnprocessableEntity,
	NoAccount:         http.StatusUnprocessableEntity,
	NotAuthorized:     http.StatusUnprocessableEntity,
	InsufficientFunds: http.StatusUnprocessableEntity,
	SeqPast:           http.StatusConflict,
	SeqTooFar:         http.StatusUnprocessableEntity,
	SeqTaken:          http.StatusConflict,
	Duplicate:         http.StatusConflict,
	Expired:           http.StatusUnprocessableEntity,
	FeeTooLow:         http.StatusUnprocessableEntity,
	MempoolFull:       http.StatusTooManyRequests,
	Overloaded:        http.StatusServiceUnavailable,
	TooManyConns:      http.StatusTooManyRequests,
	NotFound:          http.StatusNotFound,
	BadRequest:        http.StatusBadRequest,
	Unauthorized:      http.StatusUnauthorized,
	NotReady:          http.StatusServiceUnavailable,
	Internal:          http.StatusInternalServerError,
	NoDestination:     http.StatusUnprocessableEntity,
	NoTrustLine:       http.StatusUnprocessableEntity,
	TrustLimit:        http.StatusUnprocessableEntity,
	LineNotAuthorized: http.StatusUnprocessableEntity,
	Frozen:            http.StatusUnprocessableEntity,
	OutflowLimit:      http.StatusUnprocessableEntity,
	NotPermitted:      http.StatusUnprocessableEntity,
	NoAlternativeKey:  http.StatusUnprocessableEntity,
	TooManyEntries:    http.StatusUnprocessableEntity,
	EscrowNotFound:    http.StatusUnprocessableEntity,
	EscrowLocked:      http.StatusUnprocessableEntity,
	EscrowExpired:     http.StatusUnprocessableEntity,
	EscrowNotExpired:  http.StatusUnprocessableEntity,
	BadFulfillment:    http.StatusUnprocessableEntity,
	QueueNotFound:     http.StatusUnprocessableEntity,
}

// HTTPStatus returns the status an API answer with this code carries.
func (c Code) HTTPStatus() int {
	if s, ok := httpStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Retryable reports whether a client should retry the same request later.
func (c Code) Retryable() bool {
	return c == MempoolFull || c == Overloaded || c == NotReady || c == TooManyConns
}

// All lists every rejection code, for documentation tests.
func All() []Code {
	out := make([]Code, 0, len(httpStatus))
	for c := range httpStatus {
		out = append(out, c)
	}
	return out
}

// Error is an error with a stable code. Match with errors.Is(err, codes.Code(...))
// through Is, or extract with As / Of.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

// Is lets errors.Is(err, &Error{Code: c}) and errors.Is(err, c.Err()) match by code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Err returns a bare error of this code, for errors.Is comparisons.
func (c Code) Err() error { return &Error{Code: c} }

// Errorf builds a coded error with a formatted message.
func Errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Of extracts the code of err: the code of the first *Error in its chain, or Internal.
func Of(err error) Code {
	if err == nil {
		return Success
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
