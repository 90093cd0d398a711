// Package deps pins the module's deliberate dependency set while the packages that use them are written.
package deps

import (
	_ "github.com/go-ldap/ldap/v3"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/hashicorp/go-multierror"
	_ "github.com/stretchr/testify/require"
	_ "golang.org/x/crypto/bcrypt"
)
