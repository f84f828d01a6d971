package sim

import (
	"math"
	"sort"
)

// The WAN mode's CPU model. A host has a number of cores (a float: a
// validator that shares a 2-core machine with three others has 0.5); its
// work queues ("lanes": the consensus driver, admission, execution,
// background) share them by processor sharing, each lane capped by how many
// cores its current work can use (execution is one goroutine, batch
// verification spreads over all cores). Work is in core-microseconds. A lane
// runs its tasks one after the other, FIFO, as the goroutine it stands for
// does; a task may end in waits that block the lane without using a core (a
// synced write).

// cpuPhase is a stretch of CPU work and the most cores it can use at once.
type cpuPhase struct {
	workUs   float64 // core-microseconds
	parallel float64 // cores; ≤ 0 means one
}

// laneStep is what a lane does after a task's CPU work: wait waitUs (blocked,
// no CPU), then call fn.
type laneStep struct {
	waitUs float64
	fn     func()
}

// cpuTask is one unit of a lane's work: its CPU phases, then run, whose
// returned steps the lane performs before it takes the next task.
type cpuTask struct {
	phases []cpuPhase
	run    func() []laneStep
}

// cpuHost shares cores among its lanes.
type cpuHost struct {
	clock  *wanClock
	cores  float64
	lanes  []*cpuLane
	lastUs float64
	usedUs float64 // integral of the cores in use over time (core-µs)
	// pendingUs is the time of the completion event scheduled; a later
	// reschedule that needs an earlier one schedules it, one that needs a later
	// one lets the scheduled event fire and look again (so the queue does not
	// fill with superseded events).
	pendingUs float64
	active    []*cpuLane // scratch for reschedule
	done      []*cpuLane // scratch for complete
}

// cpuLane is one sequential worker on a host.
type cpuLane struct {
	host  *cpuHost
	owner int // validator index, for per-validator accounting
	queue []*cpuTask

	computing   bool // the head task is in a CPU phase
	phase       int
	remainingUs float64
	capCores    float64
	rate        float64 // cores currently given
	blocked     bool    // performing the head task's steps (waits)

	busySinceUs float64
	busyUs      float64 // time the lane was computing or blocked
	workUs      float64 // CPU work done (core-µs)
}

func newCPUHost(clock *wanClock, cores float64) *cpuHost {
	return &cpuHost{clock: clock, cores: cores, pendingUs: math.Inf(1)}
}

func (h *cpuHost) newLane(owner int) *cpuLane {
	l := &cpuLane{host: h, owner: owner}
	h.lanes = append(h.lanes, l)
	return l
}

// busy reports whether the lane has a task under way.
func (l *cpuLane) busy() bool { return l.computing || l.blocked }

// submit queues a task; front puts it right behind the task under way (the
// driver services its ticker before any other input).
func (l *cpuLane) submit(t *cpuTask, front bool) {
	if front && len(l.queue) > 0 {
		l.queue = append(l.queue, nil)
		copy(l.queue[2:], l.queue[1:])
		l.queue[1] = t
	} else {
		l.queue = append(l.queue, t)
	}
	if len(l.queue) == 1 {
		l.host.advance()
		l.busySinceUs = l.host.clock.nowUs
		l.startPhase(0)
		l.host.reschedule()
	}
}

// startPhase begins phase p of the head task, skipping empty phases; past the
// last phase the task's CPU work is done and its steps begin.
func (l *cpuLane) startPhase(p int) {
	t := l.queue[0]
	for p < len(t.phases) && t.phases[p].workUs <= 0 {
		p++
	}
	if p == len(t.phases) {
		l.computing = false
		l.finishWork()
		return
	}
	ph := t.phases[p]
	l.computing, l.phase, l.remainingUs = true, p, ph.workUs
	l.capCores = math.Min(math.Max(ph.parallel, 1), l.host.cores)
}

// finishWork runs the head task and performs its steps; then the next task.
func (l *cpuLane) finishWork() {
	t := l.queue[0]
	var steps []laneStep
	if t.run != nil {
		steps = t.run()
	}
	l.blocked = true
	l.perform(steps)
}

func (l *cpuLane) perform(steps []laneStep) {
	for i, s := range steps {
		if s.waitUs > 0 {
			rest := append([]laneStep{{fn: s.fn}}, steps[i+1:]...)
			l.host.clock.after(s.waitUs, func() { l.perform(rest) })
			return
		}
		if s.fn != nil {
			s.fn()
		}
	}
	l.blocked = false
	l.queue[0] = nil
	l.queue = l.queue[1:]
	l.host.advance()
	if len(l.queue) == 0 {
		l.busyUs += l.host.clock.nowUs - l.busySinceUs
	} else {
		l.startPhase(0)
	}
	l.host.reschedule()
}

// advance accounts the work done since the last update at the current rates.
func (h *cpuHost) advance() {
	now := h.clock.nowUs
	dt := now - h.lastUs
	h.lastUs = now
	if dt <= 0 {
		return
	}
	for _, l := range h.lanes {
		if l.computing {
			done := math.Min(l.rate*dt, l.remainingUs)
			l.remainingUs -= done
			l.workUs += done
			h.usedUs += done
		}
	}
}

// completionEpsUs is the work below which a phase counts as done (float
// rounding of rate × time).
const completionEpsUs = 1e-6

// reschedule shares the cores among the computing lanes and makes sure a
// completion event comes no later than the next phase ends.
func (h *cpuHost) reschedule() {
	h.active = h.active[:0]
	for _, l := range h.lanes {
		if l.computing {
			h.active = append(h.active, l)
		}
	}
	if len(h.active) == 0 {
		return
	}
	shareCores(h.active, h.cores)
	next := math.Inf(1)
	for _, l := range h.active {
		next = math.Min(next, l.remainingUs/l.rate)
	}
	at := h.clock.nowUs + next
	if at < h.pendingUs {
		h.pendingUs = at
		h.clock.at(at, func() {
			if h.clock.nowUs == h.pendingUs {
				h.pendingUs = math.Inf(1)
				h.complete()
			}
		})
	}
}

// shareCores is water-filling: every lane gets an equal share of the cores,
// except that none gets more than its cap; what a capped lane leaves goes to
// the others.
func shareCores(lanes []*cpuLane, cores float64) {
	sort.SliceStable(lanes, func(i, j int) bool { return lanes[i].capCores < lanes[j].capCores })
	left := cores
	for i, l := range lanes {
		l.rate = math.Min(l.capCores, left/float64(len(lanes)-i))
		left -= l.rate
	}
}

// complete ends every phase that is done, then shares the cores again.
func (h *cpuHost) complete() {
	h.advance()
	done := h.done[:0]
	for _, l := range h.lanes {
		if l.computing && l.remainingUs <= completionEpsUs {
			done = append(done, l)
		}
	}
	h.done = nil // callbacks below may complete phases on this host again
	for _, l := range done {
		if l.computing && l.remainingUs <= completionEpsUs {
			l.workUs += l.remainingUs
			l.remainingUs = 0
			l.startPhase(l.phase + 1)
		}
	}
	h.done = done[:0]
	h.reschedule()
}

// laneStats snapshot a lane's busy time and work up to now.
func (l *cpuLane) stats() (busyUs, workUs float64) {
	l.host.advance()
	busyUs = l.busyUs
	if l.busy() {
		busyUs += l.host.clock.nowUs - l.busySinceUs
	}
	return busyUs, l.workUs
}
