package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"settle/engine/devnet"
	"settle/engine/txn"
	"settle/internal/testkit"
)

// TestClusterFaults runs four real settled processes under load (binary batches
// spread over the validators) and injects faults: SIGKILL of a follower, then of
// the leader, each restarted, then one validator cut off from the others and
// healed. It checks that each victim catches up, that no two validators ever
// announce different blocks at one height, that every acknowledged commit (on any
// validator's event stream) is in the same block on all four, and that state
// hashes agree at equal heights. It logs the time from killing the leader to the
// next committed block.
//
// SETTLE_RACE_BINARY=1 builds the validators with -race (a separate, slower
// build) and fails the test if any of their outputs, killed processes included,
// reports a data race:
//
//	SETTLE_RACE_BINARY=1 go test ./cmd/settled -run TestClusterFaults -v
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs four real validators")
	}
	var bin string
	if os.Getenv("SETTLE_RACE_BINARY") == "1" {
		bin = buildRaceSettled(t)
		t.Logf("validators built with -race: %s", bin)
	} else {
		bin = buildSettled(t)
	}
	var procs []*proc // every validator process started (only this goroutine starts them)
	startHook = func(p *proc) { procs = append(procs, p) }
	defer func() { // runs after the validators are stopped: defers are LIFO
		startHook = nil
		for _, p := range procs {
			if out := p.out.String(); strings.Contains(out, "WARNING: DATA RACE") {
				t.Errorf("a validator reported a data race:\n%s", out)
			}
		}
	}()
	dir := t.TempDir()
	const n, accounts = 4, 64
	vs := startTestnet(t, bin, dir, n, accounts, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	chain := newChainLog()
	for _, v := range vs {
		go chain.follow(ctx, v.api)
	}
	var loadWG sync.WaitGroup
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	for g := 0; g < n; g++ {
		loadWG.Add(1)
		go func() { defer loadWG.Done(); groupLoad(loadCtx, vs, g, accounts) }()
	}
	waitFor(t, 60*time.Second, "first acknowledged commits", func() bool { return chain.txCount() >= 500 })

	// 1. SIGKILL a follower, restart it, check that it catches up.
	leader := leaderIndex(t, vs)
	victim := (leader + 1) % n
	vs[victim].kill()
	down := chain.maxHeight()
	waitFor(t, 30*time.Second, "the others commit without the victim", func() bool { return chain.maxHeight() >= down+20 })
	vs[victim].start(t, bin)
	waitCaughtUp(t, vs, victim)
	t.Logf("follower v%d killed, restarted and caught up", victim)

	// 2. SIGKILL the leader; measure the time to the next committed block.
	leader = leaderIndex(t, vs)
	before := chain.maxHeight()
	tKill := time.Now()
	vs[leader].kill()
	waitFor(t, 30*time.Second, "a commit after the leader's death", func() bool { return chain.maxHeight() > before })
	t.Logf("leader v%d killed: next block committed %v later (measured, not asserted)", leader, time.Since(tKill).Round(time.Millisecond))
	vs[leader].start(t, bin)
	waitCaughtUp(t, vs, leader)
	t.Logf("leader v%d restarted and caught up", leader)

	// 3. Cut one validator off, let the others progress, heal, check it catches up.
	cut := (leaderIndex(t, vs) + 2) % n
	var others []int
	for i := 0; i < n; i++ {
		if i != cut {
			others = append(others, i)
		}
	}
	vs[cut].partition(t, others)
	h0 := vs[others[0]].status(t).Height
	waitFor(t, 30*time.Second, "progress without the cut validator", func() bool { return vs[others[0]].status(t).Height >= h0+5 })
	vs[cut].partition(t, []int{})
	waitCaughtUp(t, vs, cut)
	t.Logf("v%d cut off, healed and caught up", cut)

	stopLoad()
	loadWG.Wait()
	for _, v := range vs {
		st := v.status(t)
		t.Logf("v%d: height %d view %d leader %s peers %v", v.index, st.Height, st.View, st.Leader, st.Peers)
		if testing.Verbose() {
			t.Logf("v%d output:\n%s", v.index, v.p.out)
		}
	}
	checkAgreement(t, vs, chain)
	if err := chain.err(); err != nil {
		t.Fatal(err)
	}
	killedLeader := leader
	for _, v := range vs {
		v.stop()
	}
	checkFaultLog(t, vs, victim, killedLeader)
}

// checkFaultLog reads the log of a validator that was never killed: it must
// have seen the two killed ones go down and come back, timed out the dead
// leader's view, and logged its own SIGTERM shutdown (docs/operations.md).
func checkFaultLog(t *testing.T, vs []*validator, killed ...int) {
	t.Helper()
	survivor := -1
	for i := range vs {
		if i != killed[0] && i != killed[1] {
			survivor = i
			break
		}
	}
	out := vs[survivor].p.out.String() // the process has exited: no more writes
	want := []string{
		`level=WARN msg="cluster: view timed out; voting for a view change"`,
		`level=INFO msg="shutting down" node=v` + fmt.Sprint(survivor) + ` cause="received terminated"`,
		`level=INFO msg=stopped`,
		`level=INFO msg="ready for clients"`,
	}
	for _, k := range killed {
		want = append(want, fmt.Sprintf(`level=WARN msg="cluster: peer down" node=v%d peer=v%d`, survivor, k),
			fmt.Sprintf(`level=INFO msg="cluster: peer up" node=v%d peer=v%d`, survivor, k))
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("v%d's log lacks %s", survivor, w)
		}
	}
	if t.Failed() {
		t.Logf("v%d's log:\n%s", survivor, out)
	}
}

// startTestnet writes a local testnet of n validators into dir, sets patch
// (when non-nil) in each config's cluster section, starts every validator
// (stopped at the end of the test) and waits until all are ready.
func startTestnet(t *testing.T, bin, dir string, n, accounts int, patch map[string]any) []*validator {
	t.Helper()
	if out, err := exec.Command(bin, "testnet", "-validators", fmt.Sprint(n), "-dir", dir, "-accounts", fmt.Sprint(accounts)).CombinedOutput(); err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	vs := make([]*validator, n)
	for i := range vs {
		vs[i] = loadValidator(t, dir, i)
		if patch != nil {
			patchJSON(t, vs[i].cfg, "cluster", patch)
		}
		vs[i].start(t, bin)
		t.Cleanup(vs[i].stop)
	}
	for _, v := range vs {
		waitReady(t, v.api, v.p)
	}
	return vs
}

// validator is one settled process of the test cluster.
type validator struct {
	index int
	cfg   string
	api   string
	token string
	p     *proc
}

func loadValidator(t *testing.T, dir string, i int) *validator {
	t.Helper()
	v := &validator{index: i, cfg: filepath.Join(dir, fmt.Sprintf("v%d.json", i))}
	var fc struct {
		APIAddr    string `json:"api_addr"`
		AdminToken string `json:"admin_token"`
	}
	b, err := exec.Command("cat", v.cfg).Output()
	if err != nil || json.Unmarshal(b, &fc) != nil {
		t.Fatalf("read %s: %v", v.cfg, err)
	}
	v.api, v.token = fc.APIAddr, fc.AdminToken
	return v
}

// startHook, when set, sees every validator process TestClusterFaults starts.
var startHook func(*proc)

func (v *validator) start(t *testing.T, bin string) {
	t.Helper()
	v.p = start(t, bin, "run", "-config", v.cfg)
	if startHook != nil {
		startHook(v.p)
	}
}

// buildRaceSettled compiles the binary with the race detector.
func buildRaceSettled(t *testing.T) string { return testkit.BuildSettled(t, "-race") }

func (v *validator) kill() {
	v.p.cmd.Process.Signal(syscall.SIGKILL)
	v.p.cmd.Wait()
}

func (v *validator) stop() {
	if v.p != nil && v.p.cmd.ProcessState == nil {
		v.p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { v.p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			v.p.cmd.Process.Kill()
		}
	}
}

type nodeStatus struct {
	Height    uint64   `json:"height"`
	View      uint64   `json:"view"`
	Leader    string   `json:"leader"`
	Peers     []string `json:"peers"`
	StateHash string   `json:"state_hash"`
}

func (v *validator) status(t *testing.T) nodeStatus {
	t.Helper()
	var st nodeStatus
	getJSON(t, "http://"+v.api+"/v1/status", &st)
	return st
}

func (v *validator) partition(t *testing.T, peers []int) {
	t.Helper()
	body, _ := json.Marshal(peers)
	req, _ := http.NewRequest("POST", "http://"+v.api+"/v1/admin/partition", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+v.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("partition v%d from %v: HTTP %d", v.index, peers, resp.StatusCode)
	}
}

// leaderIndex asks the validators in turn for the current leader.
func leaderIndex(t *testing.T, vs []*validator) int {
	t.Helper()
	for _, v := range vs {
		resp, err := http.Get("http://" + v.api + "/v1/status")
		if err != nil {
			continue
		}
		var st nodeStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		var i int
		if err == nil && st.Leader != "" {
			if _, err := fmt.Sscanf(st.Leader, "v%d", &i); err == nil {
				return i
			}
		}
	}
	t.Fatal("no validator reports a leader")
	return 0
}

// waitCaughtUp waits until validator i has reached the height the others had
// when it was asked, and is ready.
func waitCaughtUp(t *testing.T, vs []*validator, i int) {
	t.Helper()
	waitReady(t, vs[i].api, vs[i].p)
	target := uint64(0)
	for j, v := range vs {
		if j != i {
			target = max(target, v.status(t).Height)
		}
	}
	waitFor(t, 40*time.Second, fmt.Sprintf("v%d to reach height %d", i, target), func() bool {
		return vs[i].status(t).Height >= target
	})
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, d, what, cond)
}

// checkAgreement checks every acknowledged block on every validator: same block
// hash and state hash at each height; a sample of acknowledged transactions is
// also looked up by hash on every validator.
func checkAgreement(t *testing.T, vs []*validator, chain *chainLog) {
	t.Helper()
	heights, txs := chain.acked()
	top := heights[len(heights)-1]
	for _, v := range vs {
		waitFor(t, 30*time.Second, fmt.Sprintf("v%d to reach acknowledged height %d", v.index, top), func() bool {
			return v.status(t).Height >= top
		})
	}
	type block struct {
		Hash      string `json:"hash"`
		StateHash string `json:"state_hash"`
	}
	for _, h := range heights {
		var first block
		for k, v := range vs {
			var b block
			getJSON(t, fmt.Sprintf("http://%s/v1/block/%d", v.api, h), &b)
			if b.Hash != chain.hashAt(h) {
				t.Fatalf("v%d has block %s at height %d, the acknowledged block is %s", v.index, b.Hash, h, chain.hashAt(h))
			}
			if k == 0 {
				first = b
			} else if b.StateHash != first.StateHash {
				t.Fatalf("state hash at height %d: v%d %s, v%d %s", h, vs[0].index, first.StateHash, v.index, b.StateHash)
			}
		}
	}
	for i := 0; i < len(txs); i += 97 {
		for _, v := range vs {
			var st struct {
				Status string `json:"status"`
			}
			getJSON(t, "http://"+v.api+"/v1/tx/"+txs[i], &st)
			if st.Status != "committed" {
				t.Fatalf("acknowledged tx %s is %q on v%d", txs[i], st.Status, v.index)
			}
		}
	}
	t.Logf("%d acknowledged transactions in %d blocks up to height %d agree on all %d validators", len(txs), len(heights), top, len(vs))
}

// chainLog merges the event streams of all validators: the block hash announced
// at each height (two different ones would break safety) and the acknowledged
// transactions.
type chainLog struct {
	mu       sync.Mutex
	byHeight map[uint64]string
	txHeight map[uint64]int // transactions acknowledged per height
	txs      []string
	top      atomic.Uint64
	conflict error
}

func newChainLog() *chainLog {
	return &chainLog{byHeight: map[uint64]string{}, txHeight: map[uint64]int{}}
}

func (c *chainLog) follow(ctx context.Context, addr string) {
	last := uint64(0)
	for ctx.Err() == nil {
		last = c.stream(ctx, addr, last)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stream reads one SSE connection from height from and returns the last height.
func (c *chainLog) stream(ctx context.Context, addr string, from uint64) uint64 {
	return streamBlocks(ctx, addr, from, func(ev *blockEvent) {
		c.record(addr, ev.Height, ev.Hash, len(ev.Txs), func(add func(string)) {
			for _, tx := range ev.Txs {
				add(tx.Hash)
			}
		})
	})
}

func (c *chainLog) record(addr string, height uint64, hash string, ntx int, each func(func(string))) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.byHeight[height]; ok {
		if prev != hash && c.conflict == nil {
			c.conflict = fmt.Errorf("SAFETY: %s announced block %s at height %d, another validator %s", addr, hash, height, prev)
		}
		return
	}
	c.byHeight[height] = hash
	if ntx > 0 {
		c.txHeight[height] = ntx
		each(func(h string) { c.txs = append(c.txs, h) })
	}
	if height > c.top.Load() {
		c.top.Store(height)
	}
}

func (c *chainLog) maxHeight() uint64 { return c.top.Load() }

func (c *chainLog) txCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.txs)
}

func (c *chainLog) hashAt(h uint64) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byHeight[h]
}

func (c *chainLog) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conflict
}

// acked returns the heights holding acknowledged transactions, ascending, and
// those transactions.
func (c *chainLog) acked() ([]uint64, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var hs []uint64
	for h := uint64(1); h <= c.top.Load(); h++ {
		if c.txHeight[h] > 0 {
			hs = append(hs, h)
		}
	}
	return hs, append([]string(nil), c.txs...)
}

// groupLoad sends one payment per account of group g (accounts i with i%len(vs)
// == g) every round, to validator g or, while it is down, to the next one. An
// account's sequence advances when its payment is accepted (or already pending);
// after a refusal it is re-read from the validator.
func groupLoad(ctx context.Context, vs []*validator, g, accounts int) {
	var keys []txn.Key
	for i := g; i < accounts; i += len(vs) {
		keys = append(keys, devnet.DemoKey(devnet.ChainID, i))
	}
	seqs := make([]uint64, len(keys))
	for i := range seqs {
		seqs[i] = 1
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for ctx.Err() == nil {
		target := vs[g]
		raws := make([][]byte, len(keys))
		for i, k := range keys {
			tx := &txn.Tx{Type: txn.TypePayment, ChainID: devnet.ChainID, Sender: k.AccountID(), Seq: seqs[i], Fee: 10,
				LastValid: 1 << 40, Dest: devnet.DemoKey(devnet.ChainID, (g+i*len(vs)+1)%accounts).AccountID(), Amount: 1}
			if err := txn.Sign(tx, k); err != nil {
				panic(err)
			}
			raws[i] = tx.Bytes()
		}
		var ans struct {
			Results []struct {
				Code string `json:"code"`
			} `json:"results"`
		}
		ok := false
		for try := 0; try < len(vs) && !ok && ctx.Err() == nil; try++ {
			target = vs[(g+try)%len(vs)]
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+target.api+"/v1/batch", bytes.NewReader(txn.EncodeBatch(raws)))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			ok = json.NewDecoder(resp.Body).Decode(&ans) == nil && len(ans.Results) == len(keys)
			resp.Body.Close()
		}
		if ok {
			for i, r := range ans.Results {
				switch r.Code {
				case "accepted", "duplicate":
					seqs[i]++
				case "seq_past", "seq_too_far", "seq_taken":
					seqs[i] = accountSeq(client, target.api, keys[i], seqs[i])
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func accountSeq(client *http.Client, api string, k txn.Key, fallback uint64) uint64 {
	resp, err := client.Get("http://" + api + "/v1/account/" + k.AccountID().String())
	if err != nil {
		return fallback
	}
	defer resp.Body.Close()
	var a struct {
		Sequence json.Number `json:"sequence"`
	}
	if json.NewDecoder(resp.Body).Decode(&a) != nil {
		return fallback
	}
	var s uint64
	if _, err := fmt.Sscan(a.Sequence.String(), &s); err != nil {
		return fallback
	}
	return s
}
