package queue_test

// A third outside attack: the queue's initiate that started its upload while its marker
// was read (an initiateOnce since removed).

import (
	"context"
	"sync"
	"testing"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/queue"
	"github.com/directup/directup/shared/upload"
)

type sink struct {
	mu  sync.Mutex
	evs []events.Event
}

func (s *sink) Publish(_ context.Context, ev *events.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, *ev)
	return nil
}

// BROKE, fixed (an initiate reads its marker before it acts again, as before). Queues
// deliver at least once: redeliveries are routine. A redelivered initiate
// used to read its marker and answer from it, touching nothing; now it starts a second
// upload while the marker is read and then aborts it through Service.Abort, which
// publishes an upload.aborted event. So every redelivery tells the events endpoint that an
// upload to the message's key was aborted — with client keys, the very key of the live
// upload the marker answers with. A consumer that tracks uploads by key (as the events'
// Key invites) marks the live upload aborted. (The pre-create hook is asked again too.)
// Fix: undo the redelivery's upload with the store's abort directly (no event), as
// initiate's own orphan clean-up does, or publish nothing for an upload nobody was told.
func TestAttack3RedeliveryTellsAnAbort(t *testing.T) {
	told := &sink{}
	e := setupWith(t, "", nil, func(p *policy.Policy) { p.ClientKeys = true }, upload.WithEvents(told))
	proc := e.proc
	body := e.msg(`"action":"initiate","requestId":"job-ev","key":"uploads/jobs/report.bin","contentType":"application/octet-stream","size":100`)
	first, out := proc.Handle(context.Background(), body, "m1")
	if out != queue.Done || first.Initiated == nil {
		t.Fatalf("first delivery: %+v %v", first, out)
	}
	again, _ := proc.Handle(context.Background(), body, "m1-again")
	if !again.Duplicate || again.Initiated == nil || again.Initiated.UploadID != first.Initiated.UploadID {
		t.Fatalf("redelivery: %+v", again)
	}
	told.mu.Lock()
	defer told.mu.Unlock()
	for _, ev := range told.evs {
		if ev.Type == events.Aborted {
			t.Errorf("a redelivery told %s for %s (upload %s), while the upload its marker answers with (%s) is live",
				ev.Type, ev.Key, ev.UploadID, first.Initiated.UploadID)
		}
	}
}
