package memorybackend

import (
	"encoding/binary"
	"slices"
	"sort"
	"strings"

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
	emailKey string               // backend.IdentityKey(user.Email)
	// custKeys are the identity keys of user.AllCustomerIDs(), primary first.
	custKeys []string
	// search holds every search field value folded by backend.SearchFold
	// (case and accents), each preceded by fieldSep:
	// "\x00login\x00first\x00last...". A substring search is one
	// strings.Contains; a prefix search looks for fieldSep+word. Searches
	// fold only the query, never the stored values.
	search string
	id     uint32 // the user's number in the n-gram index, if kept
}

// slot is one user in store.order: the fields a scan needs, kept inline so
// that a scan reads memory sequentially instead of visiting every record.
type slot struct {
	search string // == rec.search
	rec    *record
	valid  bool // rec.user.Valid == backend.Valid
}

// prefixEntry is one search field value of one user in the prefix index,
// ordered by key, then by the user's login key.
type prefixEntry struct {
	key string // folded field value: a substring of the record's search string
	rec *record
}

func comparePrefix(a, b *prefixEntry) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
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
	// byEmail lists the users with an email; more than one only with
	// AllowDuplicateEmail.
	byEmail map[string][]*record
	// byCustomer lists the users of each customer ID (primary or further).
	byCustomer map[string][]*record
	// order holds every user sorted by loginKey, the order of search results.
	order seq[slot]
	// prefix, only kept in prefix mode, holds an entry per non-empty search
	// field value, sorted by key: a word's candidates are one seek away.
	prefix    seq[prefixEntry]
	keepIndex bool
	// ngram is the trigram index of Config.NGramIndex; nil when off.
	ngram   *ngramIndex
	scratch []string
	grams   []uint32
}

func newStore(fields []fieldFunc, prefixIndex, ngram bool, n int) *store {
	s := &store{
		fields:     fields,
		byLogin:    make(map[string]*record, n),
		byEmail:    make(map[string][]*record, n),
		byCustomer: make(map[string][]*record),
		keepIndex:  prefixIndex,
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
	s.scratch = r.derive(s.fields, s.scratch[:0])
}

// derive recomputes the derived keys of r from r.user; vals is scratch
// space, returned for reuse. It touches nothing but r, so that New can run
// it on several goroutines.
func (r *record) derive(fields []fieldFunc, vals []string) []string {
	r.loginKey = backend.IdentityKey(r.user.Login)
	r.emailKey = backend.IdentityKey(r.user.Email)
	ids := r.user.AllCustomerIDs()
	r.custKeys = r.custKeys[:0]
	for _, id := range ids {
		r.custKeys = append(r.custKeys, backend.IdentityKey(id))
	}
	for _, f := range fields {
		vals = f(&r.user, vals)
	}
	n := 0
	for i, v := range vals {
		vals[i] = backend.SearchFold(v)
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
	s.order.insertAt(s.orderSeek(r.loginKey, false), slot{search: r.search, valid: r.user.Valid == backend.Valid, rec: r})
	s.byEmail[r.emailKey] = insertSorted(s.byEmail[r.emailKey], r)
	for _, k := range r.custKeys {
		s.byCustomer[k] = insertSorted(s.byCustomer[k], r)
	}
	if s.keepIndex {
		segments(r.search, func(v string) bool {
			if v != "" {
				e := prefixEntry{key: v, rec: r}
				s.prefix.insertAt(s.prefix.seek(func(x *prefixEntry) bool { return comparePrefix(x, &e) >= 0 }), e)
			}
			return true
		})
	}
	if s.ngram != nil {
		s.grams = s.ngram.add(r, s.grams)
	}
}

// remove takes r out of every index (r's keys must still be the indexed ones).
func (s *store) remove(r *record) {
	if s.keepIndex {
		segments(r.search, func(v string) bool {
			if v != "" {
				e := prefixEntry{key: v, rec: r}
				p := s.prefix.seek(func(x *prefixEntry) bool { return comparePrefix(x, &e) >= 0 })
				if x := s.prefix.at(p); x != nil && x.rec == r {
					s.prefix.deleteAt(p)
				}
			}
			return true
		})
	}
	if s.ngram != nil {
		s.grams = s.ngram.remove(r, s.grams)
	}
	delete(s.byLogin, r.loginKey)
	removeFrom(s.byEmail, r.emailKey, r)
	for _, k := range r.custKeys {
		removeFrom(s.byCustomer, k, r)
	}
	if p := s.orderSeek(r.loginKey, false); s.order.at(p) != nil && s.order.at(p).rec == r {
		s.order.deleteAt(p)
	}
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
func (s *store) prefixRange(p string) (lo, hi cursor) {
	lo = s.prefix.seek(func(x *prefixEntry) bool { return x.key >= p })
	hi = s.prefix.seek(func(x *prefixEntry) bool { return x.key >= p && !strings.HasPrefix(x.key, p) })
	return lo, hi
}

// sortKey is a record with the first 8 bytes of a key as a number, for
// sorting in bulk: most comparisons end on the number, without reading the
// string.
type sortKey struct {
	pfx  uint64
	key  string
	rec  *record
	rank int32 // the user's place in login order (prefix entries only)
}

func keyPrefix(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

// compareKeys orders by key (stored text never holds NUL, so two keys of at
// most 8 bytes with the same prefix number are equal), then by rank.
func compareKeys(a, b *sortKey) int {
	if a.pfx != b.pfx {
		if a.pfx < b.pfx {
			return -1
		}
		return 1
	}
	if len(a.key) > 8 || len(b.key) > 8 {
		if c := strings.Compare(a.key[min(8, len(a.key)):], b.key[min(8, len(b.key)):]); c != 0 {
			return c
		}
	}
	return int(a.rank) - int(b.rank)
}

// build fills the ordered indexes from scratch; used by New, which already
// filled byLogin and byEmail (in input order) while checking for
// duplicates. It sorts once on precomputed keys and loads every seq in bulk.
func (s *store) build(recs []*record) {
	keys := make([]sortKey, len(recs))
	for i, r := range recs {
		keys[i] = sortKey{pfx: keyPrefix(r.loginKey), key: r.loginKey, rec: r}
	}
	// Login keys are unique: the rank (0) never decides.
	slices.SortFunc(keys, func(a, b sortKey) int { return compareKeys(&a, &b) })
	sorted := make([]*record, len(keys))
	for i := range keys {
		sorted[i] = keys[i].rec
	}
	keys = nil
	s.pack(sorted)
	slots := make([]slot, len(sorted))
	for i, r := range sorted {
		slots[i] = slot{search: r.search, valid: r.user.Valid == backend.Valid, rec: r}
	}
	s.order.load(slots)
	slots = nil
	// Lists in login order: one with several users (shared emails) is sorted.
	for k, list := range s.byEmail {
		if len(list) > 1 {
			slices.SortFunc(list, func(a, b *record) int { return strings.Compare(a.loginKey, b.loginKey) })
			s.byEmail[k] = list
		}
	}
	for _, r := range sorted {
		for _, k := range r.custKeys {
			s.byCustomer[k] = append(s.byCustomer[k], r)
		}
	}
	if s.keepIndex {
		s.buildPrefix(sorted)
	}
	if s.ngram != nil {
		s.ngram.build(sorted)
	}
}

// buildPrefix fills the prefix index from the users in login order.
func (s *store) buildPrefix(sorted []*record) {
	n := 0
	for _, r := range sorted {
		n += strings.Count(r.search, fieldSep)
	}
	keys := make([]sortKey, 0, n)
	for i, r := range sorted {
		segments(r.search, func(v string) bool {
			if v != "" {
				keys = append(keys, sortKey{pfx: keyPrefix(v), key: v, rec: r, rank: int32(i)})
			}
			return true
		})
	}
	slices.SortFunc(keys, func(a, b sortKey) int { return compareKeys(&a, &b) })
	entries := make([]prefixEntry, len(keys))
	for i := range keys {
		entries[i] = prefixEntry{key: keys[i].key, rec: keys[i].rec}
	}
	keys = nil
	s.prefix.load(entries)
}

// pack copies the search strings of the users (in login order) into one
// block, so that a scan reads memory sequentially and the strings cost no
// allocation overhead each.
func (s *store) pack(sorted []*record) {
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
	for _, r := range sorted {
		r.search, block = block[:len(r.search)], block[len(r.search):]
	}
}
