package sim

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var flagRewrite = flag.Bool("rewrite", false, "rewrite the golden testdata files with the actual output")

// TestInteraction runs every testdata/*.txt golden file.
func TestInteraction(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runGolden(t, f, &Interaction{}) })
	}
}

// TestTwinsFastHotStuff replays the Twins schedule of the Fast-HotStuff flaw:
// with the real commit rule it is safe (the golden file), and with a commit rule
// that checks parent links but not consecutive views, two honest replicas commit
// different blocks at height 1.
func TestTwinsFastHotStuff(t *testing.T) {
	it := &Interaction{Unsafe: true}
	cases := parseGolden(t, "testdata/twins_fast_hotstuff.txt")
	for _, tc := range cases {
		if _, err := it.Run(tc.cmd, tc.args); err != nil {
			t.Fatalf("line %d: %v", tc.line, err)
		}
	}
	v := it.Cluster().Violation
	if v == nil || !strings.Contains(v.Error(), "safety") {
		t.Fatalf("the unsafe commit rule should break safety under this schedule, got %v", v)
	}
	t.Logf("unsafe rule, as expected: %v", v)
}

type goldenCase struct {
	line     int
	comments string // comment lines just before the command, kept on rewrite
	raw      string
	cmd      string
	args     []string
	expected string
}

// parseGolden reads "command\n----\nexpected output\n\n" blocks; '#' lines outside
// blocks are comments.
func parseGolden(t *testing.T, path string) []goldenCase {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	line := 0
	comments := ""
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") {
			comments += text + "\n"
			continue
		}
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		tc := goldenCase{line: line, comments: comments, raw: text, cmd: fields[0], args: fields[1:]}
		comments = ""
		if !sc.Scan() || sc.Text() != "----" {
			t.Fatalf("%s:%d: expected ---- after the command", path, line)
		}
		line++
		var exp []string
		for sc.Scan() {
			line++
			if sc.Text() == "" {
				break
			}
			exp = append(exp, sc.Text())
		}
		tc.expected = strings.Join(exp, "\n")
		cases = append(cases, tc)
	}
	return cases
}

func runGolden(t *testing.T, path string, it *Interaction) {
	cases := parseGolden(t, path)
	var rewritten strings.Builder
	for _, tc := range cases {
		got, err := it.Run(tc.cmd, tc.args)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, tc.line, tc.raw, err)
		}
		if got == "" {
			got = "ok"
		}
		fmt.Fprintf(&rewritten, "%s%s\n----\n%s\n\n", tc.comments, tc.raw, got)
		if !*flagRewrite && got != tc.expected {
			t.Errorf("%s:%d: %s\n--- got ---\n%s\n--- want ---\n%s", path, tc.line, tc.raw, got, tc.expected)
		}
	}
	if *flagRewrite {
		if err := os.WriteFile(path, []byte(rewritten.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
