package memorybackend

import (
	"slices"
	"sort"
)

// ngramIndex maps every byte trigram of the users' search strings
// (record.search, separators included) to the users whose string holds it:
// the optional index of Config.NGramIndex. A search word of three bytes or
// more can only match users holding every trigram of it, so the
// intersection of a few posting lists replaces the scan of every user; each
// candidate is then checked by the matcher, so the index only has to give
// a superset.
//
// Users are numbered by id, in order of insertion (New numbers them in
// login order); a posting list is a sorted []uint32 of ids, and an insert
// only appends a fresh id to the lists of its trigrams. A removed user
// leaves its entries behind (ids[id] becomes nil; a changed user gets a new
// id), and a list is compacted when more than half of it is dead, so that
// both writes are O(trigrams per user) apart from that amortised compaction.
type ngramIndex struct {
	ids  idTable // by id; nil once removed
	post map[uint32]*postings
	live int
}

// postings is the posting list of one trigram: ascending ids (dead ones
// included) in blocks of postBlock, every block full but the last, so that
// an append never copies more than one block (a plain slice of a trigram
// that every user holds would copy megabytes when it grows) and entry i is
// blocks[i/postBlock][i%postBlock].
type postings struct {
	blocks [][]uint32
	n      int // entries
	dead   int // how many entries are dead
}

const postBlock = 1024

func (p *postings) at(i int) uint32 { return p.blocks[i/postBlock][i%postBlock] }

func (p *postings) add(id uint32) {
	if k := len(p.blocks); k == 0 || len(p.blocks[k-1]) == postBlock {
		p.blocks = append(p.blocks, nil)
	}
	last := &p.blocks[len(p.blocks)-1]
	*last = append(*last, id)
	p.n++
}

// reserve gives p room for n entries, in full blocks and an exact last one.
func (p *postings) reserve(n int) {
	p.blocks = make([][]uint32, 0, (n+postBlock-1)/postBlock)
	for ; n > 0; n -= postBlock {
		p.blocks = append(p.blocks, make([]uint32, 0, min(n, postBlock)))
	}
}

// each calls fn with every entry in order.
func (p *postings) each(fn func(id uint32)) {
	for _, b := range p.blocks {
		for _, id := range b {
			fn(id)
		}
	}
}

// idTable maps ids to users, in blocks of idBlock, so that adding a user
// never copies the whole table (8 MB at a million users).
type idTable struct {
	blocks [][]*record
	n      int
}

const idBlock = 4096

func (t *idTable) get(id uint32) *record { return t.blocks[id/idBlock][id%idBlock] }

func (t *idTable) set(id uint32, r *record) { t.blocks[id/idBlock][id%idBlock] = r }

func (t *idTable) add(r *record) uint32 {
	if k := len(t.blocks); k == 0 || len(t.blocks[k-1]) == idBlock {
		t.blocks = append(t.blocks, make([]*record, 0, idBlock))
	}
	last := &t.blocks[len(t.blocks)-1]
	*last = append(*last, r)
	t.n++
	return uint32(t.n - 1)
}

// ngramLen is the length of the indexed n-grams.
const ngramLen = 3

// gram is the trigram of s starting at i.
func gram(s string, i int) uint32 {
	return uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2])
}

// grams appends the distinct trigrams of s to dst, sorted.
func grams(s string, dst []uint32) []uint32 {
	start := len(dst)
	for i := 0; i+ngramLen <= len(s); i++ {
		dst = append(dst, gram(s, i))
	}
	g := dst[start:]
	slices.Sort(g)
	return dst[:start+len(slices.Compact(g))]
}

func newNgramIndex() *ngramIndex { return &ngramIndex{post: make(map[uint32]*postings)} }

// build indexes recs (in login order) from scratch, with posting lists of
// exactly the needed size: one pass counts, a second one fills.
func (x *ngramIndex) build(recs []*record) {
	x.ids = idTable{}
	x.post = make(map[uint32]*postings)
	x.live = len(recs)
	for _, r := range recs {
		r.id = x.ids.add(r)
	}
	if len(recs) >= 1<<16 {
		x.buildFlat(recs)
	} else {
		x.buildMap(recs)
	}
}

// buildMap is build for few users, with maps.
func (x *ngramIndex) buildMap(recs []*record) {
	var scratch []uint32
	counts := make(map[uint32]int)
	for _, r := range recs {
		scratch = grams(r.search, scratch[:0])
		for _, g := range scratch {
			counts[g]++
		}
	}
	for g, n := range counts {
		p := &postings{}
		p.reserve(n)
		x.post[g] = p
	}
	for id, r := range recs {
		scratch = grams(r.search, scratch[:0])
		for _, g := range scratch {
			x.post[g].fill(uint32(id))
		}
	}
}

// fill appends id to a list made by reserve.
func (p *postings) fill(id uint32) {
	blk := &p.blocks[p.n/postBlock]
	*blk = append(*blk, id)
	p.n++
}

// buildFlat is build for many users: the counts, the last user that
// counted each trigram (for distinct trigrams without sorting) and the
// list of each trigram live in flat arrays over the 2^24 trigrams (128 MiB
// for the build, without pointers) instead of maps.
func (x *ngramIndex) buildFlat(recs []*record) {
	count := make([]int32, 1<<(8*ngramLen))
	seen := make([]int32, len(count)) // id+1 of the last user that counted it
	for id, r := range recs {
		s, mark := r.search, int32(id+1)
		for i := 0; i+ngramLen <= len(s); i++ {
			if g := gram(s, i); seen[g] != mark {
				seen[g] = mark
				count[g]++
			}
		}
	}
	var lists []*postings
	for g, c := range count {
		if c == 0 {
			continue
		}
		p := &postings{}
		p.reserve(int(c))
		x.post[uint32(g)] = p
		count[g] = int32(len(lists)) // from here on: the list's index
		lists = append(lists, p)
	}
	clear(seen)
	for id, r := range recs {
		s, mark := r.search, int32(id+1)
		for i := 0; i+ngramLen <= len(s); i++ {
			if g := gram(s, i); seen[g] != mark {
				seen[g] = mark
				lists[count[g]].fill(uint32(id))
			}
		}
	}
}

// add gives r a fresh id and indexes its search string.
func (x *ngramIndex) add(r *record, scratch []uint32) []uint32 {
	if x.ids.n >= 1<<32-1 || x.ids.n > 2*x.live+1<<16 {
		x.renumber()
	}
	r.id = x.ids.add(r)
	x.live++
	scratch = grams(r.search, scratch[:0])
	for _, g := range scratch {
		p := x.post[g]
		if p == nil {
			p = &postings{}
			x.post[g] = p
		}
		p.add(r.id)
	}
	return scratch
}

// remove marks r's entries dead (r.search must still be the indexed
// string) and compacts the lists that became mostly dead.
func (x *ngramIndex) remove(r *record, scratch []uint32) []uint32 {
	x.ids.set(r.id, nil)
	x.live--
	scratch = grams(r.search, scratch[:0])
	for _, g := range scratch {
		p := x.post[g]
		if p.dead++; p.dead*2 > p.n {
			p.compact(&x.ids)
			if p.n == 0 {
				delete(x.post, g)
			}
		}
	}
	return scratch
}

// compact drops the dead entries of p.
func (p *postings) compact(ids *idTable) {
	var live postings
	live.reserve(p.n - p.dead)
	p.each(func(id uint32) {
		if ids.get(id) != nil {
			live.add(id)
		}
	})
	*p = live
}

// renumber rebuilds the index with dense ids once the dead ones outnumber
// the live ones (after about as many updates as there are users): O(n), so
// amortised O(1) per write.
func (x *ngramIndex) renumber() {
	recs := make([]*record, 0, x.live)
	for _, blk := range x.ids.blocks {
		for _, r := range blk {
			if r != nil {
				recs = append(recs, r)
			}
		}
	}
	x.build(recs)
}

// estimate is the size of the smallest posting list among the trigrams of
// the literals, and whether any literal has three bytes or more (without
// one the index cannot narrow the search). 0 with true means that some
// trigram is in nobody's search string: no user matches.
func (x *ngramIndex) estimate(lits []string) (int, bool) {
	best, usable := 0, false
	for _, l := range lits {
		for i := 0; i+ngramLen <= len(l); i++ {
			p := x.post[gram(l, i)]
			n := 0
			if p != nil {
				n = p.n - p.dead
			}
			if !usable || n < best {
				best, usable = n, true
			}
		}
	}
	return best, usable
}

// candidates returns the ids in every posting list of the literals'
// trigrams (dead ones included: the caller skips them), ascending.
func (x *ngramIndex) candidates(lits []string) []uint32 {
	var lists []*postings
	for _, l := range lits {
		for i := 0; i+ngramLen <= len(l); i++ {
			p := x.post[gram(l, i)]
			if p == nil {
				return nil
			}
			lists = append(lists, p)
		}
	}
	if len(lists) == 0 {
		return nil
	}
	slices.SortFunc(lists, func(a, b *postings) int { return a.n - b.n })
	out := make([]uint32, 0, lists[0].n)
	lists[0].each(func(id uint32) { out = append(out, id) })
	for _, l := range lists[1:] {
		// The matcher checks every candidate anyway: stop intersecting once
		// the set is small, rather than walk long lists for little gain.
		if len(out) <= 32 {
			break
		}
		out = intersect(out, l)
	}
	return out
}

// intersect keeps the ids of a (ascending) that are in b, in place.
func intersect(a []uint32, b *postings) []uint32 {
	out := a[:0]
	j := 0
	gallop := b.n > 8*len(a)
	for _, id := range a {
		if gallop {
			j += sort.Search(b.n-j, func(k int) bool { return b.at(j+k) >= id })
		} else {
			for j < b.n && b.at(j) < id {
				j++
			}
		}
		if j == b.n {
			break
		}
		if b.at(j) == id {
			out = append(out, id)
		}
	}
	return out
}
