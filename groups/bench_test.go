package groups_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
)

// fillBench gives a customer 1,000 groups: 400 of their own, 300 through
// each of their two companies, among 2,000 groups in all, with other users'
// and companies' rows besides.
func fillBench(b *testing.B, s groups.Store) backend.CustomerUser {
	ctx := context.Background()
	for i := range 2000 {
		_, err := s.AddGroup(ctx, groups.Group{Name: fmt.Sprintf("group-%04d", i)})
		require.NoError(b, err)
	}
	for i := range 1000 {
		g := fmt.Sprintf("group-%04d", i)
		switch {
		case i < 400:
			require.NoError(b, s.SetMemberPermissions(ctx, g, "bench.user", map[string]bool{"ro": true, "create": i%2 == 0}))
		case i < 700:
			require.NoError(b, s.SetCompanyPermissions(ctx, g, "COMP-A", "", map[string]bool{"ro": true}))
		default:
			require.NoError(b, s.SetCompanyPermissions(ctx, g, "COMP-B", "", map[string]bool{"rw": true}))
		}
		require.NoError(b, s.SetMemberPermissions(ctx, fmt.Sprintf("group-%04d", 1000+i), "someone.else", map[string]bool{"rw": true}))
	}
	return backend.CustomerUser{Login: "Bench.User", CustomerID: "comp-a", CustomerIDs: []string{"comp-b"}, Valid: backend.Valid, Source: "db"}
}

func benchResolve(b *testing.B, s groups.Store) {
	u := fillBench(b, s)
	r, err := groups.NewResolver(s, groups.Config{Support: true, AlwaysGroups: []string{"group-1999"}, CompanyAlwaysGroups: []string{"group-1998"}})
	require.NoError(b, err)
	ctx := context.Background()
	ps, err := r.Groups(ctx, u)
	require.NoError(b, err)
	require.Len(b, ps, 400+200+300+300+2) // ro on 400, create on 200, through the companies, the always-groups
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Groups(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolverGroups resolves the groups of a customer with 1,000 groups.
func BenchmarkResolverGroups(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchResolve(b, groups.NewMemoryStore()) })
	b.Run("mariadb", func(b *testing.B) {
		d := testmysql.NewDatabase(b)
		s, err := groups.NewSQLStore(context.Background(), d.DB, groups.SQLConfig{})
		require.NoError(b, err)
		benchResolve(b, s)
	})
}
