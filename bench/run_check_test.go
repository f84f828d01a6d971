package bench

import "testing"

func TestBackpressureCountsOnlyBackpressureCodes(t *testing.T) {
	cases := []struct {
		name     string
		rejected map[string]int64
		want     bool
	}{
		{"mempool full", map[string]int64{"mempool_full": 3}, true},
		{"escalated fee", map[string]int64{"fee_too_low": 5}, true},
		{"overloaded", map[string]int64{"overloaded": 1}, true},
		{"bad input only", map[string]int64{"bad_signature": 9, "seq_too_far": 2}, false},
		{"nothing refused", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Result{Rounds: []Round{{RejectedBy: c.rejected}}}
			if got := backpressureCheck(r).Passed; got != c.want {
				t.Fatalf("passed %v, want %v", got, c.want)
			}
		})
	}
}
