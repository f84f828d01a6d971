package mempool

import (
	"context"
	"errors"
	"testing"
	"time"
)

// These tests never assert how long anything took: a "never" deadline is an hour
// (the test would time out), a "soon" one a millisecond.
const (
	never = time.Hour
	soon  = time.Millisecond
)

func TestNextBatch(t *testing.T) {
	tests := []struct {
		name    string
		cfg     AssemblerConfig
		txs     int // ready before the call
		late    int // added by another goroutine after the call started
		cancel  bool
		want    int
		wantErr error
	}{
		{name: "closes on count", cfg: AssemblerConfig{BlockTxMax: 5, BlockBytesMax: 1 << 20, BlockDelayMax: never}, txs: 7, want: 5},
		{name: "closes on bytes", cfg: AssemblerConfig{BlockTxMax: 100, BlockBytesMax: 1000, BlockDelayMax: never}, txs: 12, want: 10},
		{name: "closes on deadline", cfg: AssemblerConfig{BlockTxMax: 100, BlockBytesMax: 1 << 20, BlockDelayMax: soon}, txs: 3, want: 3},
		{name: "deadline starts with the first ready tx", cfg: AssemblerConfig{BlockTxMax: 100, BlockBytesMax: 1 << 20, BlockDelayMax: soon}, late: 1, want: 1},
		{name: "wakes on late txs", cfg: AssemblerConfig{BlockTxMax: 4, BlockBytesMax: 1 << 20, BlockDelayMax: never}, txs: 1, late: 3, want: 4},
		{name: "ends with ctx", cfg: AssemblerConfig{BlockTxMax: 4, BlockBytesMax: 1 << 20, BlockDelayMax: never}, cancel: true, wantErr: context.Canceled},
		{name: "ctx ends while txs wait", cfg: AssemblerConfig{BlockTxMax: 4, BlockBytesMax: 1 << 20, BlockDelayMax: never}, txs: 2, cancel: true, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TxCountMax = 1000 // no pressure
			p := mustNew(t, cfg)
			for i := range tt.txs {
				mustAdd(t, p, entry(i, 0, 10), 0)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for i := range tt.late {
					if err := p.Add(entry(100+i, 0, 10), 0, 1); err != nil {
						panic(err)
					}
				}
				if tt.cancel {
					cancel()
				}
			}()
			got, err := p.NextBatch(ctx, tt.cfg, 1, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NextBatch error %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Fatalf("NextBatch returned %d txs, want %d", len(got), tt.want)
			}
			if err != nil && p.Stats().Proposed != 0 {
				t.Fatal("a cancelled NextBatch proposed txs")
			}
		})
	}
}

func TestNextBatchRejectsBadConfig(t *testing.T) {
	p := mustNew(t, testConfig())
	for _, cfg := range []AssemblerConfig{
		{BlockTxMax: 0, BlockBytesMax: 1 << 20, BlockDelayMax: soon},
		{BlockTxMax: 1, BlockBytesMax: 0, BlockDelayMax: soon},
		{BlockTxMax: 1, BlockBytesMax: 1 << 20},
		{BlockTxMax: 1, BlockBytesMax: 999, BlockDelayMax: soon}, // below TxBytesMax
	} {
		if _, err := p.NextBatch(context.Background(), cfg, 1, nil); err == nil {
			t.Errorf("NextBatch accepted %+v", cfg)
		}
	}
}

func TestNextBatchWithin(t *testing.T) {
	wait := AssemblerConfig{BlockTxMax: 100, BlockBytesMax: 1 << 20, BlockDelayMax: never}
	tests := []struct {
		name    string
		cfg     AssemblerConfig
		idle    time.Duration
		txs     int
		cancel  bool
		want    int
		wantErr error
	}{
		{name: "idle ends the wait with what is ready", cfg: wait, idle: soon, txs: 3, want: 3},
		{name: "idle with nothing ready", cfg: wait, idle: soon, want: 0},
		{name: "a full block before idle", cfg: AssemblerConfig{BlockTxMax: 2, BlockBytesMax: 1 << 20, BlockDelayMax: never}, idle: never, txs: 3, want: 2},
		{name: "the block delay before idle", cfg: AssemblerConfig{BlockTxMax: 100, BlockBytesMax: 1 << 20, BlockDelayMax: soon}, idle: never, txs: 2, want: 2},
		{name: "the caller's cancel is no idle", cfg: wait, idle: never, txs: 2, cancel: true, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TxCountMax = 1000
			p := mustNew(t, cfg)
			for i := range tt.txs {
				mustAdd(t, p, entry(i, 0, 10), 0)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			got, err := p.NextBatchWithin(ctx, tt.cfg, 1, tt.idle, nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Fatalf("returned %d txs, want %d", len(got), tt.want)
			}
			if err != nil && p.Stats().Proposed != 0 {
				t.Fatal("a cancelled call proposed txs")
			}
		})
	}
}
