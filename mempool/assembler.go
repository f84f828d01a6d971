package mempool

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AssemblerConfig bounds one block. A block closes on BlockTxMax transactions,
// BlockBytesMax bytes, or BlockDelayMax after the first ready transaction was seen,
// whichever comes first: closing on size alone would starve a lightly loaded
// network (docs/consensus.md).
type AssemblerConfig struct {
	BlockTxMax    int
	BlockBytesMax int
	BlockDelayMax time.Duration
}

// Validate reports the first setting that is out of range, in a plain sentence.
func (c AssemblerConfig) Validate() error {
	switch {
	case c.BlockTxMax < 1:
		return fmt.Errorf("mempool: BlockTxMax must be at least 1, got %d", c.BlockTxMax)
	case c.BlockBytesMax < 1:
		return fmt.Errorf("mempool: BlockBytesMax must be at least 1, got %d", c.BlockBytesMax)
	case c.BlockDelayMax <= 0:
		return fmt.Errorf("mempool: BlockDelayMax must be positive, got %v", c.BlockDelayMax)
	}
	return nil
}

// NextBatch waits until BlockTxMax transactions or BlockBytesMax bytes are ready,
// or until BlockDelayMax has passed since this call first saw a ready transaction,
// then returns Reap(BlockTxMax, BlockBytesMax, height, dst). If ctx ends first it
// returns dst unchanged and ctx.Err(), having proposed nothing. If the deadline
// passes but the ready transactions vanished meanwhile (expired, evicted,
// replaced), it keeps waiting rather than return an empty batch.
//
// It is the edge of the package: the only code that reads the clock. It waits on
// Ready(), so there is no polling.
func (p *Pool[T]) NextBatch(ctx context.Context, cfg AssemblerConfig, height uint64, dst []Entry[T]) ([]Entry[T], error) {
	if err := cfg.Validate(); err != nil {
		return dst, err
	}
	if cfg.BlockBytesMax < p.cfg.TxBytesMax {
		return dst, fmt.Errorf("mempool: BlockBytesMax (%d) must be at least the pool's TxBytesMax (%d)", cfg.BlockBytesMax, p.cfg.TxBytesMax)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var deadline <-chan time.Time
	for {
		count, bytes := p.readyTotals()
		if count >= cfg.BlockTxMax || bytes >= cfg.BlockBytesMax {
			return p.Reap(cfg.BlockTxMax, cfg.BlockBytesMax, height, dst), nil
		}
		if count > 0 && deadline == nil {
			if timer == nil {
				timer = time.NewTimer(cfg.BlockDelayMax)
			} else {
				timer.Reset(cfg.BlockDelayMax)
			}
			deadline = timer.C
		}
		select {
		case <-ctx.Done():
			return dst, ctx.Err()
		case <-p.ready:
		case <-deadline:
			if out := p.Reap(cfg.BlockTxMax, cfg.BlockBytesMax, height, dst); len(out) > len(dst) {
				return out, nil
			}
			deadline = nil
		}
	}
}

// NextBatchWithin is NextBatch bounded by idle: when idle passes first, it
// returns whatever is ready at that moment (possibly nothing) and a nil error,
// where NextBatch would return nothing. A leader that stops waiting for a
// fuller block, so that views keep moving, still proposes the transactions it
// has: with idle equal to BlockDelayMax and transactions ready at the call, the
// two deadlines fall together, and NextBatch under a context deadline lost the
// race about as often as it won it, proposing an empty block while
// transactions waited a view longer. A zero idle waits as NextBatch does.
func (p *Pool[T]) NextBatchWithin(ctx context.Context, cfg AssemblerConfig, height uint64, idle time.Duration, dst []Entry[T]) ([]Entry[T], error) {
	if idle <= 0 {
		return p.NextBatch(ctx, cfg, height, dst)
	}
	tctx, cancel := context.WithTimeout(ctx, idle)
	defer cancel()
	out, err := p.NextBatch(tctx, cfg, height, dst)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return p.Reap(cfg.BlockTxMax, cfg.BlockBytesMax, height, dst), nil
	}
	return out, err
}
