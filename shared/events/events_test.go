package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/webhook"
)

const secret = "events-secret-0123456789"

// receiver keeps every delivery whose signature verifies, and fails the first `fail`.
type receiver struct {
	mu         sync.Mutex
	deliveries []events.Event
	fail       atomic.Int32
	srv        *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !webhook.Verify([]byte(secret), body, req.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute) {
			t.Errorf("an event whose signature does not verify")
			w.WriteHeader(401)
			return
		}
		var ev events.Event
		json.Unmarshal(body, &ev)
		r.mu.Lock()
		r.deliveries = append(r.deliveries, ev)
		r.mu.Unlock()
		if r.fail.Add(-1) >= 0 {
			w.WriteHeader(500) // processed, but the answer says otherwise: it comes again
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// unique dedupes deliveries on id, as receivers do.
func (r *receiver) unique() map[string]events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]events.Event{}
	for _, ev := range r.deliveries {
		out[ev.ID] = ev
	}
	return out
}

func setup(t *testing.T, rcv *receiver, logs io.Writer) (*apiclient.Client, *localcos.Server) {
	backend := functest.NewBackend(t)
	store, client := backend.Store, backend.Client(t)
	pub := events.New(events.Settings{URL: rcv.srv.URL, Secret: secret}, slog.New(slog.NewJSONHandler(logs, nil)))
	svc, err := upload.NewService(client, policy.DefaultPolicy(), []byte(strings.Repeat("t", 32)), upload.WithEvents(pub))
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(httpapi.New(svc, httpapi.Options{}))
	t.Cleanup(apiSrv.Close)
	return &apiclient.Client{API: apiSrv.URL}, store
}

func size(n int) *int64 { v := int64(n); return &v }

func TestOutcomesAreTold(t *testing.T) {
	rcv := newReceiver(t)
	api, _ := setup(t, rcv, io.Discard)
	ctx := context.Background()

	// Completed, while the receiver fails twice: three deliveries, one event after dedupe.
	rcv.fail.Store(2)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	up, done, err := api.Upload(ctx, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: size(len(png)),
		Metadata: map[string]string{"project": "42"}}, bytes.NewReader(png), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcv.deliveries) != 3 {
		t.Fatalf("%d deliveries, want 3 (two refused)", len(rcv.deliveries))
	}
	got := rcv.unique()
	if len(got) != 1 {
		t.Fatalf("%d distinct events after dedupe, want 1", len(got))
	}
	for _, ev := range got {
		if ev.Type != events.Completed || ev.Key != up.Key || ev.UploadID != up.UploadID || ev.Size != int64(len(png)) ||
			ev.ETag != done.ETag || ev.CRC64 != done.CRC64 || ev.DetectedType != "image/png" || ev.ContentType != "image/png" ||
			ev.Metadata["project"] != "42" || ev.Bucket != "local-1250000000" || ev.Source != "api" || len(ev.ID) != 32 {
			t.Fatalf("completed event %+v", ev)
		}
	}

	// Rejected (content) and aborted.
	html := []byte("<html><script>alert(1)</script></html>")
	if _, _, err := api.Upload(ctx, &policy.InitiateRequest{Filename: "x.png", ContentType: "image/png", Size: size(len(html))}, bytes.NewReader(html), nil); err == nil {
		t.Fatal("HTML as PNG was accepted")
	}
	gone, err := api.Initiate(ctx, &policy.InitiateRequest{Filename: "y.bin", ContentType: "application/octet-stream", Size: size(10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Abort(ctx, gone); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]events.Event{}
	for _, ev := range rcv.unique() {
		kinds[ev.Type] = ev
	}
	if r := kinds[events.Rejected]; r.DetectedType != "text/html" || !strings.Contains(r.Reason, "content_mismatch") {
		t.Fatalf("rejected event %+v", r)
	}
	if a := kinds[events.Aborted]; a.UploadID != gone.UploadID || a.Key != gone.Key {
		t.Fatalf("aborted event %+v", a)
	}
}

// An event that cannot be delivered is written to the log whole, never dropped silently;
// the upload itself still succeeds.
func TestUndeliveredEventIsLogged(t *testing.T) {
	rcv := newReceiver(t)
	rcv.fail.Store(100)
	var logs bytes.Buffer
	api, _ := setup(t, rcv, &logs)
	up, _, err := api.Upload(context.Background(), &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: size(3)}, strings.NewReader("abc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Msg   string
		Event events.Event
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.Msg != "event undelivered" || line.Event.Key != up.Key || line.Event.Type != events.Completed || line.Event.ID == "" {
		t.Fatalf("log %s (%v)", logs.String(), err)
	}
}
