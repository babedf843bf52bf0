package upload_test

// Tests added by the second mutation audit: each kills a mutant of a guarantee's keeping
// line that the suite let pass before (named in the test's comment).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// "A profile removed from the settings ends its uploads' follow-up calls (401
// token_invalid)": a deployment sharing the store and the secret, but no longer naming the
// profile, refuses every follow-up call of an upload started under it, before storage is
// asked. Kills: service.go `claims`' profile-still-configured check dropped (the upload
// then went on under the deployment's rules).
func TestMutaudit2RemovedProfileEndsItsUploads(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Profile: "video", Filename: "a.mp4", ContentType: "video/mp4", Size: sizeOf(10)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PresignParts(alice, up.Token, up.UploadID, []int{1}, ""); err != nil {
		t.Fatalf("with the profile configured: %v", err)
	}
	base := policy.Default()
	base.VerifyContent, base.MaxSize = false, 64
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	without, err := policy.ParseProfiles([]byte(`{"avatar": {"allowedTypes": ["image/png"], "maxSize": 1024, "keyPrefix": "avatars/"}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	later := newHolesEnvOn(t, e.b, func(p *policy.Policy) { *p = base; p.ClientKeys, p.AllowSTS = true, true }, false, upload.WithProfiles(without))
	for name, call := range map[string]func() error{
		"parts": func() error { _, err := later.svc.PresignParts(alice, up.Token, up.UploadID, []int{1}, ""); return err },
		"list":  func() error { _, err := later.svc.ListParts(alice, up.Token, up.UploadID); return err },
		"complete": func() error {
			_, err := later.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: `"x"`}})
			return err
		},
		"abort": func() error { return later.svc.Abort(alice, up.Token, up.UploadID) },
	} {
		if code, field := errCode(call()); code != errcode.TokenInvalid || field != "X-Upload-Token" {
			t.Errorf("%s after the profile was removed: %s %s; want %s", name, code, field, errcode.TokenInvalid)
		}
	}
}

// checksumEnv is a deployment whose own rules require a whole-object checksum or not
// (deploymentRequires), with a profile "strict" that requires one and a profile "lax"
// that does not.
func checksumEnv(t *testing.T, deploymentRequires bool) *holesEnv {
	t.Helper()
	base := policy.Default()
	base.ClientKeys, base.AllowSTS, base.RequireChecksum = true, true, deploymentRequires
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	profiles, err := policy.ParseProfiles([]byte(`{"strict": {"requireChecksum": true}, "lax": {"requireChecksum": false}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	return newHolesEnv(t, func(p *policy.Policy) { *p = base }, false, upload.WithProfiles(profiles))
}

// "UPLOAD_REQUIRE_CHECKSUM / requireChecksum: complete (and /sts) without one is 400
// missing_field checksum", and a form (which cannot carry one) is refused: each by the
// rules of the upload's profile, not the deployment's — a profile that requires one is
// held to it under a deployment that does not, and one that does not is not held to the
// deployment's. Kills: tempkeys.go `readChecksum(…, s.policy.RequireChecksum, …)`
// (the /sts request read the deployment's rule), and the same at complete
// (checksum.go `declaredChecksum`) and for forms (form.go `InitiateForm`).
func TestMutaudit2ChecksumRequirementIsTheProfiles(t *testing.T) {
	alice := upload.WithCaller(context.Background(), "alice")
	data := []byte("0123456789")
	for _, tc := range []struct {
		deploymentRequires bool
		profile            string
		required           bool
	}{
		{false, "strict", true},
		{false, "lax", false},
		{false, "", false},
		{true, "lax", false},
		{true, "strict", true},
		{true, "", true},
	} {
		name := fmt.Sprintf("deployment requires %v, profile %q", tc.deploymentRequires, tc.profile)
		t.Run(name, func(t *testing.T) {
			e := checksumEnv(t, tc.deploymentRequires)
			refused := func(what string, err error, code string) {
				t.Helper()
				got, field := errCode(err)
				switch {
				case tc.required && (got != code || field != "checksum"):
					t.Errorf("%s without a checksum: %q %q (%v); want %s checksum", what, got, field, err, code)
				case !tc.required && err != nil:
					t.Errorf("%s without a checksum: %v; want it taken", what, err)
				}
			}
			_, err := e.svc.Keys(alice, &policy.InitiateRequest{Profile: tc.profile, Filename: "a.bin",
				ContentType: "application/octet-stream", Size: sizeOf(len(data))})
			refused("keys", err, errcode.MissingField)

			up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Profile: tc.profile, Filename: "a.bin",
				ContentType: "application/octet-stream", Size: sizeOf(len(data))})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(mustRequest(t, up.Parts[0].URL, data))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			_, err = e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
			refused("complete", err, errcode.MissingField)

			_, err = e.svc.InitiateForm(alice, &policy.InitiateRequest{Profile: tc.profile, Filename: "a.bin",
				ContentType: "application/octet-stream", Size: sizeOf(len(data))})
			refused("form", err, errcode.NotAvailable)
		})
	}
}

// An object written with temporary keys passes the storage check only as the rules allow
// on every count the keys' CAM policy does not pin: its content (verified against the
// declared type), its storage class (the keys' SDK chooses it), and what it grants groups
// (a canned ACL the rules allow grants the group READ only: public-read-write's WRITE,
// or full control to everyone, is more). Each is deleted and told upload.rejected; the
// controls stay. Kills: objectcreated_checks.go `verdict` skipping content for keys'
// objects (`&& o.keys == ""`), the class check held to forms only (`&& o.form`), and
// `grantAllowed` without `g.Permission == "READ"`.
func TestMutaudit2KeysObjectsAreHeldToTheRules(t *testing.T) {
	html := []byte("<html><script>alert(1)</script></html>")
	allUsers := `uri="http://cam.qcloud.com/groups/global/AllUsers"`
	for _, tc := range []struct {
		name    string
		allowed []string // UPLOAD_ALLOWED_ACLS
		body    []byte
		header  http.Header
		stays   bool
		reason  string // in the rejection's reason
	}{
		{"a PNG as declared", nil, png56, nil, true, ""},
		{"HTML declared a PNG", nil, html, nil, false, errcode.ContentMismatch},
		{"a class the rules do not allow", nil, png56, http.Header{"X-Cos-Storage-Class": {"STANDARD_IA"}}, false, "class STANDARD_IA"},
		{"the default class named", nil, png56, http.Header{"X-Cos-Storage-Class": {"STANDARD"}}, true, ""},
		{"public-read where it is allowed", []string{"public-read"}, png56, http.Header{"X-Cos-Acl": {"public-read"}}, true, ""},
		{"public-read-write where public-read is allowed", []string{"public-read"}, png56, http.Header{"X-Cos-Acl": {"public-read-write"}}, false, "grants access"},
		{"full control to everyone where public-read is allowed", []string{"public-read"}, png56, http.Header{"X-Cos-Grant-Full-Control": {allUsers}}, false, "grants access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newHolesEnv(t, func(p *policy.Policy) { p.AllowedACLs = tc.allowed }, false)
			ctx := upload.WithCaller(context.Background(), "alice")
			keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(len(tc.body))})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Content-Type": {"image/png"}}
			for k, v := range tc.header {
				h[k] = v
			}
			if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: tc.body, Header: h}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ObjectCreated(ctx, keys.Key); err != nil {
				t.Fatal(err)
			}
			if got := e.exists(t, keys.Key); got != tc.stays {
				t.Fatalf("object stays %v, want %v (events %+v)", got, tc.stays, e.told.all())
			}
			evs := e.told.all()
			if len(evs) == 0 {
				t.Fatal("nothing told")
			}
			last := evs[len(evs)-1]
			switch {
			case tc.stays && last.Type != events.Completed:
				t.Errorf("told %s (%s), want upload.completed", last.Type, last.Reason)
			case !tc.stays && (last.Type != events.Rejected || !strings.Contains(last.Reason, tc.reason)):
				t.Errorf("told %s (%s), want upload.rejected naming %q", last.Type, last.Reason, tc.reason)
			}
		})
	}
}

// A profile's lifetimes are its uploads': the token ends after the profile's tokenTtl
// (shorter or longer than the deployment's 24h) and part URLs and forms after its urlTtl,
// not the deployment's. Kills: initiate.go `Expires: s.now().Add(s.policy.TokenTTL)`, and
// the deployment's URLTTL in presign.go `presign` and form.go `InitiateForm`.
func TestMutaudit2ProfileLifetimes(t *testing.T) {
	base := policy.Default()
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	profiles, err := policy.ParseProfiles([]byte(`{"short": {"tokenTtl": "1h", "urlTtl": "10m"}, "long": {"tokenTtl": "72h", "urlTtl": "3h"}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	e := newHolesEnv(t, func(p *policy.Policy) { *p = base }, false, upload.WithProfiles(profiles), upload.WithClock(func() time.Time { return now }))
	alice := upload.WithCaller(context.Background(), "alice")
	near := func(what string, got time.Time, want time.Duration) {
		t.Helper()
		if d := got.Sub(now.Add(want)); d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%s ends %v after the create; want %v", what, got.Sub(now), want)
		}
	}
	for _, tc := range []struct {
		profile    string
		token, url time.Duration
	}{
		{"", 24 * time.Hour, time.Hour},
		{"short", time.Hour, 10 * time.Minute},
		{"long", 72 * time.Hour, 3 * time.Hour},
	} {
		up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Profile: tc.profile, Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(10)})
		if err != nil {
			t.Fatal(err)
		}
		near(tc.profile+" token", up.TokenExpiresAt, tc.token)
		near(tc.profile+" part URLs", up.ExpiresAt, tc.url)
		f, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Profile: tc.profile, Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(10)})
		if err != nil {
			t.Fatal(err)
		}
		near(tc.profile+" form", f.ExpiresAt, tc.url)
	}
}

// The hook's key is held to the rules of the upload's profile: a key in the profile's own
// folder (here avatars/, outside the deployment's uploads/) is taken, one the profile's
// rules refuse — under the deployment's prefix, outside the profile's folder — is 503
// hook_unavailable (the hook answered what the policy refuses), and nothing is started.
// Kills: hook.go `askHook` admitting the key with the deployment's rules
// (`s.policy.AdmitKey`).
func TestMutaudit2HookKeyIsHeldToTheProfile(t *testing.T) {
	for _, tc := range []struct {
		key  string
		code string
	}{
		{"avatars/alice/chosen.png", ""},
		{"uploads/alice/chosen.png", errcode.HookUnavailable},
	} {
		t.Run(tc.key, func(t *testing.T) {
			yes := true
			e := profiledEnv(t, upload.WithHook(hookFunc(func(*hook.CreateEvent) *hook.Decision {
				return &hook.Decision{Allow: &yes, Key: tc.key}
			})))
			alice := upload.WithCaller(context.Background(), "alice")
			up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Profile: "avatar", Filename: "a.png", ContentType: "image/png", Size: sizeOf(10)})
			if code, _ := errCode(err); code != tc.code {
				t.Fatalf("the hook answered %s: %v; want %q", tc.key, err, tc.code)
			}
			if tc.code == "" && up.Key != tc.key {
				t.Errorf("key %s, want the hook's %s", up.Key, tc.key)
			}
			if tc.code != "" && e.b.Store.Uploads() != 0 {
				t.Errorf("%d uploads started for a refused hook answer", e.b.Store.Uploads())
			}
		})
	}
}

// A rejection recorded for one upload (its object contradicted its type and could not be
// removed then) is that upload's only: another upload to the same key, which completed
// with a right object, is still told upload_completed when it is aborted, and the record is
// not spent on it. Kills: verify.go `finishRejection` without its upload-id check (the
// abort of the completed upload answered nothing was stored).
func TestMutaudit2ARecordedRejectionIsItsUploadsOnly(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	html := []byte("<html><script>alert(1)</script></html>")
	key := "uploads/alice/shared.png"
	e.store.failDeletes.Store(1 << 20)
	if _, _, err := e.upload(t, alice, key, "image/png", html); errcode.As(err).Code != errcode.ContentMismatch {
		t.Fatalf("HTML named .png: %v", err)
	}
	e.store.failDeletes.Store(0)
	second, _, err := e.upload(t, alice, key, "image/png", png56)
	if err != nil {
		t.Fatalf("a PNG to the same key: %v", err)
	}
	err = e.svc.Abort(alice, second.Token, second.UploadID)
	if code, _ := errCode(err); code != errcode.UploadCompleted {
		t.Errorf("abort of the completed second upload: %v; want %s", err, errcode.UploadCompleted)
	}
	if !e.exists(t, key) {
		t.Error("the second upload's object was removed")
	}
}

// GET /uploads: an upload disappears from its caller's list the second its token ends
// (the listed token would be refused token_expired), not later. Kills: resume.go
// `openUpload`'s expiry moved past the token's end (`> c.Expires+60`).
func TestMutaudit2OpenUploadsEndWithTheirToken(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	clock := now
	r := newRig(t, nil, upload.WithClock(func() time.Time { return clock }))
	alice := upload.WithCaller(bg, "alice")
	in := r.start(t, alice, 5, "")
	for _, tc := range []struct {
		at     time.Time
		listed bool
	}{
		{in.TokenExpiresAt.Add(-time.Second), true},
		{in.TokenExpiresAt, false},
	} {
		clock = tc.at
		list, err := r.svc.ListOpen(alice)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(list) == 1; got != tc.listed {
			t.Errorf("at %v before the token's end: listed %v, want %v", in.TokenExpiresAt.Sub(tc.at), got, tc.listed)
		}
	}
}

// The hook's refusal message reaches the client (403 hook_denied) only when it is one line
// of valid UTF-8 of at most 512 bytes; any other (empty, longer, with CR or LF, not UTF-8)
// is replaced by the deployment's own words, so a hook's answer cannot split a line of the
// answer or the log, or swell it. Kills: hook.go `askHook`'s length and CR/LF checks
// dropped.
func TestMutaudit2HookRefusalMessageIsBounded(t *testing.T) {
	const fallback = "the deployer's upload hook refused this upload"
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"one short line", "over quota", "over quota"},
		{"exactly 512 bytes", strings.Repeat("q", 512), strings.Repeat("q", 512)},
		{"513 bytes", strings.Repeat("q", 513), fallback},
		{"a line feed", "over quota\nX-Injected: 1", fallback},
		{"a carriage return", "over quota\rtrailer", fallback},
		{"not UTF-8", "over \xff quota", fallback},
		{"empty", "", fallback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			no := false
			r := newRig(t, nil, upload.WithHook(hookFunc(func(*hook.CreateEvent) *hook.Decision {
				return &hook.Decision{Allow: &no, Message: tc.msg}
			})))
			_, err := r.svc.Initiate(bg, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(10)})
			e := errcode.As(err)
			if e.Code != errcode.HookDenied || e.Message != tc.want {
				t.Errorf("refused with %q: %s %q; want %s %q", tc.msg, e.Code, e.Message, errcode.HookDenied, tc.want)
			}
		})
	}
}

// failingSink tells events, or fails while fail is set (an endpoint down).
type failingSink struct {
	told
	fail atomic.Bool
}

func (f *failingSink) Publish(ctx context.Context, ev *events.Event) error {
	if f.fail.Load() {
		return errors.New("events endpoint down (test)")
	}
	return f.told.Publish(ctx, ev)
}

// A rejection recorded only because it could not be told (the object itself was removed)
// exempts nothing: the same bytes written again with the keys — the same ETag — are
// checked again and removed, not passed as the old rejection finished. Kills:
// objectcreated.go `ObjectCreated` answering from any recorded rejection of that ETag
// (`rej.Remove &&` dropped).
func TestMutaudit2AToldLaterRejectionDoesNotExemptTheSameBytes(t *testing.T) {
	sink := &failingSink{}
	e := newHolesEnv(t, nil, false, upload.WithEvents(sink))
	alice := upload.WithCaller(context.Background(), "alice")
	html := []byte("<html><script>alert(1)</script></html>")
	keys, err := e.svc.Keys(alice, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(len(html))})
	if err != nil {
		t.Fatal(err)
	}
	write := func() {
		t.Helper()
		h := http.Header{"Content-Type": {"image/png"}}
		if _, _, err := e.store.Client.Do(alice, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: html, Header: h}); err != nil {
			t.Fatal(err)
		}
	}
	write()
	sink.fail.Store(true)
	if err := e.svc.ObjectCreated(alice, keys.Key); err == nil {
		t.Fatal("a rejection that could not be told must ask for a retry")
	}
	if e.exists(t, keys.Key) {
		t.Fatal("the rejected object stayed")
	}
	sink.fail.Store(false)
	write() // the same bytes again, before the retry
	if err := e.svc.ObjectCreated(alice, keys.Key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, keys.Key) {
		t.Errorf("HTML declared a PNG, written again with the same ETag, stayed (events %+v)", sink.all())
	}
}

// "Complete requires every part of the plan": a complete naming one part twice in place of
// another (as many names as the plan has parts) is refused by the API itself, 400 naming
// the part, before storage is asked (COS's own InvalidPartOrder is then a second layer,
// not the first). Kills: complete.go `namedParts`' repeated-part check dropped.
func TestMutaudit2CompleteNamesEachPartOnce(t *testing.T) {
	r := newRig(t, func(p *policy.Policy) { p.VerifyContent = false })
	const mib = 1 << 20
	in := r.initiate(t, 2*mib, mib)
	data := randomBytes(2*mib, 7)
	etag1, _ := send(t, in.Parts[0], data[:mib])
	send(t, in.Parts[1], data[mib:])
	before := r.local.Requests()
	_, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag1}, {PartNumber: 1, ETag: etag1}})
	if code, field := errCode(err); code != errcode.InvalidField || field != "parts[1].partNumber" {
		t.Errorf("part 1 named twice: %v; want %s parts[1].partNumber", err, errcode.InvalidField)
	}
	if n := r.local.Requests() - before; n != 0 {
		t.Errorf("%d storage requests for a complete the API refuses", n)
	}
	if info, err := r.store.Stat(bg, in.Key); err != nil || info.Exists {
		t.Errorf("an object was made (%+v, %v)", info, err)
	}
}
