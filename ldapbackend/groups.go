package ldapbackend

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

// GroupMode says how a GroupResolver finds the directory groups a user is
// in.
type GroupMode int

const (
	// GroupsByMember (the zero value) searches the group entries whose
	// member attribute (GroupsConfig.MemberAttribute) names the user's DN,
	// then the groups naming those groups, and so on: works on every
	// directory, no overlay needed.
	GroupsByMember GroupMode = iota
	// GroupsByMemberOf reads the user's memberOf attribute
	// (GroupsConfig.MemberOfAttribute), then that of each group found, and
	// so on: one read per group, for directories that maintain memberOf
	// (OpenLDAP's memberof overlay, Active Directory).
	GroupsByMemberOf
	// GroupsInChain asks an Active Directory for every group that holds
	// the user at any depth in one search, with the
	// LDAP_MATCHING_RULE_IN_CHAIN rule (1.2.840.113556.1.4.1941) on the
	// member attribute. OpenLDAP does not know the rule.
	GroupsInChain
)

// inChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN.
const inChainRule = "1.2.840.113556.1.4.1941"

// DefaultGroupDepth is how many levels of nested groups a GroupResolver
// follows when GroupsConfig.MaxDepth is 0.
const DefaultGroupDepth = 10

// GroupMapping maps one directory group to a customer group (the group
// name of OTRS CustomerGroup, as Queue.Group names it) with permission
// keys: a member of the directory group, directly or through groups nested
// in it, holds each key on the customer group ("rw" implies every key).
type GroupMapping struct {
	// DN is the directory group's distinguished name.
	DN string
	// Group is the customer group's name.
	Group string
	// Keys are the permission keys held (ro, rw, create, ...); at least one.
	Keys []string
}

// GroupsConfig configures a GroupResolver (see Backend.GroupResolver). The
// zero value of each field but Groups means its default.
type GroupsConfig struct {
	// Groups maps directory groups to customer groups; required. A
	// directory group may appear in several mappings.
	Groups []GroupMapping
	// BaseDN is where group entries are searched (GroupsByMember,
	// GroupsInChain); "" means the backend's BaseDN.
	BaseDN string
	// Mode says how memberships are read; the zero value is GroupsByMember.
	Mode GroupMode
	// MemberAttribute is the attribute of a group entry naming its members
	// by DN; "" means "member" (groupOfNames, Active Directory groups; use
	// "uniqueMember" for groupOfUniqueNames).
	MemberAttribute string
	// MemberOfAttribute is the attribute of an entry naming the groups it
	// is in (GroupsByMemberOf); "" means "memberOf".
	MemberOfAttribute string
	// MaxDepth is how many levels of groups are followed: 1 means direct
	// memberships only; 0 means DefaultGroupDepth. Cycles (a group nested
	// in itself through others) are stopped at any depth.
	MaxDepth int
}

// GroupResolver implements backend.GroupResolver from directory groups: a
// customer user's groups are the customer groups mapped from the
// directory groups that hold the user's entry, directly or nested. The user
// is found by login in the backend's directory (with its filter: a user it
// does not serve has no groups). It uses the backend's pooled service
// connections and is safe for concurrent use.
//
// Combine it with policy.Directory through Config.Groups. Customer-group
// support, AlwaysGroups and company memberships are the groups package's
// rules over a groups.Store; this resolver gives only what the directory
// says.
type GroupResolver struct {
	b        *Backend
	cfg      GroupsConfig
	byDN     map[string][]int // normalised DN -> positions in cfg.Groups
	wanted   int              // distinct mapped DNs
	memberOf string
}

var _ backend.GroupResolver = (*GroupResolver)(nil)

// GroupResolver returns a resolver of this backend's directory groups. A
// bad cfg gives an error matching backend.ErrInvalidInput that lists every
// problem.
func (b *Backend) GroupResolver(cfg GroupsConfig) (*GroupResolver, error) {
	cfg.Groups = slices.Clone(cfg.Groups)
	var problems []*backend.ValidationError
	bad := func(field, format string, args ...any) {
		problems = append(problems, &backend.ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if len(cfg.Groups) == 0 {
		bad("GroupsConfig.Groups", "required: at least one mapping")
	}
	r := &GroupResolver{b: b, byDN: map[string][]int{}}
	for i, m := range cfg.Groups {
		field := fmt.Sprintf("GroupsConfig.Groups[%d]", i)
		if _, err := ldap.ParseDN(m.DN); err != nil || strings.TrimSpace(m.DN) == "" {
			bad(field+".DN", "not a DN")
		} else {
			n := normDN(m.DN)
			if len(r.byDN[n]) == 0 {
				r.wanted++
			}
			r.byDN[n] = append(r.byDN[n], i)
		}
		if strings.TrimSpace(m.Group) == "" {
			bad(field+".Group", "required")
		} else if err := backend.CheckText(field+".Group", m.Group, groups.MaxGroupNameLen, false); err != nil {
			problems = append(problems, err.(*backend.ValidationError))
		}
		if len(m.Keys) == 0 {
			bad(field+".Keys", "required: at least one permission key")
		}
		for _, k := range m.Keys {
			if strings.TrimSpace(k) == "" {
				bad(field+".Keys", "empty key")
			} else if err := backend.CheckText(field+".Keys", k, groups.MaxKeyLen, true); err != nil {
				problems = append(problems, err.(*backend.ValidationError))
			}
		}
		cfg.Groups[i].Keys = slices.Clone(m.Keys)
	}
	if cfg.BaseDN == "" {
		cfg.BaseDN = b.cfg.BaseDN
	} else if _, err := ldap.ParseDN(cfg.BaseDN); err != nil {
		bad("GroupsConfig.BaseDN", "not a DN")
	}
	switch cfg.Mode {
	case GroupsByMember, GroupsByMemberOf, GroupsInChain:
	default:
		bad("GroupsConfig.Mode", "unknown mode %d", int(cfg.Mode))
	}
	if cfg.MemberAttribute == "" {
		cfg.MemberAttribute = "member"
	}
	if cfg.MemberOfAttribute == "" {
		cfg.MemberOfAttribute = "memberOf"
	}
	for _, a := range [][2]string{{"GroupsConfig.MemberAttribute", cfg.MemberAttribute}, {"GroupsConfig.MemberOfAttribute", cfg.MemberOfAttribute}} {
		if !isAttributeName(a[1]) {
			bad(a[0], "not an attribute name")
		}
	}
	switch {
	case cfg.MaxDepth < 0:
		bad("GroupsConfig.MaxDepth", "negative")
	case cfg.MaxDepth == 0:
		cfg.MaxDepth = DefaultGroupDepth
	}
	if len(problems) > 0 {
		return nil, backend.ConfigError(b.cfg.Name, problems...)
	}
	r.cfg, r.memberOf = cfg, cfg.MemberOfAttribute
	return r, nil
}

// isAttributeName reports whether s is an attribute description: a name
// (letters, digits, hyphens) or a numeric OID.
func isAttributeName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// String names the resolver's backend and nothing else.
func (r *GroupResolver) String() string { return "ldapbackend.GroupResolver(" + r.b.String() + ")" }

// GoString is String, so %#v shows no configuration.
func (r *GroupResolver) GoString() string { return r.String() }

// Groups implements backend.GroupResolver: the customer groups mapped from
// the directory groups holding the user, ordered by group (IdentityKey),
// then key; a group with "rw" is given as "rw" alone. A user the backend
// does not find has no groups.
func (r *GroupResolver) Groups(ctx context.Context, u backend.CustomerUser) ([]backend.GroupPermission, error) {
	const op = "groups"
	attrs := []string{r.b.cfg.LoginAttribute}
	if r.cfg.Mode == GroupsByMemberOf {
		attrs = append(attrs, r.memberOf)
	}
	login, err := backend.NormalizeLogin(u.Login)
	if err != nil {
		return nil, r.b.opErr(op, err)
	}
	entries, err := r.b.findEntries(ctx, op, login, attrs)
	if err != nil {
		return nil, r.b.opErr(op, err)
	}
	if len(entries) != 1 {
		if len(entries) > 1 {
			r.b.log.Warn(backend.LogAmbiguousIdentity, "op", op, "login", login, "count", len(entries))
		}
		return nil, nil
	}
	var held map[string]bool
	switch r.cfg.Mode {
	case GroupsInChain:
		held, err = r.inChain(ctx, entries[0].DN)
	case GroupsByMemberOf:
		held, err = r.byMemberOf(ctx, entries[0])
	default:
		held, err = r.byMember(ctx, entries[0].DN)
	}
	if err != nil {
		return nil, r.b.opErr(op, err)
	}
	return r.permissions(held), nil
}

// permissions maps the held directory groups (normalised DNs) to customer
// group permissions.
func (r *GroupResolver) permissions(held map[string]bool) []backend.GroupPermission {
	keys := map[string]map[string]bool{} // group identity key -> permission keys
	names := map[string]string{}         // group identity key -> first spelling
	for dn := range held {
		for _, i := range r.byDN[dn] {
			m := r.cfg.Groups[i]
			k := backend.IdentityKey(m.Group)
			if keys[k] == nil {
				keys[k], names[k] = map[string]bool{}, m.Group
			}
			for _, p := range m.Keys {
				keys[k][p] = true
			}
		}
	}
	var out []backend.GroupPermission
	for k, ps := range keys {
		if ps[backend.PermRW] {
			out = append(out, backend.GroupPermission{Group: names[k], Permission: backend.PermRW})
			continue
		}
		for p := range ps {
			out = append(out, backend.GroupPermission{Group: names[k], Permission: p})
		}
	}
	slices.SortFunc(out, func(a, b backend.GroupPermission) int {
		if c := strings.Compare(backend.IdentityKey(a.Group), backend.IdentityKey(b.Group)); c != 0 {
			return c
		}
		return strings.Compare(a.Permission, b.Permission)
	})
	return out
}

// memberBatch is how many DNs one search asks about at once, which keeps
// filters well under server limits.
const memberBatch = 50

// byMember walks up from the user's DN: each level searches the groups
// whose member attribute names a DN of the level below.
func (r *GroupResolver) byMember(ctx context.Context, userDN string) (map[string]bool, error) {
	held := map[string]bool{}
	seen := map[string]bool{normDN(userDN): true}
	level := []string{userDN}
	for depth := 0; depth < r.cfg.MaxDepth && len(level) > 0; depth++ {
		var next []string
		for chunk := range slices.Chunk(level, memberBatch) {
			var f strings.Builder
			f.WriteString("(|")
			for _, dn := range chunk {
				f.WriteString("(" + r.cfg.MemberAttribute + "=" + ldap.EscapeFilter(dn) + ")")
			}
			f.WriteString(")")
			found, err := r.searchDNs(ctx, f.String())
			if err != nil {
				return nil, err
			}
			for _, dn := range found {
				if n := normDN(dn); !seen[n] {
					seen[n], held[n] = true, true
					next = append(next, dn)
				}
			}
		}
		level = next
		if r.done(held) {
			break
		}
	}
	return held, nil
}

// done reports whether every mapped group is already held, so that going
// up further cannot add anything.
func (r *GroupResolver) done(held map[string]bool) bool {
	n := 0
	for dn := range r.byDN {
		if held[dn] {
			n++
		}
	}
	return n == r.wanted
}

// byMemberOf reads memberOf up from the user's entry, one base read per
// group found.
func (r *GroupResolver) byMemberOf(ctx context.Context, user *ldap.Entry) (map[string]bool, error) {
	held := map[string]bool{}
	seen := map[string]bool{normDN(user.DN): true}
	level := user.GetAttributeValues(r.memberOf)
	for depth := 0; len(level) > 0; depth++ {
		var next []string
		for _, dn := range level {
			n := normDN(dn)
			if seen[n] {
				continue
			}
			seen[n], held[n] = true, true
			if depth+1 >= r.cfg.MaxDepth {
				continue
			}
			up, err := r.readMemberOf(ctx, dn)
			if err != nil {
				return nil, err
			}
			next = append(next, up...)
		}
		level = next
		if r.done(held) {
			break
		}
	}
	return held, nil
}

// inChain asks the server for every group holding the user at any depth.
func (r *GroupResolver) inChain(ctx context.Context, userDN string) (map[string]bool, error) {
	found, err := r.searchDNs(ctx, inChainFilter(r.cfg.MemberAttribute, userDN))
	if err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(found))
	for _, dn := range found {
		held[normDN(dn)] = true
	}
	return held, nil
}

// inChainFilter is the in-chain membership filter for a user's DN.
func inChainFilter(memberAttr, userDN string) string {
	return "(" + memberAttr + ":" + inChainRule + ":=" + ldap.EscapeFilter(userDN) + ")"
}

// searchDNs runs a paged subtree search below the group base and gives the
// DNs found (no attributes read).
func (r *GroupResolver) searchDNs(ctx context.Context, filter string) ([]string, error) {
	var dns []string
	err := r.b.do(ctx, true, func(c *ldap.Conn) error {
		req := ldap.NewSearchRequest(r.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, []string{"1.1"}, nil)
		res, err := c.SearchWithPaging(req, uint32(r.b.cfg.PageSize))
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				dns = nil
				return nil
			}
			return fmt.Errorf("group search failed: %w", err)
		}
		dns = dns[:0]
		for _, e := range res.Entries {
			dns = append(dns, e.DN)
		}
		return nil
	})
	return dns, err
}

// readMemberOf reads the memberOf values of one group entry; a group that
// does not exist has none.
func (r *GroupResolver) readMemberOf(ctx context.Context, dn string) ([]string, error) {
	var out []string
	err := r.b.do(ctx, true, func(c *ldap.Conn) error {
		req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{r.memberOf}, nil)
		res, err := c.Search(req)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				out = nil
				return nil
			}
			return fmt.Errorf("group read failed: %w", err)
		}
		out = nil
		for _, e := range res.Entries {
			out = append(out, e.GetAttributeValues(r.memberOf)...)
		}
		return nil
	})
	return out, err
}
