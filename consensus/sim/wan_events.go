package sim

// wanEvent is one action of the WAN simulation at a virtual time in
// microseconds. seq breaks ties in scheduling order, so that equal times run
// in one deterministic order.
type wanEvent struct {
	atUs float64
	seq  uint64
	fn   func()
}

func (e *wanEvent) before(f *wanEvent) bool {
	if e.atUs != f.atUs {
		return e.atUs < f.atUs
	}
	return e.seq < f.seq
}

// wanClock is the virtual clock and its event queue (a binary min-heap,
// typed: container/heap's interface calls cost a third of a large run).
type wanClock struct {
	nowUs  float64
	seq    uint64
	events []wanEvent
	ran    int // events run so far (a cost figure for the caller)
}

// at schedules fn at time atUs; a time in the past runs at the current time
// (never earlier: virtual time only moves forward).
func (c *wanClock) at(atUs float64, fn func()) {
	c.seq++
	c.events = append(c.events, wanEvent{atUs: max(atUs, c.nowUs), seq: c.seq, fn: fn})
	for i := len(c.events) - 1; i > 0; {
		p := (i - 1) / 2
		if !c.events[i].before(&c.events[p]) {
			break
		}
		c.events[i], c.events[p] = c.events[p], c.events[i]
		i = p
	}
}

// after schedules fn dUs from now.
func (c *wanClock) after(dUs float64, fn func()) { c.at(c.nowUs+dUs, fn) }

func (c *wanClock) pop() wanEvent {
	e := c.events[0]
	last := len(c.events) - 1
	c.events[0] = c.events[last]
	c.events[last] = wanEvent{}
	c.events = c.events[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && c.events[l].before(&c.events[m]) {
			m = l
		}
		if r < last && c.events[r].before(&c.events[m]) {
			m = r
		}
		if m == i {
			break
		}
		c.events[i], c.events[m] = c.events[m], c.events[i]
		i = m
	}
	return e
}

// runUntil runs events in time order up to and including endUs, or until
// stop says so.
func (c *wanClock) runUntil(endUs float64, stop func() bool) {
	for len(c.events) > 0 && c.events[0].atUs <= endUs {
		if stop != nil && stop() {
			return
		}
		e := c.pop()
		c.nowUs = e.atUs
		c.ran++
		e.fn()
	}
	c.nowUs = max(c.nowUs, endUs)
}
