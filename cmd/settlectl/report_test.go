package main

import (
	"strings"
	"testing"
)

// TestPrintReport: the table shows the queue's released and offset parts
// only when the range has any.
func TestPrintReport(t *testing.T) {
	plain := `{"from":1,"to":5,"positions":[{"account":"stla","asset":"STL","credited":"10","debited":"0","net":"10",
		"released_credited":"0","released_debited":"0","offset_credited":"0","offset_debited":"0"}]}`
	queued := `{"from":1,"to":5,"positions":[{"account":"stla","asset":"USD/stlb","credited":"300","debited":"100","net":"200",
		"released_credited":"100","released_debited":"0","offset_credited":"150","offset_debited":"100"}]}`
	for _, tc := range []struct {
		name, answer string
		header       string
		row          []string
	}{
		{"no queue", plain, "account  asset  credited  debited  net", []string{"stla", "10"}},
		{"released and offset", queued, "released in  released out  offset in  offset out", []string{"300", "100", "150"}},
	} {
		var b strings.Builder
		if err := printReport(&b, []byte(tc.answer)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(tc.header), " ")) {
			t.Errorf("%s: no header %q in\n%s", tc.name, tc.header, out)
		}
		for _, want := range tc.row {
			if !strings.Contains(out, want) {
				t.Errorf("%s: %q missing from\n%s", tc.name, want, out)
			}
		}
		if tc.name == "no queue" && strings.Contains(out, "released") {
			t.Errorf("a range without queue settlements shows queue columns:\n%s", out)
		}
	}
}
