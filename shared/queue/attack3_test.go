package queue_test

// A third outside attack: the queue's initiate that starts its upload while its marker is
// read (queue.go:initiateOnce).

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/localcos"
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
	cred := cossign.Credentials{SecretID: "AKIDq", SecretKey: "queue-secret", SessionToken: "queue-token"}
	store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	client, _ := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: srv.URL},
		credentials.Static{AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken}, nil)
	client.BaseDelay, client.MaxDelay = time.Millisecond, time.Millisecond
	p := policy.Default()
	p.ClientKeys = true
	told := &sink{}
	svc, err := upload.NewService(client, p, []byte(strings.Repeat("t", 32)), upload.WithEvents(told))
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	proc := queue.New(svc, svc.Records(), &queue.Callbacks{Secret: []byte(callbackSecret)}, nil)
	body := []byte(`{"callbackUrl":"` + rcv.URL + `/hook","action":"initiate","requestId":"job-ev","key":"uploads/jobs/report.bin","contentType":"application/octet-stream","size":100}`)
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
