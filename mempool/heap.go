package mempool

// heap is a binary min-heap (by less) that tells each item its position through
// setIdx, so that an item can be fixed or removed in O(log n) without a search.
// Items removed get position -1.
type heap[T any] struct {
	items  []T
	less   func(a, b T) bool
	setIdx func(t T, i int)
}

func (h *heap[T]) len() int { return len(h.items) }

func (h *heap[T]) push(t T) {
	h.items = append(h.items, t)
	i := len(h.items) - 1
	h.setIdx(t, i)
	h.up(i)
}

// remove takes out the item at position i.
func (h *heap[T]) remove(i int) {
	last := len(h.items) - 1
	t := h.items[i]
	if i != last {
		h.swap(i, last)
	}
	var zero T
	h.items[last] = zero
	h.items = h.items[:last]
	h.setIdx(t, -1)
	if i != last {
		h.fix(i)
	}
}

// fix restores the heap after the key of the item at position i changed.
func (h *heap[T]) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *heap[T]) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.setIdx(h.items[i], i)
	h.setIdx(h.items[j], j)
}

func (h *heap[T]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(h.items[i], h.items[parent]) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down sinks the item at i and reports whether it moved.
func (h *heap[T]) down(i int) bool {
	start, n := i, len(h.items)
	for {
		left := 2*i + 1
		if left >= n {
			break
		}
		child := left
		if right := left + 1; right < n && h.less(h.items[right], h.items[left]) {
			child = right
		}
		if !h.less(h.items[child], h.items[i]) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}
