package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"settle/engine/chain"
	"settle/engine/codes"
	"settle/engine/devnet"
	"settle/engine/ledger"
	"settle/engine/store"
	"settle/engine/txn"
)

// RestartOptions configure Restart: how much history a single validator's
// directory holds before it is restarted.
type RestartOptions struct {
	Binary   string // settled
	Dir      string // work directory (created; the network lives in Dir/node)
	Txs      int    // committed payments to write before the restarts
	Accounts int    // demo accounts sending them
	BlockTxs int    // payments per block
	Restarts int    // restarts timed
	Logf     func(format string, args ...any)
}

// RestartResult is what Restart measured.
type RestartResult struct {
	Txs       int       `json:"txs"`
	Blocks    int       `json:"blocks"`
	Accounts  int       `json:"accounts"`
	FillS     float64   `json:"fill_s"`      // writing the history (signing included)
	DBBytes   int64     `json:"db_bytes"`    // the data directory's size after the fill
	ReadyS    []float64 `json:"ready_s"`     // process start to GET /readyz 200, each restart
	ReadyMedS float64   `json:"ready_med_s"` // their median
}

// Restart measures recovery against a long history: it creates a single
// validator's network (settled init), commits o.Txs payments into its store
// through the ledger and the store's own CommitBlock (one synced batch per
// block, as the node writes them, but without the HTTP edge), then starts
// `settled run` o.Restarts times and times each start until /readyz answers
// 200. Recovery loads the current state and never replays blocks, so the time
// should not grow with the history (docs/performance.md: ≤ 10 s with 10
// million transactions).
func Restart(ctx context.Context, o RestartOptions) (*RestartResult, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	o.Accounts, o.BlockTxs, o.Restarts = max(o.Accounts, 2), max(o.BlockTxs, 1), max(o.Restarts, 1)
	node := filepath.Join(o.Dir, "node")
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	init := exec.CommandContext(ctx, o.Binary, "init", "-dir", node, "-accounts", strconv.Itoa(o.Accounts), "-api", api)
	if out, err := init.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("settled init: %w: %s", err, out)
	}
	res := &RestartResult{Txs: o.Txs, Accounts: o.Accounts}
	start := time.Now()
	blocks, err := fillHistory(ctx, node, o)
	if err != nil {
		return nil, err
	}
	res.Blocks, res.FillS = blocks, time.Since(start).Seconds()
	if res.DBBytes, err = dirBytes(filepath.Join(node, "db")); err != nil {
		return nil, err
	}
	o.Logf("restart: %d payments in %d blocks written in %.0f s; database %.1f MiB", o.Txs, blocks, res.FillS,
		float64(res.DBBytes)/(1<<20))
	for i := range o.Restarts {
		d, err := timeReady(ctx, o.Binary, filepath.Join(node, "config.json"), api, uint64(blocks))
		if err != nil {
			return nil, fmt.Errorf("restart %d: %w", i+1, err)
		}
		o.Logf("restart %d: ready after %.2f s", i+1, d.Seconds())
		res.ReadyS = append(res.ReadyS, d.Seconds())
	}
	sorted := slices.Sorted(slices.Values(res.ReadyS))
	res.ReadyMedS = sorted[len(sorted)/2]
	return res, nil
}

// fillHistory commits o.Txs payments among the demo accounts into the store
// of the network in dir, signing them on every core while the previous block
// commits. It returns the number of blocks.
func fillHistory(ctx context.Context, dir string, o RestartOptions) (int, error) {
	g, err := ledger.LoadGenesis(filepath.Join(dir, "genesis.json"))
	if err != nil {
		return 0, err
	}
	s, err := store.Open(filepath.Join(dir, "db"), g, store.Options{})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	l, err := s.Load(g)
	if err != nil {
		return 0, err
	}
	keys := make([]txn.Key, o.Accounts)
	for i := range keys {
		keys[i] = devnet.DemoKey(g.ChainID, i)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an early return stops the signer
	nblocks := (o.Txs + o.BlockTxs - 1) / o.BlockTxs
	signed := make(chan []*txn.Tx, 2) // blocks signed ahead of the committer
	errc := make(chan error, 1)
	go func() {
		defer close(signed)
		for b := range nblocks {
			txs, err := signBlock(keys, g.ChainID, g.BaseFee, b, o)
			if err != nil {
				errc <- err
				return
			}
			select {
			case signed <- txs:
			case <-ctx.Done():
				return
			}
		}
	}()
	var parent txn.Hash
	h := uint64(0)
	for txs := range signed {
		h++
		res := l.Execute(h, txs)
		for i := range res.Receipts {
			if r := res.Receipts[i].Result; r != codes.Success {
				return 0, fmt.Errorf("fill block %d tx %d: %s", h, i, r)
			}
		}
		timeMs := int64(h) * 20
		rec := &store.BlockRecord{Height: h, TimeMs: timeMs, Hash: chain.BlockHash(h, parent, timeMs, txs), Parent: parent,
			StateHash: res.Meta.StateHash}
		if err := s.CommitBlock(rec, txs, res); err != nil {
			return 0, err
		}
		l.Apply(res)
		parent = rec.Hash
	}
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return int(h), nil
}

// signBlock signs block b's payments: the k-th payment overall is sent by
// account k mod Accounts to the next account, so every sender's sequence runs
// without gaps.
func signBlock(keys []txn.Key, chainID string, fee uint64, b int, o RestartOptions) ([]*txn.Tx, error) {
	n := min(o.BlockTxs, o.Txs-b*o.BlockTxs)
	txs := make([]*txn.Tx, n)
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for j := w; j < n; j += workers {
				k := b*o.BlockTxs + j
				from := k % len(keys)
				tx := &txn.Tx{Type: txn.TypePayment, ChainID: chainID, Sender: keys[from].AccountID(),
					Seq: uint64(1 + k/len(keys)), Fee: fee, LastValid: 1 << 40,
					Dest: keys[(from+1)%len(keys)].AccountID(), Amount: 1}
				if err := txn.Sign(tx, keys[from]); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				txs[j] = tx
			}
		})
	}
	wg.Wait()
	return txs, firstErr
}

// timeReady starts settled run on config and returns the time until its
// /readyz answers 200, having checked that it recovered the whole history
// (its height is height); then it stops the process.
func timeReady(ctx context.Context, binary, config, api string, height uint64) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, binary, "run", "-config", config)
	cmd.SysProcAttr = childProcAttr()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	client := &http.Client{Timeout: time.Second}
	for {
		if probe(ctx, client, "http://"+api+"/readyz") {
			d := time.Since(start)
			if got, err := statusHeight(ctx, client, api); err != nil || got != height {
				return 0, fmt.Errorf("ready at height %d (%v), want %d", got, err, height)
			}
			return d, nil
		}
		select {
		case err := <-exited:
			exited <- err
			return 0, fmt.Errorf("settled exited before it was ready: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(start) > 5*time.Minute {
			return 0, fmt.Errorf("not ready after 5 minutes")
		}
	}
}

// statusHeight reads the height from GET /v1/status.
func statusHeight(ctx context.Context, client *http.Client, api string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/v1/status", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Height uint64 `json:"height"`
	}
	return st.Height, json.NewDecoder(resp.Body).Decode(&st)
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}
