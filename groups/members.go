package groups

import (
	"context"
	"errors"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// UserSource finds customer users for Members. Every
// backend.CustomerUserBackend (and policy.Directory) is one. A store cannot
// know whether a login is valid, so whoever lists members passes it.
type UserSource interface {
	Get(ctx context.Context, login string) (backend.CustomerUser, error)
	Search(ctx context.Context, q backend.Query) ([]backend.CustomerUser, error)
}

// Member is one customer user in a group with one key: through their own
// row (CustomerID empty) or through a company row in ContextSame of that
// customer ID.
type Member struct {
	Login      string
	Key        string
	CustomerID string
}

// Members lists the members of a group like OTRS GroupMemberList(GroupID):
// the users with their own rows, minus those users finds and who are not
// Valid (a login that no backend knows is kept, as OTRS keeps it), plus
// every valid user of each customer ID holding the group in ContextSame.
// It lists stored rows only: AlwaysGroups and support off are a Resolver's
// matter. A customer ID containing '*' is skipped (a Query would read it as
// a wildcard). Order: own rows first, as the store gives them, then per
// company by login.
func Members(ctx context.Context, store Store, users UserSource, group string) ([]Member, error) {
	fail := func(err error) error { return backend.OpError("groups", "members", err) }
	gs, err := store.GroupGrants(ctx, group)
	if err != nil {
		return nil, err
	}
	valid := map[string]bool{}
	var out []Member
	for _, g := range gs {
		if g.Login == "" {
			continue
		}
		k := backend.IdentityKey(g.Login)
		ok, seen := valid[k]
		if !seen {
			u, err := users.Get(ctx, g.Login)
			switch {
			case errors.Is(err, backend.ErrNotFound):
				ok = true
			case err != nil:
				return nil, fail(err)
			default:
				ok = u.Valid == backend.Valid
			}
			valid[k] = ok
		}
		if ok {
			out = append(out, Member{Login: g.Login, Key: g.Key})
		}
	}
	for _, g := range gs {
		if g.CustomerID == "" || g.Context != ContextSame || strings.Contains(g.CustomerID, "*") {
			continue
		}
		q := backend.Query{CustomerID: g.CustomerID, Limit: backend.MaxLimit}
		for {
			page, err := users.Search(ctx, q)
			if err != nil {
				return nil, fail(err)
			}
			for _, u := range page {
				out = append(out, Member{Login: u.Login, Key: g.Key, CustomerID: g.CustomerID})
			}
			if len(page) < q.Limit {
				break
			}
			q.After = page[len(page)-1].Login
		}
	}
	return out, nil
}
