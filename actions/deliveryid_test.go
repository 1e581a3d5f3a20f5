package actions

import (
	"context"
	"testing"
)

func TestDeliveryID(t *testing.T) {
	ctx := context.Background()
	if id := DeliveryID(ctx); id != "" {
		t.Errorf("DeliveryID of a bare context = %q, want empty", id)
	}
	first := WithDeliveryID(ctx, "productlift/d-1/votes/0")
	second := WithDeliveryID(first, "productlift/d-1/votes/1")
	if id := DeliveryID(first); id != "productlift/d-1/votes/0" {
		t.Errorf("DeliveryID = %q", id)
	}
	if id := DeliveryID(second); id != "productlift/d-1/votes/1" {
		t.Errorf("the inner id should win: DeliveryID = %q", id)
	}
	type otherKey struct{}
	if id := DeliveryID(context.WithValue(ctx, otherKey{}, "x")); id != "" {
		t.Errorf("another package's value read as a delivery id: %q", id)
	}
}
