package mempool

import (
	"fmt"
	"math/bits"
)

// Config bounds the pool and sets its fee policy. Every limit is mandatory; use
// DefaultConfig and change what you need.
type Config struct {
	// Shards is the number of independently locked shards, a power of two. Senders
	// are assigned to shards by xxhash of their account id.
	Shards int
	// TxCountMax bounds the number of transactions in the whole pool.
	TxCountMax int
	// BytesMax bounds the sum of Entry.SizeBytes in the whole pool.
	BytesMax int
	// TxBytesMax bounds one transaction's SizeBytes. Block assembly must allow at
	// least this much per block, or a large transaction would block its sender.
	TxBytesMax int
	// AccountTxMax bounds the number of transactions one sender may hold in the pool.
	AccountTxMax int
	// SeqAheadMax: a transaction's sequence may be at most this many past the
	// sender's committed next sequence (0 admits only the next sequence itself).
	SeqAheadMax uint64
	// BaseFee is the minimum fee, in native minor units, while the pool is not
	// under pressure.
	BaseFee uint64
	// EscalationStartPermille is the fill, in thousandths of the tighter of the two
	// pool bounds, above which the minimum fee escalates and Reap orders by fee
	// ("under pressure"). 0 escalates from the first transaction; must be below 1000.
	EscalationStartPermille int
	// EscalationFactorMax is MinFee/BaseFee when the pool is completely full. The
	// curve between the start and a full pool is quadratic; see MinFeeAt.
	EscalationFactorMax uint64
	// ReplaceFeeBumpPercent: a transaction replaces a queued one of the same sender
	// and sequence only if its fee is at least this many percent higher (and
	// strictly higher).
	ReplaceFeeBumpPercent uint64
	// ExpirySweepMax bounds the expired entries removed by one Commit's sweep, and
	// the expired entries one Reap drops lazily beyond its maxCount.
	ExpirySweepMax int
	// RecentSendersMax bounds how many senders, no longer in the pool, the pool
	// remembers the committed next sequence of. It closes the race in which an Add
	// carrying a committed sequence read before a Commit re-admits a just-committed
	// transaction.
	RecentSendersMax int
}

// DefaultConfig returns limits sized for one validator on a small machine.
func DefaultConfig() Config {
	return Config{
		Shards:                  16,
		TxCountMax:              200_000,
		BytesMax:                64 << 20,
		TxBytesMax:              64 << 10,
		AccountTxMax:            64,
		SeqAheadMax:             256,
		BaseFee:                 10,
		EscalationStartPermille: 500,
		EscalationFactorMax:     100,
		ReplaceFeeBumpPercent:   25,
		ExpirySweepMax:          1024,
		RecentSendersMax:        1 << 16,
	}
}

const (
	shardsMax = 1 << 12
	// fillPpmMax is a completely full pool, in parts per million.
	fillPpmMax = 1_000_000
)

// Validate reports the first setting that is out of range, in a plain sentence.
func (c Config) Validate() error {
	switch {
	case c.Shards < 1 || c.Shards > shardsMax || c.Shards&(c.Shards-1) != 0:
		return fmt.Errorf("mempool: Shards must be a power of two between 1 and %d, got %d", shardsMax, c.Shards)
	case c.TxCountMax < 1:
		return fmt.Errorf("mempool: TxCountMax must be at least 1, got %d", c.TxCountMax)
	case c.BytesMax < 1:
		return fmt.Errorf("mempool: BytesMax must be at least 1, got %d", c.BytesMax)
	case c.TxBytesMax < 1 || c.TxBytesMax > c.BytesMax:
		return fmt.Errorf("mempool: TxBytesMax must be between 1 and BytesMax (%d), got %d", c.BytesMax, c.TxBytesMax)
	case c.AccountTxMax < 1 || c.AccountTxMax > c.TxCountMax:
		return fmt.Errorf("mempool: AccountTxMax must be between 1 and TxCountMax (%d), got %d", c.TxCountMax, c.AccountTxMax)
	case c.BaseFee < 1:
		return fmt.Errorf("mempool: BaseFee must be at least 1, got %d", c.BaseFee)
	case c.EscalationStartPermille < 0 || c.EscalationStartPermille >= 1000:
		return fmt.Errorf("mempool: EscalationStartPermille must be between 0 and 999, got %d", c.EscalationStartPermille)
	case c.EscalationFactorMax < 1:
		return fmt.Errorf("mempool: EscalationFactorMax must be at least 1, got %d", c.EscalationFactorMax)
	case c.ReplaceFeeBumpPercent > 1000:
		return fmt.Errorf("mempool: ReplaceFeeBumpPercent must be at most 1000, got %d", c.ReplaceFeeBumpPercent)
	case c.ExpirySweepMax < 1:
		return fmt.Errorf("mempool: ExpirySweepMax must be at least 1, got %d", c.ExpirySweepMax)
	case c.RecentSendersMax < c.Shards:
		return fmt.Errorf("mempool: RecentSendersMax must be at least Shards (%d), got %d", c.Shards, c.RecentSendersMax)
	}
	if hi, _ := bits.Mul64(c.BaseFee, c.EscalationFactorMax); hi != 0 {
		return fmt.Errorf("mempool: BaseFee (%d) times EscalationFactorMax (%d) overflows 64 bits", c.BaseFee, c.EscalationFactorMax)
	}
	return nil
}

// MinFeeAt returns the minimum fee at a pool fill of fillPpm parts per million of
// the tighter bound (values above 1,000,000 count as full):
//
//	s = EscalationStartPermille * 1000            (ppm)
//	x = max(0, fillPpm - s) / (1,000,000 - s)     (0..1)
//	MinFee = BaseFee + BaseFee * (EscalationFactorMax - 1) * x²
//
// It is BaseFee up to the start of escalation, rises quadratically (gently at
// first, steeply near full, as the XRP Ledger's open-ledger fee does), reaches
// BaseFee*EscalationFactorMax on a full pool, and is monotone in fillPpm. The
// arithmetic is integer only (a 128-bit intermediate), rounding down.
func (c Config) MinFeeAt(fillPpm uint64) uint64 {
	startPpm := uint64(c.EscalationStartPermille) * 1000
	fillPpm = min(fillPpm, fillPpmMax)
	if fillPpm <= startPpm || c.EscalationFactorMax <= 1 {
		return c.BaseFee
	}
	excess := fillPpm - startPpm
	span := uint64(fillPpmMax) - startPpm
	extraMax := c.BaseFee * (c.EscalationFactorMax - 1) // Validate: no overflow
	hi, lo := bits.Mul64(extraMax, excess*excess)
	// INVARIANT: excess <= span, so the quotient is at most extraMax and hi < span².
	extra, _ := bits.Div64(hi, lo, span*span)
	return c.BaseFee + extra
}

// feeBumpOK reports whether newFee may replace oldFee under ReplaceFeeBumpPercent:
// newFee*100 >= oldFee*(100+pct) and newFee > oldFee, in 128-bit arithmetic.
func (c Config) feeBumpOK(oldFee, newFee uint64) bool {
	if newFee <= oldFee {
		return false
	}
	nh, nl := bits.Mul64(newFee, 100)
	oh, ol := bits.Mul64(oldFee, 100+c.ReplaceFeeBumpPercent)
	return nh > oh || (nh == oh && nl >= ol)
}
