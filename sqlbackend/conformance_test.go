package sqlbackend_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/internal/testmysql"
	"github.com/helpdeskkit/customeruser/sqlbackend"
)

// conformanceHarness builds, per subtest, a fresh database with the schema
// of cfg, seeds it through a writable backend on the same database and hands
// out a backend configured as cfg (read-only or not).
func conformanceHarness(cfg sqlbackend.Config) backendtest.NewHarness {
	return legacyHarness(cfg, "")
}

// legacyHarness is conformanceHarness on the OTRS tables made by hand in
// collation (none: CreateSchema's own tables).
func legacyHarness(cfg sqlbackend.Config, collation string) backendtest.NewHarness {
	return func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
		d := testmysql.NewDatabase(t)
		if collation != "" {
			createLegacy(t, d, collation, true)
		}
		cfg.Hasher = &testHasher
		require.NoError(t, sqlbackend.CreateSchema(context.Background(), d.DB, cfg))
		writer := cfg
		writer.ReadOnly = false
		w, err := sqlbackend.New(d.DB, writer)
		require.NoError(t, err)
		for _, s := range seed {
			_, err := w.Add(context.Background(), s.User, s.Password)
			require.NoError(t, err, "seeding %s", s.User.Login)
		}
		b := w
		if cfg.ReadOnly {
			b, err = sqlbackend.New(d.DB, cfg)
			require.NoError(t, err)
		}
		return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{
			ReadOnly:            cfg.ReadOnly,
			MatchPrefix:         cfg.MatchPrefix,
			AutoLoginPrefix:     cfg.AutoLoginPrefix,
			AllowDuplicateEmail: cfg.AllowDuplicateEmail,
			DefaultLimit:        cfg.DefaultLimit,
			LooserIdentity:      collation != "",
		}}
	}
}

// TestConformance runs the shared suite on the default schema (an
// accent-sensitive _ci collation), on utf8mb4_bin tables (case-sensitive:
// the backend lower-cases both sides), on a read-only backend, and with
// prefix matching, generated logins, a small default limit and duplicate
// emails allowed.
func TestConformance(t *testing.T) {
	t.Run("Default", func(t *testing.T) {
		backendtest.Run(t, conformanceHarness(sqlbackend.Config{Name: "sql"}))
	})
	t.Run("Utf8mb4Bin", func(t *testing.T) {
		backendtest.Run(t, conformanceHarness(sqlbackend.Config{Name: "sqlbin", Collation: "utf8mb4_bin"}))
	})
	t.Run("ReadOnly", func(t *testing.T) {
		backendtest.Run(t, conformanceHarness(sqlbackend.Config{Name: "sqlro", ReadOnly: true}))
	})
	// An existing OTRS table in the OTRS collation: its unique index is
	// looser than the identity rule (it may refuse the second of a pair).
	t.Run("OTRSGeneralCI", func(t *testing.T) {
		backendtest.Run(t, legacyHarness(sqlbackend.Config{Name: "sqlotrs"}, "utf8mb4_general_ci"))
	})
	t.Run("PrefixAutoLogin", func(t *testing.T) {
		backendtest.Run(t, conformanceHarness(sqlbackend.Config{Name: "sqlprefix", MatchPrefix: true,
			AutoLoginPrefix: "cu", DefaultLimit: 20, AllowDuplicateEmail: true}))
	})
}
