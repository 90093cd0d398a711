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
	if ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable) {
		return true // the server answered, but cannot serve us now
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// go-ldap reports a dropped connection in several forms (an *ldap.Error
	// with a client-side code, or plain errors such as "unable to send
	// request: ... broken pipe"). Whatever is not an answer of the server
	// counts as a network failure.
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true
	}
	return !serverCode(le.ResultCode)
}

// serverCode reports whether code is a result a server sends (RFC 4511 and
// its extensions) or one the client makes up for itself without a network
// failure (filter errors, the empty-password refusal), as opposed to the
// codes go-ldap uses for broken connections.
func serverCode(code uint16) bool {
	switch {
	case code <= ldap.LDAPResultOther: // 0..80
		return true
	case code >= ldap.LDAPResultCanceled && code <= ldap.LDAPResultAuthorizationDenied: // 118..123
		return true
	case code == ldap.LDAPResultSyncRefreshRequired, code == ldap.ErrorFilterCompile,
		code == ldap.ErrorFilterDecompile, code == ldap.ErrorEmptyPassword:
		return true
	}
	return false
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
