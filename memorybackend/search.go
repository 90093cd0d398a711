package memorybackend

import (
	"context"
	"math/bits"
	"slices"
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
	login          backend.Pattern // identity key; nil Parts = no criterion
	loginExact     bool
	customerID     backend.Pattern
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
	if l := backend.FoldKey(q.Login); l != "" {
		m.login = backend.NewPattern(l)
		m.loginExact = !m.login.HasWildcard()
	}
	if c := backend.FoldKey(q.CustomerID); c != "" {
		m.customerID = backend.NewPattern(c)
		m.customerExact = !m.customerID.HasWildcard()
	}
	if e := backend.FoldKey(q.Email); e != "" {
		m.email, m.hasEmail = e, true
	}
	if q.After != "" {
		m.after = backend.IdentityKey(q.After)
	}
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
	if m.after != "" && r.loginKey <= m.after {
		return false
	}
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
	return m.customerID.Parts == nil || m.matchCustomerID(&r.user)
}

func (m *matcher) matchCustomerID(u *backend.CustomerUser) bool {
	one := func(id string) bool {
		id = backend.IdentityKey(id)
		if m.customerExact {
			return id == m.customerID.Parts[0]
		}
		return m.customerID.Match(id, true, true)
	}
	if one(u.CustomerID) {
		return true
	}
	for _, id := range u.CustomerIDs {
		if one(id) {
			return true
		}
	}
	return false
}

// Search returns the users matching q, ordered by login (backend.CompareLogins),
// after q.After when it is set, at most q.Limit (or the configured default).
// Search words are matched against the configured search fields, case- and
// accent-insensitively (backend.SearchFold), as substrings, or as prefixes
// with MatchPrefix.
//
// The cheapest access path is chosen: the login or email index for exact
// Login or Email criteria, in prefix mode the sorted prefix index for the
// most selective word, otherwise a scan in login order that stops at the limit.
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
	var hits []*record
	switch {
	case m.loginExact:
		if r := b.s.byLogin[m.login.Parts[0]]; r != nil && m.match(&b.s.order[r.pos]) {
			hits = append(hits, r)
		}
	case m.hasEmail:
		for _, r := range b.s.byEmail[m.email] {
			if m.match(&b.s.order[r.pos]) {
				hits = append(hits, r)
			}
		}
		slices.SortFunc(hits, func(x, y *record) int { return x.pos - y.pos })
		hits = hits[:min(len(hits), limit)]
	default:
		if hits, err = b.searchIndexed(ctx, m, limit); err != nil {
			return nil, b.fail(op, err)
		}
		if hits == nil {
			if hits, err = b.scan(ctx, m, limit); err != nil {
				return nil, b.fail(op, err)
			}
		}
	}
	out := make([]backend.CustomerUser, len(hits))
	for i, r := range hits {
		out[i] = b.out(r)
	}
	return out, nil
}

// scan walks the users in login order, from the keyset cursor on, and stops
// at the limit.
func (b *Backend) scan(ctx context.Context, m *matcher, limit int) ([]*record, error) {
	hits := make([]*record, 0, min(limit, 64))
	order := b.s.order
	if m.after != "" {
		order = order[b.s.orderIndex(m.after):]
	}
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
func (b *Backend) searchIndexed(ctx context.Context, m *matcher, limit int) ([]*record, error) {
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
		set[e.pos>>6] |= 1 << (uint(e.pos) & 63)
	}
	checked := 0
	first := 0
	if m.after != "" {
		first = b.s.orderIndex(m.after) >> 6 // whole words before the cursor hold no hit
	}
	for w := first; w < len(set); w++ {
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
