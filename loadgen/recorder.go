package loadgen

import (
	"bytes"
	"math/rand/v2"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 µs to 60 s at 3 significant digits (docs/loadgen.md).
const (
	histMinUs  = 1
	histMaxUs  = 60_000_000
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMinUs, histMaxUs, histDigits) }

// recordUs records a duration in microseconds with plain RecordValue (latencies are
// already measured from the intended time; no correction is applied), clamping into
// the histogram's range.
func recordUs(h *hdr.Histogram, ns int64) {
	us := ns / 1000
	us = max(us, 0)
	us = min(us, histMaxUs)
	_ = h.RecordValue(us) // INVARIANT: in range after clamping, so no error
}

type evKind uint8

const (
	evBatch   evKind = iota + 1 // a batch was answered: codes per tx (nil: all accepted)
	evCommit                    // transactions committed: results per tx ("success" or a code)
	evTimeout                   // transactions timed out
)

// recEvent carries one batch, block or sweep to the recorder. The recorder owns
// every histogram, so the senders never share one (hdrhistogram is not safe for
// concurrent use).
type recEvent struct {
	kind   evKind
	idx    []uint32
	codes  []string
	sentNs int64 // evBatch: when the request went out
	atNs   int64 // when the answer, block or sweep happened
}

// Progress is the live state of a run, reported once a second.
type Progress struct {
	Elapsed       time.Duration
	Offered       int64 // transactions whose intended time has come
	Sent          int64
	Accepted      int64
	Rejected      int64
	Committed     int64
	TimedOut      int64
	InFlight      int64
	CommittedPerS float64       // over the last interval
	CommitP99     time.Duration // submit→committed p99 so far
}

// recorder turns events into histograms, counts, the interval log and progress.
type recorder struct {
	startWall time.Time
	tr        *tracker
	dueAt     func(ns int64) int64 // transactions offered by time ns
	nowNs     func() int64
	progress  func(Progress)

	events chan recEvent

	accIv, comIv   *hdr.Histogram // the current one-second interval
	accAll, comAll *hdr.Histogram // the whole run
	sendLag        *hdr.Histogram // send time − intended time
	ivStartNs      int64
	ivCommitted    int64
	logBuf         bytes.Buffer
	logw           *hdr.HistogramLogWriter

	counts       Counts
	lastSentNs   int64
	lastCommitNs int64

	// Little's law: time-average of transactions in the system, and the mean time
	// each finished transaction spent in it (intended time → commit, rejection or
	// timeout).
	sojournSumNs  float64
	finishedCount int64
	inFlightSum   float64
	inFlightN     int64
}

func newRecorder(startWall time.Time, tr *tracker, dueAt func(int64) int64, nowNs func() int64, progress func(Progress)) *recorder {
	r := &recorder{
		startWall: startWall, tr: tr, dueAt: dueAt, nowNs: nowNs, progress: progress,
		events: make(chan recEvent, 1024),
		accIv:  newHist(), comIv: newHist(), accAll: newHist(), comAll: newHist(), sendLag: newHist(),
		counts: newCounts(),
	}
	r.setStart(startWall)
	return r
}

// setStart fixes the wall-clock start of the timed phase and writes the interval
// log's header. Called before run.
func (r *recorder) setStart(startWall time.Time) {
	r.startWall = startWall
	r.logBuf.Reset()
	r.logw = hdr.NewHistogramLogWriter(&r.logBuf)
	ms := startWall.UnixMilli()
	// The BaseTime header holds whole seconds, so the base the writer subtracts must
	// be whole seconds too, or a reader would shift every interval by up to 1 s.
	baseMs := ms - ms%1000
	r.logw.SetBaseTime(baseMs)
	_ = r.logw.OutputLogFormatVersion() // writes to a bytes.Buffer: no error
	_ = r.logw.OutputComment("[settle loadgen: values in microseconds; Interval_Max column in seconds]")
	_ = r.logw.OutputStartTime(ms)
	_ = r.logw.OutputBaseTime(baseMs)
	_ = r.logw.OutputLegend()
}

// The Little's-law sampler looks at the system every 5 to 15 ms, at random: a fixed
// period would phase-lock with a node's fixed block interval and always sample just
// before (or after) a commit.
const (
	inFlightSampleMin  = 5 * time.Millisecond
	inFlightSampleSpan = 10 * time.Millisecond
)

// run consumes events until the channel is closed, closing an interval every second.
func (r *recorder) run(done chan<- struct{}) {
	defer close(done)
	sec := time.NewTicker(time.Second)
	defer sec.Stop()
	jitter := rand.New(rand.NewPCG(uint64(r.startWall.UnixNano()), 1))
	nextSample := func() time.Duration {
		return inFlightSampleMin + time.Duration(jitter.Int64N(int64(inFlightSampleSpan)))
	}
	sample := time.NewTimer(nextSample())
	defer sample.Stop()
	for {
		select {
		case ev, ok := <-r.events:
			if !ok {
				r.closeInterval(r.nowNs())
				return
			}
			r.apply(ev)
		case <-sample.C:
			now := r.nowNs()
			r.inFlightSum += float64(r.dueAt(now) - r.tr.finished.Load())
			r.inFlightN++
			sample.Reset(nextSample())
		case <-sec.C:
			now := r.nowNs()
			r.closeInterval(now)
			r.report(now)
		}
	}
}

func (r *recorder) apply(ev recEvent) {
	switch ev.kind {
	case evBatch:
		r.counts.Sent += int64(len(ev.idx))
		r.lastSentNs = max(r.lastSentNs, ev.sentNs)
		for j, i := range ev.idx {
			intended := r.tr.intendedNs[i]
			recordUs(r.sendLag, ev.sentNs-intended)
			if ev.codes != nil && ev.codes[j] != "" {
				r.counts.Rejected++
				r.counts.RejectedByCode[ev.codes[j]]++
				r.finish(ev.atNs - intended)
				continue
			}
			r.counts.Accepted++
			recordUs(r.accIv, ev.atNs-intended)
		}
	case evCommit:
		r.lastCommitNs = max(r.lastCommitNs, ev.atNs)
		for j, i := range ev.idx {
			lat := ev.atNs - r.tr.intendedNs[i]
			recordUs(r.comIv, lat)
			r.finish(lat)
			r.counts.Committed++
			r.ivCommitted++
			switch c := ev.codes[j]; c {
			case "success", "":
			case "queued":
				r.counts.Queued++
			default:
				r.counts.Failed++
				r.counts.FailedByCode[c]++
			}
		}
	case evTimeout:
		for _, i := range ev.idx {
			r.counts.TimedOut++
			r.finish(ev.atNs - r.tr.intendedNs[i])
		}
	}
}

func (r *recorder) finish(sojournNs int64) {
	r.sojournSumNs += float64(sojournNs)
	r.finishedCount++
}

// closeInterval writes the interval's histograms to the log and merges them into
// the run's totals.
func (r *recorder) closeInterval(nowNs int64) {
	startMs := r.startWall.UnixMilli() + r.ivStartNs/1e6
	endMs := r.startWall.UnixMilli() + nowNs/1e6
	for _, iv := range []struct {
		h   *hdr.Histogram
		all *hdr.Histogram
		tag string
	}{{r.accIv, r.accAll, "accepted"}, {r.comIv, r.comAll, "committed"}} {
		iv.h.SetStartTimeMs(startMs)
		iv.h.SetEndTimeMs(endMs)
		iv.h.SetTag(iv.tag)
		_ = r.logw.OutputIntervalHistogram(iv.h) // bytes.Buffer: no write error; tags are fixed
		iv.all.Merge(iv.h)
		iv.h.Reset()
	}
	r.ivStartNs = nowNs
}

func (r *recorder) report(nowNs int64) {
	if r.progress == nil {
		return
	}
	c := r.counts
	r.progress(Progress{
		Elapsed:       time.Duration(nowNs),
		Offered:       r.dueAt(nowNs),
		Sent:          c.Sent,
		Accepted:      c.Accepted,
		Rejected:      c.Rejected,
		Committed:     c.Committed,
		TimedOut:      c.TimedOut,
		InFlight:      r.tr.inFlight(),
		CommittedPerS: float64(r.ivCommitted),
		CommitP99:     time.Duration(r.comAll.ValueAtQuantile(99)) * time.Microsecond,
	})
	r.ivCommitted = 0
}

// little evaluates Little's law over [0, elapsedNs].
func (r *recorder) little(elapsedNs int64) LittlesLaw {
	var l LittlesLaw
	if r.inFlightN > 0 {
		l.MeanInFlight = r.inFlightSum / float64(r.inFlightN)
	}
	if elapsedNs > 0 {
		l.ThroughputPerS = float64(r.finishedCount) / (float64(elapsedNs) / 1e9)
	}
	if r.finishedCount > 0 {
		l.MeanLatencyS = r.sojournSumNs / float64(r.finishedCount) / 1e9
	}
	l.PredictedInFlight = l.ThroughputPerS * l.MeanLatencyS
	if l.PredictedInFlight > 0 {
		l.Ratio = l.MeanInFlight / l.PredictedInFlight
	}
	return l
}
