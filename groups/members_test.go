package groups_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

func TestMembersInheritAndExcludeInvalid(t *testing.T) {
	ctx := testCtx(t)
	users, err := memorybackend.New(memorybackend.Config{Name: "db"})
	require.NoError(t, err)
	for _, u := range []backend.CustomerUser{
		{Login: "anna", FirstName: "A", LastName: "A", Email: "anna@acme.test", CustomerID: "ACME", Valid: backend.Valid},
		{Login: "bert", FirstName: "B", LastName: "B", Email: "bert@acme.test", CustomerID: "other", CustomerIDs: []string{"acme"}, Valid: backend.Valid},
		{Login: "carl", FirstName: "C", LastName: "C", Email: "carl@acme.test", CustomerID: "ACME", Valid: backend.Invalid},
		{Login: "dora", FirstName: "D", LastName: "D", Email: "dora@x.test", CustomerID: "X", Valid: backend.InvalidTemporarily},
	} {
		_, err := users.Add(ctx, u, "")
		require.NoError(t, err)
	}
	s := groups.NewMemoryStore()
	_, err = s.AddGroup(ctx, groups.Group{Name: "g1"})
	require.NoError(t, err)
	require.NoError(t, s.SetMemberPermissions(ctx, "g1", "dora", map[string]bool{"ro": true}))
	require.NoError(t, s.SetMemberPermissions(ctx, "g1", "ghost", map[string]bool{"ro": true}))
	require.NoError(t, s.SetMemberPermissions(ctx, "g1", "anna", map[string]bool{"rw": true}))
	require.NoError(t, s.SetCompanyPermissions(ctx, "g1", "acme", groups.ContextSame, map[string]bool{"ro": true}))
	require.NoError(t, s.SetCompanyPermissions(ctx, "g1", "X", groups.ContextOther, map[string]bool{"ro": true}))

	ms, err := groups.Members(ctx, s, users, "g1")
	require.NoError(t, err)
	assert.Equal(t, []groups.Member{
		{Login: "anna", Key: "rw"},
		{Login: "ghost", Key: "ro"},
		{Login: "anna", Key: "ro", CustomerID: "acme"},
		{Login: "bert", Key: "ro", CustomerID: "acme"},
	}, ms, "dora and carl are invalid; the other context adds no member")
	_, err = groups.Members(ctx, s, users, "nope")
	assert.ErrorIs(t, err, backend.ErrInvalidInput)
}
