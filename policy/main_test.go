package policy_test

import (
	"os"
	"testing"

	"github.com/helpdeskkit/customeruser/internal/testmysql"
)

// TestMain stops the throwaway MariaDB of the SQL preference store's tests
// (started on first use only) after the package's tests.
func TestMain(m *testing.M) { os.Exit(testmysql.Run(m)) }
