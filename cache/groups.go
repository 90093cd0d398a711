package cache

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
)

// DefaultGroupTTL is how long a GroupStore keeps a list.
const DefaultGroupTTL = 2 * time.Minute

// GroupConfig configures a GroupStore. The zero value is usable.
type GroupConfig struct {
	// MaxEntries bounds the number of cached lists; 0 means DefaultMaxEntries.
	MaxEntries int
	// TTL is how long a list is kept; 0 means DefaultGroupTTL, negative
	// turns caching off.
	TTL time.Duration
	// Now is the clock of the TTL; nil means the system clock (its
	// monotonic reading).
	Now func() time.Time
	// OnInvalidate, when set, is called once for every write through the
	// GroupStore, like Config.OnInvalidate.
	OnInvalidate func(GroupInvalidation)
}

// GroupInvalidation says which cached lists a write to a groups.Store made
// stale, for other instances' (*GroupStore).Invalidate.
type GroupInvalidation struct {
	// Logins whose UserGrants are stale.
	Logins []string `json:"logins,omitempty"`
	// CustomerIDs whose CompanyGrants (every context) are stale.
	CustomerIDs []string `json:"customer_ids,omitempty"`
	// Groups whose Group and GroupGrants are stale; the list of all groups
	// is stale too when this is not empty.
	Groups []string `json:"groups,omitempty"`
	// All makes every cached list stale.
	All bool `json:"all,omitempty"`
}

// GroupStore is a caching decorator for a groups.Store; it is itself one,
// and safe for concurrent use.
type GroupStore struct {
	st    groups.Store
	s     *store
	onInv func(GroupInvalidation)
}

var _ groups.Store = (*GroupStore)(nil)

// NewGroupStore returns a GroupStore over st.
func NewGroupStore(st groups.Store, cfg GroupConfig) (*GroupStore, error) {
	if st == nil {
		return nil, backend.ConfigError("group cache", &backend.ValidationError{Field: "Store", Reason: "required"})
	}
	if cfg.MaxEntries < 0 {
		return nil, backend.ConfigError("group cache", &backend.ValidationError{Field: "Config.MaxEntries", Reason: "negative"})
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	g := &GroupStore{st: st, s: newStore(cfg.MaxEntries, cfg.Now, 0), onInv: cfg.OnInvalidate}
	ttl := ttlOr(cfg.TTL, DefaultGroupTTL)
	for _, k := range []kind{kindUserGrants, kindCompanyGrants, kindGroupGrants, kindGroup, kindGroupList} {
		g.s.ttl[k] = ttl
	}
	return g, nil
}

// Unwrap returns the store the GroupStore decorates.
func (g *GroupStore) Unwrap() groups.Store { return g.st }

// Stats returns the cache's counters.
func (g *GroupStore) Stats() Stats { return g.s.stats() }

// cached answers a read of kind k from the cache or from read, copying the
// value on the way out with cp.
func cached[T any](ctx context.Context, g *GroupStore, k kind, identity, key string, read func(context.Context) (T, error), cp func(T) T) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, backend.OpError("group cache", "read", err)
	}
	if g.s.ttl[k] == 0 || len(identity)+len(key) > maxKeyBytes {
		return read(ctx)
	}
	sl := g.s.slot(k, identity, key)
	if e := g.s.lookup(sl, true); e != nil {
		return cp(e.val.(T)), nil
	}
	e, err := g.s.fill(ctx, sl, func(ctx context.Context) (fetched, error) {
		v, err := read(ctx)
		if err != nil {
			return fetched{}, err
		}
		return fetched{e: &entry{val: v}, ttl: g.s.ttl[k]}, nil
	})
	if err != nil {
		if err == ctx.Err() {
			err = backend.OpError("group cache", "read", err)
		}
		return zero, err
	}
	return cp(e.val.(T)), nil
}

func same[T any](v T) T { return v }

// UserGrants implements groups.Store, from the cache.
func (g *GroupStore) UserGrants(ctx context.Context, login string) ([]groups.Grant, error) {
	id := backend.IdentityKey(login)
	return cached(ctx, g, kindUserGrants, id, id, func(ctx context.Context) ([]groups.Grant, error) {
		return g.st.UserGrants(ctx, login)
	}, slices.Clone[[]groups.Grant])
}

// CompanyGrants implements groups.Store, from the cache.
func (g *GroupStore) CompanyGrants(ctx context.Context, customerID, permContext string) ([]groups.Grant, error) {
	id := backend.IdentityKey(customerID)
	c := permContext
	if c == "" {
		c = groups.ContextSame
	}
	return cached(ctx, g, kindCompanyGrants, id, id+"\x00"+c, func(ctx context.Context) ([]groups.Grant, error) {
		return g.st.CompanyGrants(ctx, customerID, permContext)
	}, slices.Clone[[]groups.Grant])
}

// GroupGrants implements groups.Store, from the cache.
func (g *GroupStore) GroupGrants(ctx context.Context, group string) ([]groups.Grant, error) {
	id := backend.IdentityKey(group)
	return cached(ctx, g, kindGroupGrants, id, id, func(ctx context.Context) ([]groups.Grant, error) {
		return g.st.GroupGrants(ctx, group)
	}, slices.Clone[[]groups.Grant])
}

// Group implements groups.Store, from the cache (an unknown name is asked
// again every time).
func (g *GroupStore) Group(ctx context.Context, name string) (groups.Group, error) {
	id := backend.IdentityKey(name)
	return cached(ctx, g, kindGroup, id, id, func(ctx context.Context) (groups.Group, error) {
		return g.st.Group(ctx, name)
	}, same[groups.Group])
}

// Groups implements groups.Store, from the cache.
func (g *GroupStore) Groups(ctx context.Context) ([]groups.Group, error) {
	return cached(ctx, g, kindGroupList, "", "", g.st.Groups, slices.Clone[[]groups.Group])
}

// AddGroup implements groups.Store and invalidates the group's entries and
// the list of groups.
func (g *GroupStore) AddGroup(ctx context.Context, gr groups.Group) (groups.Group, error) {
	out, err := g.st.AddGroup(ctx, gr)
	g.wrote(err, GroupInvalidation{Groups: []string{gr.Name, out.Name}})
	return out, err
}

// SetGroupValid implements groups.Store and invalidates every list (each
// grant carries its group's state).
func (g *GroupStore) SetGroupValid(ctx context.Context, name string, valid backend.ValidState) error {
	err := g.st.SetGroupValid(ctx, name, valid)
	g.wrote(err, GroupInvalidation{Groups: []string{name}, All: true})
	return err
}

// SetMemberPermissions implements groups.Store and invalidates the
// member's and the group's rows.
func (g *GroupStore) SetMemberPermissions(ctx context.Context, group, login string, perms map[string]bool) error {
	err := g.st.SetMemberPermissions(ctx, group, login, perms)
	g.wrote(err, GroupInvalidation{Logins: []string{login}, Groups: []string{group}})
	return err
}

// SetCompanyPermissions implements groups.Store and invalidates the
// company's and the group's rows.
func (g *GroupStore) SetCompanyPermissions(ctx context.Context, group, customerID, permContext string, perms map[string]bool) error {
	err := g.st.SetCompanyPermissions(ctx, group, customerID, permContext, perms)
	g.wrote(err, GroupInvalidation{CustomerIDs: []string{customerID}, Groups: []string{group}})
	return err
}

// RenameMember implements groups.Store and invalidates every list (the
// rows of every group the member is in move).
func (g *GroupStore) RenameMember(ctx context.Context, oldLogin, newLogin string) error {
	err := g.st.RenameMember(ctx, oldLogin, newLogin)
	g.wrote(err, GroupInvalidation{Logins: []string{oldLogin, newLogin}, All: true})
	return err
}

func (g *GroupStore) wrote(err error, inv GroupInvalidation) {
	if err != nil && (errors.Is(err, backend.ErrInvalidInput) || errors.Is(err, backend.ErrNotFound) || errors.Is(err, backend.ErrReadOnly)) {
		return
	}
	g.Invalidate(inv)
	if g.onInv != nil {
		g.onInv(inv)
	}
}

// Invalidate applies an invalidation, typically one another instance's
// GroupStore gave its OnInvalidate. It never calls OnInvalidate.
func (g *GroupStore) Invalidate(inv GroupInvalidation) {
	if inv.All {
		for k := kindUserGrants; k <= kindGroupList; k++ {
			g.s.bump(k)
		}
	}
	for _, l := range inv.Logins {
		g.s.invalidate(kindUserGrants, backend.IdentityKey(l))
	}
	for _, id := range inv.CustomerIDs {
		g.s.invalidate(kindCompanyGrants, backend.IdentityKey(id))
	}
	for _, name := range inv.Groups {
		k := backend.IdentityKey(name)
		g.s.invalidate(kindGroupGrants, k)
		g.s.invalidate(kindGroup, k)
	}
	if len(inv.Groups) > 0 {
		g.s.bump(kindGroupList)
	}
	g.s.invalidations.Add(1)
}
