package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// buildSettled is the real binary, compiled once per test process.
func buildSettled(t *testing.T) string { return testkit.BuildSettled(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testkit.Cleanup()
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &bytes.Buffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitReady(t *testing.T, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("validator at %s not ready; output:\n%s", addr, p.out)
}

// TestCrashRecovery runs the real settled binary under load, kills it with SIGKILL
// while blocks are being committed, restarts it, and checks that every transaction
// whose commit was acknowledged on the event stream is still committed, and that
// the recovered state hash equals a replay of the stored blocks from genesis.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildSettled(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	const accounts = 64
	if out, err := exec.Command(bin, "init", "-dir", dir, "-accounts", fmt.Sprint(accounts), "-api", addr).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "config.json")
	p := start(t, bin, "run", "-config", cfg)
	defer p.cmd.Process.Kill()
	waitReady(t, addr, p)

	acked := newAckSet()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go acked.follow(ctx, addr)
	load := startLoad(ctx, t, addr, accounts)

	// Kill once enough commits are acknowledged, while the load keeps submitting.
	deadline := time.Now().Add(60 * time.Second)
	for acked.len() < 3000 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	cancel()
	load.Wait()
	hashes := acked.snapshot()
	if len(hashes) == 0 {
		t.Fatalf("no commits acknowledged before the kill; output:\n%s", p.out)
	}
	t.Logf("killed with %d acknowledged commits", len(hashes))

	p2 := start(t, bin, "run", "-config", cfg)
	defer p2.cmd.Process.Kill()
	waitReady(t, addr, p2)
	checkCommitted(t, addr, hashes)
	stopAndVerify(t, bin, cfg, addr, p2)
}

// checkCommitted fails unless every hash is committed at addr.
func checkCommitted(t *testing.T, addr string, hashes []string) {
	t.Helper()
	for _, h := range hashes {
		var st struct {
			Status string `json:"status"`
		}
		getJSON(t, "http://"+addr+"/v1/tx/"+h, &st)
		if st.Status != "committed" {
			t.Fatalf("acknowledged tx %s is %q after restart", h, st.Status)
		}
	}
}

// stopAndVerify reads the running validator's state hash, stops it, and
// checks that `settled verify` (a replay of the stored blocks from genesis)
// reaches the same.
func stopAndVerify(t *testing.T, bin, cfg, addr string, p *proc) {
	t.Helper()
	var status struct {
		Height    uint64 `json:"height"`
		StateHash string `json:"state_hash"`
	}
	getJSON(t, "http://"+addr+"/v1/status", &status)
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	out, err := exec.Command(bin, "verify", "-config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("verify after restart: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), status.StateHash) {
		t.Fatalf("replay from genesis disagrees with the recovered state %s at height %d:\n%s", status.StateHash, status.Height, out)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// ackSet records the hashes the event stream announced as committed.
type ackSet struct {
	mu     sync.Mutex
	hashes []string
}

func newAckSet() *ackSet { return &ackSet{} }

func (a *ackSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.hashes)
}

func (a *ackSet) snapshot() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.hashes...)
}

func (a *ackSet) follow(ctx context.Context, addr string) {
	streamBlocks(ctx, addr, 0, func(ev *blockEvent) {
		a.mu.Lock()
		for _, tx := range ev.Txs {
			a.hashes = append(a.hashes, tx.Hash)
		}
		a.mu.Unlock()
	})
}

// startLoad submits signed payments in binary batches until ctx ends.
func startLoad(ctx context.Context, t *testing.T, addr string, accounts int) *sync.WaitGroup {
	keys := make([]txn.Key, accounts)
	for i := range keys {
		keys[i] = devnet.DemoKey(devnet.ChainID, i)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seq := uint64(1)
		for ctx.Err() == nil {
			raws := make([][]byte, 0, accounts)
			for i, k := range keys {
				tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seq, Fee: 10,
					LastValid: 1 << 40, Dest: keys[(i+1)%accounts].AccountID(), Amount: 1}
				if err := txn.Sign(tx, k); err != nil {
					panic(err)
				}
				raws = append(raws, tx.Bytes())
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/batch", bytes.NewReader(txn.EncodeBatch(raws)))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			seq++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return &wg
}
