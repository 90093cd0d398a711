package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWalkThrough(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out))
	got := out.String()
	for _, want := range []string{
		"anna  may open tickets in [Support]; sees [Printer on fire]\n",
		"bert  may open tickets in [Support]; sees [Printer on fire]\n",
		"carl  may open tickets in [Projects, Support]; sees [New rollout, VPN down]",
		"anna  may open tickets in [Billing, Support]; sees [Printer on fire, Invoice wrong]",
		`"carl" may not use queue "Billing" with "create": denied: neither the user nor any of their customer IDs holds "create" or "rw" on group "billing"`,
		"bert  may open tickets in []; sees []",
		"carl  may open tickets in [Billing, Projects, Support]; sees [New rollout, VPN down]",
		"bert  may open tickets in [Billing, Projects, Support]; sees [Printer on fire, Invoice wrong]",
	} {
		assert.Contains(t, got, want)
	}
}
