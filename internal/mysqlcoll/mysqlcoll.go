// Package mysqlcoll chooses the collations of the tables that the SQL
// packages (sqlbackend, groups) create on MySQL and MariaDB, from the full
// collation names the server reports. It exists so that both packages make
// the same choice: MariaDB 10.10+ lists its UCA 14 collations in
// information_schema.COLLATIONS without the character set ("uca1400_as_ci");
// their full names ("utf8mb4_uca1400_as_ci") are only in
// COLLATION_CHARACTER_SET_APPLICABILITY.FULL_COLLATION_NAME.
package mysqlcoll

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// Preferences, best first. The identity ones are accent-sensitive and
// case-insensitive, the nearest a collation comes to the identity rule of
// package backend (they still merge width and compatibility forms, which
// the rule keeps apart: the code re-checks every row in Go). Older servers
// have no accent-sensitive case-insensitive utf8mb4 collation; of their
// accent-insensitive ones the UCA-based are the nearest. The search ones
// fold case and accents, as search matching does.
var (
	Identity = []string{"utf8mb4_uca1400_as_ci", "utf8mb4_0900_as_ci", "utf8mb4_unicode_520_ci", "utf8mb4_unicode_ci"}
	Search   = []string{"utf8mb4_uca1400_ai_ci", "utf8mb4_0900_ai_ci", "utf8mb4_unicode_520_ci", "utf8mb4_unicode_ci"}
)

// erBadField is MySQL's "unknown column" error (no FULL_COLLATION_NAME
// before MariaDB 10.10).
const erBadField = 1054

// ServerNames lists the full names of the server's utf8mb4 collations.
func ServerNames(ctx context.Context, db *sql.DB) ([]string, error) {
	var names []string
	read := func(query string) error {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			names = append(names, n)
		}
		return rows.Err()
	}
	if err := read("SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME = 'utf8mb4'"); err != nil {
		return nil, err
	}
	err := read("SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE CHARACTER_SET_NAME = 'utf8mb4'")
	var myErr *mysql.MySQLError
	if err != nil && !(errors.As(err, &myErr) && myErr.Number == erBadField) {
		return nil, err
	}
	return names, nil
}

// Choose returns the first of prefs that names holds (compared
// case-insensitively), or fallback.
func Choose(names, prefs []string, fallback string) string {
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[strings.ToLower(n)] = true
	}
	for _, p := range prefs {
		if have[p] {
			return p
		}
	}
	return fallback
}

// PickIdentity chooses the collation of new tables' identity columns on the
// server db: the first of Identity it has, else utf8mb4_unicode_ci.
func PickIdentity(ctx context.Context, db *sql.DB) (string, error) {
	names, err := ServerNames(ctx, db)
	if err != nil {
		return "", err
	}
	return Choose(names, Identity, "utf8mb4_unicode_ci"), nil
}
