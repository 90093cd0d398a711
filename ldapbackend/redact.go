package ldapbackend

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// redacted is what a secret prints as.
const redacted = "[redacted]"

// Printing is safe by construction: Config and TLSConfig, the exported types
// that can hold a secret (the bind password, the client certificate's
// private key), print and log without it through every path (String for
// %v %+v %s %q, GoString for %#v, MarshalJSON, LogValue).

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes the configuration without its secrets (the bind password
// and the client certificate's key), so that a Config can be printed or
// logged safely: fmt's %v and %+v use it.
func (c Config) String() string {
	return fmt.Sprintf("ldapbackend.Config{Name: %q, URLs: [%s], StartTLS: %v, TLS: %s, BindDN: %q, BindPassword: %q, BaseDN: %q, LoginAttribute: %q}",
		c.Name, strings.Join(c.URLs, " "), c.StartTLS, c.TLS, c.BindDN, redact(c.BindPassword), c.BaseDN, c.LoginAttribute)
}

// GoString is String for %#v, which would otherwise print every field.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog log the configuration without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.Any("urls", c.URLs),
		slog.Bool("starttls", c.StartTLS),
		slog.Any("tls", c.TLS),
		slog.String("bind_dn", c.BindDN),
		slog.String("bind_password", redact(c.BindPassword)),
		slog.String("base_dn", c.BaseDN),
	)
}

// MarshalJSON gives every field but the secrets: BindPassword is
// "[redacted]" when set, TLS is marshalled by TLSConfig.MarshalJSON and the
// Logger is left out.
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config // the fields without the methods
	p := plain(c)
	p.BindPassword = redact(p.BindPassword)
	p.Logger = nil
	return json.Marshal(p)
}

// String describes the TLS settings without the client certificate's
// private key.
func (t TLSConfig) String() string {
	return fmt.Sprintf("ldapbackend.TLSConfig{CACertificatesPEM: %d bytes, RootCAs: %v, ClientCertificate: %s, ServerName: %q, MinVersion: %#x, InsecureSkipVerifyDangerous: %v}",
		len(t.CACertificatesPEM), t.RootCAs != nil, t.clientCert(), t.ServerName, t.MinVersion, t.InsecureSkipVerifyDangerous)
}

// GoString is String for %#v.
func (t TLSConfig) GoString() string { return t.String() }

func (t TLSConfig) clientCert() string {
	if t.ClientCertificate == nil {
		return "none"
	}
	return redacted
}

// LogValue makes slog log the TLS settings without the private key.
func (t TLSConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("ca_pem_bytes", len(t.CACertificatesPEM)),
		slog.Bool("root_cas", t.RootCAs != nil),
		slog.String("client_certificate", t.clientCert()),
		slog.String("server_name", t.ServerName),
		slog.Int("min_version", int(t.MinVersion)),
		slog.Bool("insecure_skip_verify", t.InsecureSkipVerifyDangerous),
	)
}

// MarshalJSON gives the TLS settings without the client certificate (whose
// private key would otherwise be marshalled) and without the CA pool.
func (t TLSConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		CACertificatesPEM           []byte `json:",omitempty"`
		RootCAs                     bool
		ClientCertificate           string
		ServerName                  string
		MinVersion                  uint16
		InsecureSkipVerifyDangerous bool
	}{t.CACertificatesPEM, t.RootCAs != nil, t.clientCert(), t.ServerName, t.MinVersion, t.InsecureSkipVerifyDangerous})
}
