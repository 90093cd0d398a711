package policy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// ErrInvalidToken is returned by ResetPassword for a token that is unknown,
// expired or already used (one error for all three).
var ErrInvalidToken = errors.New("password-reset token is invalid, expired or used")

// resetTokenBytes is the token's randomness: 256 bits.
const resetTokenBytes = 32

// reservedKeys are the OTRS customer-user preference keys that are fields of
// the record itself (CustomerUser Map: UserLogin, UserEmail, ...): they are
// changed through Update, never as preferences.
var reservedKeys = map[string]bool{
	"UserLogin": true, "UserPassword": true, "UserEmail": true, "UserFirstname": true, "UserLastname": true,
	"UserTitle": true, "UserSalutation": true, "UserCustomerID": true, "UserCustomerIDs": true, "UserPhone": true,
	"UserFax": true, "UserMobile": true, "UserStreet": true, "UserZip": true, "UserCity": true, "UserCountry": true,
	"UserComment": true, "ValidID": true, "Source": true, "CreateTime": true, "ChangeTime": true, "CreateBy": true,
	"ChangeBy": true, "UserID": true, "UserFullname": true,
}

// directoryKey reports keys the Directory itself writes.
func directoryKey(k string) bool {
	return k == KeyLoginFailed || k == KeyLastLogin || strings.HasPrefix(k, keyPrefixInternal)
}

// hiddenKey reports keys Preferences does not show (secrets and their kin).
func hiddenKey(k string) bool { return strings.HasPrefix(k, keyPrefixInternal) }

// ChangePassword is the customer's own password change: the old password
// must be right (a wrong one counts as a failed login), the new one must
// meet the policy.
func (d *Directory) ChangePassword(ctx context.Context, login, oldPassword, newPassword string) error {
	if err := d.cfg.PasswordPolicy.Violations(login, newPassword); err != nil {
		return d.opErr("change-password", err)
	}
	if _, err := d.authenticate(ctx, "change-password", login, oldPassword, false); err != nil {
		return err
	}
	f, err := d.holder(ctx, "change-password", login)
	if err != nil {
		return d.opErr("change-password", err)
	}
	return d.setPassword(ctx, "change-password", f, newPassword)
}

// Preferences gives the user's preferences (the Directory's secrets, such as
// reset-token hashes and password history, left out). The user must exist.
func (d *Directory) Preferences(ctx context.Context, login string) (map[string]string, error) {
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return nil, d.opErr("preferences", err)
	}
	f, err := d.lookup(ctx, "preferences", l)
	if err != nil {
		return nil, d.opErr("preferences", err)
	}
	prefs, err := d.cfg.Preferences.Preferences(ctx, f.user.Login)
	if err != nil {
		return nil, d.opErr("preferences", err)
	}
	for k := range prefs {
		if hiddenKey(k) {
			delete(prefs, k)
		}
	}
	return prefs, nil
}

// SetPreference stores one preference of an existing user. Keys that are
// fields of the record (OTRS's UserEmail, UserFirstname, ValidID, ...) and
// the keys the Directory keeps itself (KeyLoginFailed, KeyLastLogin, the
// password and token keys) are refused with a *backend.ValidationError.
func (d *Directory) SetPreference(ctx context.Context, login, key, value string) error {
	k := strings.TrimSpace(key)
	switch {
	case k == "":
		return d.opErr("set-preference", &backend.ValidationError{Field: "Key", Reason: "required"})
	case reservedKeys[k]:
		return d.opErr("set-preference", &backend.ValidationError{Field: "Key",
			Reason: fmt.Sprintf("%s is a field of the customer user record: change it with Update", k)})
	case directoryKey(k):
		return d.opErr("set-preference", &backend.ValidationError{Field: "Key", Reason: k + " is " + internalKeyReserved})
	}
	if err := backend.CheckText("Key", k, MaxPreferenceKeyLen, true); err != nil {
		return d.opErr("set-preference", err)
	}
	if err := backend.CheckText("Value", value, MaxPreferenceValueLen, false); err != nil {
		return d.opErr("set-preference", err)
	}
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return d.opErr("set-preference", err)
	}
	f, err := d.lookup(ctx, "set-preference", l)
	if err != nil {
		return d.opErr("set-preference", err)
	}
	if err := d.cfg.Preferences.SetPreference(ctx, f.user.Login, k, value); err != nil {
		return d.opErr("set-preference", err)
	}
	return nil
}

// RequestPasswordReset makes a password-reset token for a valid user of a
// writable backend: 256 random bits, URL-safe, stored only as its SHA-256 in
// the preference store, usable once within Config.ResetTokenTTL. A new
// request replaces the previous token. Mail the token (or a link holding
// it) to the user; never show it on the page that asked.
//
// An unknown login gives ErrNotFound and a user who is not valid an
// *backend.AccountInvalidError: a portal shows the same page for all
// three, so that the form tells nobody which logins exist.
func (d *Directory) RequestPasswordReset(ctx context.Context, login string) (string, error) {
	f, err := d.holder(ctx, "request-password-reset", login)
	if err != nil {
		return "", d.opErr("request-password-reset", err)
	}
	if f.user.Valid != backend.Valid {
		return "", d.opErr("request-password-reset", &backend.AccountInvalidError{State: f.user.Valid})
	}
	raw := make([]byte, resetTokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", d.opErr("request-password-reset", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	prefs := d.cfg.Preferences
	expires := d.cfg.Now().Add(d.cfg.ResetTokenTTL).Unix()
	// The uses counter first, so that a half-written token is never usable.
	for _, kv := range [][2]string{{KeyResetUses, "0"}, {KeyResetExpires, strconv.FormatInt(expires, 10)}, {KeyResetToken, tokenHash(token)}} {
		if err := prefs.SetPreference(ctx, f.user.Login, kv[0], kv[1]); err != nil {
			return "", d.opErr("request-password-reset", err)
		}
	}
	return token, nil
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ResetPassword sets a new password with a token from RequestPasswordReset.
// The new password must meet the policy (a refused password leaves the
// token usable). The token is used up by the first ResetPassword that
// passes the policy, even across app instances sharing the preference
// store; an unknown, expired or used token gives ErrInvalidToken.
func (d *Directory) ResetPassword(ctx context.Context, token, newPassword string) error {
	const op = "reset-password"
	invalid := d.opErr(op, ErrInvalidToken)
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != resetTokenBytes {
		return invalid
	}
	logins, err := d.cfg.Preferences.LoginsWith(ctx, KeyResetToken, tokenHash(token))
	if err != nil {
		return d.opErr(op, err)
	}
	if len(logins) != 1 {
		return invalid
	}
	login := logins[0]
	prefs, err := d.cfg.Preferences.Preferences(ctx, login)
	if err != nil {
		return d.opErr(op, err)
	}
	expires, err := strconv.ParseInt(prefs[KeyResetExpires], 10, 64)
	if err != nil || d.cfg.Now().Unix() >= expires {
		return invalid
	}
	f, err := d.holder(ctx, op, login)
	if err != nil {
		return d.opErr(op, err)
	}
	if err := d.checkPasswordPolicy(ctx, f.user.Login, newPassword); err != nil {
		return d.opErr(op, err)
	}
	uses, err := d.cfg.Preferences.Increment(ctx, login, KeyResetUses, 1)
	if err != nil {
		return d.opErr(op, err)
	}
	if uses != 1 {
		return invalid
	}
	for _, k := range []string{KeyResetToken, KeyResetExpires} {
		if err := d.cfg.Preferences.DeletePreference(ctx, login, k); err != nil {
			d.log.WarnContext(ctx, "customeruser: could not remove a used reset token", "op", op, "login", login, "error", err)
		}
	}
	if err := d.setPassword(ctx, op, f, newPassword); err != nil {
		return err
	}
	if err := d.cfg.Preferences.SetPreference(ctx, f.user.Login, KeyLoginFailed, "0"); err != nil {
		d.log.WarnContext(ctx, "customeruser: could not reset the failed-login count", "op", op, "login", login, "error", err)
	}
	return nil
}

// checkPasswordPolicy applies the policy, the history included.
func (d *Directory) checkPasswordPolicy(ctx context.Context, login, password string) error {
	err := d.cfg.PasswordPolicy.Violations(login, password)
	if err != nil || d.cfg.PasswordPolicy.History == 0 {
		return err
	}
	prefs, perr := d.cfg.Preferences.Preferences(ctx, login)
	if perr != nil {
		return perr
	}
	for i := 1; i <= d.cfg.PasswordPolicy.History; i++ {
		stored := prefs[KeyPasswordHistory+strconv.Itoa(i)]
		if stored == "" {
			continue
		}
		ok, _, verr := d.cfg.Hasher.VerifyContext(ctx, stored, password, login)
		if verr != nil {
			return verr
		}
		if ok {
			return backend.ValidationErrors{{Field: backend.FieldPassword,
				Reason: fmt.Sprintf("was one of the last %d passwords", d.cfg.PasswordPolicy.History)}}
		}
	}
	return nil
}

// recordPassword pushes the new password's hash onto the history.
func (d *Directory) recordPassword(ctx context.Context, login, password string) {
	n := d.cfg.PasswordPolicy.History
	if n == 0 {
		return
	}
	prefs, err := d.cfg.Preferences.Preferences(ctx, login)
	if err == nil {
		var h string
		h, err = d.cfg.Hasher.HashContext(ctx, password)
		if err == nil {
			for i := n; i > 1 && err == nil; i-- {
				if prev := prefs[KeyPasswordHistory+strconv.Itoa(i-1)]; prev != "" {
					err = d.cfg.Preferences.SetPreference(ctx, login, KeyPasswordHistory+strconv.Itoa(i), prev)
				}
			}
			if err == nil {
				err = d.cfg.Preferences.SetPreference(ctx, login, KeyPasswordHistory+"1", h)
			}
		}
	}
	if err != nil {
		d.log.WarnContext(ctx, "customeruser: could not record the password history", "op", "set-password", "login", login, "error", err)
	}
}
