package api

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The hardening tests drive a real listener with raw TCP clients (to send what
// a well-behaved client would not: a huge Content-Length and no body, a
// connection that never sends a second request) and measure what the server
// spends: resident memory, and the outcome of each connection.

func (ts *testServer) addr() string { return strings.TrimPrefix(ts.base, "http://") }

// rawClient is one TCP connection to the server, spoken to by hand.
type rawClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, ts *testServer) *rawClient {
	t.Helper()
	return dialRawFrom(t, ts, "")
}

// dialRawFrom dials from a given loopback source address ("" for any): the
// server then sees another client address, while traffic stays on 127.0.0.1.
func dialRawFrom(t testing.TB, ts *testServer, localIP string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	c, err := d.Dial("tcp", ts.addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{c: c, br: bufio.NewReader(c)}
}

// canDialFrom reports whether this machine lets a client bind another
// loopback address (Linux routes all of 127.0.0.0/8 to the loopback device).
func canDialFrom(ts *testServer, localIP string) bool {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	c, err := d.Dial("tcp", ts.addr())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// head writes a request header; the body, if any, is for the caller to write.
// contentLength < 0 sends none.
func (rc *rawClient) head(t testing.TB, method, path string, contentLength int, extra ...string) {
	t.Helper()
	if err := rc.sendHead(method, path, contentLength, extra...); err != nil {
		t.Fatalf("writing the header: %v", err)
	}
}

func (rc *rawClient) sendHead(method, path string, contentLength int, extra ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path)
	if contentLength >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", contentLength)
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	rc.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(rc.c, b.String())
	return err
}

// write sends b, reporting how much went out before an error.
func (rc *rawClient) write(b []byte, timeout time.Duration) (int, error) {
	rc.c.SetWriteDeadline(time.Now().Add(timeout))
	return rc.c.Write(b)
}

// answer reads one HTTP answer within timeout.
func (rc *rawClient) answer(timeout time.Duration) (answer, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// get sends a GET and reads its answer.
func (rc *rawClient) get(t testing.TB, path string) (answer, error) {
	t.Helper()
	rc.head(t, "GET", path, -1)
	return rc.answer(5 * time.Second)
}

// closedByServer reports whether the server closed the connection within
// timeout (a read gets EOF or a reset rather than a timeout).
func (rc *rawClient) closedByServer(timeout time.Duration) bool {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	_, err := rc.br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// procStatusBytes reads a "kB" field of /proc/self/status.
func procStatusBytes(field string) (int64, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// memRise is how far memory rose above its level before a run, at its peak.
type memRise struct {
	rss  int64 // resident set (VmRSS), kernel's view
	heap int64 // Go heap spans in use (objects, live or not yet swept, and span slack)
}

func (m memRise) String() string { return fmt.Sprintf("RSS +%s, heap +%s", mib(m.rss), mib(m.heap)) }

// check fails the test when the rise passes bound. The heap is always
// checked; RSS only without the race detector, whose shadow memory grows with
// the heap several times over.
func (m memRise) check(t testing.TB, bound int64, what string) {
	t.Helper()
	if m.heap > bound {
		t.Errorf("%s: heap rose %s, bound %s", what, mib(m.heap), mib(bound))
	}
	if !raceEnabled && m.rss > bound {
		t.Errorf("%s: RSS rose %s, bound %s", what, mib(m.rss), mib(bound))
	}
}

var heapSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
}

func heapInUse() int64 {
	s := make([]metrics.Sample, len(heapSamples))
	copy(s, heapSamples)
	metrics.Read(s)
	return int64(s[0].Value.Uint64() + s[1].Value.Uint64())
}

// measureRise runs f and returns how far this process's memory rose above what
// it was before f, at its peak. The heap is collected and returned to the
// kernel first, so that memory freed by earlier tests cannot hide the rise.
// The RSS peak is the kernel's high-water mark (reset before f) where the
// kernel lets it be reset, and a 1 ms sampling of VmRSS in any case; the heap
// peak is sampled every millisecond.
func measureRise(t testing.TB, f func()) memRise {
	t.Helper()
	if _, ok := procStatusBytes("VmRSS"); !ok {
		t.Skip("no /proc/self/status: cannot measure resident memory")
	}
	runtime.GC()
	debug.FreeOSMemory()
	baseRSS, _ := procStatusBytes("VmRSS")
	baseHeap := heapInUse()
	hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var peakRSS, peakHeap atomic.Int64
	peakRSS.Store(baseRSS)
	peakHeap.Store(baseHeap)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v, ok := procStatusBytes("VmRSS"); ok && v > peakRSS.Load() {
				peakRSS.Store(v)
			}
			if v := heapInUse(); v > peakHeap.Load() {
				peakHeap.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	p := peakRSS.Load()
	if hwm, ok := procStatusBytes("VmHWM"); ok && hwmReset && hwm > p {
		p = hwm
	}
	return memRise{rss: p - baseRSS, heap: peakHeap.Load() - baseHeap}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// metricValue reads one sample of the server's API metrics (0 when absent).
func (ts *testServer) metricValue(t testing.TB, series string) float64 {
	t.Helper()
	var buf bytes.Buffer
	ts.s.metrics.set.WritePrometheus(&buf)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
