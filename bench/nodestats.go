package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NodeSample is one validator's state at one instant, read from /metrics and
// /v1/status. Counters are cumulative; NodeStats turns them into rates.
type NodeSample struct {
	AtS           float64 `json:"at_s"` // since the sampler started
	Node          int     `json:"node"`
	OK            bool    `json:"ok"` // false: the node did not answer
	CPUSeconds    float64 `json:"cpu_s"`
	RSSBytes      float64 `json:"rss_bytes"`
	Height        float64 `json:"height"`
	Blocks        float64 `json:"blocks"`
	TxsCommitted  float64 `json:"txs_committed"`
	BlockTxsSum   float64 `json:"block_txs_sum"`
	BlockTxsCount float64 `json:"block_txs_count"`
	View          float64 `json:"view"`
	MempoolTxs    float64 `json:"mempool_txs"`
	MempoolFill   float64 `json:"mempool_fill"`
	WALBytes      float64 `json:"wal_bytes"`
	TableBytes    float64 `json:"table_bytes"` // Pebble's flushes plus compactions
}

// sampleCountMax bounds the samples kept (one per node per second: over 11 hours
// for 4 nodes); later samples are dropped and counted.
const sampleCountMax = 160_000

// Sampler reads every node's metrics once per interval until stopped.
type Sampler struct {
	targets  []string
	interval time.Duration
	client   *http.Client
	start    time.Time

	mu struct {
		sync.Mutex
		samples []NodeSample
		dropped int
	}
	stop context.CancelFunc
	done chan struct{}
}

// StartSampler starts sampling targets every interval.
func StartSampler(ctx context.Context, targets []string, interval time.Duration) *Sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{targets: targets, interval: interval, client: &http.Client{Timeout: interval}, start: time.Now(),
		stop: cancel, done: make(chan struct{})}
	go s.run(ctx)
	return s
}

func (s *Sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	s.sampleAll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sampleAll(ctx)
		}
	}
}

func (s *Sampler) sampleAll(ctx context.Context) {
	var wg sync.WaitGroup
	out := make([]NodeSample, len(s.targets))
	for i, addr := range s.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.sampleOne(ctx, i, addr)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.samples)+len(out) > sampleCountMax {
		s.mu.dropped += len(out)
		return
	}
	s.mu.samples = append(s.mu.samples, out...)
}

func (s *Sampler) sampleOne(ctx context.Context, i int, addr string) NodeSample {
	ns := NodeSample{AtS: time.Since(s.start).Seconds(), Node: i}
	body, err := s.get(ctx, "http://"+addr+"/metrics")
	if err != nil {
		return ns
	}
	m := parseProm(strings.NewReader(body))
	ns.CPUSeconds = m["process_cpu_seconds_total"]
	ns.RSSBytes = m["process_resident_memory_bytes"]
	ns.Height = m["settle_height"]
	ns.Blocks = m["settle_blocks_committed_total"]
	ns.TxsCommitted = m["settle_txs_committed_total"]
	ns.BlockTxsSum = m["settle_block_txs_sum"]
	ns.BlockTxsCount = m["settle_block_txs_count"]
	ns.View = m["settle_view"]
	ns.MempoolTxs = m["settle_mempool_txs"]
	ns.WALBytes = m["settle_pebble_wal_bytes_total"]
	ns.TableBytes = m["settle_pebble_flushed_bytes_total"] + m["settle_pebble_compacted_bytes_total"]
	ns.OK = true
	if st, err := s.get(ctx, "http://"+addr+"/v1/status"); err == nil {
		var v struct {
			Height  float64 `json:"height"`
			View    float64 `json:"view"`
			Mempool struct {
				Fill float64 `json:"fill"`
			} `json:"mempool"`
		}
		if json.Unmarshal([]byte(st), &v) == nil {
			ns.Height, ns.View, ns.MempoolFill = v.Height, v.View, v.Mempool.Fill
		}
	}
	return ns
}

// bodyBytesMax bounds what is read from one metrics or status answer.
const bodyBytesMax = 4 << 20

func (s *Sampler) get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, bodyBytesMax))
	return string(b), err
}

// Stop ends sampling and returns the samples.
func (s *Sampler) Stop() []NodeSample {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.samples
}

// parseProm reads Prometheus text: the value of every unlabelled series, and for
// labelled series (histogram buckets, per-code counters) the sum over labels under
// the bare name. Only the few series NodeSample needs are used.
func parseProm(r io.Reader) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name := line[:sp]
		if b := strings.IndexByte(name, '{'); b >= 0 {
			name = name[:b]
		}
		m[name] += v
	}
	return m
}

// NodeStats summarises one validator over a run.
type NodeStats struct {
	Node            int        `json:"node"`
	Target          string     `json:"target"`
	Samples         int        `json:"samples"`
	Missed          int        `json:"missed"` // samples the node did not answer
	CPUCoresMean    float64    `json:"cpu_cores_mean"`
	CPUSeconds      float64    `json:"cpu_s"`         // user+system CPU over the samples
	CPUUsPerTx      float64    `json:"cpu_us_per_tx"` // CPUSeconds per transaction it committed, µs
	RSSMBFirst      float64    `json:"rss_mb_first"`
	RSSMBMax        float64    `json:"rss_mb_max"`
	RSSMBLast       float64    `json:"rss_mb_last"`
	RSSGrowthPct    float64    `json:"rss_growth_pct"` // last third's mean over the middle third's
	Blocks          float64    `json:"blocks"`
	BlocksPerS      float64    `json:"blocks_per_s"`
	BlockTxsMean    float64    `json:"block_txs_mean"`
	TxsCommitted    float64    `json:"txs_committed"`
	ViewChanges     float64    `json:"view_changes"` // views advanced beyond one per block
	MempoolTxsMax   float64    `json:"mempool_txs_max"`
	MempoolFillMax  float64    `json:"mempool_fill_max"`
	HeightFirstLast [2]float64 `json:"height_first_last"`
	// Disk writes per committed transaction: Pebble's WAL, and the tables its
	// flushes and compactions wrote (zero for a validator without the series).
	WALBytesPerTx   float64 `json:"wal_bytes_per_tx"`
	TableBytesPerTx float64 `json:"table_bytes_per_tx"`
}

// SummariseNodes turns samples into per-node statistics.
func SummariseNodes(samples []NodeSample, targets []string) []NodeStats {
	out := make([]NodeStats, len(targets))
	for i := range targets {
		out[i] = summariseNode(i, targets[i], samples)
	}
	return out
}

func summariseNode(node int, target string, samples []NodeSample) NodeStats {
	st := NodeStats{Node: node, Target: target}
	var ok []NodeSample
	for _, s := range samples {
		if s.Node != node {
			continue
		}
		st.Samples++
		if !s.OK {
			st.Missed++
			continue
		}
		ok = append(ok, s)
	}
	if len(ok) == 0 {
		return st
	}
	first, last := ok[0], ok[len(ok)-1]
	const mb = 1 << 20
	st.RSSMBFirst, st.RSSMBLast = first.RSSBytes/mb, last.RSSBytes/mb
	for _, s := range ok {
		st.RSSMBMax = math.Max(st.RSSMBMax, s.RSSBytes/mb)
		st.MempoolTxsMax = math.Max(st.MempoolTxsMax, s.MempoolTxs)
		st.MempoolFillMax = math.Max(st.MempoolFillMax, s.MempoolFill)
	}
	st.HeightFirstLast = [2]float64{first.Height, last.Height}
	st.Blocks = last.Blocks - first.Blocks
	st.TxsCommitted = last.TxsCommitted - first.TxsCommitted
	if n := last.BlockTxsCount - first.BlockTxsCount; n > 0 {
		st.BlockTxsMean = (last.BlockTxsSum - first.BlockTxsSum) / n
	}
	st.CPUSeconds = last.CPUSeconds - first.CPUSeconds
	if st.TxsCommitted > 0 {
		st.CPUUsPerTx = 1e6 * st.CPUSeconds / st.TxsCommitted
		st.WALBytesPerTx = (last.WALBytes - first.WALBytes) / st.TxsCommitted
		st.TableBytesPerTx = (last.TableBytes - first.TableBytes) / st.TxsCommitted
	}
	if dt := last.AtS - first.AtS; dt > 0 {
		st.CPUCoresMean = st.CPUSeconds / dt
		st.BlocksPerS = st.Blocks / dt
	}
	// A healthy leader-based protocol advances about one view per block; views
	// beyond that were timeouts (view changes). A single validator has none.
	st.ViewChanges = math.Max(0, (last.View-first.View)-(last.Height-first.Height))
	if n := len(ok); n >= 6 {
		mid := meanRSS(ok[n/3 : 2*n/3])
		if mid > 0 {
			st.RSSGrowthPct = 100 * (meanRSS(ok[2*n/3:]) - mid) / mid
		}
	}
	return st
}

func meanRSS(s []NodeSample) float64 {
	var sum float64
	for _, x := range s {
		sum += x.RSSBytes
	}
	return sum / float64(len(s)) / (1 << 20)
}
