package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
)

// refusal is err's API error, or an empty one (the test goes on to report every case).
func refusal(err error) *apiclient.Error {
	var e *apiclient.Error
	if !errors.As(err, &e) {
		return &apiclient.Error{Message: "no API error: " + fmt.Sprint(err)}
	}
	return e
}

// Issue 21, item 2: HTML with one binary byte, declared as a type a browser sniffs, was
// stored inline and ran from the store. Through the whole stack: the sniffed types are
// refused at initiate unless listed by name, scriptable content is refused at complete
// (and deleted) unless declared as exactly what it is, and what a browser may run is
// stored with Content-Disposition: attachment.
func TestScriptableContentEndToEnd(t *testing.T) {
	ctx := context.Background()
	html := []byte("<!DOCTYPE html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>\x00")
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), randomBytes(t, 200)...)

	// The default policy (UPLOAD_ALLOWED_TYPES=*/*).
	e := setup(t, nil)
	for _, ct := range []string{"application/unknown", "unknown/unknown", "*/*", "text/html"} {
		_, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "x.html", ContentType: ct, Size: size(len(html))})
		if a := refusal(err); a.Status != http.StatusForbidden || a.Code != errcode.PolicyDenied || a.Field != "contentType" {
			t.Errorf("initiate as %s under */*: %v, want 403 policy_denied", ct, a)
		}
	}
	for _, ct := range []string{"application/octet-stream", "image/png"} {
		up, _, err := e.api.Upload(ctx, &policy.InitiateRequest{Filename: "x.bin", ContentType: ct, Size: size(len(html))}, bytes.NewReader(html), nil)
		if a := refusal(err); a.Status != http.StatusUnprocessableEntity || a.Code != errcode.ContentMismatch {
			t.Errorf("HTML+NUL as %s: %v, want 422 content_mismatch", ct, a)
			continue
		}
		if _, _, _, _, err := e.store.Object(up.Key); err == nil {
			t.Errorf("HTML+NUL as %s: the refused object is still in the bucket", ct)
		}
	}

	// Listed by name: admitted, held to their content, stored as attachments.
	named := setup(t, func(p *policy.Policy) {
		p.AllowedTypes = []string{"*/*", "application/unknown", "text/html"}
	})
	up, _, err := named.api.Upload(ctx, &policy.InitiateRequest{Filename: "x.bin", ContentType: "application/unknown", Size: size(len(html))}, bytes.NewReader(html), nil)
	if a := refusal(err); a.Status != http.StatusUnprocessableEntity || a.Code != errcode.ContentMismatch {
		t.Errorf("HTML+NUL as application/unknown listed by name: %v, want 422 content_mismatch", a)
	} else if _, _, _, _, err := named.store.Object(up.Key); err == nil {
		t.Error("HTML+NUL as application/unknown: the refused object is still in the bucket")
	}
	for _, tt := range []struct {
		contentType string
		body        []byte
	}{
		{"application/unknown", png},
		{"text/html", html},
		{"text/html; charset=utf-8", html},
	} {
		up, _, err := named.api.Upload(ctx, &policy.InitiateRequest{Filename: "x", ContentType: tt.contentType, Size: size(len(tt.body))}, bytes.NewReader(tt.body), nil)
		if err != nil {
			t.Errorf("%s listed by name: %v", tt.contentType, err)
			continue
		}
		h, _, _, _, err := named.store.Object(up.Key)
		if err != nil {
			t.Fatal(err)
		}
		if h.Get("Content-Type") != tt.contentType || h.Get("Content-Disposition") != "attachment" {
			t.Errorf("%s stored with Content-Type %q, Content-Disposition %q; want attachment", tt.contentType, h.Get("Content-Type"), h.Get("Content-Disposition"))
		}
	}
}
