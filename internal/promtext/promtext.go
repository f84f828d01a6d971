// Package promtext adds Prometheus metadata to the text exposition that
// github.com/VictoriaMetrics/metrics writes: a "# HELP" line with the help
// text of Families and a "# TYPE" line before each metric family, and it
// keeps every family's samples together. It is the one list of what a
// validator's /metrics serves; docs/operations.md's table is generated from it.
package promtext

import (
	"bytes"
	"io"
	"sort"
	"strings"
)

// Family is one metric family.
type Family struct {
	Name string
	Type string // counter, gauge or histogram
	Help string
	// Labels names the labels the family's samples carry, for the docs.
	Labels string
}

// Lookup returns the family called name.
func Lookup(name string) (Family, bool) {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i].Name >= name })
	if i < len(sorted) && sorted[i].Name == name {
		return sorted[i], true
	}
	return Family{}, false
}

var sorted = func() []Family {
	out := append([]Family(nil), Families...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			panic("promtext: family " + out[i].Name + " listed twice") // INVARIANT: one entry per family
		}
	}
	return out
}()

// Write copies the exposition src to w with metadata: families in their
// first-seen order, each preceded by its HELP and TYPE. A family not in
// Families (the Go runtime's and the process's, from the metrics library) gets
// its type from its samples and a help text naming where it comes from.
func Write(w io.Writer, src []byte) error {
	type group struct {
		name, typ string
		lines     [][]byte
	}
	var order []*group
	byName := map[string]*group{}
	for _, line := range bytes.Split(src, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		sample := sampleName(line)
		if dropped[sample] {
			continue
		}
		fam, typ := family(sample, line)
		g := byName[fam]
		if g == nil {
			g = &group{name: fam, typ: typ}
			byName[fam] = g
			order = append(order, g)
		}
		if typ == "histogram" || typ == "summary" {
			g.typ = typ
		}
		g.lines = append(g.lines, line)
	}
	var b bytes.Buffer
	for _, g := range order {
		help := "Go runtime or process metric of github.com/VictoriaMetrics/metrics."
		if f, ok := Lookup(g.name); ok {
			help, g.typ = f.Help, f.Type
		}
		b.WriteString("# HELP " + g.name + " " + escapeHelp(help) + "\n")
		b.WriteString("# TYPE " + g.name + " " + g.typ + "\n")
		for _, l := range g.lines {
			b.Write(l)
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func sampleName(line []byte) string {
	if i := bytes.IndexAny(line, "{ "); i >= 0 {
		return string(line[:i])
	}
	return string(line)
}

// family maps a sample to its family and the type its form implies.
func family(sample string, line []byte) (string, string) {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(sample, suf)
		if !ok {
			continue
		}
		if f, ok := Lookup(base); ok && f.Type == "histogram" {
			return base, "histogram"
		}
		if suf == "_bucket" && bytes.Contains(line, []byte(`le="`)) {
			return base, "histogram"
		}
		if _, ok := Lookup(sample); !ok && (suf == "_sum" || suf == "_count") && isSummary(base) {
			return base, "summary"
		}
	}
	if bytes.Contains(line, []byte(`quantile="`)) {
		return sample, "summary"
	}
	if strings.HasSuffix(sample, "_total") {
		return sample, "counter"
	}
	return sample, "gauge"
}

// dropped are series of the metrics library whose names break Prometheus's
// conventions (a "_count" suffix on a gauge), so that promtool check metrics
// passes; go_goroutines, go_gomaxprocs and process_cpu_seconds_total say the same.
var dropped = map[string]bool{"go_cgo_calls_count": true, "go_cpu_count": true, "go_gc_forced_count": true}

// isSummary: the library's one summary, the GC pause durations.
func isSummary(base string) bool { return base == "go_gc_duration_seconds" }

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
