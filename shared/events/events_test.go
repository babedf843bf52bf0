package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

const secret = "events-secret-0123456789"

// receiver keeps every delivery whose signature verifies, and fails the first `Fail`.
type receiver struct{ *functest.Receiver }

func newReceiver(t *testing.T) *receiver {
	r := &receiver{functest.NewReceiver(t, secret)}
	r.Status.Store(500) // processed, but the answer says otherwise: it comes again
	return r
}

// unique dedupes deliveries on id, as receivers do.
func (r *receiver) unique() map[string]events.Event {
	out := map[string]events.Event{}
	for _, body := range r.Received() {
		var ev events.Event
		json.Unmarshal(body, &ev)
		out[ev.ID] = ev
	}
	return out
}

func setup(t *testing.T, rcv *receiver, logs io.Writer) (*apiclient.Client, *localcos.Server) {
	backend := functest.NewBackend(t)
	store, client := backend.Store, backend.Client(t)
	pub := events.New(events.Settings{URL: rcv.URL, Secret: secret}, slog.New(slog.NewJSONHandler(logs, nil)))
	svc, err := upload.NewService(client, policy.Default(), []byte(strings.Repeat("t", 32)), upload.WithEvents(pub))
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
	rcv.Fail.Store(2)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	up, done, err := api.Upload(ctx, &policy.InitiateRequest{Filename: "cat.png", ContentType: "image/png", Size: size(len(png)),
		Metadata: map[string]string{"project": "42"}}, bytes.NewReader(png), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcv.Received()) != 3 {
		t.Fatalf("%d deliveries, want 3 (two refused)", len(rcv.Received()))
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
	rcv.Fail.Store(100)
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
