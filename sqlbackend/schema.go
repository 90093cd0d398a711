package sqlbackend

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/helpdeskkit/customeruser/internal/mysqlcoll"
)

// columnTypes are the column definitions CreateSchema uses, the OTRS types
// with the text columns widened to the sizes backend validates.
var columnTypes = map[string]string{
	FieldLogin:      "VARCHAR(191) NOT NULL",
	FieldEmail:      "VARCHAR(150) NOT NULL",
	FieldCustomerID: "VARCHAR(150) NOT NULL",
	FieldPassword:   "VARCHAR(128) NULL",
	FieldTitle:      "VARCHAR(50) NULL",
	FieldFirstName:  "VARCHAR(100) NOT NULL",
	FieldLastName:   "VARCHAR(100) NOT NULL",
	FieldPhone:      "VARCHAR(250) NULL",
	FieldFax:        "VARCHAR(250) NULL",
	FieldMobile:     "VARCHAR(250) NULL",
	FieldStreet:     "VARCHAR(250) NULL",
	FieldZip:        "VARCHAR(250) NULL",
	FieldCity:       "VARCHAR(250) NULL",
	FieldCountry:    "VARCHAR(250) NULL",
	FieldComment:    "VARCHAR(250) NULL",
	FieldValid:      "SMALLINT NOT NULL",
	FieldCreateTime: "DATETIME NOT NULL",
	FieldCreateBy:   "INTEGER NOT NULL",
	FieldChangeTime: "DATETIME NOT NULL",
	FieldChangeBy:   "INTEGER NOT NULL",
}

// columnOrder is the OTRS column order.
var columnOrder = []string{
	FieldLogin, FieldEmail, FieldCustomerID, FieldPassword, FieldTitle, FieldFirstName, FieldLastName,
	FieldPhone, FieldFax, FieldMobile, FieldStreet, FieldZip, FieldCity, FieldCountry, FieldComment,
	FieldValid, FieldCreateTime, FieldCreateBy, FieldChangeTime, FieldChangeBy,
}

// indexedFields get a secondary index each (login has its unique one): the
// exact lookups (email, customer ID) and the prefix searches use them.
var indexedFields = []string{FieldEmail, FieldCustomerID, FieldFirstName, FieldLastName}

// CreateSchema creates what the backend configured by cfg needs and is
// missing, and touches nothing that exists: the customer-user table in the
// OTRS column layout (utf8mb4, login unique, with the mapped column names and
// a VARCHAR(250) column per attribute), the table of further customer IDs,
// and, on new and existing tables alike, the indexes the backend's queries
// use (email, customer ID, first and last name, user_id and customer_id of
// the customer-ID table) when no index starts with that column. Existing
// columns are never altered, so an OTRS/Znuny table keeps working for
// OTRS/Znuny. It is idempotent.
func CreateSchema(ctx context.Context, db *sql.DB, cfg Config) error {
	r, err := cfg.resolve()
	if err != nil {
		return err
	}
	fail := func(err error) error { return opError(ctx, r.Name, "create schema", err) }
	names, err := serverCollations(ctx, db)
	if err != nil {
		return fail(err)
	}
	coll := r.Collation
	if coll == "" {
		coll = chooseCollation(names, identityCollations, "utf8mb4_unicode_ci")
	}
	searchColl := chooseCollation(names, searchCollations, "")
	q := func(name string) string { return "`" + name + "`" }

	// With the default collation the identity columns (login, email,
	// customer ID) are utf8mb4_bin, so that their unique index is never
	// looser than the identity rule (an accent-sensitive UCA collation still
	// merges "ａｌｉｃｅ" with "alice" and "straße" with "strasse"), and each
	// gets a virtual copy in the accent-sensitive case-insensitive collation
	// with an index, which the lookups use; the backend re-checks every row
	// by the identity rule and enforces uniqueness by it.
	identityCopies := r.Collation == ""
	var defs, copyIdx []string
	defs = append(defs, "`id` INTEGER NOT NULL AUTO_INCREMENT")
	for _, f := range columnOrder {
		col, ok := r.cols[f]
		if !ok {
			continue
		}
		typ := columnTypes[f]
		if identityCopies && isIdentityField(f) {
			base, rest, _ := strings.Cut(typ, " ")
			defs = append(defs, q(col)+" "+base+" COLLATE utf8mb4_bin "+rest)
			if name := identityColumn(col); len(name) <= 64 {
				defs = append(defs, fmt.Sprintf("%s %s CHARACTER SET utf8mb4 COLLATE %s AS (%s) VIRTUAL", q(name), base, coll, q(col)))
				copyIdx = append(copyIdx, "KEY "+q(name)+" ("+q(name)+")")
			}
			continue
		}
		defs = append(defs, q(col)+" "+typ)
	}
	for _, a := range r.attrNames {
		defs = append(defs, q(r.Attributes[a])+" VARCHAR(250) NULL")
	}
	// Search folds case and accents. On a collation that keeps accents
	// apart, each search column gets a virtual copy in an
	// accent-insensitive collation, with an index, so that a prefix search
	// is still answered from indexes. The server computes the copies, so
	// rows that OTRS writes are covered too.
	var foldIdx []string
	if searchColl != "" && !accentInsensitive(coll) {
		for _, f := range r.SearchFields {
			col, typ := r.cols[f], columnTypes[f]
			if a, ok := r.Attributes[f]; ok && col == "" {
				col, typ = a, "VARCHAR(250)"
			}
			name := foldColumn(col)
			if col == "" || len(name) > 64 {
				continue
			}
			typ, _, _ = strings.Cut(typ, " ")
			defs = append(defs, fmt.Sprintf("%s %s CHARACTER SET utf8mb4 COLLATE %s AS (%s) VIRTUAL", q(name), typ, searchColl, q(col)))
			foldIdx = append(foldIdx, "KEY "+q(name)+" ("+q(name)+")")
		}
	}
	// The sort key the backend maintains (sortkey.go), so that searches
	// read in login order from an index.
	sortDefs, sortIdx := sortKeyDefs(r.Table, r.cols[FieldLogin])
	defs = append(defs, sortDefs...)
	// The trigram index's columns (ngram.go).
	ngCols, ngIdx, ngTableStmt := ngramDefs(&r)
	defs = append(defs, ngCols...)
	defs = append(defs, "PRIMARY KEY (`id`)", "UNIQUE KEY "+q(r.Table+"_login")+" ("+q(r.cols[FieldLogin])+")")
	if sortIdx != "" {
		defs = append(defs, sortIdx)
	}
	if ngIdx != "" {
		defs = append(defs, ngIdx)
	}
	defs = append(defs, copyIdx...)
	defs = append(defs, foldIdx...)
	stmts := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s",
		q(r.Table), strings.Join(defs, ",\n  "), coll)}
	if ngTableStmt != "" {
		stmts = append(stmts, ngTableStmt)
	}
	idsNgCols, idsNgIdx, idsNgTableStmt := idsNgramDefs(&r)
	if idsNgTableStmt != "" {
		stmts = append(stmts, idsNgTableStmt)
	}
	if r.CustomerIDsTable != NoColumn {
		// user_id holds the login as stored: compared with the login
		// column in its collation, so that the index serves the join.
		userIDColl := ""
		if identityCopies {
			userIDColl = "COLLATE utf8mb4_bin "
		}
		// The search matches further customer IDs too: the same folded copy.
		idsFold := ""
		if searchColl != "" && !accentInsensitive(coll) {
			idsFold = fmt.Sprintf("\n  %s VARCHAR(150) CHARACTER SET utf8mb4 COLLATE %s AS (customer_id) VIRTUAL,\n  KEY %s (%s),",
				q(foldColumn("customer_id")), searchColl, q(foldColumn("customer_id")), q(foldColumn("customer_id")))
		}
		// The further IDs' trigram index columns (ngram_ids.go).
		for _, d := range idsNgCols {
			idsFold += "\n  " + d + ","
		}
		if idsNgIdx != "" {
			idsFold += "\n  " + idsNgIdx + ","
		}
		// The id column (not in OTRS) keeps the order of a user's further IDs.
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  id BIGINT NOT NULL AUTO_INCREMENT,
  user_id VARCHAR(191) %sNOT NULL,
  customer_id VARCHAR(150) NOT NULL,
  create_time DATETIME NOT NULL,
  create_by INTEGER NOT NULL,
  change_time DATETIME NOT NULL,
  change_by INTEGER NOT NULL,%s
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s`, q(r.CustomerIDsTable), userIDColl, idsFold, coll))
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fail(err)
		}
	}

	type index struct{ table, column, name string }
	var want []index
	for _, f := range indexedFields {
		if col, ok := r.cols[f]; ok {
			want = append(want, index{r.Table, col, r.Table + "_" + col})
		}
	}
	if r.CustomerIDsTable != NoColumn {
		want = append(want,
			index{r.CustomerIDsTable, "user_id", r.CustomerIDsTable + "_user_id"},
			index{r.CustomerIDsTable, "customer_id", r.CustomerIDsTable + "_customer_id"})
	}
	for _, ix := range want {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = ?`,
			ix.table, ix.column).Scan(&n)
		if err != nil {
			return fail(err)
		}
		if n > 0 {
			continue
		}
		name := ix.name
		if len(name) > 64 {
			name = name[:64]
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", q(name), q(ix.table), q(ix.column))); err != nil {
			return fail(err)
		}
	}
	return nil
}

// isIdentityField reports the fields compared by the identity rule.
func isIdentityField(f string) bool {
	return f == FieldLogin || f == FieldEmail || f == FieldCustomerID
}

// identityColumn names the virtual, case-insensitive copy of an identity
// column that CreateSchema adds to new tables.
func identityColumn(col string) string { return col + "_ci" }

// foldColumn names the virtual, accent-insensitive copy of a search column
// that CreateSchema adds to new tables.
func foldColumn(col string) string { return col + "_sfold" }

// serverCollations lists the full names of the server's utf8mb4 collations.
func serverCollations(ctx context.Context, db *sql.DB) ([]string, error) {
	return mysqlcoll.ServerNames(ctx, db)
}

// Collation preferences, best first (see package internal/mysqlcoll).
var (
	identityCollations = mysqlcoll.Identity
	searchCollations   = mysqlcoll.Search
)

// chooseCollation returns the first of prefs that names holds, or fallback.
func chooseCollation(names, prefs []string, fallback string) string {
	return mysqlcoll.Choose(names, prefs, fallback)
}

// pickCollation chooses the collation of new tables: accent-sensitive and
// case-insensitive where the server has one, so that "rene" and "René" are
// different logins but "rene" and "RENE" the same one.
func pickCollation(ctx context.Context, db *sql.DB) (string, error) {
	return mysqlcoll.PickIdentity(ctx, db)
}

// accentInsensitive reports whether a _ci collation also ignores accents
// (general_ci, unicode_ci, unicode_520_ci, the *_ai_ci ones): every _ci
// collation but the *_as_ci ones.
func accentInsensitive(collation string) bool {
	c := strings.ToLower(collation)
	return strings.HasSuffix(c, "_ci") && !strings.HasSuffix(c, "_as_ci")
}

// coversIdentity reports whether equality under the collation holds for
// every two values of one identity (case and canonical equivalence
// ignored), so that an indexed "col = ?" finds every spelling. The UCA
// collations do; general_ci does not (it tells the Kelvin sign from "k"),
// nor do the case-sensitive ones.
func coversIdentity(collation string) bool {
	c := strings.ToLower(collation)
	return strings.HasSuffix(c, "_ci") && (strings.Contains(c, "uca1400") || strings.Contains(c, "0900") || strings.Contains(c, "unicode"))
}
