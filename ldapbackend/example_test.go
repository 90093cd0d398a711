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

// Active Directory: the worked configuration of the package documentation
// (corpAD): sAMAccountName or UPN logins, disabled accounts invalid,
// membership of a group (nested groups included) required.
func ExampleNew_activeDirectory() {
	domainCA, err := os.ReadFile("/etc/ssl/certs/corp-root-ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	cfg := corpAD([]string{"ldaps://dc1.corp.example.com", "ldaps://dc2.corp.example.com"},
		domainCA, os.Getenv("AD_BIND_PASSWORD"))
	b, err := ldapbackend.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	u, err := b.Authenticate(context.Background(), "jdoe@corp.example.com", os.Getenv("PASSWORD"))
	var expired *ldapbackend.PasswordExpiredError
	switch {
	case errors.As(err, &expired):
		fmt.Println("password expired; must change:", expired.MustChange)
	case err != nil:
		fmt.Println("refused:", err)
	default:
		fmt.Println(u.Login, u.CustomerID)
	}
}

// corpAD is the worked Active Directory configuration: LDAPS to the
// domain controllers, verified with the domain's CA (the PEM of the
// enterprise CA that issued their certificates).
func corpAD(urls []string, domainCA []byte, servicePassword string) ldapbackend.Config {
	cfg := ldapbackend.ActiveDirectory()
	cfg.Name = "corp"
	cfg.URLs = urls // ldaps://dc1.corp.example.com, ldaps://dc2.corp.example.com
	cfg.TLS.CACertificatesPEM = domainCA
	// A plain domain user as service account: every user may read users.
	cfg.BindDN = "CN=svc-helpdesk,CN=Users,DC=corp,DC=example,DC=com"
	cfg.BindPassword = servicePassword
	cfg.BaseDN = "OU=Customers,DC=corp,DC=example,DC=com"
	cfg.CustomerIDAttribute = "company"
	// Customers are the members of this group, through nested groups too.
	cfg.GroupDN = "CN=Helpdesk Customers,OU=Groups,DC=corp,DC=example,DC=com"
	// jdoe and jdoe@corp.example.com both log in.
	cfg.LoginByUPN = true
	return cfg
}

// corpADWriter makes the worked configuration writable: a service
// account delegated to create users in the OU and reset their
// passwords, userPrincipalName written, invalid-temporarily kept in
// employeeType beside the disabled bit. New accounts are not in the
// customer group (group membership is the administrators'), so the
// writer serves the whole OU.
func corpADWriter(cfg ldapbackend.Config, writerDN, writerPassword string) ldapbackend.Config {
	cfg.ReadOnly = ldapbackend.Bool(false)
	cfg.BindDN, cfg.BindPassword = writerDN, writerPassword
	cfg.GroupDN = ""
	cfg.UPNSuffix = "corp.example.com"
	cfg.ValidAttribute = "employeeType"
	return cfg
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
	var invalid *backend.AccountInvalidError
	switch {
	case errors.Is(err, backend.ErrInvalidCredentials):
		fmt.Println("wrong login or password")
	case errors.As(err, &invalid):
		fmt.Println("account", invalid.State) // invalid or invalid-temporarily
	case errors.Is(err, backend.ErrUnavailable):
		fmt.Println("directory down, try again later")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("welcome,", u.FullName())
	}
}

// A configuration that would read users without names or emails is
// refused, with every problem at once; each names the field to set.
func ExampleNew_configErrors() {
	_, err := ldapbackend.New(ldapbackend.Config{
		Name:   "directory",
		URLs:   []string{"ldap://ldap.example.com"},
		BaseDN: "ou=customers,dc=example,dc=com",
	})
	fmt.Println(errors.Is(err, backend.ErrInvalidInput))
	var problems backend.ValidationErrors
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Println(p.Field)
		}
	}
	// Output:
	// true
	// Config.LoginAttribute
	// Config.Attributes.FirstName
	// Config.Attributes.LastName
	// Config.Attributes.Email
}

// Presets are functions: each call gives a Config of its own, so changing
// it never changes the preset.
func ExampleOpenLDAP() {
	cfg := ldapbackend.OpenLDAP()
	cfg.ObjectClasses[0] = "customerPerson"
	fmt.Println(cfg.ObjectClasses[0], ldapbackend.OpenLDAP().ObjectClasses[0])
	// Output: customerPerson inetOrgPerson
}

// Keyset paging: give the last login of a page as Query.After to get the
// next one, in the order every backend shares (backend.CompareLogins).
func ExampleBackend_Search_paging() {
	cfg := ldapbackend.OpenLDAP()
	cfg.URLs = []string{"ldaps://ldap.example.com"}
	cfg.BaseDN = "ou=customers,dc=example,dc=com"
	b, err := ldapbackend.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	q := backend.Query{Search: "muller", Limit: 100} // finds Müller too
	for {
		page, err := b.Search(context.Background(), q)
		if err != nil {
			log.Fatal(err)
		}
		for _, u := range page {
			fmt.Println(u.Login)
		}
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].Login
	}
}

// Customer groups from directory groups: members of "Portal Sales"
// (directly or through groups nested in it) may open tickets in the Sales
// queues; members of "Helpdesk Admins" hold every key on Support. The
// resolver is the Directory's Config.Groups.
func ExampleBackend_GroupResolver() {
	cfg := ldapbackend.OpenLDAP()
	cfg.URLs = []string{"ldaps://ldap.example.com"}
	cfg.BindDN = "cn=helpdesk,ou=services,dc=example,dc=com"
	cfg.BindPassword = os.Getenv("LDAP_BIND_PASSWORD")
	cfg.BaseDN = "ou=people,dc=example,dc=com"
	b, err := ldapbackend.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	groups, err := b.GroupResolver(ldapbackend.GroupsConfig{
		BaseDN: "ou=groups,dc=example,dc=com",
		Groups: []ldapbackend.GroupMapping{
			{DN: "cn=Portal Sales,ou=groups,dc=example,dc=com", Group: "Sales", Keys: []string{"ro", "create"}},
			{DN: "cn=Helpdesk Admins,ou=groups,dc=example,dc=com", Group: "Support", Keys: []string{"rw"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	perms, err := groups.Groups(context.Background(), backend.CustomerUser{Login: "huber"})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range perms {
		fmt.Println(p.Group, p.Permission)
	}
}
