package memorybackend

import (
	"slices"
	"sort"
)

// The chunk sizes of a seq. A chunk holds at most chunkMax items; New fills
// chunks to chunkFill, leaving room for inserts before the first split.
const (
	chunkMax  = 512
	chunkFill = 448
)

// seq is a sorted sequence kept in chunks of at most chunkMax items: a
// B+-tree of two levels (a directory of chunks, each a sorted slice). An
// insert or delete finds its place with two binary searches and moves at
// most chunkMax items and one directory entry per chunk; the directory
// holds n/256 to n/448 entries, so at a million items a write moves a few
// kilobytes, never the whole sequence. A scan reads the items in order,
// sequentially within each chunk.
//
// This structure rather than a general B-tree (github.com/google/btree,
// github.com/tidwall/btree): items stay inline in large chunks (a bulk load
// fills them to 7/8, where a B-tree loaded in order splits its nodes in
// halves and holds twice the memory), a bulk load is one copy, and a count
// of the items between two positions is a sum over the directory. The
// ordering is the caller's: seq only keeps items where seek puts them.
type seq[T any] struct {
	chunks [][]T
	n      int
}

// cursor is a position in a seq: chunk c, item i. cursor{len(chunks), 0}
// is the end.
type cursor struct{ c, i int }

// load replaces the contents by the n items at(0), at(1), ... (in order),
// written straight into the chunks: no array of all items is built.
func (s *seq[T]) load(n int, at func(i int) T) {
	s.chunks = make([][]T, 0, (n+chunkFill-1)/chunkFill)
	for lo := 0; lo < n; lo += chunkFill {
		// No spare capacity: insertAt grows a chunk on its first insert.
		ch := make([]T, min(n-lo, chunkFill))
		for i := range ch {
			ch[i] = at(lo + i)
		}
		s.chunks = append(s.chunks, ch)
	}
	s.n = n
}

// seek returns the position of the first item for which ge is true; ge must
// be false for a (possibly empty) run of items and true after it.
func (s *seq[T]) seek(ge func(*T) bool) cursor {
	c := sort.Search(len(s.chunks), func(c int) bool {
		ch := s.chunks[c]
		return ge(&ch[len(ch)-1])
	})
	if c == len(s.chunks) {
		return cursor{c, 0}
	}
	ch := s.chunks[c]
	return cursor{c, sort.Search(len(ch), func(i int) bool { return ge(&ch[i]) })}
}

// at returns the item at p, nil at the end.
func (s *seq[T]) at(p cursor) *T {
	if p.c >= len(s.chunks) {
		return nil
	}
	return &s.chunks[p.c][p.i]
}

// insertAt inserts x at p (a position from seek).
func (s *seq[T]) insertAt(p cursor, x T) {
	s.n++
	if len(s.chunks) == 0 {
		ch := make([]T, 1, chunkMax)
		ch[0] = x
		s.chunks = append(s.chunks, ch)
		return
	}
	if p.c == len(s.chunks) {
		p.c--
		p.i = len(s.chunks[p.c])
	}
	ch := s.chunks[p.c]
	if len(ch) == cap(ch) && cap(ch) < chunkMax {
		grown := make([]T, len(ch), chunkMax)
		copy(grown, ch)
		ch = grown
		s.chunks[p.c] = ch
	}
	if len(ch) == chunkMax {
		const half = chunkMax / 2
		right := make([]T, chunkMax-half, chunkMax)
		copy(right, ch[half:])
		clear(ch[half:])
		ch = ch[:half]
		s.chunks[p.c] = ch
		s.chunks = slices.Insert(s.chunks, p.c+1, right)
		if p.i > half {
			p.c, p.i, ch = p.c+1, p.i-half, right
		}
	}
	s.chunks[p.c] = slices.Insert(ch, p.i, x)
}

// deleteAt removes the item at p (which must be an item, not the end). A
// chunk left empty leaves the directory; two neighbours that fit in half a
// chunk are merged, so that deletes never leave many small chunks behind.
func (s *seq[T]) deleteAt(p cursor) {
	s.n--
	ch := slices.Delete(s.chunks[p.c], p.i, p.i+1)
	if len(ch) == 0 {
		s.chunks = slices.Delete(s.chunks, p.c, p.c+1)
		return
	}
	s.chunks[p.c] = ch
	if p.c+1 < len(s.chunks) && len(ch)+len(s.chunks[p.c+1]) <= chunkMax/2 {
		s.chunks[p.c] = append(ch, s.chunks[p.c+1]...)
		s.chunks = slices.Delete(s.chunks, p.c+1, p.c+2)
	}
}

// ascend calls fn with every item from p on, in order, until fn returns false.
func (s *seq[T]) ascend(p cursor, fn func(*T) bool) {
	for c := p.c; c < len(s.chunks); c++ {
		ch := s.chunks[c]
		i := 0
		if c == p.c {
			i = p.i
		}
		for ; i < len(ch); i++ {
			if !fn(&ch[i]) {
				return
			}
		}
	}
}

// distance counts the items from a up to (not including) b.
func (s *seq[T]) distance(a, b cursor) int {
	if b.c == a.c {
		return b.i - a.i
	}
	n := len(s.chunks[a.c]) - a.i
	for c := a.c + 1; c < b.c && c < len(s.chunks); c++ {
		n += len(s.chunks[c])
	}
	return n + b.i
}

// nth returns the i-th item (0-based), walking the directory: for tests and
// benchmarks, not for the hot paths.
func (s *seq[T]) nth(i int) *T {
	for _, ch := range s.chunks {
		if i < len(ch) {
			return &ch[i]
		}
		i -= len(ch)
	}
	return nil
}
