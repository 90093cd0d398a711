package memorybackend

import (
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
	pos    int // index in store.order
}

// slot is one user in store.order: the fields a scan needs, kept inline so
// that a scan reads memory sequentially instead of visiting every record.
type slot struct {
	search string // == rec.search
	valid  bool   // rec.user.Valid == backend.Valid
	rec    *record
}

// prefixEntry is one search field value of one user in the prefix index.
type prefixEntry struct {
	key string // folded field value: a substring of the record's search string
	pos int32  // the user's index in store.order
}

// store holds the users and their indexes. It is not synchronised: Backend
// guards it with its mutex.
//
// Every identity map (login, email, customer ID) is keyed by
// backend.IdentityKey, so that two spellings of one identity (case, NFC or
// NFD) find one entry and distinct identities ("rené", "rene") never share
// one. The lists of byEmail and byCustomer are kept in login order, so that
// a lookup walks them in result order and stops at the limit.
type store struct {
	fields  []fieldFunc
	byLogin map[string]*record
	// byEmail lists the users with an email; more than one only with
	// AllowDuplicateEmail.
	byEmail map[string][]*record
	// byCustomer lists the users of each customer ID (primary or further).
	byCustomer map[string][]*record
	// order holds every user sorted by loginKey, the order of search results;
	// record.pos is the index here.
	order []slot
	// unpacked counts the search strings allocated one by one since the last
	// pack; pack copies all of them into one block in login order.
	unpacked int
	packMin  int // pack after at least this many unpacked strings (and n/4)
	// prefix, only kept in prefix mode, holds an entry per non-empty search
	// field value, sorted by key: a word's candidates are one binary search away.
	prefix    []prefixEntry
	keepIndex bool
	scratch   []string
}

func newStore(fields []fieldFunc, prefixIndex bool, n int) *store {
	return &store{
		fields:     fields,
		byLogin:    make(map[string]*record, n),
		byEmail:    make(map[string][]*record, n),
		byCustomer: make(map[string][]*record),
		order:      make([]slot, 0, n),
		keepIndex:  prefixIndex,
		packMin:    1024,
	}
}

// newRecord builds a record for the normalised user u.
func (s *store) newRecord(u backend.CustomerUser, hash string) *record {
	r := &record{user: u, hash: hash}
	s.refresh(r)
	return r
}

// refresh recomputes the derived keys of r from r.user.
func (s *store) refresh(r *record) {
	r.loginKey = backend.IdentityKey(r.user.Login)
	r.emailKey = backend.IdentityKey(r.user.Email)
	ids := r.user.AllCustomerIDs()
	r.custKeys = r.custKeys[:0]
	for _, id := range ids {
		r.custKeys = append(r.custKeys, backend.IdentityKey(id))
	}
	vals := s.scratch[:0]
	for _, f := range s.fields {
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
	s.scratch = vals[:0]
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

// orderIndex is where a login key is or would be inserted in order.
func (s *store) orderIndex(loginKey string) int {
	return sort.Search(len(s.order), func(i int) bool { return s.order[i].rec.loginKey >= loginKey })
}

// insert adds r to every index. Its login and email must be free.
func (s *store) insert(r *record) {
	s.byLogin[r.loginKey] = r
	i := s.orderIndex(r.loginKey)
	s.order = append(s.order, slot{})
	copy(s.order[i+1:], s.order[i:])
	s.order[i] = slot{search: r.search, valid: r.user.Valid == backend.Valid, rec: r}
	for j := i; j < len(s.order); j++ {
		s.order[j].rec.pos = j
	}
	s.byEmail[r.emailKey] = insertSorted(s.byEmail[r.emailKey], r)
	for _, k := range r.custKeys {
		s.byCustomer[k] = insertSorted(s.byCustomer[k], r)
	}
	if s.keepIndex {
		for k := range s.prefix {
			if int(s.prefix[k].pos) >= i {
				s.prefix[k].pos++
			}
		}
		s.indexAdd(r)
	}
	if s.unpacked++; s.unpacked > max(s.packMin, len(s.order)/4) {
		s.pack()
	}
}

// remove takes r out of every index.
func (s *store) remove(r *record) {
	if s.keepIndex {
		s.indexRemove(r)
	}
	delete(s.byLogin, r.loginKey)
	removeFrom(s.byEmail, r.emailKey, r)
	for _, k := range r.custKeys {
		removeFrom(s.byCustomer, k, r)
	}
	i := r.pos
	s.order = append(s.order[:i], s.order[i+1:]...)
	s.order[:len(s.order)+1][len(s.order)] = slot{}
	for j := i; j < len(s.order); j++ {
		s.order[j].rec.pos = j
	}
	if s.keepIndex {
		for k := range s.prefix {
			if int(s.prefix[k].pos) > i {
				s.prefix[k].pos--
			}
		}
	}
}

// insertSorted adds r to a list in login order. r.pos must be current.
func insertSorted(list []*record, r *record) []*record {
	i := sort.Search(len(list), func(i int) bool { return list[i].pos >= r.pos })
	return slices.Insert(list, i, r)
}

// removeFrom takes r out of the list m[key] (in login order; r.pos must
// still be its position) and drops the list when it is empty.
func removeFrom(m map[string][]*record, key string, r *record) {
	list := m[key]
	i := sort.Search(len(list), func(i int) bool { return list[i].pos >= r.pos })
	if i < len(list) && list[i] == r {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(m, key)
	} else {
		m[key] = list
	}
}

// from gives the part of a list in login order whose positions are at least start.
func from(list []*record, start int) []*record {
	return list[sort.Search(len(list), func(i int) bool { return list[i].pos >= start }):]
}

// prefixLower is the first index whose key is >= key.
func (s *store) prefixLower(key string) int {
	return sort.Search(len(s.prefix), func(i int) bool { return s.prefix[i].key >= key })
}

// prefixRange gives the index range of the entries whose key starts with p.
func (s *store) prefixRange(p string) (lo, hi int) {
	lo = s.prefixLower(p)
	hi = lo + sort.Search(len(s.prefix)-lo, func(i int) bool { return !strings.HasPrefix(s.prefix[lo+i].key, p) })
	return lo, hi
}

func (s *store) indexAdd(r *record) {
	segments(r.search, func(v string) bool {
		if v == "" {
			return true
		}
		i := s.prefixLower(v)
		s.prefix = append(s.prefix, prefixEntry{})
		copy(s.prefix[i+1:], s.prefix[i:])
		s.prefix[i] = prefixEntry{key: v, pos: int32(r.pos)}
		return true
	})
}

func (s *store) indexRemove(r *record) {
	segments(r.search, func(v string) bool {
		if v == "" {
			return true
		}
		for i := s.prefixLower(v); i < len(s.prefix) && s.prefix[i].key == v; i++ {
			if int(s.prefix[i].pos) == r.pos {
				s.prefix = append(s.prefix[:i], s.prefix[i+1:]...)
				s.prefix[:len(s.prefix)+1][len(s.prefix)] = prefixEntry{}
				break
			}
		}
		return true
	})
}

// build fills the indexes from scratch with records whose logins and emails
// were already checked to be free; used by New, faster than one insert each.
func (s *store) build(recs []*record) {
	s.order = s.order[:0]
	for _, r := range recs {
		s.order = append(s.order, slot{rec: r})
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i].rec.loginKey < s.order[j].rec.loginKey })
	// In login order, so that every list is in login order too.
	for _, sl := range s.order {
		r := sl.rec
		s.byLogin[r.loginKey] = r
		s.byEmail[r.emailKey] = append(s.byEmail[r.emailKey], r)
		for _, k := range r.custKeys {
			s.byCustomer[k] = append(s.byCustomer[k], r)
		}
	}
	s.pack()
}

// pack copies the search strings of all users into one block in login
// order, so that a scan reads memory sequentially, and rebuilds the prefix
// index over the new strings. New calls it; inserts call it again after
// many writes (amortised, it adds O(log n) per write).
func (s *store) pack() {
	n := 0
	for _, sl := range s.order {
		n += len(sl.rec.search)
	}
	var b strings.Builder
	b.Grow(n)
	for _, sl := range s.order {
		b.WriteString(sl.rec.search)
	}
	block := b.String()
	entries := 0
	for i := range s.order {
		sl := &s.order[i]
		r := sl.rec
		r.pos = i
		r.search, block = block[:len(r.search)], block[len(r.search):]
		*sl = slot{search: r.search, valid: r.user.Valid == backend.Valid, rec: r}
		entries += strings.Count(r.search, fieldSep)
	}
	s.unpacked = 0
	if !s.keepIndex {
		return
	}
	s.prefix = make([]prefixEntry, 0, entries)
	for _, sl := range s.order {
		segments(sl.search, func(v string) bool {
			if v != "" {
				s.prefix = append(s.prefix, prefixEntry{key: v, pos: int32(sl.rec.pos)})
			}
			return true
		})
	}
	sort.Slice(s.prefix, func(i, j int) bool { return s.prefix[i].key < s.prefix[j].key })
}
