package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"settle/loadgen"
)

// QueueSummary is what the RTGS queue did over a run whose mix sends queued
// payments (the rtgs-day mix), read from the first validator after the last
// round: the value its settlement report shows settled over the whole chain,
// split by how (at once in the transaction, released from the queue when
// funds arrived, offset by gridlock resolution), and what still waits.
type QueueSummary struct {
	Height         uint64  `json:"height"`
	SettledMinor   string  `json:"settled_minor"` // sum of every position's credits (each transfer once)
	ImmediateShare float64 `json:"immediate_share"`
	ReleasedShare  float64 `json:"released_share"`
	OffsetShare    float64 `json:"offset_share"`
	QueuedEntries  float64 `json:"queued_entries"`     // settle_queue_entries at the end
	QueuedValue    float64 `json:"queued_value_minor"` // settle_queue_value at the end
}

// queueMix reports whether the scenario's mix sends queued payments.
func queueMix(sc *Scenario) bool {
	if sc.Workload.Mix == "" {
		return false
	}
	spec, err := loadgen.MixSpecFor(sc.Workload.Mix, 1, 1, 1)
	return err == nil && spec.DayLiquidity > 0
}

// ReadQueueSummary reads the split from the validator at addr (host:port).
func ReadQueueSummary(ctx context.Context, addr string) (*QueueSummary, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	get := func(path string, v any) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d: %s (%v)", path, resp.StatusCode, b, err)
		}
		if v != nil {
			return b, json.Unmarshal(b, v)
		}
		return b, nil
	}
	var st struct {
		Height uint64 `json:"height"`
	}
	if _, err := get("/v1/status", &st); err != nil {
		return nil, err
	}
	q := &QueueSummary{Height: st.Height}
	if st.Height == 0 {
		return q, nil
	}
	var rep struct {
		Positions []struct {
			Credited         string `json:"credited"`
			ReleasedCredited string `json:"released_credited"`
			OffsetCredited   string `json:"offset_credited"`
		} `json:"positions"`
	}
	if _, err := get(fmt.Sprintf("/v1/report?from=1&to=%d", st.Height), &rep); err != nil {
		return nil, err
	}
	total, released, offset := new(big.Int), new(big.Int), new(big.Int)
	for _, p := range rep.Positions {
		for _, x := range []struct {
			sum *big.Int
			s   string
		}{{total, p.Credited}, {released, p.ReleasedCredited}, {offset, p.OffsetCredited}} {
			v, ok := new(big.Int).SetString(x.s, 10)
			if !ok {
				return nil, fmt.Errorf("report: %q is not a decimal amount", x.s)
			}
			x.sum.Add(x.sum, v)
		}
	}
	q.SettledMinor = total.String()
	if total.Sign() > 0 {
		t, _ := new(big.Float).SetInt(total).Float64()
		r, _ := new(big.Float).SetInt(released).Float64()
		o, _ := new(big.Float).SetInt(offset).Float64()
		q.ReleasedShare, q.OffsetShare = r/t, o/t
		q.ImmediateShare = 1 - q.ReleasedShare - q.OffsetShare
	}
	if b, err := get("/metrics", nil); err == nil {
		m := parseProm(bytes.NewReader(b))
		q.QueuedEntries, q.QueuedValue = m["settle_queue_entries"], m["settle_queue_value"]
	}
	return q, nil
}

// queueCheck states the split as an informational check.
func queueCheck(q *QueueSummary) Check {
	return Check{Name: "rtgs queue", Passed: true,
		Detail: fmt.Sprintf("value settled over %d blocks: %s minor units, %.1f%% immediately, %.1f%% released from the queue, %.1f%% offset by gridlock resolution; %.0f payments (%.3g minor units) still queued",
			q.Height, q.SettledMinor, 100*q.ImmediateShare, 100*q.ReleasedShare, 100*q.OffsetShare, q.QueuedEntries, q.QueuedValue)}
}
