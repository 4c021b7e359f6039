package catalystpb

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/backstop-appliance/backstop/dedup"
)

// TestStatusRoundTrip checks that every sentinel survives the wire: the
// server's ToStatus and the client's FromStatus give back an error that
// errors.Is matches, with the server's message.
func TestStatusRoundTrip(t *testing.T) {
	for _, r := range reasons() {
		t.Run(r.reason, func(t *testing.T) {
			sent := fmt.Errorf("put s/x: %w", r.err)
			st := ToStatus(sent)
			if got := status.Code(st); got != r.code {
				t.Fatalf("ToStatus code = %v, want %v", got, r.code)
			}
			back := FromStatus(st)
			if !errors.Is(back, r.err) {
				t.Fatalf("FromStatus(ToStatus(%v)) = %v, not errors.Is the sentinel", sent, back)
			}
			if back.Error() != sent.Error() {
				t.Fatalf("message %q, want %q", back.Error(), sent.Error())
			}
			if status.Code(back) != r.code {
				t.Fatalf("code of the client's error = %v, want %v", status.Code(back), r.code)
			}
		})
	}
	tests := []struct {
		in   error
		want error
		code codes.Code
	}{
		{context.Canceled, context.Canceled, codes.Canceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), context.DeadlineExceeded, codes.DeadlineExceeded},
		{errors.New("boom"), nil, codes.Internal},
	}
	for _, tt := range tests {
		st := ToStatus(tt.in)
		if status.Code(st) != tt.code {
			t.Errorf("ToStatus(%v) code = %v, want %v", tt.in, status.Code(st), tt.code)
		}
		back := FromStatus(st)
		if tt.want != nil && !errors.Is(back, tt.want) {
			t.Errorf("FromStatus(ToStatus(%v)) = %v, want %v", tt.in, back, tt.want)
		}
		if tt.want == nil && back.Error() != "Internal: boom" {
			t.Errorf("FromStatus of an unmapped error = %q, want %q", back.Error(), "Internal: boom")
		}
	}
	if ToStatus(nil) != nil || FromStatus(nil) != nil {
		t.Error("nil does not map to nil")
	}
}

func TestConversionsRoundTrip(t *testing.T) {
	it := dedup.Item{Store: "s", Name: "n", Size: 9, Chunks: 2, NewBytes: 3,
		Created: time.Unix(5, 6).UTC(), Modified: time.Unix(7, 8).UTC(), Meta: map[string]string{"k": "v"}}
	if got := ItemFromPB(ItemPB(it)); !reflect.DeepEqual(got, it) {
		t.Errorf("ItemFromPB(ItemPB(%+v)) = %+v", it, got)
	}
	p := dedup.ChunkerParams{Algorithm: dedup.Rabin, Min: 1 << 12, Avg: 1 << 14, Max: 1 << 16, Seed: 0x3DA3358B4DC173}
	if got := ParamsFromPB(ParamsPB(p)); got != p {
		t.Errorf("ParamsFromPB(ParamsPB(%+v)) = %+v", p, got)
	}
	for _, policy := range []string{dedup.TransferLow, dedup.TransferHigh} {
		if got := TransferFromPB(TransferPB(policy)); got != policy {
			t.Errorf("transfer %q comes back as %q", policy, got)
		}
	}
	si := StoreInfoFromPB(&Store{Name: "s", Domain: "d", Transfer: Transfer_TRANSFER_HIGH, ImmutableDays: 4, Clients: []string{"a"}})
	want := dedup.StoreInfo{Name: "s", Domain: "d", StoreOptions: dedup.StoreOptions{Transfer: dedup.TransferHigh, ImmutableDays: 4, Clients: []string{"a"}}}
	if !reflect.DeepEqual(si, want) {
		t.Errorf("StoreInfoFromPB = %+v, want %+v", si, want)
	}
}
