package ldapbackend

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/go-ldap/ldap/v3"

	"github.com/helpdeskkit/customeruser/backend"
)

// isNetwork reports whether err means the connection or the server failed
// (as opposed to the server answering with an error): the connection is
// then unusable and the operation may be retried on a fresh one.
func isNetwork(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultConnectError,
		ldap.LDAPResultTimeout, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable) {
		return true
	}
	if errors.Is(err, ldap.ErrNilConnection) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// unavailable marks err as backend.ErrUnavailable, keeping err in the chain.
func unavailable(err error) error {
	if errors.Is(err, backend.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
}

// classify turns an error of an LDAP operation into the error the backend
// returns (before OpError wraps it): context errors as they are, network
// failures as ErrUnavailable.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	if errors.Is(err, errPoolClosed) {
		return err
	}
	if isNetwork(err) {
		return unavailable(err)
	}
	return err
}
