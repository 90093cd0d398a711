package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/helpdeskkit/customeruser/backend/password"
)

// TestWalkThrough runs the example on the memory backend and checks what it
// shows a newcomer.
func TestWalkThrough(t *testing.T) {
	hasher = password.Hasher{Cost: password.MinCost}
	t.Cleanup(func() { hasher = password.Hasher{} })
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out, "memory"))
	text := out.String()
	for _, want := range []string{
		"added hhuber",
		"added mmeier",
		`Search="hans huber"                           -> hhuber [valid]`,
		`CustomerID="acme"                             -> hhuber [valid], mmeier [valid]`,
		"welcome, Hans Huber",
		"hhuber with a wrong password:   customeruser memory: authenticate: invalid login or password",
		"an unknown login:               customeruser memory: authenticate: invalid login or password",
		"(ErrAccountInvalid: true)",
		"still found for ticket history: hhuber, Hans Huber, state invalid-temporarily",
		`CustomerID="ACME" IncludeInvalid              -> hhuber [invalid-temporarily], mmeier [valid]`,
	} {
		assert.Contains(t, text, want)
	}
	assert.Equal(t, 1, strings.Count(text, `CustomerID="ACME"                             -> mmeier [valid]`))
}

func TestUnknownBackend(t *testing.T) {
	err := run(t.Context(), &bytes.Buffer{}, "nosuch")
	require.ErrorContains(t, err, `unknown -backend "nosuch"`)
}
