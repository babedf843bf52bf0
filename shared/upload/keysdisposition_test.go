package upload_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
)

// What temporary keys store is held to the Content-Disposition declared for them — the
// request's, or attachment for a type a browser runs script in, as an API upload's — which
// the keys' answer names and their CAM policy cannot pin: an SDK that leaves it out (an
// HTML page served inline from the bucket's domain) has its object deleted.
func TestKeysObjectHeldToItsDisposition(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.AllowedTypes = []string{"text/html", "image/png"} }, false)
	page := []byte("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>")
	for _, tt := range []struct {
		name, contentType, asked string // asked: the request's contentDisposition
		body                     []byte
		wantAnswer, stored       string // the answer's contentDisposition; what the SDK stores
		stays                    bool
	}{
		{name: "html without the attachment it was given", contentType: "text/html", body: page, wantAnswer: "attachment", stored: "", stays: false},
		{name: "html stored inline", contentType: "text/html", body: page, wantAnswer: "attachment", stored: "inline", stays: false},
		{name: "html stored as attachment", contentType: "text/html", body: page, wantAnswer: "attachment", stored: "attachment", stays: true},
		{name: "html with the disposition it asked for", contentType: "text/html", asked: `attachment; filename="a.html"`, body: page,
			wantAnswer: `attachment; filename="a.html"`, stored: `attachment; filename="a.html"`, stays: true},
		{name: "html without the disposition it asked for", contentType: "text/html", asked: `attachment; filename="a.html"`, body: page,
			wantAnswer: `attachment; filename="a.html"`, stored: "", stays: false},
		{name: "png with none", contentType: "image/png", body: png56, wantAnswer: "", stored: "", stays: true},
		{name: "png stored with one of its own", contentType: "image/png", body: png56, wantAnswer: "", stored: "inline", stays: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.told.all())
			size := int64(len(tt.body))
			keys, err := e.svc.Keys(upload.WithCaller(context.Background(), "alice"),
				&policy.InitiateRequest{Filename: "a", ContentType: tt.contentType, ContentDisposition: tt.asked, Size: &size})
			if err != nil {
				t.Fatal(err)
			}
			if keys.ContentDisposition != tt.wantAnswer || keys.ContentType != tt.contentType {
				t.Errorf("keys name Content-Type %q, Content-Disposition %q; want %q, %q", keys.ContentType, keys.ContentDisposition, tt.contentType, tt.wantAnswer)
			}
			h := http.Header{"Content-Type": {tt.contentType}}
			if tt.stored != "" {
				h.Set("Content-Disposition", tt.stored)
			}
			if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: tt.body, Header: h}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ObjectCreated(context.Background(), keys.Key); err != nil {
				t.Fatal(err)
			}
			if got := e.exists(t, keys.Key); got != tt.stays {
				t.Fatalf("object stays %v, want %v", got, tt.stays)
			}
			told := e.told.all()[before:]
			if len(told) != 1 {
				t.Fatalf("%d events told, want 1", len(told))
			}
			if want := map[bool]string{true: events.Completed, false: events.Rejected}[tt.stays]; told[0].Type != want || told[0].Caller != "alice" {
				t.Errorf("told %s for %q (reason %q), want %s for alice", told[0].Type, told[0].Caller, told[0].Reason, want)
			}
		})
	}
}
