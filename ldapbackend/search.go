package ldapbackend

import (
	"context"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Search, in two halves.
//
// The directory narrows: UserFilter, the group clause, validity, the
// identity criteria (Login, Email, CustomerID, compared by the attributes'
// caseIgnoreMatch rules, which fold case and compatibility forms, so they
// return every entry of the identity and possibly more) and, for search
// words, a candidate filter that cannot miss a match (see wordCandidates).
//
// The client decides: every candidate is checked in Go by the rules every
// backend shares (backend.IdentityKey for the identity criteria,
// backend.SearchFold for search words, the phrase also against the full
// name, backend.AfterLogin for Query.After), then ordered by
// backend.CompareLogins and cut to the limit.

// reachable is the set of runes that SearchFold produces from some other
// rune: an upper-case letter's lower-case form, the base letter of an
// accented one ("u" from "ü"), "s" from "ß", ";" from U+037E GREEK QUESTION
// MARK, and so on. A search word's rune outside this set matches only
// itself in a value, literally, in every directory; a rune inside it may
// stand for runes the directory's matching rules do not equate with it (no
// LDAP matching rule removes accents). Computed once, on first use (about
// 0.1 s), over the planes that hold every decomposable or case-folding
// character.
var reachable = sync.OnceValue(func() map[rune]bool {
	set := map[rune]bool{}
	for r := rune(0); r <= 0x2FFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		s := string(r)
		f := backend.SearchFold(s)
		if f == s {
			continue
		}
		for _, c := range f {
			if c != r {
				set[c] = true
			}
		}
	}
	return set
})

// literalRune reports whether a folded search word's rune r can be sent to
// the directory as a literal: it is not produced by folding any other rune,
// has no case, and is not white space (which LDAP string preparation
// collapses). Digits and most ASCII punctuation are; letters are not.
func literalRune(r rune) bool {
	if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Mn, r) {
		return false
	}
	if unicode.ToLower(r) != r || unicode.ToUpper(r) != r || unicode.SimpleFold(r) != r {
		return false
	}
	return !reachable()[r]
}

// wordCandidates gives the substring assertion pieces a value must contain,
// in order, when its SearchFold form contains the folded pattern p: the
// literal runes of p (literalRune), one per piece, because a value may hold
// characters that fold to nothing (combining marks) between any two of
// them. A pattern without literal runes gives nil: the directory cannot
// narrow, and every entry of the base filter is a candidate.
func wordCandidates(p backend.Pattern) []string {
	var pieces []string
	for _, part := range p.Parts {
		for _, r := range part {
			if literalRune(r) {
				pieces = append(pieces, string(r))
			}
		}
	}
	return pieces
}

// wordFilter is the candidate clause of one (folded) search word over the
// search fields, or "" when the directory cannot narrow.
func (b *Backend) wordFilter(p backend.Pattern) string {
	pieces := wordCandidates(p)
	if len(pieces) == 0 {
		return ""
	}
	esc := make([]string, len(pieces))
	for i, s := range pieces {
		esc[i] = ldap.EscapeFilter(s)
	}
	value := "*" + strings.Join(esc, "*") + "*"
	alts := make([]string, 0, len(b.cfg.SearchFields))
	for _, f := range b.cfg.SearchFields {
		alts = append(alts, "("+f+"="+value+")")
	}
	return or(alts)
}

// matcher checks a candidate entry by the shared rules. It is nil when the
// directory's answer needs no check (no criteria, no cursor).
type matcher struct {
	b      *Backend
	login  string // identity key, or pattern when loginP is set
	loginP *backend.Pattern
	email  string
	cid    string
	cidP   *backend.Pattern
	expr   backend.SearchExpr // folded
	after  string
}

func (b *Backend) newMatcher(q backend.Query, expr backend.SearchExpr) *matcher {
	m := &matcher{b: b, after: q.After}
	if l := strings.TrimSpace(q.Login); l != "" {
		if p := backend.NewPattern(backend.IdentityKey(l)); p.HasWildcard() {
			m.loginP = &p
		} else {
			m.login = p.Parts[0]
		}
	}
	if e := strings.TrimSpace(q.Email); e != "" {
		m.email = backend.IdentityKey(e)
	}
	if c := strings.TrimSpace(q.CustomerID); c != "" {
		if p := backend.NewPattern(backend.IdentityKey(c)); p.HasWildcard() {
			m.cidP = &p
		} else {
			m.cid = p.Parts[0]
		}
	}
	m.expr = expr.Fold()
	if m.login == "" && m.loginP == nil && m.email == "" && m.cid == "" && m.cidP == nil && m.expr.Empty() && m.after == "" {
		return nil
	}
	return m
}

// attrs lists what the check reads besides the login.
func (m *matcher) attrs() []string {
	b := m.b
	var out []string
	if m.email != "" {
		out = append(out, b.cfg.Attributes.Email)
	}
	if m.cid != "" || m.cidP != nil {
		out = append(out, b.cfg.CustomerIDAttribute, b.cfg.CustomerIDsAttribute)
	}
	if !m.expr.Empty() {
		out = append(out, b.cfg.SearchFields...)
		out = append(out, b.cfg.Attributes.FirstName, b.cfg.Attributes.LastName)
	}
	return out
}

// match checks entry e, whose login is login.
func (m *matcher) match(e *ldap.Entry, login string) bool {
	b := m.b
	if m.after != "" && !backend.AfterLogin(login, m.after) {
		return false
	}
	key := backend.IdentityKey(login)
	if m.loginP != nil && !m.loginP.Match(key, true, true) {
		return false
	}
	if m.login != "" && key != m.login {
		if backend.SearchFold(key) == backend.SearchFold(m.login) || strings.EqualFold(key, m.login) {
			b.log.Warn(backend.LogIdentityMismatch, "op", "search", "login", login)
		}
		return false
	}
	if m.email != "" && !m.anyValue(e, b.cfg.Attributes.Email, func(v string) bool { return backend.IdentityKey(v) == m.email }) {
		return false
	}
	if m.cid != "" || m.cidP != nil {
		ok := func(v string) bool {
			k := backend.IdentityKey(v)
			if m.cidP != nil {
				return m.cidP.Match(k, true, true)
			}
			return k == m.cid
		}
		hit := false
		if b.cfg.FixedCustomerID != "" {
			hit = ok(b.cfg.FixedCustomerID)
		} else {
			hit = m.anyValue(e, b.cfg.CustomerIDAttribute, ok) || m.anyValue(e, b.cfg.CustomerIDsAttribute, ok)
		}
		if !hit {
			return false
		}
	}
	if !m.expr.Empty() {
		var fields []string
		for _, f := range b.cfg.SearchFields {
			for _, v := range e.GetEqualFoldAttributeValues(f) {
				fields = append(fields, backend.SearchFold(v))
			}
		}
		if fn, ln := e.GetEqualFoldAttributeValue(b.cfg.Attributes.FirstName), e.GetEqualFoldAttributeValue(b.cfg.Attributes.LastName); fn != "" || ln != "" {
			fields = append(fields, backend.SearchFold(strings.TrimSpace(fn+" "+ln)))
		}
		if !m.expr.Match(fields, b.cfg.MatchPrefix) {
			return false
		}
	}
	return true
}

func (m *matcher) anyValue(e *ldap.Entry, attr string, ok func(string) bool) bool {
	if attr == "" {
		return false
	}
	for _, v := range e.GetEqualFoldAttributeValues(attr) {
		if ok(v) {
			return true
		}
	}
	return false
}

// hit is one match kept for the result: its login and DN.
type hit struct{ login, dn string }

// scan runs a paged search and gives every entry to fn, one page at a time:
// memory stays bounded by PageSize whatever the number of matches. start is
// called before each attempt (a retry on a fresh connection starts over). A
// search that ends with an error is a failure.
func (b *Backend) scan(ctx context.Context, filter string, attrs []string, start func(), fn func(*ldap.Entry)) error {
	return b.do(ctx, true, func(c *ldap.Conn) error {
		start()
		paging := ldap.NewControlPaging(uint32(b.cfg.PageSize))
		for {
			req := ldap.NewSearchRequest(b.cfg.BaseDN, b.cfg.Scope.ldap(), ldap.NeverDerefAliases,
				0, 0, false, filter, attrs, []ldap.Control{paging})
			res, err := c.Search(req)
			if err != nil {
				if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
					return nil
				}
				return err
			}
			for _, e := range res.Entries {
				fn(e)
			}
			ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
			if ctrl == nil || len(ctrl.Cookie) == 0 {
				return nil
			}
			paging.SetCookie(ctrl.Cookie)
		}
	})
}

func (b *Backend) searchUsers(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	expr, limit, err := backend.CheckQuery(q, backend.DefaultLimit)
	if err != nil {
		return nil, err
	}
	parts := b.baseFilter()
	if !q.IncludeInvalid {
		parts = append(parts, b.validOnly()...)
	}
	criteria, none := b.criteria(q, expr)
	if none {
		return []backend.CustomerUser{}, nil
	}
	parts = append(parts, criteria...)
	filter := and(parts)
	knownValid := !q.IncludeInvalid
	m := b.newMatcher(q, expr)
	// What is read of an entry: the mapped attributes and what the check
	// needs (a search field need not be mapped).
	read := b.attrs
	if m != nil {
		read = slices.Clone(b.attrs)
		for _, a := range m.attrs() {
			if a != "" && !slices.ContainsFunc(read, func(r string) bool { return strings.EqualFold(r, a) }) {
				read = append(read, a)
			}
		}
	}
	keep := func(e *ldap.Entry) (string, bool) {
		login := e.GetEqualFoldAttributeValue(b.cfg.LoginAttribute)
		if login == "" {
			return "", false
		}
		return login, m == nil || m.match(e, login)
	}

	// Most searches (a name, a customer ID) have few candidates: one plain
	// search, capped at limit+1 entries (never more than MaxLimit+1), reads
	// them whole.
	entries, err := b.searchMode(ctx, filter, read, false, limit+1)
	if err == nil && len(entries) <= limit {
		kept := entries[:0]
		for _, e := range entries {
			if _, ok := keep(e); ok {
				kept = append(kept, e)
			}
		}
		users, err := b.users(ctx, kept, filter, knownValid)
		if err != nil {
			return nil, err
		}
		backend.SortByLogin(users)
		return users, nil
	}
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, err
	}
	// More candidates than the limit. First every candidate's login and DN
	// (from the DN alone when the login is the RDN: go-ldap allocates about
	// 3 KB per entry for a DN, 6 KB with one attribute), in login order;
	// then candidates are read whole in that order, a batch at a time, and
	// checked, until limit users matched.
	users, ok, err := b.pickInOrder(ctx, filter, read, q, m, limit, knownValid, true)
	if err == nil && !ok {
		// An entry whose login is not its RDN value: order by the
		// attribute instead.
		users, _, err = b.pickInOrder(ctx, filter, read, q, m, limit, knownValid, false)
	}
	return users, err
}

// pickInOrder gives the first limit users in login order that pass m (see
// searchUsers), reading the attributes read of each. fromDN takes each candidate's login from its DN; ok is
// false when a login read whole differs from it (then nothing is returned).
func (b *Backend) pickInOrder(ctx context.Context, filter string, read []string, q backend.Query, m *matcher, limit int, knownValid, fromDN bool) ([]backend.CustomerUser, bool, error) {
	fromDN = fromDN && strings.EqualFold(b.cfg.RDNAttribute, b.cfg.LoginAttribute)
	attrs := []string{b.cfg.LoginAttribute}
	if fromDN {
		attrs = []string{"1.1"} // no attributes: the DN only
	}
	var cands []hit
	err := b.scan(ctx, filter, attrs, func() { cands = cands[:0] }, func(e *ldap.Entry) {
		var login string
		if fromDN {
			login = rdnValue(e.DN, b.cfg.LoginAttribute)
		} else {
			login = e.GetEqualFoldAttributeValue(b.cfg.LoginAttribute)
		}
		if login != "" && (q.After == "" || backend.AfterLogin(login, q.After)) {
			cands = append(cands, hit{login, e.DN})
		}
	})
	if err != nil {
		return nil, false, err
	}
	slices.SortStableFunc(cands, func(a, b hit) int { return backend.CompareLogins(a.login, b.login) })
	users := make([]backend.CustomerUser, 0, min(limit, len(cands)))
	for start := 0; start < len(cands) && len(users) < limit; {
		// Without checks every candidate is a user; with them, read ahead.
		n := limit - len(users)
		if m != nil {
			n = max(2*n, 20)
		}
		n = min(n, 50, len(cands)-start)
		chunk := cands[start : start+n]
		start += n
		pos := make(map[string]int, len(chunk))
		alts := make([]string, 0, len(chunk))
		for i, h := range chunk {
			pos[normDN(h.dn)] = i
			alts = append(alts, "("+b.cfg.LoginAttribute+"="+ldap.EscapeFilter(h.login)+")")
		}
		bf := and([]string{filter, or(alts)})
		full, err := b.searchMode(ctx, bf, read, true, 0)
		if err != nil {
			return nil, false, err
		}
		ordered := make([]*ldap.Entry, len(chunk))
		for _, e := range full {
			if i, ok := pos[normDN(e.DN)]; ok {
				ordered[i] = e
			}
		}
		kept := make([]*ldap.Entry, 0, len(chunk))
		for i, e := range ordered {
			if e == nil {
				continue // gone since the scan
			}
			login := e.GetEqualFoldAttributeValue(b.cfg.LoginAttribute)
			if backend.CompareLogins(login, chunk[i].login) != 0 {
				return nil, false, nil
			}
			if m == nil || m.match(e, login) {
				kept = append(kept, e)
			}
		}
		us, err := b.users(ctx, kept, bf, knownValid)
		if err != nil {
			return nil, false, err
		}
		users = append(users, us...)
	}
	if len(users) > limit {
		users = users[:limit]
	}
	return users, true, nil
}

// rdnValue gives the value of attr in the first RDN of dn, or "" when the
// first RDN is of another attribute. The common form (attr=value, no
// escapes, no multi-valued RDN) is read without parsing the whole DN.
func rdnValue(dn, attr string) string {
	if len(dn) > len(attr) && dn[len(attr)] == '=' && strings.EqualFold(dn[:len(attr)], attr) {
		rest := dn[len(attr)+1:]
		end := strings.IndexAny(rest, ",+\\\"")
		if end >= 0 && rest[end] == ',' {
			return rest[:end]
		}
		if end < 0 {
			return rest
		}
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 {
		return ""
	}
	for _, a := range parsed.RDNs[0].Attributes {
		if strings.EqualFold(a.Type, attr) {
			return a.Value
		}
	}
	return ""
}
