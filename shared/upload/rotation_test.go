package upload_test

import (
	"testing"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/upload"
)

// A form posted before the token secret rotated (UPLOAD_TOKEN_SECRET_FROM) is still this
// deployment's after it: its write seal and its settings seal verify with the verify-only
// previous value, so the storage check keeps one as signed and still catches fields a
// client added (without the previous value it would pass for an object written outside
// directup, unchecked).
func TestFormSealsAcrossRotation(t *testing.T) {
	var ring signed.Ring
	ring.Set([]byte("first-secret-0123456789abcdef0123"), nil)
	r := newRig(t, nil, upload.WithKeys(&ring))
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	form := func(extra map[string]string) string {
		f, err := r.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(len(png))})
		if err != nil {
			t.Fatal(err)
		}
		if s := postFormOf(t, f, plus(f.Fields, extra), png); s != 204 {
			t.Fatalf("the store refused the form: %d", s)
		}
		return f.Key
	}
	check := func(key, want string, exists bool) {
		t.Helper()
		before := len(r.events.types())
		if err := r.svc.ObjectCreated(bg, key); err != nil {
			t.Fatal(err)
		}
		types := r.events.types()[before:]
		info, _ := r.store.Stat(bg, key)
		if len(types) != 1 || types[0] != want || info.Exists != exists {
			t.Fatalf("told %v, object exists %v; want %s, %v", types, info.Exists, want, exists)
		}
	}
	asSigned, added := form(nil), form(map[string]string{"x-cos-meta-owner": "mallory"})
	ring.Set([]byte("second-secret-0123456789abcdef012"), []byte("first-secret-0123456789abcdef0123"))
	check(asSigned, events.Completed, true)
	check(added, events.Rejected, false)
}
