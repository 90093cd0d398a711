package memorybackend

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSeqMatchesSortedSlice runs random inserts and deletes on a seq and on
// a sorted slice, enough of them to split chunks and merge them again, and
// compares the contents, counts and seeks after each round.
func TestSeqMatchesSortedSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s seq[int]
	var model []int
	initial := make([]int, 3000)
	for i := range initial {
		initial[i] = 2 * i
	}
	s.load(len(initial), func(i int) int { return initial[i] })
	model = slices.Clone(initial)
	ge := func(v int) func(*int) bool { return func(x *int) bool { return *x >= v } }
	for round := range 40 {
		// Grow in the first rounds, shrink to almost nothing in the last ones.
		inserts, deletes := 400, 100
		if round >= 20 {
			inserts, deletes = 50, 400
		}
		for range inserts {
			v := r.IntN(20000)
			s.insertAt(s.seek(ge(v)), v)
			i, _ := slices.BinarySearch(model, v)
			model = slices.Insert(model, i, v)
		}
		for range deletes {
			if len(model) == 0 {
				break
			}
			v := model[r.IntN(len(model))]
			p := s.seek(ge(v))
			require.Equal(t, v, *s.at(p))
			s.deleteAt(p)
			i, _ := slices.BinarySearch(model, v)
			model = slices.Delete(model, i, i+1)
		}
		got := checkSeq(t, "seq", &s, true, func(a, b *int) int { return cmp.Compare(*a, *b) })
		require.Equal(t, model, append([]int{}, got...), "round %d", round)
		for range 20 {
			a, b := r.IntN(20000), r.IntN(20000)
			if a > b {
				a, b = b, a
			}
			ia, _ := slices.BinarySearch(model, a)
			ib, _ := slices.BinarySearch(model, b)
			require.Equal(t, ib-ia, s.distance(s.seek(ge(a)), s.seek(ge(b))), "distance %d..%d", a, b)
			var walked []int
			s.ascend(s.seek(ge(a)), func(x *int) bool {
				if *x >= b {
					return false
				}
				walked = append(walked, *x)
				return true
			})
			require.True(t, slices.Equal(model[ia:ib], walked), "walk %d..%d", a, b)
			if ia < len(model) {
				require.Equal(t, model[ia], *s.nth(ia))
			}
		}
	}
	require.Less(t, len(model), 3000, "the test shrank the sequence")
}
