// Package password hashes customer-user passwords with bcrypt and verifies
// every stored format the OTRS family (OTRS, Znuny, OTOBO) writes, so an
// existing customer_user table works unchanged.
//
// (Full documentation follows in a later commit.)
package password
