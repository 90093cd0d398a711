package policy

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/helpdeskkit/customeruser/backend"
)

// MaxPasswordHistory bounds PasswordPolicy.History.
const MaxPasswordHistory = 24

// PasswordPolicy is what the Directory requires of every password it sets
// (Add, SetPassword, ChangePassword, ResetPassword), as OTRS's
// CustomerPreferencesGroups###Password has it (PasswordMinSize,
// PasswordMin2Lower2UpperCharacters, PasswordNeedDigit) and more. The zero
// value adds nothing to the contract's rules (not empty, at most 72 bytes)
// except one that always holds: a password never equals the login.
type PasswordPolicy struct {
	// MinLength is the minimum number of characters.
	MinLength int
	// MinLower and MinUpper are the minimum numbers of lower- and upper-case
	// letters (OTRS's "2 lower and 2 upper" is 2 and 2).
	MinLower, MinUpper int
	// RequireDigit asks for at least one digit.
	RequireDigit bool
	// History refuses the last History passwords of the user (their bcrypt
	// hashes are kept in the preference store). At most MaxPasswordHistory.
	History int
}

func (p PasswordPolicy) check() error {
	switch {
	case p.MinLength < 0 || p.MinLength > backend.MaxNewPasswordBytes:
		return fmt.Errorf("MinLength outside 0..%d", backend.MaxNewPasswordBytes)
	case p.MinLower < 0 || p.MinUpper < 0:
		return fmt.Errorf("MinLower and MinUpper must not be negative")
	case p.History < 0 || p.History > MaxPasswordHistory:
		return fmt.Errorf("History outside 0..%d", MaxPasswordHistory)
	}
	return nil
}

// Violations checks password for login against the policy's own rules (the
// history aside) and the contract's (backend.CheckPassword). It returns
// every violation at once, as backend.ValidationErrors whose entries all
// have Field "Password" and one reason each, or nil.
func (p PasswordPolicy) Violations(login, password string) error {
	var errs backend.ValidationErrors
	add := func(format string, args ...any) {
		errs = append(errs, &backend.ValidationError{Field: backend.FieldPassword, Reason: fmt.Sprintf(format, args...)})
	}
	if err := backend.CheckPassword(password); err != nil {
		var ve *backend.ValidationError
		if ok := asValidation(err, &ve); ok {
			errs = append(errs, ve)
		}
		return errs // the other rules mean nothing for a password that cannot be stored
	}
	var lower, upper, digits int
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			lower++
		case unicode.IsUpper(r):
			upper++
		}
		if unicode.IsDigit(r) {
			digits++
		}
	}
	if n := utf8.RuneCountInString(password); n < p.MinLength {
		add("shorter than %d characters", p.MinLength)
	}
	if lower < p.MinLower {
		add("needs at least %d lower-case letters", p.MinLower)
	}
	if upper < p.MinUpper {
		add("needs at least %d upper-case letters", p.MinUpper)
	}
	if p.RequireDigit && digits == 0 {
		add("needs at least one digit")
	}
	if login != "" && backend.SameIdentity(password, login) {
		add("must not be the login")
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
