// Package tickets holds the model of OTRS queues and tickets that customer
// access is decided on, and the sources of queues: Static for queues a
// product configures itself, and NewSQLQueueSource, a read-only reader of
// the OTRS queue table joined to the groups table, so the queues of an
// existing Znuny, OTOBO or OTRS database are read as they are.
//
// A Queue belongs to one group; whether a customer may create tickets in
// it ("create") or read its tickets ("ro") is decided by the customer's
// permission on that group (see package groups). A Ticket carries what the
// OTRS ticket permission looks at: its queue, customer ID and customer user.
// The package has no ticket store: products keep their own.
//
//	src := tickets.Static(
//		tickets.Queue{ID: 1, Name: "Support", Group: "support"},
//		tickets.Queue{ID: 2, Name: "Billing", Group: "billing"},
//	)
//	queues, _ := src.Queues(ctx)
package tickets
