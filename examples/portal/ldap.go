package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// The LDAP flags, named as in examples/switching (which shows more of them):
//
//	LDAP_BIND_PASSWORD=... go run ./examples/portal -backend ldap \
//	  -ldap-url ldaps://ldap.example.com -ldap-bind-dn cn=helpdesk,dc=example,dc=com \
//	  -ldap-base-dn ou=customers,dc=example,dc=com
var (
	ldapURL          = flag.String("ldap-url", "", "LDAP server URLs, comma-separated, tried in order")
	ldapBindDN       = flag.String("ldap-bind-dn", "", "service account DN (empty: anonymous, which cannot write)")
	ldapBindPassword = flag.String("ldap-bind-password", "", "service account password (default: $LDAP_BIND_PASSWORD)")
	ldapBaseDN       = flag.String("ldap-base-dn", "", "where customer users live, e.g. ou=customers,dc=example,dc=com")
	ldapPreset       = flag.String("ldap-preset", "openldap", "server preset: openldap or ad")
	ldapStartTLS     = flag.Bool("ldap-starttls", false, "upgrade ldap:// connections with StartTLS")
)

func init() { openers["ldap"] = openLDAP }

// openLDAP builds a writable LDAP backend from the flags (the portal's admin
// screens write; the stock inetOrgPerson mapping of the preset is kept).
func openLDAP(context.Context) (stores, error) {
	if strings.TrimSpace(*ldapURL) == "" || strings.TrimSpace(*ldapBaseDN) == "" {
		return stores{}, errors.New("-backend ldap needs the flags -ldap-url and -ldap-base-dn (see -h)")
	}
	cfg := ldapbackend.OpenLDAP()
	if p := strings.ToLower(*ldapPreset); p == "ad" || p == "activedirectory" {
		cfg = ldapbackend.ActiveDirectory()
	} else if p != "openldap" {
		return stores{}, errors.New("-ldap-preset: want openldap or ad")
	}
	cfg.Name = "ldap"
	cfg.URLs = splitList(*ldapURL)
	cfg.BaseDN, cfg.BindDN, cfg.StartTLS = *ldapBaseDN, *ldapBindDN, *ldapStartTLS
	cfg.BindPassword = *ldapBindPassword
	if cfg.BindPassword == "" {
		cfg.BindPassword = os.Getenv("LDAP_BIND_PASSWORD")
	}
	cfg.ReadOnly = ldapbackend.Bool(false)
	b, err := ldapbackend.New(cfg)
	if err != nil {
		return stores{}, err
	}
	return stores{Backend: b, Close: func() { _ = b.Close() }}, nil
}
