package sim

import (
	"math"
	"math/rand"
	"sort"
)

// The WAN mode's network. Each ordered pair of validators is one direction of
// one TCP connection (the transport keeps one per pair): a FIFO link with a
// propagation delay (half the pair's round trip, plus jitter) and a bandwidth.
// A message's serialization time is its bytes over the bandwidth, and it waits
// until the link has sent everything queued before it. Optionally each
// validator also has an uplink (its NIC, or its site's access link) that all
// of its connections share: then a validator's messages are served by
// processor sharing over the uplink, consensus frames before gossip frames,
// each broadcast's copies sharing it fairly.

// netClass orders traffic on a shared uplink: the transport writes consensus
// frames before gossip frames.
type netClass int

const (
	classConsensus netClass = iota
	classGossip
)

// wanLink is one direction of one validator pair's connection.
type wanLink struct {
	propUs        float64 // one-way propagation delay
	bytesPerUs    float64 // +Inf: unlimited
	freeAtUs      float64 // when the link has sent what is queued
	lastArrivalUs float64 // FIFO: nothing arrives before what was sent earlier
	busyUs        float64 // serialization time spent (for utilisation)
	bytes         float64
}

// wanNet holds every link and uplink.
type wanNet struct {
	clock    *wanClock
	rng      *rand.Rand
	jitterUs float64
	links    [][]*wanLink // [from][to]; nil on the diagonal
	uplinks  []*wanUplink // nil when uplinks are unlimited
}

// linkRateBytesPerUs is a link's sending rate: its bandwidth, and at most one
// TCP window per round trip when a window is given (0: no limit).
func linkRateBytesPerUs(bitsPerS, windowBytes, rttUs float64) float64 {
	rate := math.Inf(1)
	if bitsPerS > 0 {
		rate = bitsPerS / 8 / 1e6
	}
	if windowBytes > 0 && rttUs > 0 {
		rate = math.Min(rate, windowBytes/rttUs)
	}
	return rate
}

func newWANNet(clock *wanClock, rng *rand.Rand, o *WANOptions) *wanNet {
	n := o.Validators
	net := &wanNet{clock: clock, rng: rng, jitterUs: o.JitterMs * 1000, links: make([][]*wanLink, n)}
	for i := range n {
		net.links[i] = make([]*wanLink, n)
		for j := range n {
			if i == j {
				continue
			}
			rttUs := o.RTTMs[i][j] * 1000
			net.links[i][j] = &wanLink{propUs: rttUs / 2,
				bytesPerUs: linkRateBytesPerUs(o.LinkBitsPerS, o.TCPWindowBytes, rttUs)}
		}
	}
	if o.UplinkBitsPerS > 0 {
		for i := range n {
			net.uplinks = append(net.uplinks, &wanUplink{net: net, from: i, bytesPerUs: o.UplinkBitsPerS / 8 / 1e6})
		}
	}
	return net
}

// serializationUs is how long a link takes to send bytes (0 when unlimited).
func serializationUs(bytes, bytesPerUs float64) float64 {
	if math.IsInf(bytesPerUs, 1) {
		return 0
	}
	return bytes / bytesPerUs
}

// send queues bytes from one validator to each of dests; deliver runs at
// each destination when the last byte has arrived.
// sent, when not nil, is told when the last byte of the last copy left.
func (net *wanNet) send(from int, dests []int, bytes float64, class netClass, deliver func(to int), sent func(lastByteUs float64)) {
	net.sendTimed(from, dests, bytes, class, func(to int, atUs float64) {
		net.clock.at(atUs, func() { deliver(to) })
	}, sent)
}

// sendTimed is send for a receiver that files arrivals itself: arrived is
// told each destination's arrival time as soon as it is known (at once on
// links of their own, when the message leaves a shared uplink otherwise),
// which saves an event per destination of every gossip frame.
func (net *wanNet) sendTimed(from int, dests []int, bytes float64, class netClass, arrived func(to int, atUs float64), sent func(lastByteUs float64)) {
	if net.uplinks != nil {
		net.uplinks[from].add(&netJob{remaining: bytes * float64(len(dests)), copyBytes: bytes,
			dests: dests, class: class, arrived: arrived, sent: sent})
		return
	}
	now := net.clock.nowUs
	last := now
	defer func() {
		if sent != nil {
			sent(last)
		}
	}()
	for _, to := range dests {
		l := net.links[from][to]
		start := max(now, l.freeAtUs)
		ser := serializationUs(bytes, l.bytesPerUs)
		l.freeAtUs = start + ser
		last = max(last, l.freeAtUs)
		l.busyUs += ser
		l.bytes += bytes
		arrived(to, net.arrival(from, to, l.freeAtUs))
	}
}

// arrival is when a message that left its sender at sentUs arrives: after
// the propagation delay and jitter, never before what the same link
// delivered earlier (TCP delivers in order).
func (net *wanNet) arrival(from, to int, sentUs float64) float64 {
	l := net.links[from][to]
	delay := l.propUs
	if net.jitterUs > 0 && delay > 0 {
		delay = max(0, delay+(2*net.rng.Float64()-1)*net.jitterUs)
	}
	at := max(sentUs+delay, l.lastArrivalUs)
	l.lastArrivalUs = at
	return at
}

// netJob is one message on a shared uplink: a unicast, or a broadcast whose
// copies go out together.
type netJob struct {
	remaining float64 // bytes left, all copies
	copyBytes float64
	dests     []int
	class     netClass
	arrived   func(to int, atUs float64)
	sent      func(lastByteUs float64)
	rate      float64 // bytes/µs now
	capRate   float64 // copies × the per-link rate
}

// wanUplink is a validator's egress shared by all its connections.
type wanUplink struct {
	net        *wanNet
	from       int
	bytesPerUs float64
	jobs       []*netJob
	lastUs     float64
	version    uint64
	busyUs     float64
}

func (u *wanUplink) add(j *netJob) {
	j.capRate = math.Inf(1)
	for _, to := range j.dests {
		l := u.net.links[u.from][to]
		l.bytes += j.copyBytes
		j.capRate = math.Min(j.capRate, l.bytesPerUs)
	}
	j.capRate *= float64(len(j.dests))
	u.advance()
	u.jobs = append(u.jobs, j)
	u.reschedule()
}

func (u *wanUplink) advance() {
	now := u.net.clock.nowUs
	dt := now - u.lastUs
	u.lastUs = now
	if dt <= 0 || len(u.jobs) == 0 {
		return
	}
	u.busyUs += dt
	for _, j := range u.jobs {
		j.remaining -= math.Min(j.rate*dt, j.remaining)
	}
}

// reschedule gives consensus jobs the uplink first (weighted by their
// copies, each capped at its links' rate), gossip jobs what is left, and
// schedules the next completion.
func (u *wanUplink) reschedule() {
	u.version++
	if len(u.jobs) == 0 {
		return
	}
	// Consensus jobs share the uplink among themselves (they go to different
	// peers, on connections of their own); gossip takes what is left, one
	// frame at a time in order, as each peer's low-priority lane does (and a
	// backlog of starved gossip frames then costs nothing to reschedule).
	var consensus []*netJob
	var gossip *netJob
	for _, j := range u.jobs {
		j.rate = 0
		switch {
		case j.class == classConsensus:
			consensus = append(consensus, j)
		case gossip == nil:
			gossip = j
		}
	}
	left := u.bytesPerUs - shareUplink(consensus, u.bytesPerUs)
	if gossip != nil {
		shareUplink([]*netJob{gossip}, left)
	}
	next := math.Inf(1)
	for _, j := range u.jobs {
		if j.rate > 0 {
			next = math.Min(next, j.remaining/j.rate)
		}
	}
	if math.IsInf(next, 1) {
		return // every job waits behind a higher class (cannot happen with a positive rate)
	}
	v := u.version
	u.net.clock.after(next, func() {
		if u.version == v {
			u.complete()
		}
	})
}

// shareUplink is weighted water-filling of capacity among jobs (weight: the
// job's copies); it returns the capacity used.
func shareUplink(js []*netJob, capacity float64) float64 {
	sort.SliceStable(js, func(a, b int) bool {
		return js[a].capRate/float64(len(js[a].dests)) < js[b].capRate/float64(len(js[b].dests))
	})
	weight := 0.0
	for _, j := range js {
		weight += float64(len(j.dests))
	}
	used := 0.0
	for _, j := range js {
		w := float64(len(j.dests))
		share := 0.0
		if weight > 0 && capacity > used {
			share = (capacity - used) * w / weight
		}
		j.rate = math.Min(j.capRate, share)
		used += j.rate
		weight -= w
	}
	return used
}

const netEpsBytes = 1e-6

func (u *wanUplink) complete() {
	u.advance()
	var keep, done []*netJob
	for _, j := range u.jobs {
		if j.remaining <= netEpsBytes {
			done = append(done, j)
		} else {
			keep = append(keep, j)
		}
	}
	u.jobs = keep
	now := u.net.clock.nowUs
	for _, j := range done {
		for _, to := range j.dests {
			u.net.links[u.from][to].busyUs += serializationUs(j.copyBytes, u.net.links[u.from][to].bytesPerUs)
			j.arrived(to, u.net.arrival(u.from, to, now))
		}
		if j.sent != nil {
			j.sent(now)
		}
	}
	u.reschedule()
}

// linkStats sums what the links carried: the busiest link's busy time, and
// bytes over all links.
func (net *wanNet) linkStats() (maxBusyUs, totalBytes float64) {
	for _, row := range net.links {
		for _, l := range row {
			if l != nil {
				maxBusyUs = math.Max(maxBusyUs, l.busyUs)
				totalBytes += l.bytes
			}
		}
	}
	return maxBusyUs, totalBytes
}

// uplinkBusyMaxUs is the busiest uplink's busy time (0 without uplinks).
func (net *wanNet) uplinkBusyMaxUs() float64 {
	m := 0.0
	for _, u := range net.uplinks {
		u.advance()
		m = math.Max(m, u.busyUs)
	}
	return m
}
