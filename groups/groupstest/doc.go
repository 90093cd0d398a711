// Package groupstest is the conformance suite of groups.Store
// implementations, like backend/backendtest for customer-user backends: Run
// checks the OTRS write rules (GroupMemberAdd, GroupCustomerAdd), the lists,
// renames, refused input and concurrent use of a store, and the OTRS
// resolution rules of groups.Resolver on top of it. Every implementation
// calls it from its tests:
//
//	func TestConformance(t *testing.T) {
//		groupstest.Run(t, func(t *testing.T) groups.Store { return groups.NewMemoryStore() })
//	}
package groupstest
