// Package groups holds customer groups and their permissions, and decides
// which groups a customer user is in, by the rules of the OTRS family
// ("Customer Users <-> Groups", CustomerGroupSupport,
// CustomerGroupAlwaysGroups, CustomerGroupCompanyAlwaysGroups).
//
// A permission is a key: "ro", "rw" or another ("create", "move_into",
// "owner", "priority", "note", ...). A request for key K is met by a row
// with K or with "rw"; "ro" does not imply "create".
//
// A Store keeps the rows: a customer user's own rows, set like OTRS
// GroupMemberAdd (only the keys passed change), and a company's rows per
// customer ID and context, set like GroupCustomerAdd (all keys of the
// group, customer ID and context replaced). NewMemoryStore keeps them in
// memory; NewSQLStore on the OTRS tables group_customer_user, group_customer
// and the groups table (groups, permission_groups or groups_table, detected),
// created when missing and used as they are when present, so a Znuny
// database is read and written the way Znuny does.
//
// A Resolver (NewResolver) computes a user's groups when asked: own rows,
// the rows of each of the user's customer IDs in context "same",
// AlwaysGroups and CompanyAlwaysGroups, valid groups only; with group
// support off every valid group grants every key. Nothing it derives is
// stored. Explain says which rule granted a key or why none did;
// OtherGrants gives the "other"-context company grants the ticket rule uses.
// Members lists a group's users, those of its companies included, without
// the invalid ones (it asks a UserSource, since a store cannot know).
//
//	store := groups.NewMemoryStore()
//	store.AddGroup(ctx, groups.Group{Name: "support"})
//	store.SetMemberPermissions(ctx, "support", "hhuber", map[string]bool{"ro": true})
//	r, _ := groups.NewResolver(store, groups.Config{Support: true})
//	perms, _ := r.Groups(ctx, user) // [{support ro}]
//
// Logins, customer IDs and group names are compared by backend.IdentityKey
// everywhere. Bad input (an unknown group, an empty key, NUL bytes, a name
// over its column's size) is a *backend.ValidationError and changes nothing.
package groups
