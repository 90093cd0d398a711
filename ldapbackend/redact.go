package ldapbackend

import (
	"fmt"
	"log/slog"
	"strings"
)

// redacted is what a secret prints as.
const redacted = "[redacted]"

// String describes the configuration without its secrets (the bind password
// and the client certificate's key), so that a Config can be printed or
// logged safely: fmt's %v and %+v use it.
func (c Config) String() string {
	pw := ""
	if c.BindPassword != "" {
		pw = redacted
	}
	return fmt.Sprintf("ldapbackend.Config{Name: %q, URLs: [%s], StartTLS: %v, BindDN: %q, BindPassword: %q, BaseDN: %q, LoginAttribute: %q}",
		c.Name, strings.Join(c.URLs, " "), c.StartTLS, c.BindDN, pw, c.BaseDN, c.LoginAttribute)
}

// GoString is String for %#v, which would otherwise print every field.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog log the configuration without its secrets.
func (c Config) LogValue() slog.Value {
	pw := ""
	if c.BindPassword != "" {
		pw = redacted
	}
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.Any("urls", c.URLs),
		slog.Bool("starttls", c.StartTLS),
		slog.String("bind_dn", c.BindDN),
		slog.String("bind_password", pw),
		slog.String("base_dn", c.BaseDN),
	)
}
