package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestBuiltinScenariosParse(t *testing.T) {
	names := BuiltinScenarios()
	for _, want := range []string{"quick", "single", "four", "interbank", "overload"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("built-in scenario %q missing from %v", want, names)
		}
	}
	for _, n := range names {
		sc, err := LoadScenario(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if sc.Name != n {
			t.Errorf("scenario file %s.json names itself %q", n, sc.Name)
		}
		if sc.TimedLength() <= 0 {
			t.Errorf("%s: no timed phase", n)
		}
	}
}

func TestScenarioValidation(t *testing.T) {
	base := `"name":"x","accounts":100,"slo_p99_ms":50`
	cases := []struct {
		name, json, wantErr string
	}{
		{"ok open loop", `{` + base + `,"schedule":"constant:100@5s"}`, ""},
		{"ok closed loop", `{` + base + `,"closed_k":64,"duration":"5s"}`, ""},
		{"ok sweep", `{` + base + `,"schedule":"constant:100@5s","sweep":{"start_per_s":100,"factor":2,"steps":3,"step_duration":"2s"}}`, ""},
		{"not json", `{name`, "not valid scenario JSON"},
		{"unknown field", `{` + base + `,"schedule":"constant:100@5s","rate":5}`, "unknown field"},
		{"no name", `{"schedule":"constant:100@5s","slo_p99_ms":50}`, "needs a name"},
		{"slash in name", `{"name":"a/b","schedule":"constant:100@5s","slo_p99_ms":50}`, "must not contain slashes"},
		{"too many validators", `{` + base + `,"validators":65,"schedule":"constant:100@5s"}`, "validators must be 1 to 64"},
		{"one account", `{"name":"x","accounts":1,"slo_p99_ms":5,"schedule":"constant:100@5s"}`, "accounts must be 2 to"},
		{"no load", `{` + base + `}`, "either a rate schedule"},
		{"both loads", `{` + base + `,"schedule":"constant:100@5s","closed_k":4,"duration":"1s"}`, "not both"},
		{"bad schedule", `{` + base + `,"schedule":"wobble:5"}`, "schedule is not valid"},
		{"closed without duration", `{` + base + `,"closed_k":4}`, "positive duration"},
		{"no slo", `{"name":"x","schedule":"constant:100@5s"}`, "slo_p99_ms"},
		{"bad dist", `{` + base + `,"schedule":"constant:100@5s","workload":{"dist":"pareto"}}`, "not one of uniform"},
		{"bad share", `{` + base + `,"schedule":"constant:100@5s","workload":{"dist":"interbank","interbank_share":1.5}}`, "interbank_share"},
		{"negative block", `{` + base + `,"schedule":"constant:100@5s","block":{"tx_max":-1}}`, "must not be negative"},
		{"flat sweep", `{` + base + `,"schedule":"constant:100@5s","sweep":{"start_per_s":100,"factor":1,"steps":3,"step_duration":"2s"}}`, "factor must exceed 1"},
		{"bad commit timeout", `{` + base + `,"schedule":"constant:100@5s","commit_timeout":"soon"}`, "commit_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.json))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if !errors.Is(err, ErrScenario) {
				t.Errorf("error %v is not ErrScenario", err)
			}
		})
	}
}

func TestUnknownScenarioNamesBuiltins(t *testing.T) {
	_, err := LoadScenario("nope")
	if err == nil || !strings.Contains(err.Error(), "quick") {
		t.Fatalf("error %v should list the built-in scenarios", err)
	}
}

func TestWithRate(t *testing.T) {
	sc, err := LoadScenario("single")
	if err != nil {
		t.Fatal(err)
	}
	r := sc.WithRate(750, 3e9)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := r.TimedLength().Seconds(); got != 3 {
		t.Errorf("timed length %v, want 3s", got)
	}
	if sc.Schedule == r.Schedule {
		t.Error("WithRate changed the original")
	}
}
