package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// Backend is a customer-user store in an LDAP directory. It is safe for
// concurrent use; Close releases its connections.
type Backend struct {
	cfg    Config
	dialer *dialer
	pool   *pool
	log    *slog.Logger
	attrs  []string // attributes requested on every read
	// timer makes every refused login take as long as a wrong password.
	timer backend.RefusalTimer
	// locks serialises the uniqueness check and the write of one login or
	// email identity within this Backend.
	locks keyLocks
	// noAssertion is set once the directory refused the Assertion control.
	noAssertion atomic.Bool
}

var _ backend.CustomerUserBackend = (*Backend)(nil)

// New checks cfg, applies the defaults and returns a Backend. It does not
// connect: connections are opened on first use, so New succeeds while the
// directory is down.
func New(cfg Config) (*Backend, error) {
	cfg, servers, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	d := &dialer{
		log:         backend.Logger(cfg.Logger, cfg.Name),
		servers:     servers,
		startTLS:    cfg.StartTLS,
		dialTimeout: cfg.DialTimeout,
		now:         time.Now,
		state:       make([]urlState, len(servers)),
	}
	b := &Backend{
		cfg:    cfg,
		dialer: d,
		pool:   newPool(d, cfg.PoolSize, cfg.BindDN, cfg.BindPassword),
		log:    backend.Logger(cfg.Logger, cfg.Name),
	}
	if cfg.TLS.InsecureSkipVerifyDangerous {
		b.log.Warn("ldapbackend: TLS certificate verification is OFF (InsecureSkipVerifyDangerous); passwords can be intercepted")
	}
	b.attrs = b.readAttributes()
	return b, nil
}

// Close closes the idle connections and makes every later call fail;
// connections in use are closed when their call ends.
func (b *Backend) Close() error {
	b.pool.close()
	return nil
}

// Name returns the configured name.
func (b *Backend) Name() string { return b.cfg.Name }

// String names the backend and nothing else: no stored hash, bind password
// or connection secret is ever printed, whatever the verb (%v, %+v, %#v).
func (b *Backend) String() string { return "ldapbackend.Backend(" + strconv.Quote(b.Name()) + ")" }

// GoString is String for %#v.
func (b *Backend) GoString() string { return b.String() }

// ReadOnly reports whether writes are refused.
func (b *Backend) ReadOnly() bool { return *b.cfg.ReadOnly }

// opErr wraps err with the backend name and op, logging an unavailable
// directory (backend.LogUnavailable).
func (b *Backend) opErr(op string, err error) error {
	if errors.Is(err, backend.ErrUnavailable) {
		b.log.Warn(backend.LogUnavailable, "op", op, "error", err)
	}
	return backend.OpError(b.cfg.Name, op, err)
}

// do runs fn on a pooled service connection, honouring ctx. A network error
// discards the connection; when retry is set, fn runs once more on a fresh
// connection (the pool replaces dead connections of a restarted server).
func (b *Backend) do(ctx context.Context, retry bool, fn func(c *ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, err := b.pool.get(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, errPoolClosed) {
				return classify(ctx, err)
			}
			var be *bindError
			if errors.As(err, &be) {
				return err
			}
			return unavailable(err)
		}
		// RequestTimeout bounds the call: when it passes, watch closes the
		// connection, which ends the operation.
		rctx, cancel := context.WithTimeout(ctx, b.cfg.RequestTimeout)
		err = watch(rctx, c, func() error { return fn(c) })
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
		// A connection the server dropped reports odd errors (EOF while
		// reading, "connection closed"); IsClosing tells them apart.
		broken := err != nil && (isNetwork(err) || c.IsClosing())
		b.pool.put(c, broken || timedOut || ctx.Err() != nil)
		if ctx.Err() != nil {
			return classify(ctx, err)
		}
		if timedOut {
			// Not retried: that could double the wait.
			return unavailable(fmt.Errorf("no answer within RequestTimeout %v", b.cfg.RequestTimeout))
		}
		if broken {
			if retry && attempt == 0 {
				continue
			}
			return unavailable(err)
		}
		return err
	}
}

// readAttributes lists what every read asks for: the mapped attributes and
// the operational timestamps (which are only returned when named).
func (b *Backend) readAttributes() []string {
	a := b.cfg.Attributes
	var out []string
	seen := map[string]bool{}
	for _, n := range []string{b.cfg.LoginAttribute, a.Title, a.FirstName, a.LastName, a.Email, a.Phone,
		a.Fax, a.Mobile, a.Street, a.Zip, a.City, a.Country, a.Comment,
		b.cfg.CustomerIDAttribute, b.cfg.CustomerIDsAttribute, b.cfg.ValidAttribute,
		b.accountControlAttr(), b.upnAttr(), b.usnAttr(), "createTimestamp", "modifyTimestamp", "entryCSN"} {
		if n != "" && !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, n)
		}
	}
	for _, n := range b.cfg.ExtraAttributes {
		if n != "" && !seen[strings.ToLower(n)] {
			seen[strings.ToLower(n)] = true
			out = append(out, n)
		}
	}
	return out
}

// search runs a paged search below BaseDN on a service connection. A search
// that ends with an error (a size limit included) fails: a partial result is
// never returned.
func (b *Backend) search(ctx context.Context, filter string, attrs []string) ([]*ldap.Entry, error) {
	return b.searchMode(ctx, filter, attrs, true, 0)
}

// searchMode is search; paged false sends one plain request (for lookups of
// one login, where a size limit cannot bite and paging only costs), with
// sizeLimit entries at most (0: no limit of ours).
func (b *Backend) searchMode(ctx context.Context, filter string, attrs []string, paged bool, sizeLimit int) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := b.do(ctx, true, func(c *ldap.Conn) error {
		// A fresh request per attempt: SearchWithPaging keeps its cookie in the request.
		req := ldap.NewSearchRequest(b.cfg.BaseDN, b.cfg.Scope.ldap(), ldap.NeverDerefAliases,
			sizeLimit, 0, false, filter, attrs, nil)
		var res *ldap.SearchResult
		var err error
		if paged {
			res, err = c.SearchWithPaging(req, uint32(b.cfg.PageSize))
		} else {
			res, err = c.Search(req)
		}
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				entries = nil
				return nil
			}
			n := 0
			if res != nil {
				n = len(res.Entries)
			}
			return fmt.Errorf("search failed after %d entries: %w", n, err)
		}
		entries = res.Entries
		return nil
	})
	return entries, err
}

// baseFilter is UserFilter ANDed with the group clause.
func (b *Backend) baseFilter() []string {
	parts := []string{b.cfg.UserFilter}
	if b.cfg.GroupDN != "" {
		parts = append(parts, "("+b.cfg.GroupMemberAttribute+"="+ldap.EscapeFilter(b.cfg.GroupDN)+")")
	}
	return parts
}

// validOnly is the clause selecting valid entries (empty: no restriction).
func (b *Backend) validOnly() []string {
	var parts []string
	if b.cfg.ValidFilter != "" {
		parts = append(parts, b.cfg.ValidFilter)
	}
	if b.cfg.AccountControl {
		parts = append(parts, enabledOnly)
	} else if b.cfg.ValidAttribute != "" {
		a := b.cfg.ValidAttribute
		parts = append(parts, "(|("+a+"=1)(!("+a+"=*)))")
	}
	return parts
}

func and(parts []string) string {
	if len(parts) == 1 {
		return parts[0]
	}
	return "(&" + strings.Join(parts, "") + ")"
}

// users maps entries to users, working out validity. When ValidFilter is
// set and the entries were not already restricted to valid ones, a second
// search with the same filter ANDed with ValidFilter tells which are valid.
func (b *Backend) users(ctx context.Context, entries []*ldap.Entry, filter string, knownValid bool) ([]backend.CustomerUser, error) {
	var valid map[string]bool
	if b.cfg.ValidFilter != "" && !knownValid && len(entries) > 0 {
		valid = make(map[string]bool, len(entries))
		// Only these entries are asked about (filter may be a broad
		// candidate filter): by DN for one, by login for a batch.
		const batch = 50
		for start := 0; start < len(entries); start += batch {
			chunk := entries[start:min(start+batch, len(entries))]
			var ventries []*ldap.Entry
			var err error
			if len(chunk) == 1 {
				ventries, err = b.baseSearch(ctx, chunk[0].DN, b.cfg.ValidFilter)
			} else {
				alts := make([]string, 0, len(chunk))
				for _, e := range chunk {
					alts = append(alts, "("+b.cfg.LoginAttribute+"="+ldap.EscapeFilter(e.GetEqualFoldAttributeValue(b.cfg.LoginAttribute))+")")
				}
				parts := append(b.baseFilter(), b.cfg.ValidFilter, or(alts))
				if filter != "" {
					parts = []string{filter, b.cfg.ValidFilter, or(alts)}
				}
				ventries, err = b.search(ctx, and(parts), []string{"1.1"})
			}
			if err != nil {
				return nil, err
			}
			for _, e := range ventries {
				valid[normDN(e.DN)] = true
			}
		}
	}
	out := make([]backend.CustomerUser, 0, len(entries))
	for _, e := range entries {
		u := b.entryUser(e)
		if u.Login == "" {
			continue // not a usable customer user
		}
		if valid != nil && !valid[normDN(e.DN)] && u.Valid == backend.Valid {
			u.Valid = backend.Invalid
		}
		out = append(out, u)
	}
	return out, nil
}

// baseSearch reads one entry by DN if it matches filter.
func (b *Backend) baseSearch(ctx context.Context, dn, filter string) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := b.do(ctx, true, func(c *ldap.Conn) error {
		req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false, filter, []string{"1.1"}, nil)
		res, err := c.Search(req)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return nil
			}
			return err
		}
		entries = res.Entries
		return nil
	})
	return entries, err
}

func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

// findEntries returns the entries whose login is the identity of login
// (backend.IdentityKey), ignoring validity. The directory's matching rule
// (caseIgnoreMatch folds case, width and compatibility forms) may return
// more: those are dropped here (backend.LogIdentityMismatch).
func (b *Backend) findEntries(ctx context.Context, op, login string, attrs []string) ([]*ldap.Entry, error) {
	return b.findEntriesBy(ctx, op, b.cfg.LoginAttribute, login, attrs)
}

// findEntriesBy is findEntries looking login up in attr.
func (b *Backend) findEntriesBy(ctx context.Context, op, attr, login string, attrs []string) ([]*ldap.Entry, error) {
	f := and(append(b.baseFilter(), identityClause(attr, login)))
	entries, err := b.searchMode(ctx, f, attrs, false, 0)
	if err != nil {
		return nil, err
	}
	key := backend.IdentityKey(login)
	out := entries[:0]
	for _, e := range entries {
		if got := e.GetEqualFoldAttributeValue(attr); backend.IdentityKey(got) == key {
			out = append(out, e)
		} else {
			b.log.Warn(backend.LogIdentityMismatch, "op", op, "login", login)
		}
	}
	return out, nil
}

// identityClause selects the entries whose attr may hold the identity of
// value: equal to value, or to its identity key, by the attribute's
// equality rule. caseIgnoreMatch folds case, width and compatibility forms
// (RFC 4518), so it finds every spelling of the identity, with two
// exceptions the key and a variant cover: OpenLDAP keeps the final sigma ς
// apart from σ, so the key (which folds both to σ) and the key with final
// sigmas are asked for too. The client then keeps only the entries of the
// identity (backend.IdentityKey).
func identityClause(attr, value string) string {
	if isASCII(value) { // ASCII case is what every caseIgnoreMatch folds
		return "(" + attr + "=" + ldap.EscapeFilter(value) + ")"
	}
	alts := []string{value}
	key := backend.IdentityKey(value)
	if key != value {
		alts = append(alts, key)
	}
	if f := finalSigma(key); f != key {
		alts = append(alts, f)
	}
	for i, v := range alts {
		alts[i] = "(" + attr + "=" + ldap.EscapeFilter(v) + ")"
	}
	return or(alts)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// finalSigma writes σ as ς where it ends a word.
func finalSigma(s string) string {
	if !strings.ContainsRune(s, 'σ') {
		return s
	}
	r := []rune(s)
	for i, c := range r {
		if c == 'σ' && (i+1 == len(r) || !unicode.IsLetter(r[i+1])) {
			r[i] = 'ς'
		}
	}
	return string(r)
}

// errAmbiguous is the error of a lookup that found two entries of one
// identity and none of exactly the spelling asked for: answered as for an
// unknown login.
var errAmbiguous = fmt.Errorf("%w (two entries of this identity, neither of exactly this spelling)", backend.ErrNotFound)

// Get returns the user with this login (by the identity rule), valid or
// not. It never returns another identity: an entry the directory's
// matching rule equates with login but backend.IdentityKey does not is
// ignored.
func (b *Backend) Get(ctx context.Context, login string) (backend.CustomerUser, error) {
	u, _, err := b.get(ctx, "get", login)
	if errors.Is(err, errAmbiguous) {
		err = backend.ErrNotFound
	}
	if err != nil {
		return backend.CustomerUser{}, b.opErr("get", err)
	}
	return u, nil
}

// get finds the user and its DN. Two entries of one identity (possible in
// a directory filled by other tools): the one of exactly the spelling
// asked for, or errAmbiguous (backend.LogAmbiguousIdentity).
func (b *Backend) get(ctx context.Context, op, login string) (backend.CustomerUser, string, error) {
	u, e, err := b.getEntry(ctx, op, login)
	if err != nil {
		return backend.CustomerUser{}, "", err
	}
	return u, e.DN, nil
}

// getEntry is get, giving the entry itself.
func (b *Backend) getEntry(ctx context.Context, op, login string) (backend.CustomerUser, *ldap.Entry, error) {
	return b.getEntryBy(ctx, op, b.cfg.LoginAttribute, login)
}

// getEntryBy is getEntry looking login up in attr.
func (b *Backend) getEntryBy(ctx context.Context, op, attr, login string) (backend.CustomerUser, *ldap.Entry, error) {
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, nil, err
	}
	entries, err := b.findEntriesBy(ctx, op, attr, login, b.attrs)
	if err != nil {
		return backend.CustomerUser{}, nil, err
	}
	if len(entries) > 1 {
		b.log.Warn(backend.LogAmbiguousIdentity, "op", op, "login", login, "count", len(entries))
		var exact []*ldap.Entry
		for _, e := range entries {
			if e.GetEqualFoldAttributeValue(attr) == login {
				exact = append(exact, e)
			}
		}
		if len(exact) != 1 {
			return backend.CustomerUser{}, nil, errAmbiguous
		}
		entries = exact
	}
	if len(entries) == 0 {
		return backend.CustomerUser{}, nil, backend.ErrNotFound
	}
	users, err := b.users(ctx, entries, "", false)
	if err != nil {
		return backend.CustomerUser{}, nil, err
	}
	if len(users) == 0 {
		return backend.CustomerUser{}, nil, backend.ErrNotFound
	}
	return users[0], entries[0], nil
}

// Search returns the users matching q, ordered by backend.CompareLogins,
// after q.After, capped at q.Limit. The directory selects candidates; each
// is checked on the client by the shared rules (identity keys, search
// folding), then sorted and cut (a directory cannot sort by identity key).
// When there are more candidates than the limit, they are scanned page by
// page reading only the login and the checked attributes, keeping only the
// first q.Limit matches, which are then read whole: memory stays bounded by
// PageSize and the limit.
func (b *Backend) Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error) {
	users, err := b.searchUsers(ctx, q)
	if err != nil {
		return nil, b.opErr("search", err)
	}
	return users, nil
}
