package upload_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storage/storagetest"
	"github.com/directup/directup/shared/upload"
)

func postFormOf(t *testing.T, f *upload.FormUpload, fields map[string]string, data []byte) int {
	t.Helper()
	status, body, err := storagetest.PostForm(&storage.Form{URL: f.URL}, fields, data)
	if err != nil {
		t.Fatal(err)
	}
	if status >= 300 {
		t.Logf("form POST: %d %s", status, body)
	}
	return status
}

func plus(fields map[string]string, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range fields {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// A form is made under the same rules as any create: the profile's folder and limits, the
// hook's verdict, forbid-overwrite only where the key is directup's own.
func TestFormsFollowTheRules(t *testing.T) {
	e := profiledEnv(t)
	f, err := e.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "me.png", ContentType: "image/png", Profile: "avatar"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(f.Key, "avatars/") || f.MaxSize != 1024 || f.Profile != "avatar" {
		t.Fatalf("an avatar's form: %+v", f)
	}
	if _, err := e.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "me.gif", ContentType: "image/gif", Profile: "avatar"}); errcode.As(err).Field != "contentType" {
		t.Errorf("a type outside the profile: %v", err)
	}
	if _, err := e.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "big.png", ContentType: "image/png", Size: sizeOf(1025), Profile: "avatar"}); errcode.As(err).Code != errcode.SizeTooLarge {
		t.Errorf("a declared size over the profile's limit: %v", err)
	}

	no := false
	denied := newRig(t, nil, upload.WithHook(hookFunc(func(ev *hook.CreateEvent) *hook.Decision {
		return &hook.Decision{Allow: &no, Message: "no forms today"}
	})))
	if _, err := denied.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream"}); errcode.As(err).Code != errcode.HookDenied {
		t.Errorf("the hook's refusal: %v", err)
	}

	rc := newRig(t, func(p *policy.Policy) { p.RequireChecksum = true })
	if _, err := rc.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream"}); errcode.As(err).Field != "checksum" {
		t.Errorf("checksums required: %v", err)
	}

	// A form can be posted again until it ends, replacing its own object: where overwrites
	// are forbidden, no form is issued, even for a key directup generated.
	fo := newRig(t, func(p *policy.Policy) { p.ForbidOverwrite = true })
	if _, err := fo.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream"}); errcode.As(err).Code != errcode.NotAvailable {
		t.Errorf("forbid-overwrite: %v", err)
	}
}

type hookFunc func(*hook.CreateEvent) *hook.Decision

func (h hookFunc) Create(_ context.Context, ev *hook.CreateEvent) (*hook.Decision, error) {
	return h(ev), nil
}

// What a form stored is checked by the storage-triggered check like any object: a form's
// object that arrives SSE-C-encrypted (fields the client added) is deleted, as its content
// cannot be read; one whose bytes contradict its type is deleted; one that holds is told
// completed with the form's write id.
func TestStorageCheckOfFormUploads(t *testing.T) {
	r := newRig(t, nil)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
	cases := []struct {
		name   string
		extra  map[string]string
		data   []byte
		told   string
		exists bool
	}{
		{"as signed", nil, png, events.Completed, true},
		{"HTML as PNG", nil, []byte("<!doctype html><script>alert(1)</script>" + strings.Repeat(" ", 75)), events.Rejected, false},
		{"metadata added", map[string]string{"x-cos-meta-owner": "mallory"}, png, events.Rejected, false},
		{"SSE-COS added", map[string]string{"x-cos-server-side-encryption": "AES256"}, png, events.Rejected, false},
		{"inline disposition added", map[string]string{"Content-Disposition": "inline"}, png, events.Rejected, false},
		{"a cache rule added", map[string]string{"Cache-Control": "public, max-age=31536000"}, png, events.Rejected, false},
		{"a grant to everyone added", map[string]string{"x-cos-grant-read": `uri="http://cam.qcloud.com/groups/global/AllUsers"`}, png, events.Rejected, false},
		{"full control for another account added", map[string]string{"x-cos-grant-full-control": `id="qcs::cam::uin/100000000099:uin/100000000099"`}, png, events.Rejected, false},
		{"directup- metadata added", map[string]string{"x-cos-meta-directup-x": "mallory"}, png, events.Rejected, false},
		{"SSE-KMS with a key of the client's added", map[string]string{"x-cos-server-side-encryption": "cos/kms",
			"x-cos-server-side-encryption-cos-kms-key-id": "mallorys-key"}, png, events.Rejected, false},
		{"SSE-C added", map[string]string{
			"x-cos-server-side-encryption-customer-algorithm": "AES256",
			"x-cos-server-side-encryption-customer-key":       "MDEyMzQ1Njc4OUFCQ0RFRjAxMjM0NTY3ODlBQkNERUY=",
			"x-cos-server-side-encryption-customer-key-md5":   "U5L61r7jcwdNvT7frmUG8g==",
		}, png, events.Rejected, false},
	}
	for _, tc := range cases {
		f, err := r.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(len(tc.data))})
		if err != nil {
			t.Fatal(err)
		}
		if s := postFormOf(t, f, plus(f.Fields, tc.extra), tc.data); s != 204 {
			t.Fatalf("%s: the store refused the form: %d", tc.name, s)
		}
		before := len(r.events.types())
		if err := r.svc.ObjectCreated(bg, f.Key); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		types := r.events.types()[before:]
		info, _ := r.store.Stat(bg, f.Key)
		if len(types) != 1 || types[0] != tc.told || info.Exists != tc.exists {
			t.Errorf("%s: told %v, object exists %v; want %s, %v", tc.name, types, info.Exists, tc.told, tc.exists)
		}
	}
}

// A form's policy ends with UPLOAD_URL_TTL.
func TestFormLifetime(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) { p.URLTTL = 10 * time.Minute })
	f, err := r.svc.InitiateForm(bg, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(f.ExpiresAt); left > 10*time.Minute || left < 9*time.Minute {
		t.Fatalf("a form under a 10-minute URL lifetime ends in %v", left)
	}
}

// On COS (which takes form fields a policy does not name) a form is issued only where the
// storage check can hold the object to it: never with an ACL or grants (the check tells
// only "nobody but the owner" from the access list) or SSE-KMS (its key id does not come
// back on a HEAD).
func TestFormsOnlyWhereTheCheckCanHoldThem(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) {
		p.AllowedACLs, p.AllowGrants = []string{"public-read", "private"}, true
	})
	for name, req := range map[string]*policy.InitiateRequest{
		"a public ACL": {ACL: "public-read"},
		"grants":       {Grants: &policy.GrantsRequest{Read: []string{"100000000099"}}},
		"SSE-KMS":      {Encryption: &policy.EncryptionRequest{Type: "cos/kms"}},
	} {
		req.Filename, req.ContentType = "a.bin", "application/octet-stream"
		if _, err := r.svc.InitiateForm(bg, req); errcode.As(err).Code != errcode.NotAvailable {
			t.Errorf("a form with %s: %v", name, err)
		}
	}
	for name, req := range map[string]*policy.InitiateRequest{
		"a private ACL": {ACL: "private"},
		"SSE-COS":       {Encryption: &policy.EncryptionRequest{Type: "AES256"}},
	} {
		req.Filename, req.ContentType = "a.bin", "application/octet-stream"
		if _, err := r.svc.InitiateForm(bg, req); err != nil {
			t.Errorf("a form with %s: %v", name, err)
		}
	}
}
