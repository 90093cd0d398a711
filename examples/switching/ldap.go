package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// The LDAP flags, for example
//
//	LDAP_BIND_PASSWORD=... go run ./examples/switching -backend ldap \
//	  -ldap-url ldaps://ldap1.example.com,ldaps://ldap2.example.com \
//	  -ldap-bind-dn cn=helpdesk,dc=example,dc=com -ldap-base-dn ou=customers,dc=example,dc=com
//
// The walk-through writes, so the backend is writable here (ldapbackend
// itself is read-only unless told otherwise). With the openldap preset the
// defaults keep everything in stock inetOrgPerson attributes: the customer
// ID in o, further ones in ou, the valid id in employeeType.
var (
	ldapURL          = flag.String("ldap-url", "", "LDAP server URLs, comma-separated, tried in order (ldap://host:389 or ldaps://host:636)")
	ldapBindDN       = flag.String("ldap-bind-dn", "", "service account DN (empty: anonymous, which cannot write)")
	ldapBindPassword = flag.String("ldap-bind-password", "", "service account password (default: $LDAP_BIND_PASSWORD)")
	ldapBaseDN       = flag.String("ldap-base-dn", "", "where customer users live, e.g. ou=customers,dc=example,dc=com")
	ldapPreset       = flag.String("ldap-preset", "openldap", "server preset: openldap or ad")
	ldapStartTLS     = flag.Bool("ldap-starttls", false, "upgrade ldap:// connections with StartTLS")
	ldapCAFile       = flag.String("ldap-ca-file", "", "PEM file of the CA that signed the server certificate (default: system roots)")
	ldapCustomerID   = flag.String("ldap-customer-id-attribute", "o", "attribute holding the customer ID")
	ldapCustomerIDs  = flag.String("ldap-customer-ids-attribute", "ou", "multi-valued attribute holding further customer IDs")
	ldapValid        = flag.String("ldap-valid-attribute", "employeeType", "attribute holding the OTRS valid id 1/2/3 (empty: validity is not stored)")
	ldapObjectClass  = flag.String("ldap-object-classes", "", "object classes of new entries, comma-separated (default: the preset's)")
)

func init() {
	openers["ldap"] = openLDAP
}

func openLDAP(context.Context) (backend.CustomerUserBackend, func(), error) {
	var missing []string
	for name, v := range map[string]string{"-ldap-url": *ldapURL, "-ldap-base-dn": *ldapBaseDN} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("missing required flags %s (see -h)", strings.Join(missing, ", "))
	}
	var cfg ldapbackend.Config
	switch strings.ToLower(*ldapPreset) {
	case "openldap":
		cfg = ldapbackend.OpenLDAP()
	case "ad", "activedirectory":
		cfg = ldapbackend.ActiveDirectory()
	default:
		return nil, nil, fmt.Errorf("-ldap-preset %q: want openldap or ad", *ldapPreset)
	}
	cfg.Name = "ldap"
	cfg.URLs = splitList(*ldapURL)
	cfg.BaseDN = *ldapBaseDN
	cfg.BindDN = *ldapBindDN
	cfg.BindPassword = *ldapBindPassword
	if cfg.BindPassword == "" {
		cfg.BindPassword = os.Getenv("LDAP_BIND_PASSWORD")
	}
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		return nil, nil, errors.New("-ldap-bind-dn given without a password (-ldap-bind-password or $LDAP_BIND_PASSWORD)")
	}
	cfg.StartTLS = *ldapStartTLS
	if *ldapCAFile != "" {
		pem, err := os.ReadFile(*ldapCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-ldap-ca-file: %w", err)
		}
		cfg.TLS.CACertificatesPEM = pem
	}
	cfg.CustomerIDAttribute = *ldapCustomerID
	cfg.CustomerIDsAttribute = *ldapCustomerIDs
	cfg.ValidAttribute = *ldapValid
	if *ldapObjectClass != "" {
		cfg.ObjectClasses = splitList(*ldapObjectClass)
	}
	cfg.ReadOnly = ldapbackend.Bool(false)
	b, err := ldapbackend.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return b, func() { _ = b.Close() }, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
