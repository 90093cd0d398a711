package memorybackend

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/helpdeskkit/customeruser/backend"
)

// fieldSep separates the folded search field values in record.search.
// Stored text never contains NUL (backend.NormalizeUser refuses it), so a
// search word can never match across two fields.
const fieldSep = "\x00"

// record is one stored customer user.
type record struct {
	user     backend.CustomerUser // normalised; Source is set on read
	hash     string               // stored password hash, "" = no password
	loginKey string               // backend.IdentityKey(user.Login)
	// custKeys are the identity keys of user.AllCustomerIDs(), primary first;
	// read-only: users with the same single key share one slice.
	custKeys []string
	// search holds every search field value folded by backend.SearchFold
	// (case and accents), each preceded by fieldSep:
	// "\x00login\x00first\x00last...". A substring search is one
	// strings.Contains; a prefix search looks for fieldSep+word. Searches
	// fold only the query, never the stored values.
	search string
	id     uint32 // the user's number in the n-gram index, if kept
}

// emailKey is backend.IdentityKey(r.user.Email), the key of byEmail (not
// stored: for the usual lower-case address it is the address itself).
func (r *record) emailKey() string { return backend.IdentityKey(r.user.Email) }

// slot is one user in store.order: the fields a scan needs, kept inline so
// that a scan reads memory sequentially instead of visiting every record.
type slot struct {
	search string // == rec.search
	rec    *record
	// mask is a filter a scan checks before the search string
	// (charMask); its top bit is set when rec.user.Valid == backend.Valid.
	mask uint64
}

// validBit marks a valid user in slot.mask.
const validBit = 1 << 63

// charBit is the bit of byte c in a character mask (bits 0-62).
func charBit(c byte) uint64 { return 1 << (c % 63) }

// charMask is the filter of a search string: in substring mode the bits of
// every byte in it, in prefix mode those of the first byte of every field
// value. A word can only match a user whose mask holds the word's bits
// (termMask), so a scan skips most users on one AND, without reading the
// string.
func charMask(search string, prefix bool) uint64 {
	var m uint64
	if prefix {
		segments(search, func(v string) bool {
			if v != "" {
				m |= charBit(v[0])
			}
			return true
		})
		return m
	}
	for i := 0; i < len(search); i++ {
		m |= charBit(search[i])
	}
	return m &^ validBit
}

// newSlot is r's slot in order.
func newSlot(r *record, prefix bool) slot {
	m := charMask(r.search, prefix)
	if r.user.Valid == backend.Valid {
		m |= validBit
	}
	return slot{search: r.search, rec: r, mask: m}
}

// prefixEntry is one search field value of one user in the prefix index,
// ordered by key, then by the user's login key. It holds no string (16
// bytes, one pointer): the key is the field value in rec.search at off, and
// its first four bytes are kept inline so that most comparisons of a seek
// end without reading the record.
type prefixEntry struct {
	rec *record
	pfx uint32 // the key's first 4 bytes, big-endian, zero-padded (keyPrefix4)
	off uint32 // offset of the key in rec.search; the top bit: key longer than 4 bytes
}

const longKey = 1 << 31

func newPrefixEntry(r *record, off int, key string) prefixEntry {
	e := prefixEntry{rec: r, pfx: keyPrefix4(key), off: uint32(off)}
	if len(key) > 4 {
		e.off |= longKey
	}
	return e
}

// key is the field value of the entry.
func (e *prefixEntry) key() string {
	v := e.rec.search[e.off&^longKey:]
	if i := strings.IndexByte(v, 0); i >= 0 {
		return v[:i]
	}
	return v
}

// keyPrefix4 is the first 4 bytes of s as a big-endian number, zero-padded.
// Stored text never holds NUL, so for keys of at most 4 bytes equal
// numbers mean equal keys, and the numbers order keys as strings do.
func keyPrefix4(s string) uint32 {
	var b [4]byte
	copy(b[:], s)
	return binary.BigEndian.Uint32(b[:])
}

// probe is a key looked up in the prefix index.
type probe struct {
	key string
	pfx uint32
}

func newProbe(key string) probe { return probe{key: key, pfx: keyPrefix4(key)} }

// compareKey compares the entry's key with p's.
func (e *prefixEntry) compareKey(p *probe) int {
	if e.pfx != p.pfx {
		if e.pfx < p.pfx {
			return -1
		}
		return 1
	}
	if e.off&longKey == 0 && len(p.key) <= 4 {
		return 0
	}
	return strings.Compare(e.key(), p.key)
}

// hasPrefix reports whether the entry's key starts with p.key.
func (e *prefixEntry) hasPrefix(p *probe) bool {
	if n := len(p.key); n <= 4 {
		shift := 8 * (4 - n)
		return n == 0 || e.pfx>>shift == p.pfx>>shift
	}
	return strings.HasPrefix(e.key(), p.key)
}

// comparePrefix orders entries by key, then by login key.
func comparePrefix(a, b *prefixEntry) int {
	bp := probe{key: b.key(), pfx: b.pfx}
	if c := a.compareKey(&bp); c != 0 {
		return c
	}
	return strings.Compare(a.rec.loginKey, b.rec.loginKey)
}

// store holds the users and their indexes. It is not synchronised: Backend
// guards it with its mutex.
//
// Every identity map (login, email, customer ID) is keyed by
// backend.IdentityKey, so that two spellings of one identity (case, NFC or
// NFD) find one entry and distinct identities ("rené", "rene") never share
// one. The lists of byEmail and byCustomer are kept in login order, so that
// a lookup walks them in result order and stops at the limit.
//
// No index holds positions: every ordered index is a seq (a two-level
// B+-tree), so a write costs O(log n) comparisons plus moving at most one
// chunk, whatever the number of users.
type store struct {
	fields  []fieldFunc
	byLogin map[string]*record
	// byEmail holds the user of each email, or with AllowDuplicateEmail the
	// first in login order of those sharing it; emailMore lists all of
	// them, in login order, for the emails held by more than one user.
	byEmail   map[string]*record
	emailMore map[string][]*record
	// byCustomer lists the users of each customer ID (primary or further).
	byCustomer map[string][]*record
	// order holds every user sorted by loginKey, the order of search results.
	order seq[slot]
	// prefix, only kept in prefix mode, holds an entry per non-empty search
	// field value, sorted by key: a word's candidates are one seek away.
	prefix    seq[prefixEntry]
	keepIndex bool
	// fewCandidates is how many index candidates are always checked
	// rather than weighed against a scan (Backend.plan); tests lower it.
	fewCandidates int
	// ngram is the trigram index of Config.NGramIndex; nil when off.
	ngram   *ngramIndex
	scratch []string
	grams   []uint32
	// custIntern holds a shared custKeys slice per customer key, for the
	// users with that single customer ID.
	custIntern map[string][]string
}

func newStore(fields []fieldFunc, prefixIndex, ngram bool, n int) *store {
	s := &store{
		fields:     fields,
		byLogin:    make(map[string]*record, n),
		byEmail:    make(map[string]*record, n),
		emailMore:  make(map[string][]*record),
		byCustomer: make(map[string][]*record),
		custIntern: make(map[string][]string),
		keepIndex:  prefixIndex,
		// 256: a sample of 64 (plan) is then at most a quarter of the work.
		fewCandidates: 256,
	}
	if ngram {
		s.ngram = newNgramIndex()
	}
	return s
}

// len is the number of users.
func (s *store) len() int { return s.order.n }

// newRecord builds a record for the normalised user u.
func (s *store) newRecord(u backend.CustomerUser, hash string) *record {
	r := &record{user: u, hash: hash}
	s.refresh(r)
	return r
}

// refresh recomputes the derived keys of r from r.user.
func (s *store) refresh(r *record) {
	s.scratch = r.derive(s.fields, s.scratch[:0], nil)
	s.intern(r)
}

// intern replaces a single customer key slice of r by the shared one.
func (s *store) intern(r *record) {
	if len(r.custKeys) == 1 {
		k := r.custKeys[0]
		shared, ok := s.custIntern[k]
		if !ok {
			shared = []string{k}
			s.custIntern[k] = shared
		}
		r.custKeys = shared
	}
}

// emails lists the users holding the email key k, in login order.
func (s *store) emails(k string) []*record {
	if list, ok := s.emailMore[k]; ok {
		return list
	}
	if r := s.byEmail[k]; r != nil {
		return []*record{r}
	}
	return nil
}

// addEmail adds r to the users of its email.
func (s *store) addEmail(r *record) {
	k := r.emailKey()
	first := s.byEmail[k]
	if first == nil {
		s.byEmail[k] = r
		return
	}
	list, ok := s.emailMore[k]
	if !ok {
		list = []*record{first}
	}
	list = insertSorted(list, r)
	s.emailMore[k], s.byEmail[k] = list, list[0]
}

// reserveEmail adds r to the users of its email, out of order: New sorts
// the lists in build.
func (s *store) reserveEmail(r *record) {
	k := r.emailKey()
	first := s.byEmail[k]
	if first == nil {
		s.byEmail[k] = r
		return
	}
	list, ok := s.emailMore[k]
	if !ok {
		list = []*record{first}
	}
	s.emailMore[k] = append(list, r)
}

// removeEmail takes r out of the users of its email.
func (s *store) removeEmail(r *record) {
	k := r.emailKey()
	list, ok := s.emailMore[k]
	if !ok {
		if s.byEmail[k] == r {
			delete(s.byEmail, k)
		}
		return
	}
	if i := listSeek(list, r.loginKey, false); i < len(list) && list[i] == r {
		list = slices.Delete(list, i, i+1)
	}
	s.byEmail[k] = list[0]
	if len(list) == 1 {
		delete(s.emailMore, k)
	} else {
		s.emailMore[k] = list
	}
}

// folder memoises backend.SearchFold of non-ASCII values for New, where
// the same names and cities come back on thousands of users and the
// Unicode transformation costs a microsecond each time. One per goroutine.
type folder map[string]string

// folderMax bounds a folder's size.
const folderMax = 1 << 16

func (f folder) fold(v string) string {
	if f == nil {
		return backend.SearchFold(v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			if out, ok := f[v]; ok {
				return out
			}
			out := backend.SearchFold(v)
			if len(f) < folderMax {
				f[v] = out
			}
			return out
		}
	}
	return backend.SearchFold(v) // ASCII: its own fast path
}

// derive recomputes the derived keys of r from r.user; vals is scratch
// space, returned for reuse. It touches nothing but r (and f, nil or the
// caller's own), so that New can run it on several goroutines.
func (r *record) derive(fields []fieldFunc, vals []string, f folder) []string {
	r.loginKey = backend.IdentityKey(r.user.Login)
	ids := r.user.AllCustomerIDs()
	r.custKeys = make([]string, 0, len(ids)) // never reused: it may be shared
	for _, id := range ids {
		r.custKeys = append(r.custKeys, backend.IdentityKey(id))
	}
	for _, f := range fields {
		vals = f(&r.user, vals)
	}
	n := 0
	for i, v := range vals {
		vals[i] = f.fold(v)
		n += len(fieldSep) + len(vals[i])
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range vals {
		b.WriteString(fieldSep)
		b.WriteString(v)
	}
	r.search = b.String()
	clear(vals)
	return vals[:0]
}

// segments calls fn with every field value in a search string.
func segments(search string, fn func(v string) bool) {
	for len(search) > 0 {
		search = search[len(fieldSep):]
		i := strings.Index(search, fieldSep)
		if i < 0 {
			fn(search)
			return
		}
		if !fn(search[:i]) {
			return
		}
		search = search[i:]
	}
}

// orderSeek is the position of the first user whose login key is >= key
// (or > key with after).
func (s *store) orderSeek(key string, after bool) cursor {
	if after {
		return s.order.seek(func(sl *slot) bool { return sl.rec.loginKey > key })
	}
	return s.order.seek(func(sl *slot) bool { return sl.rec.loginKey >= key })
}

// insert adds r to every index. Its login and email must be free.
func (s *store) insert(r *record) {
	s.byLogin[r.loginKey] = r
	s.order.insertAt(s.orderSeek(r.loginKey, false), newSlot(r, s.keepIndex))
	s.addEmail(r)
	for _, k := range r.custKeys {
		s.byCustomer[k] = insertSorted(s.byCustomer[k], r)
	}
	if s.keepIndex {
		fieldOffsets(r.search, func(off int, v string) {
			s.prefix.insertAt(s.prefixSeek(r, v), newPrefixEntry(r, off, v))
		})
	}
	if s.ngram != nil {
		s.grams = s.ngram.add(r, s.grams)
	}
}

// remove takes r out of every index (r's keys must still be the indexed ones).
func (s *store) remove(r *record) {
	if s.keepIndex {
		fieldOffsets(r.search, func(_ int, v string) {
			p := s.prefixSeek(r, v)
			if x := s.prefix.at(p); x != nil && x.rec == r {
				s.prefix.deleteAt(p)
			}
		})
	}
	if s.ngram != nil {
		s.grams = s.ngram.remove(r, s.grams)
	}
	delete(s.byLogin, r.loginKey)
	s.removeEmail(r)
	for _, k := range r.custKeys {
		removeFrom(s.byCustomer, k, r)
	}
	if p := s.orderSeek(r.loginKey, false); s.order.at(p) != nil && s.order.at(p).rec == r {
		s.order.deleteAt(p)
	}
}

// fieldOffsets calls fn with the offset in search and the value of every
// non-empty field value.
func fieldOffsets(search string, fn func(off int, v string)) {
	off := 0
	segments(search, func(v string) bool {
		off += len(fieldSep)
		if v != "" {
			fn(off, v)
		}
		off += len(v)
		return true
	})
}

// prefixSeek is the position of r's entry for the key v (or where it goes).
func (s *store) prefixSeek(r *record, v string) cursor {
	p := newProbe(v)
	return s.prefix.seek(func(x *prefixEntry) bool {
		if c := x.compareKey(&p); c != 0 {
			return c > 0
		}
		return x.rec.loginKey >= r.loginKey
	})
}

// listSeek is the index in a list in login order of the first user whose
// login key is >= key (> key with after).
func listSeek(list []*record, key string, after bool) int {
	if after {
		return sort.Search(len(list), func(i int) bool { return list[i].loginKey > key })
	}
	return sort.Search(len(list), func(i int) bool { return list[i].loginKey >= key })
}

// insertSorted adds r to a list in login order.
func insertSorted(list []*record, r *record) []*record {
	return slices.Insert(list, listSeek(list, r.loginKey, false), r)
}

// removeFrom takes r out of the list m[key] (in login order) and drops the
// list when it is empty.
func removeFrom(m map[string][]*record, key string, r *record) {
	list := m[key]
	if i := listSeek(list, r.loginKey, false); i < len(list) && list[i] == r {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(m, key)
	} else {
		m[key] = list
	}
}

// from gives the part of a list in login order after the login key after
// ("" = all of it).
func from(list []*record, after string) []*record {
	if after == "" {
		return list
	}
	return list[listSeek(list, after, true):]
}

// prefixRange gives the positions of the first entry whose key starts with
// p and of the first one after them.
func (s *store) prefixRange(key string) (lo, hi cursor) {
	p := newProbe(key)
	lo = s.prefix.seek(func(x *prefixEntry) bool { return x.compareKey(&p) >= 0 })
	hi = s.prefix.seek(func(x *prefixEntry) bool { return x.compareKey(&p) >= 0 && !x.hasPrefix(&p) })
	return lo, hi
}

// sortKey is what New sorts: the first 8 bytes of a key as a number and
// where the key is, without a pointer (a sort of millions of keys is then
// no work for the garbage collector, which would otherwise trace every
// entry on each cycle). Most comparisons end on the number.
type sortKey struct {
	pfx  uint64 // bytes 0-7 of the key
	pfx2 uint64 // bytes 8-15
	off  int64  // where the key is in the block of all search strings (prefix entries)
	rank int32  // the user's place in login order (prefix entries), or in the input (logins)
	n    int32  // the key's length
}

func keyPrefix(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

// newSortKey is the sort key of key (the caller sets off).
func newSortKey(key string, rank int) sortKey {
	k := sortKey{pfx: keyPrefix(key), rank: int32(rank), n: int32(len(key))}
	if len(key) > 8 {
		k.pfx2 = keyPrefix(key[8:])
	}
	return k
}

// compareSortKeys orders by key, then by rank; ka and kb are the keys of
// a and b, read only when the numbers are equal and a key is longer than
// 16 bytes. Stored text never holds NUL, so two keys of at most 16 bytes
// with the same numbers are equal.
func compareSortKeys(a, b sortKey, ka, kb func() string) int {
	if a.pfx != b.pfx {
		if a.pfx < b.pfx {
			return -1
		}
		return 1
	}
	if a.pfx2 != b.pfx2 {
		if a.pfx2 < b.pfx2 {
			return -1
		}
		return 1
	}
	if a.n > 16 || b.n > 16 {
		if c := strings.Compare(ka()[min(16, a.n):], kb()[min(16, b.n):]); c != 0 {
			return c
		}
	}
	return int(a.rank) - int(b.rank)
}

// sortKeys sorts keys by cmp on every CPU (up to two halves sorted at once,
// then merged): the sorts are most of New's work.
func sortKeys(keys []sortKey, cmp func(a, b sortKey) int) []sortKey {
	if len(keys) < 1<<16 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(keys, cmp)
		return keys
	}
	half := len(keys) / 2
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		slices.SortFunc(keys[:half], cmp)
	}()
	slices.SortFunc(keys[half:], cmp)
	wg.Wait()
	out := make([]sortKey, 0, len(keys))
	a, b := keys[:half], keys[half:]
	for len(a) > 0 && len(b) > 0 {
		if cmp(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// build fills the ordered indexes from scratch; used by New, which already
// filled byLogin and byEmail (in input order) while checking for
// duplicates. It sorts once on precomputed keys and loads every seq in bulk.
func (s *store) build(recs []*record) {
	keys := make([]sortKey, len(recs))
	for i, r := range recs {
		keys[i] = newSortKey(r.loginKey, i)
	}
	// Login keys are unique: the rank never decides.
	keys = sortKeys(keys, func(a, b sortKey) int {
		return compareSortKeys(a, b, func() string { return recs[a.rank].loginKey }, func() string { return recs[b.rank].loginKey })
	})
	sorted := make([]*record, len(keys))
	for i := range keys {
		sorted[i] = recs[keys[i].rank]
	}
	keys = nil
	block, starts := s.pack(sorted)
	s.order.load(len(sorted), func(i int) slot { return newSlot(sorted[i], s.keepIndex) })
	// Lists in login order: the emails held by several users are sorted.
	for k, list := range s.emailMore {
		slices.SortFunc(list, func(a, b *record) int { return strings.Compare(a.loginKey, b.loginKey) })
		s.byEmail[k] = list[0]
	}
	for _, r := range sorted {
		for _, k := range r.custKeys {
			s.byCustomer[k] = append(s.byCustomer[k], r)
		}
	}
	for k, list := range s.byCustomer {
		s.byCustomer[k] = slices.Clip(list)
	}
	// The two optional indexes are independent (the trigram build writes
	// only record.id, which the prefix build never reads): built at once.
	var wg sync.WaitGroup
	if s.ngram != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ngram.build(sorted)
		}()
	}
	if s.keepIndex {
		s.buildPrefix(sorted, block, starts)
	}
	wg.Wait()
}

// buildPrefix fills the prefix index from the users in login order, whose
// search strings are packed in block at starts.
func (s *store) buildPrefix(sorted []*record, block string, starts []int64) {
	n := 0
	for _, r := range sorted {
		n += strings.Count(r.search, fieldSep)
	}
	keys := make([]sortKey, 0, n)
	for i, r := range sorted {
		fieldOffsets(r.search, func(off int, v string) {
			k := newSortKey(v, i)
			k.off = starts[i] + int64(off)
			keys = append(keys, k)
		})
	}
	keyOf := func(k *sortKey) string { return block[k.off : k.off+int64(k.n)] }
	keys = sortKeys(keys, func(a, b sortKey) int {
		return compareSortKeys(a, b, func() string { return block[a.off : a.off+int64(a.n)] }, func() string { return block[b.off : b.off+int64(b.n)] })
	})
	s.prefix.load(len(keys), func(i int) prefixEntry {
		k := &keys[i]
		return newPrefixEntry(sorted[k.rank], int(k.off-starts[k.rank]), keyOf(k))
	})
}

// pack copies the search strings of the users (in login order) into one
// block, so that a scan reads memory sequentially and the strings cost no
// allocation overhead each. It returns the block and where each user's
// string starts in it.
func (s *store) pack(sorted []*record) (string, []int64) {
	n := 0
	for _, r := range sorted {
		n += len(r.search)
	}
	var b strings.Builder
	b.Grow(n)
	for _, r := range sorted {
		b.WriteString(r.search)
	}
	block := b.String()
	starts := make([]int64, len(sorted))
	off := 0
	for i, r := range sorted {
		starts[i] = int64(off)
		r.search = block[off : off+len(r.search)]
		off += len(r.search)
	}
	return block, starts
}
