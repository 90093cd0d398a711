package policy

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/helpdeskkit/customeruser/backend"
)

// prefsName names the preference stores in errors and logs:
// "customeruser preferences: <op>: ...".
const prefsName = "preferences"

// Field names of the preference stores' validation errors.
const (
	fieldPrefKey   = "Key"
	fieldPrefValue = "Value"
)

// prefsErr wraps an error of a preference store with its operation.
func prefsErr(op string, err error) error { return backend.OpError(prefsName, op, err) }

// checkLogin gives the login as it is stored (trimmed, NFC) or a
// *backend.ValidationError for the field Login.
func checkLogin(login string) (string, error) { return backend.NormalizeLogin(login) }

// checkKey refuses an empty key, one over MaxPreferenceKeyLen characters and
// one with invalid UTF-8, NUL, control or invisible characters. Keys are
// exact: "Lang" and "lang" are two keys.
func checkKey(key string) error {
	if key == "" {
		return &backend.ValidationError{Field: fieldPrefKey, Reason: "required"}
	}
	return backend.CheckText(fieldPrefKey, key, MaxPreferenceKeyLen, true)
}

// checkValue refuses a value over MaxPreferenceValueLen characters, invalid
// UTF-8 and NUL. Anything else (new lines, an empty string) is a value.
func checkValue(v string) error {
	switch {
	case !utf8.ValidString(v):
		return &backend.ValidationError{Field: fieldPrefValue, Reason: "not valid UTF-8"}
	case len(v) > MaxPreferenceValueLen && utf8.RuneCountInString(v) > MaxPreferenceValueLen:
		return &backend.ValidationError{Field: fieldPrefValue, Reason: fmt.Sprintf("longer than %d characters", MaxPreferenceValueLen)}
	case strings.IndexByte(v, 0) >= 0:
		return &backend.ValidationError{Field: fieldPrefValue, Reason: "contains a NUL byte"}
	}
	return nil
}

// checkLoginKey checks the arguments common to most methods.
func checkLoginKey(login, key string) (string, error) {
	login, err := checkLogin(login)
	if err != nil {
		return "", err
	}
	return login, checkKey(key)
}

// counterValue reads a stored counter: a missing or non-numeric value is 0.
func counterValue(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0
	}
	return n
}

// addClamped gives n+delta, saturating instead of overflowing, and never
// below 0.
func addClamped(n, delta int) int {
	switch {
	case delta > 0 && n > math.MaxInt-delta:
		return math.MaxInt
	case delta < 0 && n < math.MinInt-delta:
		return 0
	}
	return max(n+delta, 0)
}

// memValue is one stored preference: the value and the spelling of the login
// it was written under (LoginsWith returns that spelling, as the SQL store
// returns its user_id).
type memValue struct {
	login, value string
}

// MemoryPreferences is a PreferenceStore in memory: for tests, and the
// Directory's default when no store is configured (failed-login counts and
// reset tokens are then lost on restart and not shared between instances).
// It is safe for concurrent use.
type MemoryPreferences struct {
	mu sync.RWMutex
	// users maps backend.IdentityKey(login) to the user's preferences.
	users map[string]map[string]memValue
}

var _ PreferenceStore = (*MemoryPreferences)(nil)

// NewMemoryPreferences returns an empty MemoryPreferences.
func NewMemoryPreferences() *MemoryPreferences {
	return &MemoryPreferences{users: map[string]map[string]memValue{}}
}

// begin checks ctx and the login for the operation op.
func (m *MemoryPreferences) begin(ctx context.Context, op, login string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", prefsErr(op, err)
	}
	login, err := checkLogin(login)
	if err != nil {
		return "", prefsErr(op, err)
	}
	return login, nil
}

// Preferences returns a copy of every key and value of the user.
func (m *MemoryPreferences) Preferences(ctx context.Context, login string) (map[string]string, error) {
	login, err := m.begin(ctx, "preferences", login)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	stored := m.users[backend.IdentityKey(login)]
	out := make(map[string]string, len(stored))
	for k, v := range stored {
		out[k] = v.value
	}
	return out, nil
}

// SetPreference stores value under key, replacing what was there.
func (m *MemoryPreferences) SetPreference(ctx context.Context, login, key, value string) error {
	const op = "set"
	login, err := m.begin(ctx, op, login)
	if err == nil {
		err = checkKey(key)
		if err == nil {
			err = checkValue(value)
		}
		if err != nil {
			err = prefsErr(op, err)
		}
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(login, key, value)
	return nil
}

// set stores one value; m.mu is held.
func (m *MemoryPreferences) set(login, key, value string) {
	id := backend.IdentityKey(login)
	u := m.users[id]
	if u == nil {
		u = map[string]memValue{}
		m.users[id] = u
	}
	u[key] = memValue{login: login, value: value}
}

// DeletePreference removes the key; an absent key is no error.
func (m *MemoryPreferences) DeletePreference(ctx context.Context, login, key string) error {
	const op = "delete"
	login, err := m.begin(ctx, op, login)
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return prefsErr(op, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := backend.IdentityKey(login)
	delete(m.users[id], key)
	if len(m.users[id]) == 0 {
		delete(m.users, id)
	}
	return nil
}

// Increment adds delta to the integer under key and returns the new value
// (see PreferenceStore). Delta 0 only reads.
func (m *MemoryPreferences) Increment(ctx context.Context, login, key string, delta int) (int, error) {
	const op = "increment"
	login, err := m.begin(ctx, op, login)
	if err != nil {
		return 0, err
	}
	if err := checkKey(key); err != nil {
		return 0, prefsErr(op, err)
	}
	id := backend.IdentityKey(login)
	if delta == 0 {
		m.mu.RLock()
		defer m.mu.RUnlock()
		return max(counterValue(m.users[id][key].value), 0), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := addClamped(counterValue(m.users[id][key].value), delta)
	m.set(login, key, strconv.Itoa(n))
	return n, nil
}

// LoginsWith returns the logins holding exactly value under key, one per
// identity, ordered by backend.CompareLogins. It looks at every user.
func (m *MemoryPreferences) LoginsWith(ctx context.Context, key, value string) ([]string, error) {
	const op = "logins-with"
	if err := ctx.Err(); err != nil {
		return nil, prefsErr(op, err)
	}
	if err := checkKey(key); err != nil {
		return nil, prefsErr(op, err)
	}
	if err := checkValue(value); err != nil {
		return nil, prefsErr(op, err)
	}
	m.mu.RLock()
	var out []string
	for _, u := range m.users {
		if v, ok := u[key]; ok && v.value == value {
			out = append(out, v.login)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, backend.CompareLogins)
	return out, nil
}

// Rename moves every preference of oldLogin to newLogin, replacing the keys
// newLogin already has. Renaming to another spelling of the same identity
// respells the stored login.
func (m *MemoryPreferences) Rename(ctx context.Context, oldLogin, newLogin string) error {
	const op = "rename"
	oldLogin, err := m.begin(ctx, op, oldLogin)
	if err != nil {
		return err
	}
	if newLogin, err = checkLogin(newLogin); err != nil {
		return prefsErr(op, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	oldID := backend.IdentityKey(oldLogin)
	moved := m.users[oldID]
	delete(m.users, oldID)
	for k, v := range moved {
		m.set(newLogin, k, v.value)
	}
	return nil
}
