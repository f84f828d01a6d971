package mempool

import (
	"errors"
	"fmt"
)

// Errors returned by Add. Callers match them with errors.Is; the wrapped messages
// add the numbers that explain the rejection. ErrFull is the only one that means
// "try again later" (HTTP 429 with Retry-After); ErrFeeTooLow means "try again with
// a higher fee" and carries the current minimum in a *FeeTooLowError.
var (
	// ErrDuplicate: a transaction with the same hash is already in the pool.
	ErrDuplicate = errors.New("mempool: duplicate transaction")
	// ErrSeqPast: the sequence is below the sender's committed next sequence.
	ErrSeqPast = errors.New("mempool: sequence already used")
	// ErrSeqTooFar: the sequence is more than Config.SeqAheadMax past the sender's
	// committed next sequence.
	ErrSeqTooFar = errors.New("mempool: sequence too far ahead")
	// ErrSeqTaken: another transaction of the same sender already holds this
	// sequence and cannot be replaced (it is proposed, or the fee bump is too small).
	ErrSeqTaken = errors.New("mempool: sequence held by another transaction")
	// ErrFull: the pool or the sender's queue is full and nothing cheaper can be evicted.
	ErrFull = errors.New("mempool: full")
	// ErrFeeTooLow: the fee is below MinFee. The error is a *FeeTooLowError.
	ErrFeeTooLow = errors.New("mempool: fee below the current minimum")
	// ErrExpired: the transaction's LastValid height is below the height offered.
	ErrExpired = errors.New("mempool: transaction expired")
	// ErrInvalid: the caller passed an entry that can never be admitted (a size of
	// zero or one above Config.TxBytesMax). It is a caller bug, not a client error.
	ErrInvalid = errors.New("mempool: invalid entry")
)

// FeeTooLowError is returned by Add when the fee is below the pool's current minimum.
// errors.Is(err, ErrFeeTooLow) holds; errors.As gives the minimum to report to clients.
type FeeTooLowError struct {
	MinFee uint64 // the minimum fee at the time of the rejection
	Fee    uint64 // the fee offered
}

func (e *FeeTooLowError) Error() string {
	return fmt.Sprintf("mempool: fee %d is below the current minimum fee %d", e.Fee, e.MinFee)
}

// Unwrap makes errors.Is(err, ErrFeeTooLow) hold.
func (e *FeeTooLowError) Unwrap() error { return ErrFeeTooLow }
