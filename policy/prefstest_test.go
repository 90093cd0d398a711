package policy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/policy"
)

// testPreferenceStore checks any PreferenceStore against the interface's
// contract. Every subtest gets a fresh store from newStore.
func testPreferenceStore(t *testing.T, newStore func(t *testing.T) policy.PreferenceStore) {
	prefs := func(t *testing.T, s policy.PreferenceStore, login string) map[string]string {
		t.Helper()
		p, err := s.Preferences(t.Context(), login)
		require.NoError(t, err)
		return p
	}
	set := func(t *testing.T, s policy.PreferenceStore, login, key, value string) {
		t.Helper()
		require.NoError(t, s.SetPreference(t.Context(), login, key, value))
	}

	t.Run("SetGetReplaceDelete", func(t *testing.T) {
		s := newStore(t)
		assert.Empty(t, prefs(t, s, "alice"))
		set(t, s, "alice", "Lang", "de")
		set(t, s, "alice", "Theme", "dark")
		set(t, s, "bob", "Lang", "en")
		assert.Equal(t, map[string]string{"Lang": "de", "Theme": "dark"}, prefs(t, s, "alice"))
		set(t, s, "alice", "Lang", "fr")
		assert.Equal(t, map[string]string{"Lang": "fr", "Theme": "dark"}, prefs(t, s, "alice"))
		// Keys are exact: another case or a trailing space is another key.
		set(t, s, "alice", "lang", "it")
		set(t, s, "alice", "Lang ", "pt")
		assert.Equal(t, map[string]string{"Lang": "fr", "lang": "it", "Lang ": "pt", "Theme": "dark"}, prefs(t, s, "alice"))
		require.NoError(t, s.DeletePreference(t.Context(), "alice", "Lang"))
		require.NoError(t, s.DeletePreference(t.Context(), "alice", "Missing"))
		require.NoError(t, s.DeletePreference(t.Context(), "nobody", "Lang"))
		assert.Equal(t, map[string]string{"lang": "it", "Lang ": "pt", "Theme": "dark"}, prefs(t, s, "alice"))
		assert.Equal(t, map[string]string{"Lang": "en"}, prefs(t, s, "bob"))
		// The full sizes fit, in any script; an empty value is a value.
		long := strings.Repeat("é", policy.MaxPreferenceValueLen-1) + "😀"
		key := strings.Repeat("ß", policy.MaxPreferenceKeyLen)
		set(t, s, "alice", key, long)
		set(t, s, "alice", "Empty", "")
		set(t, s, "alice", "Lines", "a\nb\tc")
		p := prefs(t, s, "alice")
		assert.Equal(t, long, p[key])
		assert.Equal(t, "a\nb\tc", p["Lines"])
		v, ok := p["Empty"]
		assert.True(t, ok)
		assert.Empty(t, v)
	})

	t.Run("Identity", func(t *testing.T) {
		s := newStore(t)
		set(t, s, "HHuber", "Lang", "de")
		assert.Equal(t, map[string]string{"Lang": "de"}, prefs(t, s, "hhuber"))
		assert.Equal(t, map[string]string{"Lang": "de"}, prefs(t, s, "  HHUBER "))
		set(t, s, "hhuber", "Lang", "fr")
		assert.Equal(t, map[string]string{"Lang": "fr"}, prefs(t, s, "HHuber"))

		set(t, s, "\u212Aelvin", "Lang", "k") // KELVIN SIGN
		assert.Equal(t, map[string]string{"Lang": "k"}, prefs(t, s, "kelvin"))

		set(t, s, "rené", "Lang", "accent")
		set(t, s, "rene", "Lang", "plain")
		assert.Equal(t, map[string]string{"Lang": "accent"}, prefs(t, s, "RENÉ"))
		assert.Equal(t, map[string]string{"Lang": "accent"}, prefs(t, s, "rene\u0301")) // NFD
		assert.Equal(t, map[string]string{"Lang": "plain"}, prefs(t, s, "rene"))
		require.NoError(t, s.DeletePreference(t.Context(), "rene", "Lang"))
		assert.Equal(t, map[string]string{"Lang": "accent"}, prefs(t, s, "rené"))
		set(t, s, "straße", "Lang", "ß")
		assert.Empty(t, prefs(t, s, "strasse"))
	})

	t.Run("Increment", func(t *testing.T) {
		s := newStore(t)
		inc := func(login, key string, delta int) int {
			t.Helper()
			n, err := s.Increment(t.Context(), login, key, delta)
			require.NoError(t, err)
			return n
		}
		assert.Equal(t, 0, inc("alice", "Count", 0))
		assert.Empty(t, prefs(t, s, "alice"), "delta 0 only reads")
		assert.Equal(t, 1, inc("alice", "Count", 1))
		assert.Equal(t, 3, inc("ALICE", "Count", 2))
		assert.Equal(t, 3, inc("alice", "Count", 0))
		assert.Equal(t, "3", prefs(t, s, "alice")["Count"])
		assert.Equal(t, 0, inc("alice", "Count", -10), "clamped to 0")
		assert.Equal(t, "0", prefs(t, s, "alice")["Count"])
		set(t, s, "alice", "Word", "abc")
		assert.Equal(t, 0, inc("alice", "Word", 0))
		assert.Equal(t, "abc", prefs(t, s, "alice")["Word"])
		assert.Equal(t, 2, inc("alice", "Word", 2), "non-numeric counts as 0")
		set(t, s, "alice", "Neg", "-4")
		assert.Equal(t, 0, inc("alice", "Neg", 0))
		assert.Equal(t, 0, inc("alice", "Neg", 1))
		assert.Equal(t, 1, inc("alice", "Neg", 1))
		assert.Equal(t, 0, inc("bob", "Count", 0), "per user")
	})

	t.Run("ConcurrentIncrement", func(t *testing.T) {
		s := newStore(t)
		checkConcurrentIncrements(t, 50, func(i int) (int, error) {
			login := []string{"carol", "Carol", "CAROL"}[i%3]
			n, err := s.Increment(t.Context(), login, "UserLoginFailed", 1)
			// Other users and keys meanwhile.
			if err == nil {
				err = s.SetPreference(t.Context(), fmt.Sprintf("other%d", i%5), "Lang", "de")
			}
			if err == nil {
				_, err = s.Preferences(t.Context(), "carol")
			}
			return n, err
		})
		assert.Equal(t, map[string]string{"UserLoginFailed": "50"}, prefs(t, s, "carol"))
	})

	t.Run("Rename", func(t *testing.T) {
		s := newStore(t)
		set(t, s, "old", "A", "1")
		set(t, s, "Old", "B", "2")
		set(t, s, "new", "B", "x")
		set(t, s, "new", "C", "3")
		set(t, s, "bystander", "A", "1")
		require.NoError(t, s.Rename(t.Context(), "OLD", "New"))
		assert.Empty(t, prefs(t, s, "old"))
		assert.Equal(t, map[string]string{"A": "1", "B": "2", "C": "3"}, prefs(t, s, "new"))
		assert.Equal(t, map[string]string{"A": "1"}, prefs(t, s, "bystander"))
		n, err := s.Increment(t.Context(), "new", "A", 1)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		// Nothing to move: the target is untouched.
		require.NoError(t, s.Rename(t.Context(), "nobody", "new"))
		assert.Len(t, prefs(t, s, "new"), 3)
		// Another spelling of the same identity respells the rows.
		set(t, s, "dora", "Token", "t")
		require.NoError(t, s.Rename(t.Context(), "dora", "Dora"))
		assert.Equal(t, map[string]string{"Token": "t"}, prefs(t, s, "DORA"))
		logins, err := s.LoginsWith(t.Context(), "Token", "t")
		require.NoError(t, err)
		assert.Equal(t, []string{"Dora"}, logins)
		// Accents are another identity.
		set(t, s, "rene", "K", "v")
		require.NoError(t, s.Rename(t.Context(), "rene", "rené"))
		assert.Empty(t, prefs(t, s, "rene"))
		assert.Equal(t, map[string]string{"K": "v"}, prefs(t, s, "rené"))
	})

	t.Run("LoginsWith", func(t *testing.T) {
		s := newStore(t)
		set(t, s, "Alice", "Token", "h1")
		set(t, s, "bob", "Token", "h2")
		set(t, s, "carol", "Token", "h1")
		set(t, s, "dave", "token", "h1")  // another key
		set(t, s, "erin", "Token", "H1")  // another value
		set(t, s, "fred", "Token", "h1 ") // another value
		set(t, s, "alice", "Other", "x")
		logins, err := s.LoginsWith(t.Context(), "Token", "h1")
		require.NoError(t, err)
		assert.Equal(t, []string{"Alice", "carol"}, logins)
		logins, err = s.LoginsWith(t.Context(), "Token", "none")
		require.NoError(t, err)
		assert.Empty(t, logins)
		require.NoError(t, s.DeletePreference(t.Context(), "carol", "Token"))
		require.NoError(t, s.Rename(t.Context(), "alice", "alicia"))
		logins, err = s.LoginsWith(t.Context(), "Token", "h1")
		require.NoError(t, err)
		assert.Equal(t, []string{"alicia"}, logins)
		set(t, s, "gina", "Token", "")
		logins, err = s.LoginsWith(t.Context(), "Token", "")
		require.NoError(t, err)
		assert.Equal(t, []string{"gina"}, logins)
	})

	t.Run("BadInput", func(t *testing.T) {
		s := newStore(t)
		set(t, s, "alice", "Lang", "de")
		before := prefs(t, s, "alice")
		mib := strings.Repeat("x", 1<<20)
		cases := []struct {
			name, login, key, value, field string
		}{
			{"empty login", "", "K", "v", backend.FieldLogin},
			{"white-space login", " \t ", "K", "v", backend.FieldLogin},
			{"NUL in login", "ali\x00ce", "K", "v", backend.FieldLogin},
			{"invalid UTF-8 login", "ali\xffce", "K", "v", backend.FieldLogin},
			{"1 MiB login", mib, "K", "v", backend.FieldLogin},
			{"empty key", "alice", "", "v", "Key"},
			{"long key", "alice", strings.Repeat("k", policy.MaxPreferenceKeyLen+1), "v", "Key"},
			{"NUL in key", "alice", "La\x00ng", "v", "Key"},
			{"invalid UTF-8 key", "alice", "La\xc3ng", "v", "Key"},
			{"1 MiB key", "alice", mib, "v", "Key"},
			{"long value", "alice", "Lang", strings.Repeat("é", policy.MaxPreferenceValueLen+1), "Value"},
			{"1 MiB value", "alice", "Lang", mib, "Value"},
			{"NUL in value", "alice", "Lang", "d\x00e", "Value"},
			{"invalid UTF-8 value", "alice", "Lang", "d\xffe", "Value"},
		}
		check := func(t *testing.T, err error, field string) {
			t.Helper()
			var verr *backend.ValidationError
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, field, verr.Field)
			assert.ErrorIs(t, err, backend.ErrInvalidInput)
			assert.True(t, strings.HasPrefix(err.Error(), "customeruser preferences:"), err.Error())
			assert.Less(t, len(err.Error()), 200, "the value is not quoted")
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				check(t, s.SetPreference(ctx, tc.login, tc.key, tc.value), tc.field)
				if tc.field == "Value" {
					_, err := s.LoginsWith(ctx, tc.key, tc.value)
					check(t, err, tc.field)
					return
				}
				check(t, s.DeletePreference(ctx, tc.login, tc.key), tc.field)
				_, err := s.Increment(ctx, tc.login, tc.key, 1)
				check(t, err, tc.field)
				if tc.field == "Key" {
					_, err := s.LoginsWith(ctx, tc.key, "v")
					check(t, err, tc.field)
					return
				}
				_, err = s.Preferences(ctx, tc.login)
				check(t, err, tc.field)
				check(t, s.Rename(ctx, tc.login, "alice"), tc.field)
				check(t, s.Rename(ctx, "alice", tc.login), tc.field)
			})
		}
		assert.Equal(t, before, prefs(t, s, "alice"), "nothing changed")
	})

	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		set(t, s, "alice", "Lang", "de")
		set(t, s, "alice", "Count", "1")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Preferences(ctx, "alice")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, s.SetPreference(ctx, "alice", "Lang", "fr"), context.Canceled)
		assert.ErrorIs(t, s.DeletePreference(ctx, "alice", "Lang"), context.Canceled)
		_, err = s.Increment(ctx, "alice", "Count", 1)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Increment(ctx, "alice", "Count", 0)
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.LoginsWith(ctx, "Lang", "de")
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, s.Rename(ctx, "alice", "bob"), context.Canceled)
		assert.True(t, strings.HasPrefix(err.Error(), "customeruser preferences:"), err.Error())
		assert.Equal(t, map[string]string{"Lang": "de", "Count": "1"}, prefs(t, s, "alice"), "nothing changed")
	})
}

// checkConcurrentIncrements runs inc(0) .. inc(n-1) at once, each
// incrementing one counter by 1, and checks that they saw the values 1 to
// n, each once: no increment lost, none counted twice.
func checkConcurrentIncrements(t *testing.T, n int, inc func(i int) (int, error)) {
	t.Helper()
	got := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = inc(i) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	slices.Sort(got)
	for i := range n {
		require.Equal(t, i+1, got[i], "every increment sees its own value: none lost")
	}
}
