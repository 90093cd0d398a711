// Package policy combines customer-user backends into one Directory and adds
// what a helpdesk needs on top of them: no deletion, safe logins, lockout,
// self-service and events.
package policy
