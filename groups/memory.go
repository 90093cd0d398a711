package groups

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/helpdeskkit/customeruser/backend"
)

// MemoryStore is a Store held in memory, for tests, examples and products
// that load their groups at start. The zero value is not usable: call
// NewMemoryStore.
type MemoryStore struct {
	mu     sync.RWMutex
	nextID int64
	groups map[string]*Group // by IdentityKey(name)
	// users: IdentityKey(login) -> group key -> key -> stored login spelling
	users map[string]map[string]map[string]string
	// companies: context -> IdentityKey(customerID) -> group key -> key -> spelling
	companies map[string]map[string]map[string]map[string]string
	// cache holds the sorted lists UserGrants and CompanyGrants built, by
	// "u\x00"+login key or context+"\x00"+customer ID key. It is filled
	// under mu.RLock (cacheMu orders the readers) and dropped by every
	// write under mu.Lock, so it never outlives the rows it was built from.
	cacheMu sync.Mutex
	cache   map[string]keyedGrants
}

// keyedGrants is a sorted list with the identity key of each grant's group.
type keyedGrants struct {
	grants []Grant
	keys   []string
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		groups:    map[string]*Group{},
		users:     map[string]map[string]map[string]string{},
		companies: map[string]map[string]map[string]map[string]string{ContextSame: {}, ContextOther: {}},
		cache:     map[string]keyedGrants{},
	}
}

func memErr(op string, err error) error { return backend.OpError("groups memory", op, err) }

// AddGroup implements Store.
func (s *MemoryStore) AddGroup(ctx context.Context, g Group) (Group, error) {
	if err := ctx.Err(); err != nil {
		return Group{}, memErr("add group", err)
	}
	name, err := checkName(g.Name)
	if err != nil {
		return Group{}, memErr("add group", err)
	}
	if err := backend.CheckText(backend.FieldComment, g.Comment, MaxGroupCommentLen, false); err != nil {
		return Group{}, memErr("add group", err)
	}
	valid, err := checkValid(g.Valid)
	if err != nil {
		return Group{}, memErr("add group", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := backend.IdentityKey(name)
	if _, dup := s.groups[k]; dup {
		return Group{}, memErr("add group", &backend.ValidationError{Field: FieldGroup, Reason: "a group of that name exists"})
	}
	s.nextID++
	stored := Group{ID: s.nextID, Name: name, Comment: g.Comment, Valid: valid}
	s.groups[k] = &stored
	return stored, nil
}

// Group implements Store.
func (s *MemoryStore) Group(ctx context.Context, name string) (Group, error) {
	if err := ctx.Err(); err != nil {
		return Group{}, memErr("group", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if g, ok := s.groups[backend.IdentityKey(name)]; ok {
		return *g, nil
	}
	return Group{}, memErr("group", notFound(name))
}

// Groups implements Store.
func (s *MemoryStore) Groups(ctx context.Context) ([]Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, memErr("groups", err)
	}
	s.mu.RLock()
	out := make([]Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, *g)
	}
	s.mu.RUnlock()
	sortGroups(out)
	return out, nil
}

// SetGroupValid implements Store.
func (s *MemoryStore) SetGroupValid(ctx context.Context, name string, valid backend.ValidState) error {
	if err := ctx.Err(); err != nil {
		return memErr("set group valid", err)
	}
	if valid == 0 || !valid.IsKnown() {
		return memErr("set group valid", &backend.ValidationError{Field: backend.FieldValid, Reason: "unknown valid state"})
	}
	s.mu.Lock()
	s.dropCache()
	defer s.mu.Unlock()
	g, ok := s.groups[backend.IdentityKey(name)]
	if !ok {
		return memErr("set group valid", unknownGroup())
	}
	g.Valid = valid
	return nil
}

// SetMemberPermissions implements Store.
func (s *MemoryStore) SetMemberPermissions(ctx context.Context, group, login string, perms map[string]bool) error {
	const op = "set member permissions"
	if err := ctx.Err(); err != nil {
		return memErr(op, err)
	}
	login, perms, err := checkMemberArgs(login, perms)
	if err != nil {
		return memErr(op, err)
	}
	s.mu.Lock()
	s.dropCache()
	defer s.mu.Unlock()
	gk := backend.IdentityKey(group)
	if _, ok := s.groups[gk]; !ok {
		return memErr(op, unknownGroup())
	}
	uk := backend.IdentityKey(login)
	for key, on := range perms {
		if on {
			byGroup := s.users[uk]
			if byGroup == nil {
				byGroup = map[string]map[string]string{}
				s.users[uk] = byGroup
			}
			if byGroup[gk] == nil {
				byGroup[gk] = map[string]string{}
			}
			byGroup[gk][key] = login
			continue
		}
		if keys := s.users[uk][gk]; keys != nil {
			delete(keys, key)
			if len(keys) == 0 {
				delete(s.users[uk], gk)
			}
		}
	}
	if len(s.users[uk]) == 0 {
		delete(s.users, uk)
	}
	return nil
}

// SetCompanyPermissions implements Store.
func (s *MemoryStore) SetCompanyPermissions(ctx context.Context, group, customerID, context string, perms map[string]bool) error {
	const op = "set company permissions"
	if err := ctx.Err(); err != nil {
		return memErr(op, err)
	}
	id, c, perms, err := checkCompanyArgs(customerID, context, perms)
	if err != nil {
		return memErr(op, err)
	}
	s.mu.Lock()
	s.dropCache()
	defer s.mu.Unlock()
	gk := backend.IdentityKey(group)
	if _, ok := s.groups[gk]; !ok {
		return memErr(op, unknownGroup())
	}
	if len(perms) == 0 {
		return nil
	}
	ck := backend.IdentityKey(id)
	byID := s.companies[c]
	if byID[ck] == nil {
		byID[ck] = map[string]map[string]string{}
	}
	keys := map[string]string{}
	for key, on := range perms {
		if on {
			keys[key] = id
		}
	}
	if len(keys) == 0 {
		delete(byID[ck], gk)
	} else {
		byID[ck][gk] = keys
	}
	if len(byID[ck]) == 0 {
		delete(byID, ck)
	}
	return nil
}

// grants lists the rows of one login or customer ID, ordered by group
// (its identity key, the map key) and key: the order sortGrants gives,
// computed without folding names again.
func (s *MemoryStore) grants(byGroup map[string]map[string]string, fill func(g *Grant, spelling string)) keyedGrants {
	type row struct {
		gk string
		g  Grant
	}
	rows := make([]row, 0, len(byGroup))
	for gk, keys := range byGroup {
		g := s.groups[gk]
		for key, spelling := range keys {
			gr := Grant{Group: g.Name, Key: key, GroupValid: g.Valid}
			fill(&gr, spelling)
			rows = append(rows, row{gk, gr})
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := strings.Compare(a.gk, b.gk); c != 0 {
			return c
		}
		return strings.Compare(a.g.Key, b.g.Key)
	})
	out := keyedGrants{grants: make([]Grant, len(rows)), keys: make([]string, len(rows))}
	for i, r := range rows {
		out.grants[i], out.keys[i] = r.g, r.gk
	}
	return out
}

// dropCache forgets every cached list; the caller holds mu.Lock.
func (s *MemoryStore) dropCache() {
	s.cacheMu.Lock()
	clear(s.cache)
	s.cacheMu.Unlock()
}

// cached gives the list under key, building it with build on a miss; the
// caller holds mu.RLock and must not change the list.
func (s *MemoryStore) cached(key string, build func() keyedGrants) keyedGrants {
	s.cacheMu.Lock()
	gs, ok := s.cache[key]
	s.cacheMu.Unlock()
	if !ok {
		gs = build()
		s.cacheMu.Lock()
		s.cache[key] = gs
		s.cacheMu.Unlock()
	}
	return gs
}

// UserGrants implements Store.
func (s *MemoryStore) UserGrants(ctx context.Context, login string) ([]Grant, error) {
	gs, err := s.sharedUserGrants(ctx, login)
	return slices.Clone(gs.grants), err
}

// CompanyGrants implements Store.
func (s *MemoryStore) CompanyGrants(ctx context.Context, customerID, context string) ([]Grant, error) {
	gs, err := s.sharedCompanyGrants(ctx, customerID, context)
	return slices.Clone(gs.grants), err
}

// sharedUserGrants is UserGrants without the copy, for the Resolver, which
// only reads the list.
func (s *MemoryStore) sharedUserGrants(ctx context.Context, login string) (keyedGrants, error) {
	if err := ctx.Err(); err != nil {
		return keyedGrants{}, memErr("user grants", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	uk := backend.IdentityKey(login)
	return s.cached("u\x00"+uk, func() keyedGrants {
		return s.grants(s.users[uk], func(g *Grant, l string) { g.Login = l })
	}), nil
}

// sharedCompanyGrants is CompanyGrants without the copy.
func (s *MemoryStore) sharedCompanyGrants(ctx context.Context, customerID, context string) (keyedGrants, error) {
	if err := ctx.Err(); err != nil {
		return keyedGrants{}, memErr("company grants", err)
	}
	c, err := checkContext(context)
	if err != nil {
		return keyedGrants{}, memErr("company grants", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ck := backend.IdentityKey(customerID)
	return s.cached(c+"\x00"+ck, func() keyedGrants {
		return s.grants(s.companies[c][ck], func(g *Grant, id string) { g.CustomerID, g.Context = id, c })
	}), nil
}

// GroupGrants implements Store.
func (s *MemoryStore) GroupGrants(ctx context.Context, group string) ([]Grant, error) {
	if err := ctx.Err(); err != nil {
		return nil, memErr("group grants", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	gk := backend.IdentityKey(group)
	g, ok := s.groups[gk]
	if !ok {
		return nil, memErr("group grants", unknownGroup())
	}
	var users, companies []Grant
	for _, byGroup := range s.users {
		for key, l := range byGroup[gk] {
			users = append(users, Grant{Group: g.Name, Key: key, Login: l, GroupValid: g.Valid})
		}
	}
	for _, c := range []string{ContextSame, ContextOther} {
		for _, byGroup := range s.companies[c] {
			for key, id := range byGroup[gk] {
				companies = append(companies, Grant{Group: g.Name, Key: key, CustomerID: id, Context: c, GroupValid: g.Valid})
			}
		}
	}
	sortGrants(users)
	sortGrants(companies)
	return append(users, companies...), nil
}

// RenameMember implements Store.
func (s *MemoryStore) RenameMember(ctx context.Context, oldLogin, newLogin string) error {
	const op = "rename member"
	if err := ctx.Err(); err != nil {
		return memErr(op, err)
	}
	oldLogin, newLogin, err := checkRename(oldLogin, newLogin)
	if err != nil {
		return memErr(op, err)
	}
	s.mu.Lock()
	s.dropCache()
	defer s.mu.Unlock()
	ok, nk := backend.IdentityKey(oldLogin), backend.IdentityKey(newLogin)
	from := s.users[ok]
	delete(s.users, ok)
	if len(from) == 0 {
		return nil
	}
	to := s.users[nk]
	if to == nil {
		to = map[string]map[string]string{}
		s.users[nk] = to
	}
	for gk, keys := range from {
		if to[gk] == nil {
			to[gk] = map[string]string{}
		}
		for key := range keys {
			to[gk][key] = newLogin
		}
	}
	return nil
}

// sortGrants orders by group, then login or customer ID, then context,
// then key (names by backend.IdentityKey).
func sortGrants(gs []Grant) { slices.SortFunc(gs, compareGrants) }

func compareGrants(a, b Grant) int {
	for _, c := range [][2]string{
		{backend.IdentityKey(a.Group), backend.IdentityKey(b.Group)},
		{backend.IdentityKey(a.Login), backend.IdentityKey(b.Login)},
		{backend.IdentityKey(a.CustomerID), backend.IdentityKey(b.CustomerID)},
		{a.Context, b.Context},
		{a.Key, b.Key},
	} {
		if r := strings.Compare(c[0], c[1]); r != 0 {
			return r
		}
	}
	return 0
}
