package memorybackend_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/backendtest"
	"github.com/helpdeskkit/customeruser/backend/password"
	"github.com/helpdeskkit/customeruser/memorybackend"
)

// TestConformance runs the backendtest suite against the memory backend in
// each of its configurations, one after the other. The seed is loaded through Config.Users, the
// way a read-only backend gets its data.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  memorybackend.Config
	}{
		{"default", memorybackend.Config{}},
		{"prefix", memorybackend.Config{MatchPrefix: true}},
		{"ngram", memorybackend.Config{NGramIndex: true}},
		{"prefix-ngram", memorybackend.Config{MatchPrefix: true, NGramIndex: true}},
		{"read-only", memorybackend.Config{ReadOnly: true}},
		{"auto-login", memorybackend.Config{AutoLoginPrefix: "cust", AllowDuplicateEmail: true, DefaultLimit: 30}},
	} {
		// Not in parallel: the timing case compares medians of
		// milliseconds, which other configurations' bcrypt on the same
		// cores would blur.
		t.Run(tc.name, func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T, seed []backendtest.Seed) backendtest.Harness {
				cfg := tc.cfg
				cfg.Hasher = &password.Hasher{Cost: 4}
				for _, s := range seed {
					cfg.Users = append(cfg.Users, memorybackend.User{CustomerUser: s.User, Password: s.Password})
				}
				b, err := memorybackend.New(cfg)
				require.NoError(t, err)
				return backendtest.Harness{Backend: b, Caps: backendtest.Capabilities{
					ReadOnly:            cfg.ReadOnly,
					MatchPrefix:         cfg.MatchPrefix,
					AutoLoginPrefix:     cfg.AutoLoginPrefix,
					AllowDuplicateEmail: cfg.AllowDuplicateEmail,
					DefaultLimit:        cfg.DefaultLimit,
				}}
			})
		})
	}
}
