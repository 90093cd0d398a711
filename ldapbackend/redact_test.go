package ldapbackend_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// TestConfigNeverPrintsSecrets: printing or logging a Config shows no password.
func TestConfigNeverPrintsSecrets(t *testing.T) {
	cfg := ldapbackend.OpenLDAP()
	cfg.URLs = []string{"ldaps://ldap.example.com"}
	cfg.BindDN, cfg.BindPassword = "cn=svc,dc=example,dc=com", "s3cret-Bind-PW"
	cfg.TLS.ClientCertificate = &tls.Certificate{Certificate: [][]byte{[]byte("cert")}}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg)
	for _, out := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logged.String()} {
		assert.NotContains(t, out, "s3cret-Bind-PW")
		assert.Contains(t, out, "cn=svc,dc=example,dc=com")
		assert.Contains(t, out, "[redacted]")
	}
}
