package queue_test

import (
	"context"
	"strings"
	"testing"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/queue"
)

// A requestId holds at most 256 bytes: a longer one is a final refusal, nothing is
// created; exactly 256 is taken. Kills: handle's `len(msg.RequestID) > 256` loosened.
func TestMutauditRequestIDLength(t *testing.T) {
	e := setup(t, "")
	ctx := context.Background()
	body := func(id string) []byte {
		return []byte(`{"requestId":"` + id + `","action":"initiate","filename":"a.txt","contentType":"text/plain","size":1}`)
	}
	res, out := e.proc.Handle(ctx, body(strings.Repeat("r", 257)), "fallback")
	if out != queue.Done || res.Status != "error" || res.Error == nil || res.Error.Code != errcode.InvalidField || res.Error.Field != "requestId" {
		t.Errorf("a 257-byte requestId: %+v %v; want a final invalid_field requestId", res.Error, out)
	}
	if n := e.store.Uploads(); n != 0 {
		t.Errorf("a refused message created %d uploads", n)
	}
	if res, _ := e.proc.Handle(ctx, body(strings.Repeat("r", 256)), "fallback"); res.Status != "ok" {
		t.Errorf("a 256-byte requestId: %+v", res.Error)
	}
}
