// Package testad provisions a throwaway Samba Active Directory domain
// controller for tests (the recipe of shared/SERVERS.md section 7):
// samba-tool domain provision into a temporary directory (DNS backend none),
// only Samba's LDAP service, on a free loopback address 127.0.0.N (Samba's
// ports 389 and 636 cannot be moved, so every server takes an address of its
// own), with a CA and a server certificate made by the test that carries
// the address as a subject alternative name (Samba's own certificate has
// only a Common Name, which Go refuses).
//
// The domain is CORP.EXAMPLE.COM (BaseDN DC=corp,DC=example,DC=com). Before
// the start the seed is written with ldbmodify: a password policy without
// complexity, minimum length, history or lockout (the conformance suite's
// passwords are short); a read-only service account (ServiceDN) and a
// writer in Domain Admins (WriterDN); the Seed users below CustomersDN with
// a customer group (CustomerGroupDN) that has a nested group
// (NestedGroupDN) as a member; and BulkUsers users below BulkDN for paging
// past the server's MaxPageSize of 1000.
//
// Provisioning takes about ten seconds, so Shared starts one server per
// test binary (StartShared begins it in the background; call StopShared
// from TestMain); every test takes its own
// organizational unit with NewOU, deleted when the test ends (sAMAccountName
// is unique in the whole domain). A missing Samba binary fails the test
// naming the Debian packages to install; only go test -short skips.
//
//	func TestMain(m *testing.M) {
//		flag.Parse()
//		if !testing.Short() {
//			testad.StartShared() // provisions while other tests run
//		}
//		code := m.Run()
//		testad.StopShared()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		dc := testad.Shared(t)
//		ou := dc.NewOU(t) // OU=t<n>,DC=corp,DC=example,DC=com
//		...
//	}
package testad
