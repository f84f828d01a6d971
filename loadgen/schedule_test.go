package loadgen

import (
	"math"
	"testing"
	"time"
)

func TestScheduleOffsets(t *testing.T) {
	tests := []struct {
		name  string
		s     Schedule
		count int
		want  map[int]time.Duration // index → exact offset
	}{
		{"constant", Constant{RatePerS: 1000, Dur: 2 * time.Second}, 2000,
			map[int]time.Duration{0: 0, 1: time.Millisecond, 999: 999 * time.Millisecond, 1999: 1999 * time.Millisecond}},
		{"constant fractional", Constant{RatePerS: 3, Dur: time.Second}, 3,
			map[int]time.Duration{0: 0, 1: 333_333_333, 2: 666_666_666}},
		{"step", NewStep([]float64{1000, 2000, 4000}, 10*time.Second), 70000,
			map[int]time.Duration{
				0: 0, 9999: 9999 * time.Millisecond, // step 1: 1 ms apart
				10000: 10 * time.Second, 10001: 10*time.Second + 500*time.Microsecond, // step 2
				30000: 20 * time.Second, 30004: 20*time.Second + time.Millisecond, 69999: 29*time.Second + 999750*time.Microsecond,
			}},
		// Ramp 0→2000 over 1 s: N(t) = 1000 t², so tx i is due at sqrt(i/1000) s.
		{"ramp from zero", Ramp{FromPerS: 0, ToPerS: 2000, Dur: time.Second}, 1000,
			map[int]time.Duration{0: 0, 10: 100 * time.Millisecond, 250: 500 * time.Millisecond, 640: 800 * time.Millisecond}},
		// Ramp 1000→3000 over 2 s: N(t) = 1000 t + 500 t²; N(1) = 1500, N(2) = 4000.
		{"ramp", Ramp{FromPerS: 1000, ToPerS: 3000, Dur: 2 * time.Second}, 4000,
			map[int]time.Duration{0: 0, 1500: time.Second, 3999: 1_999_666_648}},
		// Ramp down: 3000→1000 over 2 s: N(t) = 3000 t − 500 t², N(1) = 2500.
		{"ramp down", Ramp{FromPerS: 3000, ToPerS: 1000, Dur: 2 * time.Second}, 4000,
			map[int]time.Duration{2500: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Count(); got != tt.count {
				t.Fatalf("Count() = %d, want %d", got, tt.count)
			}
			for i, want := range tt.want {
				if got := tt.s.Offset(i); absDur(got-want) > time.Nanosecond {
					t.Errorf("Offset(%d) = %v, want %v", i, got, want)
				}
			}
			prev := time.Duration(-1)
			for i := range tt.s.Count() {
				o := tt.s.Offset(i)
				if o < prev || o >= tt.s.Duration() {
					t.Fatalf("Offset(%d) = %v after %v: offsets must be non-decreasing and inside %v", i, o, prev, tt.s.Duration())
				}
				prev = o
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	return time.Duration(math.Abs(float64(d)))
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		spec    string
		dur     time.Duration
		want    string
		wantErr bool
	}{
		{"5000", 10 * time.Second, "constant:5000@10s", false},
		{"constant:250.5@2s", 0, "constant:250.5@2s", false},
		{"step:1000,2000,4000@10s", 0, "step:1000,2000,4000@10s", false},
		{"ramp:1000..8000@30s", time.Minute, "ramp:1000..8000@30s", false},
		{"ramp:0..100@1s", 0, "ramp:0..100@1s", false},
		{"5000", 0, "", true},            // no duration
		{"step:1000,-5@1s", 0, "", true}, // negative rate
		{"step:1000,0@1s", 0, "", true},  // zero step
		{"ramp:1000@1s", 0, "", true},    // missing ..
		{"ramp:0..0@1s", 0, "", true},    // offers nothing
		{"burst:10@1s", 0, "", true},     // unknown kind
		{"constant:x@1s", 0, "", true},
		{"constant:10@-1s", 0, "", true},
	}
	for _, tt := range tests {
		s, err := ParseSchedule(tt.spec, tt.dur)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSchedule(%q) error = %v, want error %v", tt.spec, err, tt.wantErr)
			continue
		}
		if err == nil && s.String() != tt.want {
			t.Errorf("ParseSchedule(%q) = %s, want %s", tt.spec, s, tt.want)
		}
	}
}
