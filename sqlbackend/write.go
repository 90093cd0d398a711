package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
)

// maxAutoLogins caps the candidates Add tries for a generated login.
const maxAutoLogins = 1000

// checkWritable refuses what this table cannot store, before any SQL runs.
func (b *Backend) checkWritable(u backend.CustomerUser) error {
	if len(u.CustomerIDs) > 0 && !b.ids {
		return &backend.ValidationError{Field: backend.FieldCustomerIDs, Reason: "this backend stores no further customer IDs"}
	}
	for name := range u.Attributes {
		if _, ok := b.cfg.Attributes[name]; !ok {
			return &backend.ValidationError{Field: backend.FieldAttributes, Reason: fmt.Sprintf("attribute %q is not mapped to a column", name)}
		}
	}
	return nil
}

// textFields gives the text fields of u by their field names.
func textFields(u backend.CustomerUser) map[string]string {
	return map[string]string{
		FieldLogin: u.Login, FieldEmail: u.Email, FieldCustomerID: u.CustomerID, FieldTitle: u.Title,
		FieldFirstName: u.FirstName, FieldLastName: u.LastName, FieldPhone: u.Phone, FieldFax: u.Fax,
		FieldMobile: u.Mobile, FieldStreet: u.Street, FieldZip: u.Zip, FieldCity: u.City,
		FieldCountry: u.Country, FieldComment: u.Comment,
	}
}

// fieldValues gives the mapped columns of u except login, password and the
// create_/change_ stamps, with their values. Empty optional fields are
// stored as empty strings, missing attributes as NULL.
func (b *Backend) fieldValues(u backend.CustomerUser) (cols []string, args []any) {
	text := textFields(u)
	delete(text, FieldLogin)
	for _, f := range columnOrder {
		col, ok := b.cfg.cols[f]
		if !ok {
			continue
		}
		if v, isText := text[f]; isText {
			cols, args = append(cols, quote(col)), append(args, v)
		} else if f == FieldValid {
			cols, args = append(cols, quote(col)), append(args, int(u.Valid))
		}
	}
	for _, a := range b.cfg.attrNames {
		var v any
		if s, ok := u.Attributes[a]; ok {
			v = s
		}
		cols, args = append(cols, quote(b.cfg.Attributes[a])), append(args, v)
	}
	return cols, args
}

// loginTaken reports whether another user than except (an identity key,
// "" for none) has login's identity. The caller holds the lock of login's
// identity (inTx), so no other writer of this library adds it meanwhile.
// The candidates come from the column's index and, when its collation does
// not find every spelling of an identity, from a scan under the server's
// UCA collation: uniqueness is decided by backend.IdentityKey, not by the
// collation.
func (b *Backend) loginTaken(ctx context.Context, tx *sql.Tx, login, except string) (bool, error) {
	key := backend.IdentityKey(login)
	return b.taken(ctx, tx, b.login, login, func(l, _ string) bool {
		k := backend.IdentityKey(l)
		return k == key && k != except
	})
}

func (b *Backend) emailTaken(ctx context.Context, tx *sql.Tx, email, except string) (bool, error) {
	key := backend.IdentityKey(email)
	return b.taken(ctx, tx, b.email, email, func(l, e string) bool {
		return backend.IdentityKey(e) == key && backend.IdentityKey(l) != except
	})
}

func (b *Backend) taken(ctx context.Context, tx *sql.Tx, l lookup, value string, match func(login, email string) bool) (bool, error) {
	for _, pred := range []string{l.exact, l.wide} {
		if pred == "" {
			continue
		}
		hit, err := b.takenBy(ctx, tx, pred, value, match)
		if hit || err != nil {
			return hit, err
		}
	}
	return false, nil
}

func (b *Backend) takenBy(ctx context.Context, tx *sql.Tx, pred, value string, match func(login, email string) bool) (bool, error) {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT t.%s, t.%s FROM %s t WHERE %s",
		quote(b.cfg.cols[FieldLogin]), quote(b.cfg.cols[FieldEmail]), b.table, pred), value)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var l, e string
		if err := rows.Scan(&l, &e); err != nil {
			return false, err
		}
		if match(l, e) {
			return true, nil
		}
	}
	return false, rows.Err()
}

// insertIDs stores the further customer IDs of login, in order.
func (b *Backend) insertIDs(ctx context.Context, tx *sql.Tx, login string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	cols := "user_id, customer_id"
	ph := "(?, ?)"
	if b.idsHasMeta {
		cols += ", create_time, create_by, change_time, change_by"
		ph = "(?, ?, ?, ?, ?, ?)"
	}
	var args []any
	phs := make([]string, len(ids))
	for i, id := range ids {
		phs[i] = ph
		args = append(args, login, id)
		if b.idsHasMeta {
			args = append(args, at, b.cfg.ChangeBy, at, b.cfg.ChangeBy)
		}
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", b.idsTable, cols, strings.Join(phs, ", ")), args...)
	return err
}

// Add stores a new user and, when password is not empty, its hash, in one
// transaction together with its further customer IDs. The login (and,
// unless AllowDuplicateEmail, the email) must be unused by the identity
// rule (backend.IdentityKey), whatever the column's collation; a password
// must pass backend.CheckPassword (at most 72 bytes). Every invalid field
// is reported at once (backend.ValidationErrors).
func (b *Backend) Add(ctx context.Context, u backend.CustomerUser, pw string) (backend.CustomerUser, error) {
	const op = "add"
	if b.cfg.ReadOnly {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrReadOnly)
	}
	u, err := backend.NormalizeUser(u, b.cfg.AutoLoginPrefix == "")
	if err == nil {
		err = b.checkWritable(u)
	}
	var hash any // NULL: no password
	if pw != "" {
		if perr := backend.CheckPassword(pw); perr != nil {
			err = joinValidation(err, perr)
		}
	}
	if err == nil && pw != "" {
		if err = ctx.Err(); err == nil {
			var h string
			if h, err = b.cfg.hasher.HashContext(ctx, pw); err == nil {
				hash = h
			}
		}
	}
	if err != nil {
		return backend.CustomerUser{}, opError(ctx, b.cfg.Name, op, err)
	}
	at := now()
	cols, args := b.fieldValues(u)
	cols = append(cols, quote(b.cfg.cols[FieldPassword]))
	args = append(args, hash)
	for _, f := range []string{FieldCreateTime, FieldCreateBy, FieldChangeTime, FieldChangeBy} {
		if col, ok := b.cfg.cols[f]; ok {
			cols = append(cols, quote(col))
			if f == FieldCreateTime || f == FieldChangeTime {
				args = append(args, at)
			} else {
				args = append(args, b.cfg.ChangeBy)
			}
		}
	}
	cols = append(cols, quote(b.cfg.cols[FieldLogin]))
	keyCols, _ := b.sortKeySet("")
	cols = append(cols, keyCols...)
	insert := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", b.table, strings.Join(cols, ", "),
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))

	stored := u
	locks := []string{loginLock(u.Login)}
	if u.Login == "" {
		locks = []string{autoLoginLock}
	}
	if !b.cfg.AllowDuplicateEmail {
		locks = append(locks, emailLock(u.Email))
	}
	err = b.inTx(ctx, locks, func(tx *sql.Tx) error {
		stored.Login = u.Login
		if stored.Login == "" {
			for n := 0; ; n++ {
				if n == maxAutoLogins {
					return fmt.Errorf("no free login after %d candidates: %w", n, backend.ErrDuplicateLogin)
				}
				cand := backend.AutoLogin(b.cfg.AutoLoginPrefix, at, n)
				taken, err := b.loginTaken(ctx, tx, cand, "")
				if err != nil {
					return err
				}
				if !taken {
					stored.Login = cand
					break
				}
			}
		} else if taken, err := b.loginTaken(ctx, tx, stored.Login, ""); err != nil {
			return err
		} else if taken {
			return backend.ErrDuplicateLogin
		}
		if !b.cfg.AllowDuplicateEmail {
			if taken, err := b.emailTaken(ctx, tx, stored.Email, ""); err != nil {
				return err
			} else if taken {
				return backend.ErrDuplicateEmail
			}
		}
		_, keyArgs := b.sortKeySet(stored.Login)
		if _, err := tx.ExecContext(ctx, insert, append(append(args, stored.Login), keyArgs...)...); err != nil {
			return err
		}
		if err := b.ngramWrite(ctx, tx, stored.Login, nil, b.ngramValues(stored)); err != nil {
			return err
		}
		if err := b.insertIDs(ctx, tx, stored.Login, stored.CustomerIDs, at); err != nil {
			return err
		}
		if len(stored.CustomerIDs) == 0 {
			return nil
		}
		return b.idsIndexUser(ctx, tx, stored.Login)
	})
	if err != nil {
		return backend.CustomerUser{}, b.opError(ctx, op, err)
	}
	stored.Source = b.cfg.Name
	if _, ok := b.cfg.cols[FieldCreateTime]; ok {
		stored.CreatedAt = at
	}
	if _, ok := b.cfg.cols[FieldChangeTime]; ok {
		stored.ChangedAt = at
	}
	if len(stored.Attributes) == 0 {
		stored.Attributes = nil
	}
	return stored, nil
}

// Update replaces the mapped fields of the user with this login by those of
// u (an empty u.Login keeps the stored login; another one renames the user,
// a change of case included). The row, its further customer IDs (moved to
// the new login on a rename) and the uniqueness checks are one transaction.
// The password is kept. A zero u.Valid keeps the stored state; a set
// u.ChangedAt makes the update conditional: backend.ErrConflict, nothing
// written, when the stored change_time differs (at whole seconds).
func (b *Backend) Update(ctx context.Context, login string, u backend.CustomerUser) (backend.CustomerUser, error) {
	const op = "update"
	if b.cfg.ReadOnly {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, backend.ErrReadOnly)
	}
	login, err := backend.NormalizeLogin(login)
	if err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
	}
	keepLogin := strings.TrimSpace(u.Login) == ""
	if keepLogin {
		u.Login = login
	}
	// What the caller meant by the fields NormalizeUser rewrites: a zero
	// Valid keeps the stored state (taken inside the transaction), a set
	// ChangedAt is the optimistic check.
	keepValid := u.Valid == 0
	if keepValid {
		u.Valid = backend.Valid // for validation; replaced by the stored state below
	}
	ifUnchangedSince := u.ChangedAt
	u, err = backend.NormalizeUser(u, true)
	if err == nil {
		err = b.checkWritable(u)
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return backend.CustomerUser{}, backend.OpError(b.cfg.Name, op, err)
	}
	stamp, stampArgs := b.changeStamp()
	loginCol := quote(b.cfg.cols[FieldLogin])

	var stored backend.CustomerUser
	locks := []string{loginLock(login), loginLock(u.Login)}
	if !b.cfg.AllowDuplicateEmail {
		locks = append(locks, emailLock(u.Email))
	}
	err = b.inTx(ctx, locks, func(tx *sql.Tx) error {
		old, _, err := b.find(ctx, tx, login, false)
		if err != nil {
			return err
		}
		// DATETIME holds whole seconds: compare at that precision.
		if !ifUnchangedSince.IsZero() {
			if err := backend.CheckUnchanged(ifUnchangedSince.Truncate(time.Second), old.ChangedAt.Truncate(time.Second)); err != nil {
				return err
			}
		}
		if keepValid {
			if !old.Valid.IsKnown() {
				return &backend.ValidationError{Field: backend.FieldValid, Reason: "the stored valid state is unknown; give one"}
			}
			u.Valid = old.Valid
		}
		cols, args := b.fieldValues(u)
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = c + " = ?"
		}
		keyCols, _ := b.sortKeySet("")
		for _, c := range keyCols {
			set = append(set, c+" = ?")
		}
		update := fmt.Sprintf("UPDATE %s SET %s = ?, %s%s WHERE %s = ?", b.table, loginCol, strings.Join(set, ", "), stamp, loginCol)
		if keepLogin {
			u.Login = old.Login // the stored spelling, not the one asked with
		}
		oldKey := backend.LoginKey(old.Login)
		if backend.LoginKey(u.Login) != oldKey {
			if taken, err := b.loginTaken(ctx, tx, u.Login, oldKey); err != nil {
				return err
			} else if taken {
				return backend.ErrDuplicateLogin
			}
		}
		if !b.cfg.AllowDuplicateEmail && backend.IdentityKey(u.Email) != backend.IdentityKey(old.Email) {
			if taken, err := b.emailTaken(ctx, tx, u.Email, oldKey); err != nil {
				return err
			} else if taken {
				return backend.ErrDuplicateEmail
			}
		}
		_, keyArgs := b.sortKeySet(u.Login)
		all := append([]any{u.Login}, args...)
		all = append(all, keyArgs...)
		all = append(all, stampArgs...)
		all = append(all, old.Login)
		if _, err := tx.ExecContext(ctx, update, all...); err != nil {
			return err
		}
		if err := b.ngramWrite(ctx, tx, u.Login, b.ngramValues(old), b.ngramValues(u)); err != nil {
			return err
		}
		if b.ids {
			renamed := u.Login != old.Login
			if renamed {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET user_id = ? WHERE user_id = ?", b.idsTable), u.Login, old.Login); err != nil {
					return err
				}
			}
			if !slices.Equal(old.CustomerIDs, u.CustomerIDs) {
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE user_id = ?", b.idsTable), u.Login); err != nil {
					return err
				}
				if err := b.insertIDs(ctx, tx, u.Login, u.CustomerIDs, now()); err != nil {
					return err
				}
			}
			if renamed || !slices.Equal(old.CustomerIDs, u.CustomerIDs) {
				if err := b.idsIndexUser(ctx, tx, u.Login); err != nil {
					return err
				}
			}
		}
		stored, _, err = b.find(ctx, tx, u.Login, false)
		return err
	})
	if err != nil {
		return backend.CustomerUser{}, b.opError(ctx, op, err)
	}
	return stored, nil
}

// joinValidation adds a password problem to the field problems of
// NormalizeUser, so that a form learns of all of them at once.
func joinValidation(err, perr error) error {
	if err == nil {
		return perr
	}
	var all backend.ValidationErrors
	var one *backend.ValidationError
	if errors.As(err, &all) && errors.As(perr, &one) {
		return append(slices.Clone(all), one)
	}
	return err
}
