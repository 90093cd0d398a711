package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/backend/password"
)

// ImportRecord is one customer user to import: the user (validated as Add
// validates it; Login is required) and its stored password hash, copied as
// it is (the hash of a migration: any format package password reads, such
// as OTRS's sha2 or BCRYPT:..., upgraded to the configured scheme at the
// user's first login; "" for no password).
type ImportRecord struct {
	User         backend.CustomerUser
	PasswordHash string
}

// String prints the login only, never the hash.
func (r ImportRecord) String() string { return "sqlbackend.ImportRecord(" + r.User.Login + ")" }

// GoString is String for %#v.
func (r ImportRecord) GoString() string { return r.String() }

// ImportOptions tunes Import.
type ImportOptions struct {
	// BatchSize is the number of records per transaction (multi-row
	// INSERTs). Default 1000, at most 5000.
	BatchSize int
	// SkipExisting skips records whose login (by the identity rule) is
	// already stored, instead of failing with backend.ErrDuplicateLogin:
	// run the same import again after an interruption and it resumes
	// where it stopped, at the cost of one indexed lookup per batch.
	SkipExisting bool
	// Progress, when not nil, is called after each committed batch.
	Progress func(ImportProgress)
	// DeferSearchIndex leaves the trigram index of substring searches out
	// of the import, which then writes about a third as much: the imported
	// rows are searched by a scan (exact, slower) until Reindex indexes
	// them. Without it each batch stores its users' trigrams too.
	DeferSearchIndex bool
}

// ImportProgress is the state of an import after a committed batch.
type ImportProgress struct {
	Read      int    // records read from the source so far
	Inserted  int    // records stored
	Skipped   int    // records skipped (SkipExisting)
	LastLogin string // the login of the last record of the batch
}

// ImportError is the error of an import that stopped at a record: the
// batch of that record was rolled back, the batches before it are stored
// (Progress reported them). It wraps the cause (a *backend.ValidationError,
// backend.ErrDuplicateLogin, backend.ErrDuplicateEmail, or the source's or
// server's error).
type ImportError struct {
	Record int    // 0-based position of the record in the source (-1: none)
	Login  string // its login, when known
	Err    error
}

func (e *ImportError) Error() string {
	if e.Record < 0 {
		return "import: " + e.Err.Error()
	}
	return fmt.Sprintf("import: record %d (login %q): %v", e.Record, e.Login, e.Err)
}

func (e *ImportError) Unwrap() error { return e.Err }

// maxImportBatch caps ImportOptions.BatchSize (the placeholders of one
// INSERT stay under the protocol's 65,535).
const maxImportBatch = 5000

// Import stores the records of src in batches, one transaction per batch
// with one multi-row INSERT for the users and one for their further
// customer IDs, and returns the progress at the end. It is the path of a
// migration: the stored hashes are copied, the sort key is written, and
// CreatedAt and ChangedAt are kept when set (else now).
//
// Each record is validated as Add validates it (backend.NormalizeUser, an
// explicit login), and its login and, unless Config.AllowDuplicateEmail,
// its email are checked against the table (through the columns' indexes)
// and against the other records of the batch. The first bad record stops
// the import with an *ImportError: its batch is rolled back, the earlier
// ones stay stored; with SkipExisting the same call then resumes.
//
// Import does not take the per-login locks of Add: run it when no other
// writer adds the same logins. The unique index on the login still refuses
// a duplicate spelling it knows (the batch is rolled back).
func (b *Backend) Import(ctx context.Context, src iter.Seq2[ImportRecord, error], opt ImportOptions) (ImportProgress, error) {
	const op = "import"
	var p ImportProgress
	if b.cfg.ReadOnly {
		return p, backend.OpError(b.cfg.Name, op, backend.ErrReadOnly)
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.BatchSize > maxImportBatch {
		return p, backend.OpError(b.cfg.Name, op, &backend.ValidationError{Field: "ImportOptions.BatchSize",
			Reason: fmt.Sprintf("at most %d", maxImportBatch)})
	}
	fail := func(rec int, login string, err error) (ImportProgress, error) {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return p, backend.OpError(b.cfg.Name, op, err)
		}
		return p, opError(ctx, b.cfg.Name, op, &ImportError{Record: rec, Login: login, Err: b.classify(err)})
	}
	batch := make([]importRow, 0, opt.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ins, skipped, err := b.importBatch(ctx, batch, opt.SkipExisting, opt.DeferSearchIndex)
		if err != nil {
			return err
		}
		p.Inserted += ins
		p.Skipped += skipped
		p.LastLogin = batch[len(batch)-1].u.Login
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(p)
		}
		return nil
	}
	n := 0
	for rec, err := range src {
		if err != nil {
			return fail(n, "", err)
		}
		if err := ctx.Err(); err != nil {
			return p, backend.OpError(b.cfg.Name, op, err)
		}
		row, err := b.importRow(rec)
		if err != nil {
			return fail(n, rec.User.Login, err)
		}
		row.pos = n
		n++
		p.Read = n
		batch = append(batch, row)
		if len(batch) == opt.BatchSize {
			if err := flush(); err != nil {
				var ie *ImportError
				if errors.As(err, &ie) {
					return fail(ie.Record, ie.Login, ie.Err)
				}
				return fail(-1, "", err)
			}
		}
	}
	if err := flush(); err != nil {
		var ie *ImportError
		if errors.As(err, &ie) {
			return fail(ie.Record, ie.Login, ie.Err)
		}
		return fail(-1, "", err)
	}
	return p, nil
}

// importRow is a validated record.
type importRow struct {
	pos  int
	u    backend.CustomerUser
	hash any // string or nil
	ct   time.Time
	mt   time.Time
}

func (b *Backend) importRow(rec ImportRecord) (importRow, error) {
	created, changed := rec.User.CreatedAt, rec.User.ChangedAt
	u, err := backend.NormalizeUser(rec.User, true)
	if err != nil {
		return importRow{}, err
	}
	if err := b.checkWritable(u); err != nil {
		return importRow{}, err
	}
	r := importRow{u: u}
	if rec.PasswordHash != "" {
		if _, ok := b.cfg.cols[FieldPassword]; !ok {
			return importRow{}, &backend.ValidationError{Field: "PasswordHash", Reason: "the table has no password column"}
		}
		if password.Identify(rec.PasswordHash) == password.SchemeUnknown || strings.ContainsAny(rec.PasswordHash, "\x00\r\n") {
			// Never echo the hash.
			return importRow{}, &backend.ValidationError{Field: "PasswordHash", Reason: "not a stored hash format that package password reads"}
		}
		r.hash = rec.PasswordHash
	}
	at := now()
	r.ct, r.mt = at, at
	if !created.IsZero() {
		r.ct = created.UTC().Truncate(time.Second)
	}
	if !changed.IsZero() {
		r.mt = changed.UTC().Truncate(time.Second)
	}
	return r, nil
}

// importBatch checks and stores one batch in one transaction.
func (b *Backend) importBatch(ctx context.Context, batch []importRow, skipExisting, deferNgrams bool) (inserted, skipped int, err error) {
	// Within the batch.
	logins := make(map[string]int, len(batch))
	emails := make(map[string]int, len(batch))
	for _, r := range batch {
		k := backend.IdentityKey(r.u.Login)
		if _, dup := logins[k]; dup {
			return 0, 0, &ImportError{Record: r.pos, Login: r.u.Login, Err: backend.ErrDuplicateLogin}
		}
		logins[k] = r.pos
		if !b.cfg.AllowDuplicateEmail {
			e := backend.IdentityKey(r.u.Email)
			if _, dup := emails[e]; dup {
				return 0, 0, &ImportError{Record: r.pos, Login: r.u.Login, Err: backend.ErrDuplicateEmail}
			}
			emails[e] = r.pos
		}
	}
	// Against the table.
	stored, err := b.storedKeys(ctx, b.login, batch, func(u backend.CustomerUser) string { return u.Login }, FieldLogin)
	if err != nil {
		return 0, 0, err
	}
	keep := batch[:0:0]
	for _, r := range batch {
		if stored[backend.IdentityKey(r.u.Login)] {
			if !skipExisting {
				return 0, 0, &ImportError{Record: r.pos, Login: r.u.Login, Err: backend.ErrDuplicateLogin}
			}
			skipped++
			continue
		}
		keep = append(keep, r)
	}
	if !b.cfg.AllowDuplicateEmail && len(keep) > 0 {
		taken, err := b.storedKeys(ctx, b.email, keep, func(u backend.CustomerUser) string { return u.Email }, FieldEmail)
		if err != nil {
			return 0, 0, err
		}
		for _, r := range keep {
			if taken[backend.IdentityKey(r.u.Email)] {
				return 0, 0, &ImportError{Record: r.pos, Login: r.u.Login, Err: backend.ErrDuplicateEmail}
			}
		}
	}
	if len(keep) == 0 {
		return 0, skipped, nil
	}

	cols, _ := b.fieldValues(keep[0].u)
	cols = append(cols, quote(b.cfg.cols[FieldLogin]))
	withPW := false
	if col, ok := b.cfg.cols[FieldPassword]; ok {
		cols, withPW = append(cols, quote(col)), true
	}
	var stamps []string
	for _, f := range []string{FieldCreateTime, FieldCreateBy, FieldChangeTime, FieldChangeBy} {
		if col, ok := b.cfg.cols[f]; ok {
			cols, stamps = append(cols, quote(col)), append(stamps, f)
		}
	}
	keyCols, _ := b.sortKeySet("")
	cols = append(cols, keyCols...)
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var sb strings.Builder
	fmt.Fprintf(&sb, "INSERT INTO %s (%s) VALUES ", b.table, strings.Join(cols, ", "))
	args := make([]any, 0, len(keep)*len(cols))
	var idArgs []any
	nIDs := 0
	for i, r := range keep {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(ph)
		_, vals := b.fieldValues(r.u)
		args = append(args, vals...)
		args = append(args, r.u.Login)
		if withPW {
			args = append(args, r.hash)
		}
		for _, f := range stamps {
			switch f {
			case FieldCreateTime:
				args = append(args, r.ct)
			case FieldChangeTime:
				args = append(args, r.mt)
			default:
				args = append(args, b.cfg.ChangeBy)
			}
		}
		_, keyArgs := b.sortKeySet(r.u.Login)
		args = append(args, keyArgs...)
		for _, id := range r.u.CustomerIDs {
			nIDs++
			idArgs = append(idArgs, r.u.Login, id)
			if b.idsHasMeta {
				idArgs = append(idArgs, r.ct, b.cfg.ChangeBy, r.mt, b.cfg.ChangeBy)
			}
		}
	}
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return 0, 0, err
	}
	if nIDs > 0 {
		idCols, idPh := "user_id, customer_id", "(?, ?)"
		if b.idsHasMeta {
			idCols, idPh = idCols+", create_time, create_by, change_time, change_by", "(?, ?, ?, ?, ?, ?)"
		}
		// At most maxImportBatch * MaxCustomerIDs rows: split to stay under
		// the placeholder limit.
		per := 60000 / strings.Count(idPh, "?")
		width := strings.Count(idPh, "?")
		for start := 0; start < nIDs; start += per {
			end := min(start+per, nIDs)
			q := fmt.Sprintf("INSERT INTO %s (%s) VALUES %s", b.idsTable, idCols,
				strings.TrimSuffix(strings.Repeat(idPh+", ", end-start), ", "))
			if _, err = tx.ExecContext(ctx, q, idArgs[start*width:end*width]...); err != nil {
				return 0, 0, err
			}
		}
	}
	if b.ngram && !deferNgrams {
		if err = b.importNgrams(ctx, tx, keep); err != nil {
			return 0, 0, err
		}
	}
	if err = tx.Commit(); err != nil {
		return 0, 0, err
	}
	return len(keep), skipped, nil
}

// storedKeys returns the identity keys of the values (value(u) of each row)
// that a stored user already has in the column of l, read through the
// column's index with one IN query.
func (b *Backend) storedKeys(ctx context.Context, l lookup, rows []importRow, value func(backend.CustomerUser) string, field string) (map[string]bool, error) {
	args := make([]any, len(rows))
	for i, r := range rows {
		args[i] = value(r.u)
	}
	col := quote(b.cfg.cols[field])
	q := fmt.Sprintf("SELECT t.%s FROM %s t WHERE %s IN (%s)", col, b.table, l.col,
		strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", "))
	stored, err := queryStrings(ctx, b.db, q, args...)
	out := make(map[string]bool, len(stored))
	for _, s := range stored {
		out[backend.IdentityKey(s)] = true
	}
	return out, err
}

// importNgrams stores the trigrams of a batch just inserted in tx and
// marks its rows indexed.
func (b *Backend) importNgrams(ctx context.Context, tx *sql.Tx, rows []importRow) error {
	logins := make([]string, len(rows))
	byLogin := make(map[string]int, len(rows))
	for i, r := range rows {
		logins[i] = r.u.Login
		byLogin[r.u.Login] = i
	}
	lc := quote(b.cfg.cols[FieldLogin])
	args := make([]any, len(logins))
	for i, l := range logins {
		args[i] = l
	}
	res, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT id, %s FROM %s WHERE %s IN (%s)", lc, b.table, lc, placeholders(len(logins))), args...)
	if err != nil {
		return err
	}
	var pairs [][2]uint64
	var ids []int64
	for res.Next() {
		var id int64
		var l string
		if err := res.Scan(&id, &l); err != nil {
			res.Close()
			return err
		}
		if i, ok := byLogin[l]; ok {
			pairs = pairsOf(id, b.gramSet(b.ngramValues(rows[i].u)), pairs)
			ids = append(ids, id)
		}
	}
	res.Close()
	if err := res.Err(); err != nil {
		return err
	}
	sortPairs(pairs)
	if err := b.insertGrams(ctx, tx, pairs); err != nil {
		return err
	}
	if err := b.markIndexed(ctx, tx, ids); err != nil {
		return err
	}
	if !b.idsNgram {
		return nil
	}
	list, err := b.idRowsOf(ctx, tx, logins, "")
	if err != nil {
		return err
	}
	return b.idsIndexRows(ctx, tx, list)
}
