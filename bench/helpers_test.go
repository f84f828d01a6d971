package bench

import (
	"os"

	"settle/loadgen"
)

func latency(p99 float64) loadgen.LatencyStats {
	return loadgen.LatencyStats{Count: 1000, P50Ms: p99 / 2, P90Ms: p99 * 0.8, P99Ms: p99, P999Ms: p99 * 1.3, MaxMs: p99 * 1.5}
}

func writeFile(path, body string) error { return os.WriteFile(path, []byte(body), 0o644) }
