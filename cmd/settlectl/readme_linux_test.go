//go:build linux

package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadmeQuickstart runs README.md's quickstart as written, from a fresh
// directory: the real binaries, `bin/settled dev` (four validators; only its API
// ports moved, so the test cannot collide with a running dev cluster), then every
// client line after "# in another shell" as one sh script. It fails if the README
// drifts from the binaries: a removed flag, a changed file, a broken sed.
func TestReadmeQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binaries")
	}
	server, client := readmeQuickstart(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "../settled", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	base := freeDevPorts(t)
	api := "127.0.0.1:" + strconv.Itoa(base)
	args := append(strings.Fields(server)[1:], "-api", api)
	log, err := os.Create(filepath.Join(dir, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	dev := exec.Command(filepath.Join(dir, strings.Fields(server)[0]), args...)
	dev.Dir, dev.Stdout, dev.Stderr = dir, log, log
	dev.Env = withoutKey(os.Environ())
	dev.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // its validators die with it
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		dev.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { dev.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			dev.Process.Kill()
			<-done
		}
	}()
	for i := range 4 {
		waitReadyz(t, "127.0.0.1:"+strconv.Itoa(base+i), filepath.Join(dir, "dev.log"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "sh", "-e", "-c", client)
	sh.Dir = dir
	sh.Env = append(withoutKey(os.Environ()), "SETTLE_NODE=http://"+api)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the quickstart's client lines failed: %v\n%s\n--- script:\n%s", err, out, client)
	}
	for _, want := range []string{`"status":"committed"`, `"amount": "1000000002500"`,
		"VERIFIED transaction", "executed at height", ": success", "VERIFIED account", "sequence"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the quickstart's output lacks %s:\n%s", want, out)
		}
	}
	if testing.Verbose() {
		t.Logf("the quickstart's output:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "mykey.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("keygen -out mykey.json: %v, mode %v", err, fi)
	}
	if strings.Contains(client, " -key ") {
		t.Errorf("the quickstart passes a key on a command line:\n%s", client)
	}
}

// readmeQuickstart returns README.md's quickstart server line and its client
// lines (after "# in another shell").
func readmeQuickstart(t *testing.T) (server, client string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Quickstart")
	if !ok {
		t.Fatal("README.md has no Quickstart section")
	}
	_, block, _ := strings.Cut(section, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(block, "\n")
	for i, line := range lines {
		code, _, _ := strings.Cut(line, "#")
		switch {
		case server == "" && strings.HasPrefix(code, "bin/settled dev"):
			server = strings.TrimSpace(code)
		case strings.HasPrefix(line, "# in another shell"):
			client = strings.Join(lines[i+1:], "\n")
		}
	}
	if server == "" || client == "" {
		t.Fatalf("README.md's quickstart has no `bin/settled dev` line or no client lines:\n%s", block)
	}
	return server, client
}

func withoutKey(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, keyEnv+"=") && !strings.HasPrefix(kv, "SETTLE_NODE=") {
			out = append(out, kv)
		}
	}
	return out
}

func waitReadyz(t *testing.T, addr, logPath string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(logPath)
	t.Fatalf("validator at %s not ready in 60s; settled dev's output:\n%s", addr, b)
}

// freeDevPorts returns a port p such that p..p+3 (dev's APIs) and p+50..p+53
// (its replica ports) are free on 127.0.0.1 now.
func freeDevPorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		free := p+53 <= 65535
		for _, q := range []int{p, p + 1, p + 2, p + 3, p + 50, p + 51, p + 52, p + 53} {
			if !free {
				break
			}
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(q)))
			if free = err == nil; free {
				l.Close()
			}
		}
		if free {
			return p
		}
	}
	t.Fatal("no free range of ports for settled dev")
	return 0
}
