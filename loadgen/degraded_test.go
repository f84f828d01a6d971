package loadgen

import "testing"

// TestDegradedWhenSequencesBreak: a run whose transactions were refused
// seq_too_far, or whose accepted transactions never committed, is marked
// degraded with a reason each; a clean run and one with only other refusals
// (which are counted as rejected) are not.
func TestDegradedWhenSequencesBreak(t *testing.T) {
	for _, tc := range []struct {
		name     string
		counts   Counts
		degraded int // reasons
	}{
		{"clean", Counts{Committed: 100}, 0},
		{"refused for backpressure, nothing stuck", Counts{Rejected: 3, RejectedByCode: map[string]int64{"mempool_full": 3}}, 0},
		{"seq_too_far", Counts{Rejected: 9, RejectedByCode: map[string]int64{"seq_too_far": 9}}, 1},
		{"stuck behind a gap", Counts{TimedOut: 64}, 1},
		{"both", Counts{TimedOut: 64, RejectedByCode: map[string]int64{"seq_too_far": 9}}, 2},
	} {
		s := &Summary{Counts: tc.counts, Mode: "open"}
		s.judge(0, 0, false, false)
		if !s.Valid || s.Degraded != (tc.degraded > 0) || len(s.DegradedReasons) != tc.degraded {
			t.Errorf("%s: valid %v, degraded %v, reasons %q", tc.name, s.Valid, s.Degraded, s.DegradedReasons)
		}
	}
}
