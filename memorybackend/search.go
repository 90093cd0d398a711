package memorybackend

import (
	"context"
	"slices"
	"strings"

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
	// need holds the bits every matching slot's mask has (charMask of the
	// positive words, validBit unless IncludeInvalid).
	need uint64
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
		if !c.negate && !c.never {
			m.need |= termMask(t.Pattern, prefix)
		}
	}
	if !m.includeInvalid {
		m.need |= validBit
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

// termMask is the charMask bits a slot must have for the folded pattern
// to match it.
func termMask(p backend.Pattern, prefix bool) uint64 {
	if prefix {
		if p.Parts[0] == "" {
			return 0
		}
		return charBit(p.Parts[0][0])
	}
	var m uint64
	for _, part := range p.Parts {
		m |= charMask(part, false)
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

// match evaluates every criterion against the user r, whose search string
// and validity are given (from a slot of the scan, or from r itself).
func (m *matcher) match(search string, valid bool, r *record) bool {
	if !m.includeInvalid && !valid {
		return false
	}
	for i := range m.terms {
		t := &m.terms[i]
		if m.matchTerm(t, search) == t.negate {
			return false
		}
	}
	if m.hasEmail && r.emailKey() != m.email {
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

// matchRec is match for a record reached through an index.
func (m *matcher) matchRec(r *record) bool {
	return m.match(r.search, r.user.Valid == backend.Valid, r)
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
// for exact Login, Email or CustomerID criteria; for a selective word the
// prefix index (MatchPrefix) or the trigram index (NGramIndex), whose
// candidates are checked and put in login order; otherwise a scan in login
// order that stops at the limit. Every path starts at q.After's place in
// login order (a seek), never at the first user.
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
		if r := b.s.byLogin[m.login.Parts[0]]; r != nil && (m.after == "" || r.loginKey > m.after) && m.matchRec(r) {
			hits = append(hits, r)
		}
	case m.hasEmail:
		hits, err = b.walk(ctx, m, from(b.s.emails(m.email), m.after), limit)
	case m.customerExact:
		hits, err = b.walk(ctx, m, from(b.s.byCustomer[m.customerID.Parts[0]], m.after), limit)
	default:
		var indexed bool
		if hits, indexed, err = b.searchIndexed(ctx, m, limit); err == nil && !indexed {
			hits, err = b.scan(ctx, m, limit)
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

// start is the position in order of the first login after the cursor m.after.
func (b *Backend) start(m *matcher) cursor {
	if m.after == "" {
		return cursor{}
	}
	return b.s.orderSeek(m.after, true)
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
		if m.matchRec(r) {
			hits = append(hits, r)
			if len(hits) == limit {
				break
			}
		}
	}
	return hits, nil
}

// scan walks the users in login order from the cursor and stops at the limit.
func (b *Backend) scan(ctx context.Context, m *matcher, limit int) ([]*record, error) {
	hits, _, err := b.scanBudget(ctx, m, limit, -1)
	return hits, err
}

// scanBudget is scan that gives up after budget users (-1: no budget);
// complete reports whether it met the limit or the last user.
func (b *Backend) scanBudget(ctx context.Context, m *matcher, limit, budget int) ([]*record, bool, error) {
	hits := make([]*record, 0, min(limit, 64))
	var err error
	i, complete := 0, true
	b.s.order.ascend(b.start(m), func(sl *slot) bool {
		if i++; i%ctxCheckEvery == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		if i == budget {
			complete = false
			return false
		}
		if sl.mask&m.need == m.need && m.match(sl.search, sl.mask&validBit != 0, sl.rec) {
			hits = append(hits, sl.rec)
			return len(hits) < limit
		}
		return true
	})
	if err != nil {
		return nil, false, err
	}
	return hits, complete, nil
}

// searchIndexed answers q from the prefix index or the trigram index when
// a positive word narrows the users down to few enough candidates. It
// reports false when a scan is the better plan.
func (b *Backend) searchIndexed(ctx context.Context, m *matcher, limit int) ([]*record, bool, error) {
	n := b.s.len()
	// The prefix index: the range of the positive word with the fewest entries.
	var lo cursor
	best := -1
	if b.s.keepIndex {
		for i := range m.terms {
			t := &m.terms[i]
			if t.negate || t.pat.Parts[0] == "" {
				continue
			}
			l, h := b.s.prefixRange(t.pat.Parts[0])
			if c := b.s.prefix.distance(l, h); best < 0 || c < best {
				lo, best = l, c
			}
		}
	}
	// The trigram index: the literals of the positive words.
	var lits []string
	grams := -1
	if b.s.ngram != nil {
		for i := range m.terms {
			t := &m.terms[i]
			if t.negate {
				continue
			}
			if !t.wild {
				lits = append(lits, t.needle)
				continue
			}
			for j, p := range t.pat.Parts {
				if j == 0 && m.prefix && p != "" {
					p = fieldSep + p
				}
				lits = append(lits, p)
			}
		}
		if c, ok := b.s.ngram.estimate(lits); ok {
			grams = c
		}
	}
	if grams > n/4 {
		grams = -1 // a frequent trigram: intersecting long lists is no gain
	}
	switch {
	case grams >= 0 && (best < 0 || grams < best):
		if grams == 0 {
			return []*record{}, true, nil
		}
		ids := b.s.ngram.candidates(lits)
		cands := make([]*record, 0, len(ids))
		for _, id := range ids {
			if r := b.s.ngram.ids.get(id); r != nil {
				cands = append(cands, r)
			}
		}
		hits, err := b.plan(ctx, m, len(cands), limit, func(k int) []*record {
			if k < 0 {
				return cands
			}
			return cands[:min(k, len(cands))]
		})
		return hits, true, err
	case best >= 0:
		if best == 0 {
			return []*record{}, true, nil
		}
		hits, err := b.plan(ctx, m, best, limit, func(k int) []*record {
			if k < 0 || k > best {
				k = best
			}
			cands := make([]*record, 0, k)
			b.s.prefix.ascend(lo, func(e *prefixEntry) bool {
				if len(cands) == k {
					return false
				}
				cands = append(cands, e.rec)
				return true
			})
			return cands
		})
		return hits, true, err
	}
	return nil, false, nil
}

// plan answers from c index candidates or from a scan in login order,
// whichever is cheaper; cands(k) gives the first k candidates (k < 0: all).
//
// Checking a candidate costs about as much as scanning 8 users (cache
// misses on the record and its string, and a share of the sort, against an
// AND on a sequential slot and rarely a strings.Contains: BenchmarkScale).
// When checking them would cost as much as scanning every user (8c >= n),
// the scan runs. Otherwise the first candidates are checked as a sample: with h
// hits estimated among the c candidates, a scan meets the limit after about
// limit*n/h users. When that is the cheaper plan the scan runs, bounded to
// twice the estimate (hits may sit late in login order, which no sample
// tells), and the candidates are checked only when it does not finish.
func (b *Backend) plan(ctx context.Context, m *matcher, c, limit int, cands func(k int) []*record) ([]*record, error) {
	const candidateCost, sampleSize = 8, 64
	n := b.s.len()
	switch {
	case c <= b.s.fewCandidates:
		return b.finish(ctx, m, cands(-1), limit)
	case candidateCost*c >= n:
		return b.scan(ctx, m, limit)
	}
	sample := cands(sampleSize)
	hits := 0
	for _, r := range sample {
		if m.matchRec(r) {
			hits++
		}
	}
	if est := hits * c / len(sample); est > 0 {
		if need := limit * n / est; need < candidateCost*c {
			hits, complete, err := b.scanBudget(ctx, m, limit, 2*need+1024)
			if err != nil || complete {
				return hits, err
			}
		}
	}
	return b.finish(ctx, m, cands(-1), limit)
}

// finish checks the candidates (in any order, possibly repeated) and
// returns the first limit hits in login order. The hits are sorted on the
// first 8 bytes of their login keys, kept beside them, so that the sort
// reads a record again only on a tie.
func (b *Backend) finish(ctx context.Context, m *matcher, cands []*record, limit int) ([]*record, error) {
	type hit struct {
		pfx uint64
		r   *record
	}
	var hits []hit
	for i, r := range cands {
		if i%ctxCheckEvery == ctxCheckEvery-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if (m.after == "" || r.loginKey > m.after) && m.matchRec(r) {
			hits = append(hits, hit{keyPrefix(r.loginKey), r})
		}
	}
	slices.SortFunc(hits, func(x, y hit) int {
		if x.pfx != y.pfx {
			if x.pfx < y.pfx {
				return -1
			}
			return 1
		}
		return strings.Compare(x.r.loginKey, y.r.loginKey)
	})
	out := cands[:0]
	for i, h := range hits {
		if len(out) == limit {
			break
		}
		if i == 0 || h.r != hits[i-1].r {
			out = append(out, h.r)
		}
	}
	clear(cands[len(out):])
	return out, nil
}
