package queue_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/queue"
)

// roundTrips counts the storage round trips a processor a network away waits for:
// requests in flight together are one; each is held a moment so requests sent together
// are seen together.
type roundTrips struct {
	mu               sync.Mutex
	rounds, inFlight int
}

func (r *roundTrips) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if r.inFlight == 0 {
			r.rounds++
		}
		r.inFlight++
		r.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		h.ServeHTTP(w, req)
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	})
}

func (r *roundTrips) since() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.rounds
	r.rounds = 0
	return n
}

// A first delivery of an initiate reads its marker, starts the upload, then writes the
// marker: three storage round trips (the read comes first: a redelivery must not act — no
// second upload started and undone, no hook asked again, no abort told). A redelivery
// answers from the marker in one.
func TestInitiateMessageRoundTrips(t *testing.T) {
	rt := &roundTrips{}
	e := setupWith(t, "", rt.wrap, nil)
	proc, store := e.proc, e.store
	body := e.msg(`"action":"initiate","requestId":"job-rt","filename":"a.bin","contentType":"application/octet-stream","size":100`)
	ctx := context.Background()
	rt.since()
	first, out := proc.Handle(ctx, body, "m1")
	if out != queue.Done || first.Initiated == nil {
		t.Fatalf("first delivery: %+v %v", first, out)
	}
	if n := rt.since(); n != 3 {
		t.Errorf("first delivery of an initiate: %d storage round trips, want 3", n)
	}
	again, _ := proc.Handle(ctx, body, "m1-again")
	if n := rt.since(); n != 1 {
		t.Errorf("a redelivery: %d storage round trips, want 1 (the marker)", n)
	}
	if !again.Duplicate || again.Initiated == nil || again.Initiated.UploadID != first.Initiated.UploadID {
		t.Fatalf("redelivery: %+v", again)
	}
	if n := store.Uploads(); n != 1 {
		t.Errorf("%d uploads open after a redelivery, want 1", n)
	}
}
