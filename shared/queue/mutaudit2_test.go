package queue_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/directup/directup/shared/queue"
)

// A message that failed for now (storage busy: Retry, to be redelivered) has no result
// yet: nothing goes to its callback, so a receiver never acts on an outcome that a
// redelivery will replace; the redelivery's result is the one it gets. Kills: queue.go
// `Handle` sending the callback whatever the outcome (`&& outcome == Done` dropped).
func TestMutaudit2NoCallbackForARetriedMessage(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
		fmt.Fprint(w, "<Error><Code>SlowDown</Code></Error>")
	}))
	defer dead.Close()
	e := setup(t, dead.URL)
	res, out := e.proc.Handle(context.Background(), e.msg(`"action":"initiate","requestId":"busy-1","filename":"a","contentType":"text/plain","size":1`), "m")
	if out != queue.Retry {
		t.Fatalf("storage busy: %+v %v; want Retry", res, out)
	}
	if got := e.receiver.Accepted(); len(got) != 0 {
		t.Errorf("a message to be redelivered sent %d callbacks (%s); want none", len(got), got[0])
	}
}
