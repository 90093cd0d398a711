package groups

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
)

// Permission keys besides backend.PermRO and backend.PermRW. Keys are
// free-form strings; these are the ones the OTRS family uses.
const (
	PermCreate   = "create"
	PermMoveInto = "move_into"
	PermOwner    = "owner"
	PermPriority = "priority"
	PermNote     = "note"
)

// The permission contexts of company grants (OTRS
// CustomerGroupPermissionContext). ContextSame, the default, lets a company's
// grant reach its own users; ContextOther lets a company's users see tickets
// of the other customer IDs that hold the same group.
const (
	ContextSame  = "same"
	ContextOther = "other"
)

// Size limits, in characters, from the OTRS tables.
const (
	MaxGroupNameLen    = 200 // groups.name
	MaxGroupCommentLen = 250 // groups.comments
	MaxKeyLen          = 20  // permission_key
	MaxMemberLoginLen  = 100 // group_customer_user.user_id
)

// Field names of *backend.ValidationError returned by this package (besides
// backend.FieldLogin, backend.FieldCustomerID and backend.FieldComment).
const (
	FieldGroup   = "Group"
	FieldKey     = "Permission"
	FieldContext = "Context"
)

// Group is a customer group. Groups are never deleted: set Valid to
// backend.Invalid instead, and the group grants nothing any more.
type Group struct {
	ID      int64
	Name    string
	Comment string
	// Valid is the group's state; the zero value means backend.Valid when a
	// group is added.
	Valid backend.ValidState
}

// Grant is one stored permission row: a key a customer user (Login set) or
// a company (CustomerID and Context set) holds on a group.
type Grant struct {
	Group      string
	Key        string
	Login      string
	CustomerID string
	Context    string
	// GroupValid is the state of the group at read time.
	GroupValid backend.ValidState
}

// Store holds groups and their permission rows, as the OTRS tables do. Every
// method is safe for concurrent use. Logins, customer IDs and group names
// are compared by backend.IdentityKey. Lists return stored rows only
// (never AlwaysGroups and never inherited rows: the Resolver adds those),
// ordered by backend.IdentityKey of the group name, then of the login or
// customer ID, then by key; a list is the caller's to change. The
// conformance suite groupstest checks an implementation.
type Store interface {
	// AddGroup stores a new group and returns it with its ID.
	AddGroup(ctx context.Context, g Group) (Group, error)
	// Group returns the group of that name, or an error wrapping backend.ErrNotFound.
	Group(ctx context.Context, name string) (Group, error)
	// Groups lists every group, valid or not, by name.
	Groups(ctx context.Context) ([]Group, error)
	// SetGroupValid changes the state of a group.
	SetGroupValid(ctx context.Context, name string, valid backend.ValidState) error
	// SetMemberPermissions works like OTRS GroupMemberAdd: only the keys
	// in perms change; a true value stores the key, a false value removes
	// it; perms with "rw" true stores "rw" alone (as if perms were
	// {"rw": true}); an empty map changes nothing.
	SetMemberPermissions(ctx context.Context, group, login string, perms map[string]bool) error
	// SetCompanyPermissions works like OTRS GroupCustomerAdd: every key of
	// (group, customerID, context) is replaced by the true keys of perms
	// ("rw" true: "rw" alone), so {"ro": false} revokes them all; an empty
	// map changes nothing (OTRS skips a context without keys). context ""
	// means ContextSame. Unlike OTRS, which keeps only the keys of
	// System::Customer::Permission (ro, rw), every key is stored.
	SetCompanyPermissions(ctx context.Context, group, customerID, context string, perms map[string]bool) error
	// UserGrants lists the rows of one login.
	UserGrants(ctx context.Context, login string) ([]Grant, error)
	// CompanyGrants lists the rows of one customer ID in one context ("" is ContextSame).
	CompanyGrants(ctx context.Context, customerID, context string) ([]Grant, error)
	// GroupGrants lists every row on one group: user rows first, then company rows.
	GroupGrants(ctx context.Context, group string) ([]Grant, error)
	// RenameMember moves every row of oldLogin to newLogin (OTRS forgets
	// to when a customer user is renamed). Rows newLogin already holds are
	// kept; it is not an error when oldLogin has none.
	RenameMember(ctx context.Context, oldLogin, newLogin string) error
}

// checkName checks a group name: trimmed, required, at most
// MaxGroupNameLen characters, no control characters.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", &backend.ValidationError{Field: FieldGroup, Reason: "required"}
	}
	if len(name) > 4*MaxGroupNameLen*4 {
		return "", &backend.ValidationError{Field: FieldGroup, Reason: fmt.Sprintf("longer than %d characters", MaxGroupNameLen)}
	}
	if err := backend.CheckText(FieldGroup, name, MaxGroupNameLen, false); err != nil {
		return "", err
	}
	return name, nil
}

// checkLogin checks a member login like backends do, bounded by the
// group_customer_user column.
func checkLogin(login string) (string, error) {
	if len(login) > 4*backend.MaxLoginLen*4 {
		return "", &backend.ValidationError{Field: backend.FieldLogin, Reason: fmt.Sprintf("longer than %d characters", MaxMemberLoginLen)}
	}
	l, err := backend.NormalizeLogin(login)
	if err != nil {
		return "", err
	}
	if len([]rune(l)) > MaxMemberLoginLen {
		return "", &backend.ValidationError{Field: backend.FieldLogin, Reason: fmt.Sprintf("longer than %d characters", MaxMemberLoginLen)}
	}
	return l, nil
}

func checkCustomerID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", &backend.ValidationError{Field: backend.FieldCustomerID, Reason: "required"}
	}
	if len(id) > 4*backend.MaxCustomerIDLen*4 {
		return "", &backend.ValidationError{Field: backend.FieldCustomerID, Reason: fmt.Sprintf("longer than %d characters", backend.MaxCustomerIDLen)}
	}
	if err := backend.CheckText(backend.FieldCustomerID, id, backend.MaxCustomerIDLen, true); err != nil {
		return "", err
	}
	return id, nil
}

func checkContext(c string) (string, error) {
	switch strings.TrimSpace(c) {
	case "", ContextSame:
		return ContextSame, nil
	case ContextOther:
		return ContextOther, nil
	}
	return "", &backend.ValidationError{Field: FieldContext, Reason: `unknown context (want "same" or "other")`}
}

// checkPerms validates the keys and applies the rw rule of GroupMemberAdd.
func checkPerms(perms map[string]bool) (map[string]bool, error) {
	out := make(map[string]bool, len(perms))
	for k, v := range perms {
		if k == "" || strings.TrimSpace(k) != k {
			return nil, &backend.ValidationError{Field: FieldKey, Reason: "empty or padded permission key"}
		}
		if err := backend.CheckText(FieldKey, k, MaxKeyLen, true); err != nil {
			return nil, err
		}
		out[k] = v
	}
	if out[backend.PermRW] {
		return map[string]bool{backend.PermRW: true}, nil
	}
	return out, nil
}

func checkValid(v backend.ValidState) (backend.ValidState, error) {
	if v == 0 {
		return backend.Valid, nil
	}
	if !v.IsKnown() {
		return 0, &backend.ValidationError{Field: backend.FieldValid, Reason: "unknown valid state"}
	}
	return v, nil
}

// notFoundError is the error of Group for an unknown name; errors.Is(err,
// backend.ErrNotFound) is true.
type notFoundError struct{ name string }

func (e notFoundError) Error() string        { return fmt.Sprintf("group %q not found", e.name) }
func (e notFoundError) Is(target error) bool { return target == backend.ErrNotFound }

func notFound(name string) error { return notFoundError{name} }

// unknownGroup is the error of a write naming a group that does not exist.
func unknownGroup() error {
	return &backend.ValidationError{Field: FieldGroup, Reason: "unknown group"}
}

func sortedTrueKeys(perms map[string]bool) []string {
	var out []string
	for k, on := range perms {
		if on {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func sortGroups(gs []Group) {
	slices.SortFunc(gs, func(a, b Group) int { return strings.Compare(backend.IdentityKey(a.Name), backend.IdentityKey(b.Name)) })
}

// checkMemberArgs checks the arguments of SetMemberPermissions.
func checkMemberArgs(login string, perms map[string]bool) (string, map[string]bool, error) {
	login, err := checkLogin(login)
	if err != nil {
		return "", nil, err
	}
	perms, err = checkPerms(perms)
	return login, perms, err
}

// checkCompanyArgs checks the arguments of SetCompanyPermissions.
func checkCompanyArgs(customerID, context string, perms map[string]bool) (id, c string, _ map[string]bool, err error) {
	if id, err = checkCustomerID(customerID); err != nil {
		return "", "", nil, err
	}
	if c, err = checkContext(context); err != nil {
		return "", "", nil, err
	}
	perms, err = checkPerms(perms)
	return id, c, perms, err
}

// checkRename checks the arguments of RenameMember.
func checkRename(oldLogin, newLogin string) (string, string, error) {
	oldLogin, err := checkLogin(oldLogin)
	if err != nil {
		return "", "", err
	}
	newLogin, err = checkLogin(newLogin)
	return oldLogin, newLogin, err
}
