package memorybackend

import (
	"context"
	"math/bits"
	"sort"
	"strings"
	"sync"

	"github.com/helpdeskkit/customeruser/backend"
)

// ctxCheckEvery is how many users a scan looks at between checks of its context.
const ctxCheckEvery = 4096

// term is one compiled word of a search.
type term struct {
	negate bool
	// never is set for a word that cannot match any field (it contains the
	// field separator, NUL, which stored text never holds).
	never bool
	// needle, when the word has no wildcard, is what strings.Contains looks
	// for in record.search: the word, or in prefix mode fieldSep+word.
	needle string
	pat    backend.Pattern // folded (backend.SearchFold), for words with wildcards
	wild   bool
}

// matcher is a compiled Query.
type matcher struct {
	prefix         bool
	includeInvalid bool
	terms          []term
	login          backend.Pattern // identity keys; nil Parts = no criterion
	loginExact     bool
	customerID     backend.Pattern // identity keys; nil Parts = no criterion
	customerExact  bool
	email          string // identity key; "" = no criterion
	hasEmail       bool
	after          string // identity key of Query.After; "" = from the start
}

func compile(q backend.Query, expr backend.SearchExpr, prefix bool) *matcher {
	m := &matcher{prefix: prefix, includeInvalid: q.IncludeInvalid}
	for _, t := range expr.Fold().Terms {
		c := term{negate: t.Negate, pat: t.Pattern, wild: t.Pattern.HasWildcard()}
		for _, p := range t.Pattern.Parts {
			if strings.Contains(p, fieldSep) {
				c.never = true
			}
		}
		if !c.wild {
			c.needle = t.Pattern.Parts[0]
			if prefix {
				c.needle = fieldSep + c.needle
			}
		}
		m.terms = append(m.terms, c)
	}
	if l := backend.IdentityKey(q.Login); l != "" {
		m.login = backend.NewPattern(l)
		m.loginExact = !m.login.HasWildcard()
	}
	if c := backend.IdentityKey(q.CustomerID); c != "" {
		m.customerID = backend.NewPattern(c)
		m.customerExact = !m.customerID.HasWildcard()
	}
	if e := backend.IdentityKey(q.Email); e != "" {
		m.email, m.hasEmail = e, true
	}
	m.after = backend.IdentityKey(q.After)
	return m
}

// matchTerm reports whether the word matches one of the record's search fields.
func (m *matcher) matchTerm(t *term, search string) bool {
	if t.never {
		return false
	}
	if !t.wild {
		return strings.Contains(search, t.needle)
	}
	hit := false
	segments(search, func(v string) bool {
		hit = t.pat.Match(v, m.prefix, false)
		return !hit
	})
	return hit
}

// match evaluates every criterion against the user in sl.
func (m *matcher) match(sl *slot) bool {
	if !m.includeInvalid && !sl.valid {
		return false
	}
	for i := range m.terms {
		t := &m.terms[i]
		if m.matchTerm(t, sl.search) == t.negate {
			return false
		}
	}
	r := sl.rec
	if m.hasEmail && r.emailKey != m.email {
		return false
	}
	if m.login.Parts != nil {
		if m.loginExact {
			if r.loginKey != m.login.Parts[0] {
				return false
			}
		} else if !m.login.Match(r.loginKey, true, true) {
			return false
		}
	}
	return m.customerID.Parts == nil || m.matchCustomerID(r)
}

func (m *matcher) matchCustomerID(r *record) bool {
	for _, k := range r.custKeys {
		if m.customerExact && k == m.customerID.Parts[0] || !m.customerExact && m.customerID.Match(k, true, true) {
			return true
		}
	}
	return false
}

// Search returns the users matching q, in login order (backend.CompareLogins),
// after q.After when it is set, at most q.Limit (or the configured default).
// Search words are folded (case and accents, backend.SearchFold) and matched
// against the configured search fields, folded once when a user is stored,
// as substrings, or as prefixes with MatchPrefix.
//
// The cheapest access path is chosen: the login, email or customer-ID index
// for exact Login, Email or CustomerID criteria, in prefix mode the sorted
// prefix index for the most selective word, otherwise a scan in login order
// that stops at the limit. Every path starts at q.After's place in login
// order (a binary search), never at the first user.
func (b *Backend) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	const op = "search"
	if err := b.begin(ctx, false); err != nil {
		return nil, b.fail(op, err)
	}
	expr, limit, err := backend.CheckQuery(q, b.cfg.defaultLimit)
	if err != nil {
		return nil, b.fail(op, err)
	}
	m := compile(q, expr, b.cfg.prefix)
	for i := range m.terms {
		if t := &m.terms[i]; t.never && !t.negate {
			return []backend.CustomerUser{}, nil
		}
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	start := b.s.start(m.after)
	var hits []*record
	switch {
	case m.loginExact:
		if r := b.s.byLogin[m.login.Parts[0]]; r != nil && r.pos >= start && m.match(&b.s.order[r.pos]) {
			hits = append(hits, r)
		}
	case m.hasEmail:
		hits, err = b.walk(ctx, m, from(b.s.byEmail[m.email], start), limit)
	case m.customerExact:
		hits, err = b.walk(ctx, m, from(b.s.byCustomer[m.customerID.Parts[0]], start), limit)
	default:
		if hits, err = b.searchIndexed(ctx, m, start, limit); err == nil && hits == nil {
			hits, err = b.scan(ctx, m, start, limit)
		}
	}
	if err != nil {
		return nil, b.fail(op, err)
	}
	out := make([]backend.CustomerUser, len(hits))
	for i, r := range hits {
		out[i] = b.out(r)
	}
	return out, nil
}

// start is the position in order of the first login after the cursor with
// identity key after ("" = 0).
func (s *store) start(after string) int {
	if after == "" {
		return 0
	}
	return sort.Search(len(s.order), func(i int) bool { return s.order[i].rec.loginKey > after })
}

// walk checks the users of an index list (in login order) and stops at the limit.
func (b *Backend) walk(ctx context.Context, m *matcher, list []*record, limit int) ([]*record, error) {
	hits := make([]*record, 0, min(limit, len(list)))
	for i, r := range list {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if m.match(&b.s.order[r.pos]) {
			hits = append(hits, r)
			if len(hits) == limit {
				break
			}
		}
	}
	return hits, nil
}

// scan walks the users in login order from start and stops at the limit.
func (b *Backend) scan(ctx context.Context, m *matcher, start, limit int) ([]*record, error) {
	hits := make([]*record, 0, min(limit, 64))
	order := b.s.order[start:]
	for i := range order {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if sl := &order[i]; m.match(sl) {
			hits = append(hits, sl.rec)
			if len(hits) == limit {
				break
			}
		}
	}
	return hits, nil
}

// bitsetPool recycles the candidate sets of indexed searches.
var bitsetPool = sync.Pool{New: func() any { return new([]uint64) }}

// searchIndexed answers q from the prefix index when a positive word with a
// literal start narrows the users down to a small enough candidate set. It
// returns nil hits when a scan is the better plan.
//
// The candidates are marked in a bitset over login positions, so walking the
// set visits them in result order and can stop at the limit without sorting.
func (b *Backend) searchIndexed(ctx context.Context, m *matcher, start, limit int) ([]*record, error) {
	if !b.s.keepIndex {
		return nil, nil
	}
	lo, hi, found := 0, 0, false
	for i := range m.terms {
		t := &m.terms[i]
		if t.negate || t.pat.Parts[0] == "" {
			continue
		}
		l, h := b.s.prefixRange(t.pat.Parts[0])
		if !found || h-l < hi-lo {
			lo, hi, found = l, h, true
		}
	}
	n := len(b.s.order)
	// A dense word: the login-ordered scan reaches the limit quickly.
	if !found || (hi-lo) > n/8 {
		return nil, nil
	}
	hits := make([]*record, 0, min(limit, hi-lo))
	if hi == lo {
		return hits, nil
	}
	words := (n + 63) / 64
	bp := bitsetPool.Get().(*[]uint64)
	set := *bp
	if cap(set) < words {
		set = make([]uint64, words)
	}
	set = set[:words]
	defer func() {
		clear(set)
		*bp = set
		bitsetPool.Put(bp)
	}()
	for _, e := range b.s.prefix[lo:hi] {
		if int(e.pos) >= start {
			set[e.pos>>6] |= 1 << (uint(e.pos) & 63)
		}
	}
	checked := 0
	for w := start >> 6; w < len(set); w++ {
		word := set[w]
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &^= 1 << bit
			if checked++; checked%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			if sl := &b.s.order[w<<6|bit]; m.match(sl) {
				hits = append(hits, sl.rec)
				if len(hits) == limit {
					return hits, nil
				}
			}
		}
	}
	return hits, nil
}
