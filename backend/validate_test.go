package backend

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidState(t *testing.T) {
	for v, s := range map[ValidState]string{Valid: "valid", Invalid: "invalid", InvalidTemporarily: "invalid-temporarily"} {
		assert.Equal(t, s, v.String())
		got, err := ParseValidState(" " + strings.ToUpper(s) + " ")
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
	got, err := ParseValidState("3")
	require.NoError(t, err)
	assert.Equal(t, InvalidTemporarily, got)
	_, err = ParseValidState("deleted")
	assert.ErrorIs(t, err, ErrInvalidInput)
	assert.Equal(t, "ValidState(7)", ValidState(7).String())
}

func TestAllCustomerIDs(t *testing.T) {
	u := CustomerUser{CustomerID: "ACME", CustomerIDs: []string{"acme", " ACME-EU ", "", "Acme-eu", "B"}}
	assert.Equal(t, []string{"ACME", "ACME-EU", "B"}, u.AllCustomerIDs())
	assert.Equal(t, []string{"X"}, CustomerUser{CustomerIDs: []string{"X"}}.AllCustomerIDs())
	assert.Empty(t, CustomerUser{}.AllCustomerIDs())
}

func TestCustomerUserStringAndClone(t *testing.T) {
	u := CustomerUser{Login: "jdoe", Source: "db", FirstName: "John", CustomerIDs: []string{"a"}, Attributes: map[string]string{"k": "v"}}
	assert.Equal(t, `CustomerUser("jdoe" from "db")`, u.String())
	c := u.Clone()
	c.CustomerIDs[0] = "changed"
	c.Attributes["k"] = "changed"
	assert.Equal(t, "a", u.CustomerIDs[0])
	assert.Equal(t, "v", u.Attributes["k"])
	assert.Equal(t, "Dr. John", CustomerUser{Title: " Dr. ", FirstName: "John"}.FullName())
}

func TestNormalizeLogin(t *testing.T) {
	got, err := NormalizeLogin("  MiXed \t")
	require.NoError(t, err)
	assert.Equal(t, "MiXed", got)
	for _, bad := range []string{"", " ", "a\x00b", "a\x01b", "\xff", strings.Repeat("x", MaxLoginLen+1), strings.Repeat("x", 1<<20)} {
		_, err := NormalizeLogin(bad)
		assert.ErrorIs(t, err, ErrInvalidInput, "%.20q", bad)
		if err != nil {
			assert.NotContains(t, err.Error(), strings.Repeat("x", 50))
		}
	}
	_, err = NormalizeLogin(strings.Repeat("ä", MaxLoginLen))
	require.NoError(t, err, "the limit counts characters, not bytes")
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"a@example.org", "first.last+tag@sub.example.co.uk", "müller@bücher.example", "o'neil@x.ie"} {
		assert.NoError(t, CheckEmail(ok), ok)
	}
	for _, bad := range []string{"", "a", "a@b", "@b.c", "a@", "a@@b.c", "a b@c.d", "a..b@c.d", ".a@c.d", "a.@c.d",
		"a@c..d", "a@-c.d", "a@c-.d", "a@c_d.e", "a(b)@c.d", "a\x00@c.d", strings.Repeat("x", 65) + "@c.d"} {
		assert.ErrorIs(t, CheckEmail(bad), ErrInvalidInput, bad)
	}
}

func TestCheckPassword(t *testing.T) {
	for _, ok := range []string{" ", "\t", "x", strings.Repeat("p", MaxNewPasswordBytes), "пароль"} {
		assert.NoError(t, CheckPassword(ok))
	}
	for _, bad := range []string{"", "a\x00", "\xff", strings.Repeat("p", MaxNewPasswordBytes+1), strings.Repeat("p", MaxPasswordBytes+1)} {
		err := CheckPassword(bad)
		require.ErrorIs(t, err, ErrInvalidInput)
		if len(bad) > 1 {
			assert.NotContains(t, err.Error(), bad)
		}
	}
}

func TestNormalizeUser(t *testing.T) {
	in := CustomerUser{Login: " jdoe ", FirstName: " John ", LastName: "Doe", Email: " john@example.org ",
		CustomerID: " ACME ", CustomerIDs: []string{"acme", "B", " b ", ""}, Comment: "line 1\nline 2",
		Source: "ignored", CreatedAt: time.Now()}
	got, err := NormalizeUser(in, true)
	require.NoError(t, err)
	assert.Equal(t, "jdoe", got.Login)
	assert.Equal(t, "John", got.FirstName)
	assert.Equal(t, "john@example.org", got.Email)
	assert.Equal(t, "ACME", got.CustomerID)
	assert.Equal(t, []string{"B"}, got.CustomerIDs)
	assert.Equal(t, Valid, got.Valid)
	assert.Empty(t, got.Source)
	assert.True(t, got.CreatedAt.IsZero())
	assert.Equal(t, "ACME", in.CustomerID[1:5], "the input is not modified")

	cases := map[string]func(u *CustomerUser){
		FieldLogin:       func(u *CustomerUser) { u.Login = "" },
		FieldFirstName:   func(u *CustomerUser) { u.FirstName = "\t" },
		FieldLastName:    func(u *CustomerUser) { u.LastName = strings.Repeat("x", MaxNameLen+1) },
		FieldEmail:       func(u *CustomerUser) { u.Email = "not-an-address" },
		FieldCustomerID:  func(u *CustomerUser) { u.CustomerID = "a\x00" },
		FieldComment:     func(u *CustomerUser) { u.Comment = "\xff" },
		FieldValid:       func(u *CustomerUser) { u.Valid = 4 },
		FieldCustomerIDs: func(u *CustomerUser) { u.CustomerIDs = []string{"x\x00"} },
		FieldAttributes:  func(u *CustomerUser) { u.Attributes = map[string]string{" ": "v"} },
	}
	for field, breakIt := range cases {
		u := in
		breakIt(&u)
		_, err := NormalizeUser(u, true)
		var ve *ValidationError
		require.True(t, errors.As(err, &ve), field)
		assert.Equal(t, field, ve.Field)
		var all ValidationErrors
		require.True(t, errors.As(err, &all), field)
		assert.Equal(t, []string{field}, all.Fields())
	}
	// Email syntax is checked for valid users only.
	u := in
	u.Email, u.Valid = "not-an-address", Invalid
	_, err = NormalizeUser(u, true)
	require.NoError(t, err)
	// Without requireLogin an empty login stays empty (auto-login creation).
	u = in
	u.Login = "  "
	got, err = NormalizeUser(u, false)
	require.NoError(t, err)
	assert.Empty(t, got.Login)
}

func TestCheckQuery(t *testing.T) {
	_, limit, err := CheckQuery(Query{}, 0)
	require.NoError(t, err)
	assert.Equal(t, DefaultLimit, limit)
	_, limit, err = CheckQuery(Query{}, 50)
	require.NoError(t, err)
	assert.Equal(t, 50, limit)
	_, limit, err = CheckQuery(Query{Limit: 7}, 50)
	require.NoError(t, err)
	assert.Equal(t, 7, limit)
	_, limit, err = CheckQuery(Query{Limit: MaxLimit}, 50)
	require.NoError(t, err)
	assert.Equal(t, MaxLimit, limit)
	for _, q := range []Query{{Limit: -1}, {Limit: MaxLimit + 1}, {Limit: 1<<31 - 1}, {After: "\xff"}, {After: strings.Repeat("a", MaxQueryBytes+1)}, {Login: "\xff"}, {Email: strings.Repeat("e", MaxQueryBytes+1)}, {Search: `"`}} {
		_, _, err := CheckQuery(q, 0)
		assert.ErrorIs(t, err, ErrInvalidInput)
	}
}

func TestAutoLogin(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 5, 0, 0, time.UTC)
	assert.Equal(t, "auto-2026112709050", AutoLogin("", now, 0))
	assert.Equal(t, "cust-20261127090512", AutoLogin("cust", now, 12))
}

func TestErrors(t *testing.T) {
	err := OpError("db", "get", ErrNotFound)
	assert.EqualError(t, err, "customeruser db: get: customer user not found")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Nil(t, OpError("db", "get", nil))
	ve := &ValidationError{Field: "email", Reason: "required"}
	assert.EqualError(t, ve, "invalid email: required")
	assert.ErrorIs(t, OpError("db", "add", ve), ErrInvalidInput)
	assert.True(t, GroupPermission{Permission: PermRW}.Satisfies("create"))
	assert.False(t, GroupPermission{Permission: PermRO}.Satisfies("create"))
}
