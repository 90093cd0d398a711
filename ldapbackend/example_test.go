package ldapbackend_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/helpdeskkit/customeruser/backend"
	"github.com/helpdeskkit/customeruser/ldapbackend"
)

// A read-only OpenLDAP directory with failover between two servers over
// LDAPS, customer IDs in the o attribute, and a validity filter.
func ExampleNew() {
	cfg := ldapbackend.OpenLDAP()
	cfg.Name = "directory"
	cfg.URLs = []string{"ldaps://ldap1.example.com", "ldaps://ldap2.example.com"}
	cfg.TLS.CACertificatesPEM, _ = os.ReadFile("/etc/ssl/certs/example-ca.pem")
	cfg.BindDN = "cn=helpdesk,ou=services,dc=example,dc=com"
	cfg.BindPassword = os.Getenv("LDAP_BIND_PASSWORD")
	cfg.BaseDN = "ou=customers,dc=example,dc=com"
	cfg.CustomerIDAttribute = "o"
	cfg.ValidFilter = "(!(employeeType=disabled))"
	cfg.RequestTimeout = 10 * time.Second

	b, err := ldapbackend.New(cfg) // does not connect yet
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	users, err := b.Search(context.Background(), backend.Query{Search: "huber", Limit: 20})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range users {
		fmt.Println(u.Login, u.FullName(), u.CustomerID)
	}
}

// Active Directory: sAMAccountName logins, disabled accounts invalid,
// membership of a group (nested groups included) required.
func ExampleNew_activeDirectory() {
	cfg := ldapbackend.ActiveDirectory()
	cfg.URLs = []string{"ldaps://dc1.corp.example.com", "ldaps://dc2.corp.example.com"}
	cfg.BindDN = "CN=svc-helpdesk,OU=Service Accounts,DC=corp,DC=example,DC=com"
	cfg.BindPassword = os.Getenv("AD_BIND_PASSWORD")
	cfg.BaseDN = "OU=Customers,DC=corp,DC=example,DC=com"
	cfg.CustomerIDAttribute = "company"
	cfg.GroupDN = "CN=Portal Customers,OU=Groups,DC=corp,DC=example,DC=com"

	b, err := ldapbackend.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
}

func ExampleBackend_Authenticate() {
	cfg := ldapbackend.OpenLDAP()
	cfg.URLs = []string{"ldap://ldap.example.com"}
	cfg.StartTLS = true
	cfg.BaseDN = "ou=customers,dc=example,dc=com"
	b, err := ldapbackend.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	u, err := b.Authenticate(context.Background(), "hhuber", "correct horse battery")
	switch {
	case errors.Is(err, backend.ErrInvalidCredentials):
		fmt.Println("wrong login or password")
	case errors.Is(err, backend.ErrAccountInvalid):
		fmt.Println("account disabled")
	case errors.Is(err, backend.ErrUnavailable):
		fmt.Println("directory down, try again later")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("welcome,", u.FullName())
	}
}
