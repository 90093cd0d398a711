package policy_test

import (
	"context"
	"fmt"

	"github.com/helpdeskkit/customeruser/policy"
)

// A memory store finds a user's preferences under any spelling of the login
// and counts atomically.
func ExampleNewMemoryPreferences() {
	ctx := context.Background()
	prefs := policy.NewMemoryPreferences()
	_ = prefs.SetPreference(ctx, "HHuber", "UserLanguage", "de")
	for range 3 {
		_, _ = prefs.Increment(ctx, "hhuber", policy.KeyLoginFailed, 1)
	}
	p, _ := prefs.Preferences(ctx, "hhuber")
	fmt.Println(p["UserLanguage"], p[policy.KeyLoginFailed])
	logins, _ := prefs.LoginsWith(ctx, "UserLanguage", "de")
	fmt.Println(logins)
	// Output:
	// de 3
	// [HHuber]
}
