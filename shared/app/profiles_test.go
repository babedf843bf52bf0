package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/directup/directup/shared/functest"
)

// profilesEnv is local mode with JWT callers and three profiles.
func profilesEnv(t *testing.T) string {
	_, api := attackApp(t, map[string]string{"UPLOAD_PROFILES": `{
	  "avatar": {"allowedTypes": ["image/png"], "maxSize": 1024, "keyPrefix": "avatars/", "keyTemplate": "{prefix}{sub}/{random}/{filename}"},
	  "video":  {"allowedTypes": ["video/mp4"], "maxSize": 5368709120, "keyPrefix": "videos/", "claims": {"plan": ["pro", "team"]}},
	  "docs":   {"allowedTypes": ["application/pdf"], "requiredMetadata": ["project"], "keyPrefix": "docs/"}}`,
		"UPLOAD_MAX_SIZE": "100"})
	return api
}

type answer struct {
	Key, UploadID, Token, Profile string
	CompanionEndpoint             string
	Error                         struct{ Code, Field string }
}

// On the JSON API a profile is named in the body; its claims rule reads the verified JWT
// and nothing the client sends beside it.
func TestProfilesOnTheJSONAPI(t *testing.T) {
	api := profilesEnv(t)
	free := functest.JWTWith(t, "alice", map[string]any{"plan": "free"})
	pro := functest.JWTWith(t, "bob", map[string]any{"plan": []string{"team", "beta"}})
	for _, tt := range []struct {
		name, bearer string
		body         map[string]any
		status       int
		code, field  string
	}{
		{"avatar", free, map[string]any{"profile": "avatar", "filename": "me.png", "contentType": "image/png", "size": 512}, 201, "", ""},
		{"avatar's type", free, map[string]any{"profile": "avatar", "filename": "me.gif", "contentType": "image/gif", "size": 512}, 403, "policy_denied", "contentType"},
		{"unknown profile", free, map[string]any{"profile": "nope", "filename": "a.png", "contentType": "image/png", "size": 5}, 400, "invalid_field", "profile"},
		{"video without the plan", free, map[string]any{"profile": "video", "filename": "v.mp4", "contentType": "video/mp4", "size": 1 << 30}, 403, "policy_denied", "profile"},
		{"video with the plan", pro, map[string]any{"profile": "video", "filename": "v.mp4", "contentType": "video/mp4", "size": 1 << 30}, 201, "", ""},
		{"claims sent in the body are not claims", free, map[string]any{"profile": "video", "claims": map[string]any{"plan": []string{"pro"}}, "filename": "v.mp4", "contentType": "video/mp4", "size": 5}, 400, "invalid_field", "claims"},
		{"docs' required metadata", free, map[string]any{"profile": "docs", "filename": "a.pdf", "contentType": "application/pdf", "size": 5}, 400, "missing_field", "metadata.project"},
		{"no profile: the deployment's size", free, map[string]any{"filename": "a.png", "contentType": "image/png", "size": 512}, 413, "size_too_large", "size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			s, _ := call(t, "POST", api+"/uploads", tt.bearer, "", tt.body, &a)
			if s != tt.status || a.Error.Code != tt.code || a.Error.Field != tt.field {
				t.Fatalf("%d %+v, want %d %s %s", s, a.Error, tt.status, tt.code, tt.field)
			}
			if s == 201 && a.Profile != tt.body["profile"] {
				t.Errorf("answer names profile %q", a.Profile)
			}
		})
	}
	// The gateway's headers are no claims in JWT mode either.
	req, _ := http.NewRequest("POST", api+"/uploads", strings.NewReader(`{"profile":"video","filename":"v.mp4","contentType":"video/mp4","size":5}`))
	req.Header.Set("Authorization", "Bearer "+free)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Plan", "pro")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("a header claimed the plan: %v %v", err, resp.StatusCode)
	}
}

// A token of one profile cannot be used under another's rules: every follow-up call reads
// the profile from the token, and the token is signed.
func TestProfileCannotBeSwitchedAfterInitiate(t *testing.T) {
	api := profilesEnv(t)
	alice := functest.JWTWith(t, "alice", nil)
	var up answer
	if s, _ := call(t, "POST", api+"/uploads", alice, "", map[string]any{"profile": "avatar", "filename": "me.png", "contentType": "image/png", "size": 56}, &up); s != 201 {
		t.Fatalf("initiate: %d %+v", s, up.Error)
	}
	// A complete that names another profile in its body is refused (no such field).
	var e answer
	s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", alice, up.Token,
		map[string]any{"profile": "docs", "parts": []map[string]any{{"partNumber": 1, "etag": "x"}}}, &e)
	if s != 400 || e.Error.Field != "profile" {
		t.Fatalf("complete naming a profile: %d %+v", s, e.Error)
	}
	// A token whose payload is edited to another profile does not verify.
	parts := strings.Split(up.Token, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], "a", "b", 1) + "." + parts[2]
	s, _ = call(t, "GET", api+"/uploads/"+url.PathEscape(up.UploadID)+"/parts", alice, forged, nil, &e)
	if s != 401 || e.Error.Code != "token_invalid" {
		t.Fatalf("an edited token: %d %+v", s, e.Error)
	}
}

// Capabilities may be pinned to a profile the minting caller may use; Uppy's create then
// takes that profile (metadata.profile may repeat it, never name another).
func TestProfilesThroughCapabilities(t *testing.T) {
	api := profilesEnv(t)
	free := functest.JWTWith(t, "alice", map[string]any{"plan": "free"})
	pro := functest.JWTWith(t, "bob", map[string]any{"plan": "pro"})
	var c answer
	if s, _ := call(t, "POST", api+"/capabilities", free, "", map[string]any{"profile": "video"}, &c); s != 403 || c.Error.Field != "profile" {
		t.Fatalf("a capability for a profile the caller may not use: %d %+v", s, c.Error)
	}
	if s, _ := call(t, "POST", api+"/capabilities", free, "", map[string]any{"profile": "nope"}, &c); s != 400 || c.Error.Field != "profile" {
		t.Fatalf("a capability for an unknown profile: %d %+v", s, c.Error)
	}
	if s, _ := call(t, "POST", api+"/capabilities", free, "", map[string]any{"profile": "avatar"}, &c); s != 201 || c.Profile != "avatar" {
		t.Fatalf("mint: %d %+v", s, c.Error)
	}
	create := func(endpoint string, meta map[string]any) (int, answer) {
		var a answer
		s, _ := call(t, "POST", endpoint+"/s3/multipart", "", "", map[string]any{"filename": "me.png", "type": "image/png", "metadata": meta}, &a)
		return s, a
	}
	if s, a := create(c.CompanionEndpoint, map[string]any{"size": 2048}); s != 413 || a.Error.Code != "size_too_large" {
		t.Fatalf("over avatar's size through its capability: %d %+v", s, a.Error)
	}
	if s, a := create(c.CompanionEndpoint, map[string]any{"size": 512}); s != 200 || !strings.HasPrefix(a.Key, "avatars/alice/") {
		t.Fatalf("an avatar through its capability: %d %+v", s, a)
	}
	if s, a := create(c.CompanionEndpoint, map[string]any{"size": 5, "profile": "docs"}); s != 403 || a.Error.Field != "profile" {
		t.Fatalf("another profile through a pinned capability: %d %+v", s, a.Error)
	}
	// An unpinned capability carries the claims profiles read, as verified at minting.
	var open answer
	if s, _ := call(t, "POST", api+"/capabilities", pro, "", nil, &open); s != 201 {
		t.Fatalf("mint: %d", s)
	}
	if s, a := create(open.CompanionEndpoint, map[string]any{"size": 1 << 20, "profile": "video"}); s != 403 || a.Error.Field != "contentType" {
		t.Fatalf("video profile, PNG type: %d %+v", s, a.Error)
	}
	var free2 answer
	call(t, "POST", api+"/capabilities", free, "", nil, &free2)
	s, a := create(free2.CompanionEndpoint, map[string]any{"size": 5, "profile": "video"})
	if s != 403 || a.Error.Field != "profile" {
		t.Fatalf("video through a free caller's capability: %d %+v", s, a.Error)
	}
}

// /sts keys are issued under the profile's rules.
func TestProfilesOnSTS(t *testing.T) {
	api := profilesEnv(t)
	alice := functest.JWTWith(t, "alice", nil)
	var k stsKeys
	if s, _ := call(t, "POST", api+"/sts", alice, "", map[string]any{"profile": "avatar", "filename": "me.png", "contentType": "image/png", "size": 512}, &k); s != 200 || !strings.HasPrefix(k.Key, "avatars/alice/") {
		t.Fatalf("keys for an avatar: %d %+v", s, k)
	}
	if s, _ := call(t, "POST", api+"/sts", alice, "", map[string]any{"profile": "avatar", "filename": "me.png", "contentType": "image/png", "size": 2048}, &k); s != 413 {
		t.Fatalf("keys over avatar's size: %d %+v", s, k.Error)
	}
}
