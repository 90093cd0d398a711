package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/password"
)

func TestWalkThrough(t *testing.T) {
	hasher = password.Hasher{Cost: password.MinCost}
	t.Cleanup(func() { hasher = password.Hasher{} })
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))
	got := out.String()
	for _, want := range []string{
		"event: added jdoe (local)",
		"hhuber   Hans Huber     from company-ldap",
		"jdoe     Jane Doe       from local",
		"(duplicate login: true)",
		"duplicate email: true",
		"deletion forbidden: true",
		"event: locked-out jdoe (local)",
		"right password now: account invalid-temporarily",
		"shorter than 10 characters",
		"login with the new password: ok",
		"the token again: customeruser directory: reset-password: password-reset token is invalid, expired or used",
		"WARNING: results are incomplete",
		`backend "company-ldap"`,
		"hhuber logs in: customeruser directory: authenticate: invalid login or password (unavailable: true)",
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "Jane-Doe-pw-1", "no password printed")
	assert.NotContains(t, got, "Brand-New-pw-2")
}
