package upload_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// profilesJSON are the profiles these tests run under, over a deployment that verifies no
// content and takes at most 64 bytes.
const profilesJSON = `{
 "avatar": {"allowedTypes": ["image/png"], "maxSize": 1024, "keyPrefix": "avatars/", "keyTemplate": "{prefix}{sub}/{random}/{filename}", "verifyContent": true},
 "docs":   {"allowedTypes": ["application/pdf", "text/plain"], "requiredMetadata": ["project"], "minSize": 2, "keyPrefix": "docs/", "clientKeys": true,
           "allowedAcls": ["private"], "allowedStorageClasses": ["STANDARD", "STANDARD_IA"]},
 "pro":    {"maxSize": 4096, "claims": {"plan": ["pro", "team"]}, "keyPrefix": "pro/"},
 "video":  {"allowedTypes": ["video/mp4"], "maxSize": 1048576},
 "least":  {"minSize": 10}
}`

func profiledEnv(t *testing.T, opts ...upload.Option) *holesEnv {
	t.Helper()
	base := policy.Default()
	base.VerifyContent, base.MaxSize = false, 64
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	profiles, err := policy.ParseProfiles([]byte(profilesJSON), base)
	if err != nil {
		t.Fatal(err)
	}
	return newHolesEnv(t, func(p *policy.Policy) { *p = base; p.ClientKeys, p.AllowSTS = true, true }, false,
		append(opts, upload.WithProfiles(profiles))...)
}

func sizeOf(n int) *int64 { s := int64(n); return &s }

// Each profile's rules hold on initiate, and only the named profile's.
func TestProfileRulesAtInitiate(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	pro := upload.WithCallerClaims(alice, map[string][]string{"plan": {"team"}})
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		req   policy.InitiateRequest
		code  string
		field string
	}{
		{"unknown profile", alice, policy.InitiateRequest{Profile: "videos", Filename: "a.png", ContentType: "image/png", Size: sizeOf(10)}, errcode.InvalidField, "profile"},
		{"type outside the profile", alice, policy.InitiateRequest{Profile: "avatar", Filename: "a.gif", ContentType: "image/gif", Size: sizeOf(10)}, errcode.PolicyDenied, "contentType"},
		{"over the profile's size", alice, policy.InitiateRequest{Profile: "avatar", Filename: "a.png", ContentType: "image/png", Size: sizeOf(1025)}, errcode.SizeTooLarge, "size"},
		{"the profile raises the deployment's size", alice, policy.InitiateRequest{Profile: "avatar", Filename: "a.png", ContentType: "image/png", Size: sizeOf(1000)}, "", ""},
		{"no profile: the deployment's size", alice, policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(1000)}, errcode.SizeTooLarge, "size"},
		{"required metadata", alice, policy.InitiateRequest{Profile: "docs", Filename: "a.pdf", ContentType: "application/pdf", Size: sizeOf(10)}, errcode.MissingField, "metadata.project"},
		{"under the profile's minimum", alice, policy.InitiateRequest{Profile: "docs", Filename: "a.pdf", ContentType: "application/pdf", Size: sizeOf(1), Metadata: map[string]string{"project": "x"}}, errcode.InvalidField, "size"},
		{"client key outside the profile's prefix", alice, policy.InitiateRequest{Profile: "docs", Key: "avatars/alice/x.pdf", ContentType: "application/pdf", Size: sizeOf(10), Metadata: map[string]string{"project": "x"}}, errcode.PolicyDenied, "key"},
		{"client keys only where the profile allows", alice, policy.InitiateRequest{Profile: "avatar", Key: "avatars/alice/x.png", ContentType: "image/png", Size: sizeOf(10)}, errcode.PolicyDenied, "key"},
		{"an ACL the profile allows", alice, policy.InitiateRequest{Profile: "docs", Filename: "a.pdf", ContentType: "application/pdf", Size: sizeOf(10), Metadata: map[string]string{"project": "x"}, ACL: "private"}, "", ""},
		{"an ACL only another profile allows", alice, policy.InitiateRequest{Profile: "avatar", Filename: "a.png", ContentType: "image/png", Size: sizeOf(10), ACL: "private"}, errcode.PolicyDenied, "acl"},
		{"a storage class the profile allows", alice, policy.InitiateRequest{Profile: "docs", Filename: "a.pdf", ContentType: "application/pdf", Size: sizeOf(10), Metadata: map[string]string{"project": "x"}, StorageClass: "STANDARD_IA"}, "", ""},
		{"a storage class the deployment does not", alice, policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: sizeOf(10), StorageClass: "STANDARD_IA"}, errcode.PolicyDenied, "storageClass"},
		{"claims missing", alice, policy.InitiateRequest{Profile: "pro", Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(10)}, errcode.PolicyDenied, "profile"},
		{"claims of another plan", upload.WithCallerClaims(alice, map[string][]string{"plan": {"free"}}), policy.InitiateRequest{Profile: "pro", Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(10)}, errcode.PolicyDenied, "profile"},
		{"claims held", pro, policy.InitiateRequest{Profile: "pro", Filename: "a.bin", ContentType: "application/octet-stream", Size: sizeOf(4000)}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			up, err := e.svc.Initiate(tt.ctx, &req)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if up.Profile != req.Profile {
					t.Errorf("answer's profile %q", up.Profile)
				}
				return
			}
			if a := errcode.As(err); err == nil || a.Code != tt.code || a.Field != tt.field {
				t.Fatalf("err = %v, want %s (field %s)", err, tt.code, tt.field)
			}
		})
	}
	// Generated keys follow the profile's layout.
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Profile: "avatar", Filename: "me.png", ContentType: "image/png", Size: sizeOf(10)})
	if err != nil || !strings.HasPrefix(up.Key, "avatars/alice/") || !strings.HasSuffix(up.Key, "/me.png") {
		t.Fatalf("avatar key %q, %v", up.Key, err)
	}
	if e.b.Store.Uploads() != 5 { // the five accepted above
		t.Errorf("%d uploads started: refusals reached storage", e.b.Store.Uploads())
	}
}

// The token carries the profile: complete verifies content under the profile's rules (the
// deployment's own verify nothing), its events name the profile, and the hook is told it.
func TestProfileTravelsWithTheUpload(t *testing.T) {
	asked := &askedHook{}
	e := profiledEnv(t, upload.WithHook(asked))
	alice := upload.WithCaller(context.Background(), "alice")
	html := []byte("<html><script>alert(1)</script></html>")

	// Under the deployment's rules, HTML declared as PNG is stored (verification is off).
	if _, _, err := e.profiledUpload(t, alice, "", "image/png", html); err != nil {
		t.Fatalf("no profile: %v", err)
	}
	// Under avatar's, the same bytes are refused and removed.
	up, _, err := e.profiledUpload(t, alice, "avatar", "image/png", html)
	if a := errcode.As(err); err == nil || a.Code != errcode.ContentMismatch {
		t.Fatalf("avatar complete: %v", err)
	}
	if e.exists(t, up.Key) {
		t.Error("the contradicting avatar is still stored")
	}
	if _, done, err := e.profiledUpload(t, alice, "avatar", "image/png", png56); err != nil || done.Size != int64(len(png56)) {
		t.Fatalf("a real avatar: %v", err)
	}
	var profiles []string
	for _, ev := range e.told.all() {
		profiles = append(profiles, ev.Type+":"+ev.Profile)
	}
	if got := strings.Join(profiles, " "); got != "upload.completed: upload.rejected:avatar upload.completed:avatar" {
		t.Errorf("events told %s", got)
	}
	if got := strings.Join(asked.profiles(), ","); got != ",avatar,avatar" {
		t.Errorf("the hook was told profiles %q", got)
	}
}

// The storage-triggered function holds an object to the profile it was uploaded under —
// read from its sealed write value, or from its temporary keys' declaration — never to
// another's and never to one it names itself.
func TestStorageCheckAppliesTheUploadsProfile(t *testing.T) {
	e := profiledEnv(t)
	ctx := context.Background()
	alice := upload.WithCaller(ctx, "alice")
	big := append(append([]byte{}, png56...), make([]byte, 500)...) // over the deployment's 64 bytes, within avatar's 1024

	up, _, err := e.profiledUpload(t, alice, "avatar", "image/png", big)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(ctx, up.Key); err != nil || !e.exists(t, up.Key) {
		t.Fatalf("an avatar within its profile was refused by the storage check: %v", err)
	}
	if last := e.told.all(); last[len(last)-1].Type != events.Completed || last[len(last)-1].Profile != "avatar" || last[len(last)-1].Source != "storage" {
		t.Errorf("the storage check told %+v", last[len(last)-1])
	}

	// Temporary keys of a profile: their declaration names it.
	keys, err := e.svc.Keys(alice, &policy.InitiateRequest{Profile: "avatar", Filename: "sdk.png", ContentType: "image/png", Size: sizeOf(len(big))})
	if err != nil {
		t.Fatal(err)
	}
	put(t, e.store.Client, keys.Key, "image/png", big)
	if err := e.svc.ObjectCreated(ctx, keys.Key); err != nil || !e.exists(t, keys.Key) {
		t.Fatalf("an SDK avatar within its profile was refused: %v", err)
	}
	if last := e.told.all(); last[len(last)-1].Profile != "avatar" || last[len(last)-1].Source != "storage" || last[len(last)-1].Key != keys.Key {
		t.Errorf("the storage check told %+v", last[len(last)-1])
	}

	// Bytes written outside any upload are held to the rules of the folder they lie in:
	// over avatar's 1024 bytes in its folder is deleted; the same under the deployment's
	// folder is held to its 64.
	huge := append(append([]byte{}, png56...), make([]byte, 2000)...)
	for key, body := range map[string][]byte{"avatars/alice/rogue.png": huge, "uploads/alice/rogue.png": big} {
		put(t, e.store.Client, key, "image/png", body)
		if err := e.svc.ObjectCreated(ctx, key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, key) {
			t.Errorf("%s: an object over its folder's rules was kept", key)
		}
	}
}

// Each profile owns its folder: no route of one profile (or of the deployment's own rules)
// writes into another's, so neither a copied seal nor another caller's declaration can
// lend an object another profile's rules.
func TestProfilesKeepToTheirFolders(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	pro := upload.WithCallerClaims(alice, map[string][]string{"plan": {"pro"}})
	for _, tt := range []struct {
		name string
		ctx  context.Context
		req  policy.InitiateRequest
	}{
		{"docs' client key in pro's folder", alice, policy.InitiateRequest{Profile: "docs", Key: "pro/alice/x.pdf", ContentType: "application/pdf", Size: sizeOf(5), Metadata: map[string]string{"project": "1"}}},
		{"the deployment's client key in docs' folder", alice, policy.InitiateRequest{Key: "docs/alice/x.pdf", ContentType: "application/pdf", Size: sizeOf(5)}},
		{"the deployment's client key in video's folder (nested in the deployment's)", alice, policy.InitiateRequest{Key: "uploads/video/x.mp4", ContentType: "video/mp4", Size: sizeOf(5)}},
		{"pro's client key in docs' folder", pro, policy.InitiateRequest{Profile: "pro", Key: "docs/x.bin", ContentType: "application/octet-stream", Size: sizeOf(5)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if _, err := e.svc.Initiate(tt.ctx, &req); errcode.As(err).Field != "key" {
				t.Errorf("initiate: %v", err)
			}
			if _, err := e.svc.Keys(tt.ctx, &req); errcode.As(err).Field != "key" {
				t.Errorf("temporary keys: %v", err)
			}
		})
	}
}

// A write value sealed under one profile never passes for another's, nor for no profile.
func TestWriteSealNamesItsProfile(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	up, _, err := e.profiledUpload(t, alice, "avatar", "image/png", png56)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(context.Background(), up.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Upload(alice, up.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !e.svc.UploadedBy(c, info) {
		t.Fatal("the upload does not recognise its own object")
	}
	other := *c
	other.Profile = ""
	if e.svc.UploadedBy(&other, info) {
		t.Error("the seal passed for the upload without its profile")
	}
}

// A profile the store cannot keep stops the service at start, naming UPLOAD_PROFILES, the
// profile and its rule.
func TestProfileTheStoreCannotKeep(t *testing.T) {
	base := policy.Default()
	profiles, err := policy.ParseProfiles([]byte(`{"cold":{"allowedStorageClasses":["DEEP_ARCHIVE"],"verifyContent":false}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	s := &narrowStore{newHolesEnv(t, nil, false).store}
	_, err = upload.NewService(s, base, []byte(holesSecret), upload.WithProfiles(profiles))
	if err == nil || !strings.Contains(err.Error(), "UPLOAD_PROFILES: cold: allowedStorageClasses: DEEP_ARCHIVE is not available") {
		t.Fatalf("err = %v", err)
	}
}

// narrowStore keeps only STANDARD.
type narrowStore struct{ *flakyStore }

func (n *narrowStore) Capabilities() storage.Capabilities {
	c := n.flakyStore.Capabilities()
	c.StorageClasses = []string{"STANDARD"}
	return c
}

// profiledUpload uploads data in one part under profile.
func (e *holesEnv) profiledUpload(t *testing.T, ctx context.Context, profile, contentType string, data []byte) (*upload.Initiated, *wire.Completed, error) {
	t.Helper()
	up, err := e.svc.Initiate(ctx, &policy.InitiateRequest{Profile: profile, Filename: "f.png", ContentType: contentType, Size: sizeOf(len(data))})
	if err != nil {
		return nil, nil, err
	}
	resp, err := http.DefaultClient.Do(mustRequest(t, up.Parts[0].URL, data))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	done, err := e.svc.Complete(ctx, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
	return up, done, err
}

func mustRequest(t *testing.T, url string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// askedHook allows everything and keeps the profiles it was told.
type askedHook struct{ events []hook.CreateEvent }

func (h *askedHook) Create(_ context.Context, ev *hook.CreateEvent) (*hook.Decision, error) {
	h.events = append(h.events, *ev)
	yes := true
	return &hook.Decision{Allow: &yes}, nil
}

func (h *askedHook) profiles() []string {
	var out []string
	for _, ev := range h.events {
		out = append(out, ev.Upload.Profile)
	}
	return out
}

// What temporary keys store is held to the profile's minimum size and required metadata by
// the storage check; a hook cannot drop required metadata either.
func TestProfileMinimumAndMetadataAfterTheFact(t *testing.T) {
	e := profiledEnv(t)
	ctx := context.Background()
	alice := upload.WithCaller(ctx, "alice")
	text := []byte("a tiny text document")
	for _, tt := range []struct {
		name  string
		body  []byte
		meta  map[string]string
		keeps bool
	}{
		{"declared and present", text, map[string]string{"project": "42"}, true},
		{"metadata left out by the SDK", text, nil, false},
	} {
		keys, err := e.svc.Keys(alice, &policy.InitiateRequest{Profile: "docs", Filename: "d.txt", ContentType: "text/plain",
			Size: sizeOf(len(tt.body)), Metadata: map[string]string{"project": "42"}})
		if err != nil {
			t.Fatal(err)
		}
		putMeta(t, e, keys.Key, "text/plain", tt.body, tt.meta)
		if err := e.svc.ObjectCreated(ctx, keys.Key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, keys.Key) != tt.keeps {
			t.Errorf("%s: kept %v", tt.name, !tt.keeps)
		}
	}
	// Keys for less than docs' minimum are refused before any exist.
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Profile: "docs", Filename: "one.txt", ContentType: "text/plain", Size: sizeOf(1),
		Metadata: map[string]string{"project": "42"}}); errcode.As(err).Field != "size" {
		t.Fatalf("keys under docs' minimum: %v", err)
	}

	e2 := profiledEnv(t, upload.WithHook(dropMetadataHook{}))
	_, err := e2.svc.Initiate(alice, &policy.InitiateRequest{Profile: "docs", Filename: "d.txt", ContentType: "text/plain", Size: sizeOf(5),
		Metadata: map[string]string{"project": "42"}})
	if a := errcode.As(err); a.Code != errcode.HookUnavailable {
		t.Fatalf("a hook dropping required metadata: %v", err)
	}
}

// putMeta writes an object with metadata straight to the store, as a client SDK does.
func putMeta(t *testing.T, e *holesEnv, key, contentType string, body []byte, meta map[string]string) {
	t.Helper()
	h := http.Header{"Content-Type": {contentType}}
	for k, v := range meta {
		h.Set("x-cos-meta-"+k, v)
	}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: body, Header: h}); err != nil {
		t.Fatal(err)
	}
}

type dropMetadataHook struct{}

func (dropMetadataHook) Create(_ context.Context, ev *hook.CreateEvent) (*hook.Decision, error) {
	yes := true
	return &hook.Decision{Allow: &yes, Metadata: map[string]string{"other": "1"}}, nil
}

// An open upload (no size declared) is held to its profile's minimum at complete.
func TestOpenUploadsMeetTheMinimum(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	for _, tt := range []struct {
		body []byte
		ok   bool
	}{{[]byte("tiny"), false}, {[]byte("long enough!"), true}} {
		up, err := e.svc.InitiateOpen(alice, "f.bin", "application/octet-stream", "least")
		if err != nil {
			t.Fatal(err)
		}
		urls, err := e.svc.PresignParts(alice, up.Token, up.UploadID, []int{1}, "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(mustRequest(t, urls.Parts[0].URL, tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, err = e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
		if tt.ok != (err == nil) || (!tt.ok && errcode.As(err).Field != "parts") {
			t.Errorf("%d bytes: %v", len(tt.body), err)
		}
	}
}
