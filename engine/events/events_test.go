package events

import "testing"

func TestPublishDeliversInOrder(t *testing.T) {
	b := New(4)
	s := b.Subscribe()
	defer s.Close()
	for h := uint64(1); h <= 3; h++ {
		b.Publish(&Block{Height: h})
	}
	for h := uint64(1); h <= 3; h++ {
		if got := (<-s.C).Height; got != h {
			t.Fatalf("got block %d, want %d", got, h)
		}
	}
}

// A subscriber that falls queueMax blocks behind is cut off rather than allowed
// to block the executor or grow a queue without bound.
func TestSlowSubscriberIsDropped(t *testing.T) {
	b := New(2)
	slow, fast := b.Subscribe(), b.Subscribe()
	defer fast.Close()
	for h := uint64(1); h <= 3; h++ {
		b.Publish(&Block{Height: h})
		<-fast.C
	}
	select {
	case <-slow.Dropped():
	default:
		t.Fatal("a subscriber 3 blocks behind with a queue of 2 was not dropped")
	}
	if n := b.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers after the drop, want 1", n)
	}
	b.Publish(&Block{Height: 4}) // must not block or panic on the dropped one
	if got := (<-fast.C).Height; got != 4 {
		t.Fatalf("fast subscriber got %d, want 4", got)
	}
}

func TestNewRejectsUnboundedQueue(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New(0) did not panic")
		}
	}()
	New(0)
}
