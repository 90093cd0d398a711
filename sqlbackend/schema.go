package sqlbackend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
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
	coll := r.Collation
	if coll == "" {
		if coll, err = pickCollation(ctx, db); err != nil {
			return fail(err)
		}
	}
	q := func(name string) string { return "`" + name + "`" }

	var defs []string
	defs = append(defs, "`id` INTEGER NOT NULL AUTO_INCREMENT")
	for _, f := range columnOrder {
		if col, ok := r.cols[f]; ok {
			defs = append(defs, q(col)+" "+columnTypes[f])
		}
	}
	for _, a := range r.attrNames {
		defs = append(defs, q(r.Attributes[a])+" VARCHAR(250) NULL")
	}
	defs = append(defs, "PRIMARY KEY (`id`)", "UNIQUE KEY "+q(r.Table+"_login")+" ("+q(r.cols[FieldLogin])+")")
	stmts := []string{fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s",
		q(r.Table), strings.Join(defs, ",\n  "), coll)}
	if r.CustomerIDsTable != NoColumn {
		// The id column (not in OTRS) keeps the order of a user's further IDs.
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  id BIGINT NOT NULL AUTO_INCREMENT,
  user_id VARCHAR(191) NOT NULL,
  customer_id VARCHAR(150) NOT NULL,
  create_time DATETIME NOT NULL,
  create_by INTEGER NOT NULL,
  change_time DATETIME NOT NULL,
  change_by INTEGER NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=%s`, q(r.CustomerIDsTable), coll))
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

// pickCollation chooses an accent-sensitive, case-insensitive utf8mb4
// collation, so that "rene" and "René" are different logins but "rene" and
// "RENE" the same one.
func pickCollation(ctx context.Context, db *sql.DB) (string, error) {
	for _, c := range []string{"utf8mb4_uca1400_as_ci", "utf8mb4_0900_as_ci"} {
		var name string
		err := db.QueryRowContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME = ?", c).Scan(&name)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return "utf8mb4_unicode_ci", nil
}
