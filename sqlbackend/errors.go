package sqlbackend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/helpdeskkit/customeruser/backend"
)

// Server error numbers the backend interprets.
const (
	erDupEntry           = 1062
	erDataTooLong        = 1406
	erTruncatedValue     = 1366 // incorrect string value (e.g. 4-byte UTF-8 in a utf8mb3 column)
	erLockDeadlock       = 1213
	erTooManyConnections = 1040
	erServerShutdown     = 1053
	erAbortingConnection = 1152
	erNetReadError       = 1158
	erNetReadInterrupted = 1159
	erNetErrorOnWrite    = 1160
	erNetWriteInterrupt  = 1161
	erConnectionKilled   = 1927
	erReadOnlyMode       = 1290 // --read-only server
	erBadField           = 1054 // unknown column
)

// unavailable reports whether err means the server could not be reached or
// the connection broke: the caller may try again later.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, mysql.ErrMalformPkt) || errors.Is(err, mysql.ErrPktSync) || errors.Is(err, mysql.ErrPktSyncMul) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case erTooManyConnections, erServerShutdown, erAbortingConnection, erNetReadError, erNetReadInterrupted,
			erNetErrorOnWrite, erNetWriteInterrupt, erConnectionKilled:
			return true
		}
	}
	return false
}

// mysqlErrorNumber returns the server error number of err, or 0.
func mysqlErrorNumber(err error) uint16 {
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number
	}
	return 0
}

// classify turns driver errors into the contract's errors: an unreachable
// server into backend.ErrUnavailable, a duplicate key into
// ErrDuplicateLogin/ErrDuplicateEmail, a value too long for a legacy column
// into a *backend.ValidationError. Other errors are returned as they are.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var verr *backend.ValidationError
	if errors.As(err, &verr) || errors.Is(err, backend.ErrNotFound) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case erDupEntry:
			// The message may quote the value: say only which rule was
			// broken. Backend.opError tells them apart by the index;
			// without it a duplicate is one of the login.
			return backend.ErrDuplicateLogin
		case erDataTooLong, erTruncatedValue:
			return &backend.ValidationError{Field: columnOfMessage(myErr.Message), Reason: "does not fit the database column"}
		case erReadOnlyMode:
			return fmt.Errorf("%w: the server is read-only: %w", backend.ErrUnavailable, err)
		}
	}
	return err
}

// columnOfMessage extracts the column name of "Data too long for column
// 'x' at row 1" or "Incorrect string value: '...' for column
// `db`.`table`.`x` at row 1" (MariaDB 10.5+).
func columnOfMessage(msg string) string {
	i := strings.LastIndex(msg, "for column ")
	if i < 0 {
		i = strings.LastIndex(msg, "column ")
		if i < 0 {
			return "value"
		}
	} else {
		i += len("for ")
	}
	rest := msg[i+len("column "):]
	if end := strings.Index(rest, " at row"); end >= 0 {
		rest = rest[:end]
	}
	if j := strings.LastIndexByte(rest, '.'); j >= 0 && strings.HasPrefix(rest[j+1:], "`") {
		rest = rest[j+1:]
	}
	rest = strings.Trim(rest, "'`")
	if rest == "" {
		return "value"
	}
	return rest
}

// opError wraps err with the backend name and operation, after classify;
// when ctx is done it wraps ctx.Err(), whatever the driver said.
func opError(ctx context.Context, name, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		var verr *backend.ValidationError
		if !errors.As(err, &verr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
	}
	return backend.OpError(name, op, classify(err))
}

// dupKeyIndex extracts the index name of "Duplicate entry '...' for key
// 'customer_user_login'" (MySQL 8 writes 'table.index'). The value quoted
// before it may contain anything, so the name is taken from the end.
func dupKeyIndex(msg string) string {
	i := strings.LastIndex(msg, "for key '")
	if i < 0 || !strings.HasSuffix(msg, "'") {
		return ""
	}
	name := msg[i+len("for key '") : len(msg)-1]
	if j := strings.LastIndexByte(name, '.'); j >= 0 {
		name = name[j+1:]
	}
	return strings.ToLower(name)
}

// opError is the package's opError with the backend's knowledge: a
// duplicate key is classified by the unique index it violated (an index
// guarding the email column is a duplicate email, whatever the names of
// table and index), and a column that a value does not fit is named by
// its field.
func (b *Backend) opError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	return opError(ctx, b.cfg.Name, op, b.classify(err))
}

// classify is the package's classify with the backend's knowledge (see
// opError).
func (b *Backend) classify(err error) error {
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case erDupEntry:
			if b.uniqueKeys[dupKeyIndex(myErr.Message)] == FieldEmail {
				err = backend.ErrDuplicateEmail
			} else {
				err = backend.ErrDuplicateLogin
			}
		case erDataTooLong, erTruncatedValue:
			err = &backend.ValidationError{Field: b.fieldOfColumn(columnOfMessage(myErr.Message)), Reason: "does not fit the database column"}
		}
	}
	return classify(err)
}

// goFieldNames maps the Field constants of this package to the Go field
// names of backend.CustomerUser (ValidationError.Field).
var goFieldNames = map[string]string{
	FieldLogin: backend.FieldLogin, FieldEmail: backend.FieldEmail, FieldCustomerID: backend.FieldCustomerID,
	FieldTitle: backend.FieldTitle, FieldFirstName: backend.FieldFirstName, FieldLastName: backend.FieldLastName,
	FieldPhone: backend.FieldPhone, FieldFax: backend.FieldFax, FieldMobile: backend.FieldMobile,
	FieldStreet: backend.FieldStreet, FieldZip: backend.FieldZip, FieldCity: backend.FieldCity,
	FieldCountry: backend.FieldCountry, FieldComment: backend.FieldComment, FieldValid: backend.FieldValid,
	FieldPassword: backend.FieldPassword,
}

// fieldOfColumn names the field a column holds (its Go field name), for
// errors about a value the column cannot hold.
func (b *Backend) fieldOfColumn(col string) string {
	for f, c := range b.cfg.cols {
		if strings.EqualFold(c, col) {
			if g, ok := goFieldNames[f]; ok {
				return g
			}
		}
	}
	for _, a := range b.cfg.attrNames {
		if strings.EqualFold(b.cfg.Attributes[a], col) {
			return backend.FieldAttributes
		}
	}
	if strings.EqualFold(col, "customer_id") || strings.EqualFold(col, "user_id") {
		return backend.FieldCustomerIDs
	}
	return col
}
