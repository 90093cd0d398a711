package cache_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/cache"
	"github.com/helpdeskkit/customeruser/groups"
	"github.com/helpdeskkit/customeruser/groups/groupstest"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/memorybackend"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// TestConformance runs the shared suite on a Cache over the memory backend
// (default, and with generated logins and duplicate emails) and over
// sqlbackend on a real MariaDB: the decorator must not change what a
// backend means. (A read-only backend's writes pass straight through the
// Cache; the suite's read-only run is left to the backends, to keep this
// package's tests short.)
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  memorybackend.Config
	}{
		{"memory", memorybackend.Config{}},
		{"memory-auto-login", memorybackend.Config{AutoLoginPrefix: "cust", AllowDuplicateEmail: true, DefaultLimit: 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
				cfg := tc.cfg
				cfg.Hasher = &testHasher
				for _, s := range seed {
					cfg.Users = append(cfg.Users, memorybackend.User{CustomerUser: s.User, Password: s.Password})
				}
				b, err := memorybackend.New(cfg)
				require.NoError(t, err)
				c, err := cache.New(b, cache.Config{MaxEntries: 500})
				require.NoError(t, err)
				return backendtest.Harness{Backend: c, Caps: backendtest.Capabilities{
					ReadOnly:            cfg.ReadOnly,
					AutoLoginPrefix:     cfg.AutoLoginPrefix,
					AllowDuplicateEmail: cfg.AllowDuplicateEmail,
					DefaultLimit:        cfg.DefaultLimit,
				}}
			})
		})
	}
	t.Run("sql", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
			d := testmysql.NewDatabase(t)
			cfg := sqlbackend.Config{Name: "sql", Hasher: &testHasher}
			require.NoError(t, sqlbackend.CreateSchema(context.Background(), d.DB, cfg))
			b, err := sqlbackend.New(d.DB, cfg)
			require.NoError(t, err)
			for _, s := range seed {
				_, err := b.Add(context.Background(), s.User, s.Password)
				require.NoError(t, err, "seeding %s", s.User.Login)
			}
			c, err := cache.New(b, cache.Config{MaxEntries: 500})
			require.NoError(t, err)
			return backendtest.Harness{Backend: c}
		})
	})
}

// TestGroupStoreConformance runs the groups store suite on a GroupStore
// over the memory store.
func TestGroupStoreConformance(t *testing.T) {
	groupstest.Run(t, func(t *testing.T) groups.Store {
		s, err := cache.NewGroupStore(groups.NewMemoryStore(), cache.GroupConfig{MaxEntries: 200})
		require.NoError(t, err)
		return s
	})
}
