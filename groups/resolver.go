package groups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// Config is the OTRS customer-group configuration a Resolver applies.
type Config struct {
	// Support is CustomerGroupSupport: on, a user's groups come from the
	// stored rows; off (the OTRS default), every valid group grants every key.
	Support bool
	// SupportBySource overrides Support for users whose Source is the key
	// (since OTRS 6 the switch is per customer-user backend).
	SupportBySource map[string]bool
	// AlwaysGroups (CustomerGroupAlwaysGroups) are group names every user
	// holds with every key, support on or off.
	AlwaysGroups []string
	// CompanyAlwaysGroups (CustomerGroupCompanyAlwaysGroups) are group
	// names every company holds with every key in ContextSame: a user with
	// at least one customer ID holds them.
	CompanyAlwaysGroups []string
}

// Resolver computes a customer user's groups from a Store and a Config by
// the OTRS rules. Always-groups are applied when asked, never stored. It
// implements backend.GroupResolver and is safe for concurrent use.
type Resolver struct {
	store Store
	cfg   Config
}

var _ backend.GroupResolver = (*Resolver)(nil)

// NewResolver returns a Resolver over store. The Config is copied.
func NewResolver(store Store, cfg Config) (*Resolver, error) {
	if store == nil {
		return nil, backend.ConfigError("groups resolver", &backend.ValidationError{Field: "Config.Store", Reason: "required"})
	}
	c := Config{Support: cfg.Support, SupportBySource: map[string]bool{}}
	for k, v := range cfg.SupportBySource {
		c.SupportBySource[k] = v
	}
	c.AlwaysGroups = append([]string(nil), cfg.AlwaysGroups...)
	c.CompanyAlwaysGroups = append([]string(nil), cfg.CompanyAlwaysGroups...)
	return &Resolver{store: store, cfg: c}, nil
}

// Store returns the store the resolver reads.
func (r *Resolver) Store() Store { return r.store }

// SupportFor reports whether group support applies to u (SupportBySource
// for u.Source, else Support).
func (r *Resolver) SupportFor(u backend.CustomerUser) bool {
	if v, ok := r.cfg.SupportBySource[u.Source]; ok {
		return v
	}
	return r.cfg.Support
}

func resErr(op string, err error) error { return backend.OpError("groups resolver", op, err) }

// Groups implements backend.GroupResolver: the user's valid groups, each
// with every key held (a group held with "rw", by an always-group or with
// support off appears once, with "rw", which meets every request). The
// result is ordered by group name (backend.IdentityKey), then key. It does
// not look at u.Valid: refusing invalid users is the caller's decision.
func (r *Resolver) Groups(ctx context.Context, u backend.CustomerUser) ([]backend.GroupPermission, error) {
	lists, err := r.collect(ctx, u)
	if err != nil {
		return nil, resErr("groups", err)
	}
	return merge(lists), nil
}

// sharedLister is implemented by stores that can hand out their sorted
// lists with the groups' identity keys, without copying them (MemoryStore);
// the Resolver only reads them.
type sharedLister interface {
	sharedUserGrants(ctx context.Context, login string) (keyedGrants, error)
	sharedCompanyGrants(ctx context.Context, customerID, context string) (keyedGrants, error)
}

// source is one list of grants that apply to a user, valid groups only,
// ordered by IdentityKey(Group), then Key, with the rule that gives it and,
// when known, the identity key of each grant's group.
type source struct {
	rule   Rule
	grants []Grant
	keys   []string
}

// collect gives every list of grants that apply to u.
func (r *Resolver) collect(ctx context.Context, u backend.CustomerUser) ([]source, error) {
	var lists []source
	// The lists may be shared with the store (sharedLister): never
	// changed here, copied only when an invalid group has to go.
	validOnly := func(rule Rule, l keyedGrants) source {
		for i, g := range l.grants {
			if g.GroupValid == backend.Valid {
				continue
			}
			out := source{rule: rule, grants: append(make([]Grant, 0, len(l.grants)), l.grants[:i]...)}
			if l.keys != nil {
				out.keys = append(make([]string, 0, len(l.keys)), l.keys[:i]...)
			}
			for j := i + 1; j < len(l.grants); j++ {
				if l.grants[j].GroupValid == backend.Valid {
					out.grants = append(out.grants, l.grants[j])
					if l.keys != nil {
						out.keys = append(out.keys, l.keys[j])
					}
				}
			}
			return out
		}
		return source{rule: rule, grants: l.grants, keys: l.keys}
	}
	// Another Store's lists are its own copies: put them in the order
	// merge needs if the store did not.
	plain := func(gs []Grant, err error) (keyedGrants, error) {
		if !slices.IsSortedFunc(gs, compareGrants) {
			sortGrants(gs)
		}
		return keyedGrants{grants: gs}, err
	}
	userGrants := func(ctx context.Context, login string) (keyedGrants, error) {
		return plain(r.store.UserGrants(ctx, login))
	}
	companyGrants := func(ctx context.Context, id, c string) (keyedGrants, error) {
		return plain(r.store.CompanyGrants(ctx, id, c))
	}
	if sl, ok := r.store.(sharedLister); ok {
		userGrants, companyGrants = sl.sharedUserGrants, sl.sharedCompanyGrants
	}
	ids := u.AllCustomerIDs()
	support := r.SupportFor(u)
	if !support {
		gs, err := r.store.Groups(ctx)
		if err != nil {
			return nil, err
		}
		all := make([]Grant, 0, len(gs))
		for _, g := range gs {
			if g.Valid == backend.Valid {
				all = append(all, Grant{Group: g.Name, Key: backend.PermRW, Login: u.Login, GroupValid: g.Valid})
			}
		}
		lists = append(lists, source{rule: RuleSupportOff, grants: all})
	} else {
		own, err := userGrants(ctx, u.Login)
		if err != nil {
			return nil, err
		}
		lists = append(lists, validOnly(RuleOwn, own))
		for _, id := range ids {
			gs, err := companyGrants(ctx, id, ContextSame)
			if err != nil {
				return nil, err
			}
			lists = append(lists, validOnly(RuleCompany, gs))
		}
	}
	always := func(names []string, via string, rule Rule) error {
		var gs []Grant
		for _, name := range names {
			g, err := r.store.Group(ctx, name)
			if err != nil {
				if isNotFound(err) {
					continue // a configured name without a group: OTRS ignores it too
				}
				return err
			}
			if g.Valid == backend.Valid {
				gs = append(gs, Grant{Group: g.Name, Key: backend.PermRW, Login: u.Login, CustomerID: via, GroupValid: g.Valid})
			}
		}
		sortGrants(gs)
		lists = append(lists, source{rule: rule, grants: gs})
		return nil
	}
	if err := always(r.cfg.AlwaysGroups, "", RuleAlwaysGroup); err != nil {
		return nil, err
	}
	if len(ids) > 0 && support {
		if err := always(r.cfg.CompanyAlwaysGroups, ids[0], RuleCompanyAlwaysGroup); err != nil {
			return nil, err
		}
	}
	return lists, nil
}

// merge joins the sorted lists into one GroupPermission per (group, key),
// "rw" absorbing the other keys of its group, in one pass over the heads of
// the lists (they are sorted, so nothing is sorted again).
func merge(lists []source) []backend.GroupPermission {
	n := 0
	for _, l := range lists {
		n += len(l.grants)
	}
	type head struct {
		gk   string
		g    []Grant
		keys []string
	}
	key := func(h *head) string {
		if h.keys != nil {
			return h.keys[0]
		}
		return backend.IdentityKey(h.g[0].Group)
	}
	heads := make([]head, 0, len(lists))
	for _, l := range lists {
		if len(l.grants) > 0 {
			h := head{g: l.grants, keys: l.keys}
			h.gk = key(&h)
			heads = append(heads, h)
		}
	}
	out := make([]backend.GroupPermission, 0, n)
	curGK, curStart, curRW := "", 0, false
	flush := func() {
		if curRW {
			out = append(out[:curStart], backend.GroupPermission{Group: out[curStart].Group, Permission: backend.PermRW})
		}
	}
	for len(heads) > 0 {
		m := 0
		for i := 1; i < len(heads); i++ {
			if c := strings.Compare(heads[i].gk, heads[m].gk); c < 0 || c == 0 && heads[i].g[0].Key < heads[m].g[0].Key {
				m = i
			}
		}
		g := heads[m].g[0]
		if heads[m].gk != curGK || len(out) == curStart {
			if len(out) > curStart {
				flush()
			}
			curGK, curStart, curRW = heads[m].gk, len(out), false
		}
		if last := len(out) - 1; last < curStart || out[last].Permission != g.Key {
			out = append(out, backend.GroupPermission{Group: g.Group, Permission: g.Key})
		}
		curRW = curRW || g.Key == backend.PermRW
		if h := &heads[m]; len(h.g) == 1 {
			heads = append(heads[:m], heads[m+1:]...)
		} else {
			h.g = h.g[1:]
			if h.keys != nil {
				h.keys = h.keys[1:]
			}
			h.gk = key(h)
		}
	}
	if len(out) > curStart {
		flush()
	}
	return out
}

// Rule names the rule behind an Explanation.
type Rule string

// The rules of an Explanation.
const (
	RuleOwn                Rule = "own membership"
	RuleCompany            Rule = "company membership"
	RuleAlwaysGroup        Rule = "always-group"
	RuleCompanyAlwaysGroup Rule = "company always-group"
	RuleSupportOff         Rule = "group support off"
	RuleGroupInvalid       Rule = "group invalid"
	RuleUnknownGroup       Rule = "unknown group"
	RuleNoGrant            Rule = "no grant"
)

// Explanation says whether a user holds a key on a group and by which rule.
type Explanation struct {
	Granted bool
	Rule    Rule
	Group   string
	Key     string
	// CustomerID is the customer ID that granted it (RuleCompany,
	// RuleCompanyAlwaysGroup).
	CustomerID string
	// HeldKey is the stored key that met the request (Key or "rw").
	HeldKey string
}

// String gives the explanation as a sentence.
func (e Explanation) String() string {
	switch e.Rule {
	case RuleOwn:
		return fmt.Sprintf("granted: the user holds %q on group %q", e.HeldKey, e.Group)
	case RuleCompany:
		return fmt.Sprintf("granted: customer ID %q holds %q on group %q", e.CustomerID, e.HeldKey, e.Group)
	case RuleAlwaysGroup:
		return fmt.Sprintf("granted: group %q is an always-group (every user, every key)", e.Group)
	case RuleCompanyAlwaysGroup:
		return fmt.Sprintf("granted: group %q is a company always-group, reached through customer ID %q", e.Group, e.CustomerID)
	case RuleSupportOff:
		return fmt.Sprintf("granted: customer group support is off, so every valid group grants every key (%q on %q)", e.Key, e.Group)
	case RuleGroupInvalid:
		return fmt.Sprintf("denied: group %q is not valid, so it grants nothing", e.Group)
	case RuleUnknownGroup:
		return fmt.Sprintf("denied: there is no group %q", e.Group)
	}
	return fmt.Sprintf("denied: neither the user nor any of their customer IDs holds %q or \"rw\" on group %q", e.Key, e.Group)
}

// Explain tells whether u holds key on group, and by which rule: the first
// that applies of always-group, support off, own row, company row, company
// always-group; or why not (unknown group, group invalid, no grant). Like
// Groups it does not look at u.Valid: an invalid user is the caller's rule.
func (r *Resolver) Explain(ctx context.Context, u backend.CustomerUser, group, key string) (Explanation, error) {
	e := Explanation{Group: group, Key: key}
	g, err := r.store.Group(ctx, group)
	if err != nil {
		if isNotFound(err) {
			e.Rule = RuleUnknownGroup
			return e, nil
		}
		return e, resErr("explain", err)
	}
	e.Group = g.Name
	if g.Valid != backend.Valid {
		e.Rule = RuleGroupInvalid
		return e, nil
	}
	var found *Explanation
	gk := backend.IdentityKey(g.Name)
	lists, err := r.collect(ctx, u)
	if err != nil {
		return e, resErr("explain", err)
	}
	for _, l := range lists {
		for _, gr := range l.grants {
			if backend.IdentityKey(gr.Group) != gk || !(backend.GroupPermission{Permission: gr.Key}).Satisfies(key) {
				continue
			}
			c := Explanation{Granted: true, Rule: l.rule, Group: g.Name, Key: key, HeldKey: gr.Key, CustomerID: gr.CustomerID}
			if found == nil || rank(c.Rule) < rank(found.Rule) || rank(c.Rule) == rank(found.Rule) && c.HeldKey == key && found.HeldKey != key {
				found = &c
			}
		}
	}
	if found != nil {
		return *found, nil
	}
	e.Rule = RuleNoGrant
	return e, nil
}

func rank(r Rule) int {
	switch r {
	case RuleAlwaysGroup:
		return 0
	case RuleSupportOff:
		return 1
	case RuleOwn:
		return 2
	case RuleCompany:
		return 3
	}
	return 4
}

// OtherGrants lists the grants the user's customer IDs hold in
// ContextOther on valid groups (empty when support is off for u, as the
// OTRS CustomerGroupCheck is skipped then). The ticket rule uses them: a
// ticket of any customer ID is visible through such a grant on its queue's group.
func (r *Resolver) OtherGrants(ctx context.Context, u backend.CustomerUser) ([]Grant, error) {
	if !r.SupportFor(u) {
		return nil, nil
	}
	var out []Grant
	for _, id := range u.AllCustomerIDs() {
		gs, err := r.store.CompanyGrants(ctx, id, ContextOther)
		if err != nil {
			return nil, resErr("other grants", err)
		}
		for _, g := range gs {
			if g.GroupValid == backend.Valid {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, backend.ErrNotFound) }
