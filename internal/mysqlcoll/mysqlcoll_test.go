package mysqlcoll

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The names each server version reports choose the collation the
// identity rule needs.
func TestChoose(t *testing.T) {
	for name, tc := range map[string]struct {
		names []string
		want  string
	}{
		"MariaDB 10.11 (short names in COLLATIONS, full ones in the applicability table)": {
			[]string{"utf8mb4_general_ci", "utf8mb4_unicode_ci", "uca1400_as_ci", "UTF8MB4_UCA1400_AS_CI"}, "utf8mb4_uca1400_as_ci"},
		"MySQL 8":                           {[]string{"utf8mb4_general_ci", "utf8mb4_0900_ai_ci", "utf8mb4_0900_as_ci"}, "utf8mb4_0900_as_ci"},
		"MariaDB 10.6":                      {[]string{"utf8mb4_general_ci", "utf8mb4_unicode_ci", "utf8mb4_unicode_520_ci"}, "utf8mb4_unicode_520_ci"},
		"only the short name is not enough": {[]string{"uca1400_as_ci", "utf8mb4_general_ci"}, "utf8mb4_unicode_ci"},
	} {
		assert.Equal(t, tc.want, Choose(tc.names, Identity, "utf8mb4_unicode_ci"), name)
	}
	assert.Equal(t, "", Choose(nil, Search, ""))
}
