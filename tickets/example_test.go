package tickets_test

import (
	"context"
	"fmt"

	"github.com/helpdeskkit/customeruser/tickets"
)

func ExampleStatic() {
	src := tickets.Static(
		tickets.Queue{ID: 2, Name: "Support", Group: "support"},
		tickets.Queue{ID: 1, Name: "Billing", Group: "billing"},
	)
	queues, _ := src.Queues(context.Background())
	for _, q := range queues {
		fmt.Println(q.ID, q.Name, q.Group, q.Valid)
	}
	// Output:
	// 1 Billing billing valid
	// 2 Support support valid
}
