package app

// The outside attack on issue 21's first fixes, kept as regression tests: each failed
// (printing HOLE) on that code. Under client keys several callers may name one key.

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/functest"
)

type stsKeys struct {
	Credentials   struct{ TmpSecretID, TmpSecretKey, SessionToken string }
	Key, Endpoint string
	Error         struct{ Code, Message string }
}

func attackApp(t *testing.T, extra map[string]string) (*App, string) {
	env := map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testJWTSecret,
		"AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example", "UPLOAD_CLIENT_KEYS": "true", "UPLOAD_ALLOW_STS": "true"}
	for k, v := range extra {
		env[k] = v
	}
	a := localApp(t, env)
	srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return a, srv.URL
}

func attackPut(t *testing.T, api, bearer, key, ct, content string, extra map[string]any) (int, string) {
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
		Error           struct{ Code string }
	}
	body := map[string]any{"key": key, "contentType": ct, "size": len(content)}
	for k, v := range extra {
		body[k] = v
	}
	if s, _ := call(t, "POST", api+"/uploads", bearer, "", body, &up); s != 201 {
		return s, up.Error.Code
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader(content))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("part: %v %v", err, resp)
	}
	resp.Body.Close()
	parts := []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}
	var e struct{ Error struct{ Code string } }
	s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", bearer, up.Token, map[string]any{"parts": parts}, &e)
	return s, e.Error.Code
}

func sdkFor(k stsKeys) *sdk.Client {
	u, _ := url.Parse(k.Endpoint)
	return sdk.NewClient(&sdk.BaseURL{BucketURL: u}, &http.Client{Transport: &sdk.AuthorizationTransport{
		SecretID: k.Credentials.TmpSecretID, SecretKey: k.Credentials.TmpSecretKey, SessionToken: k.Credentials.SessionToken}})
}

// F1: Mallory's /sts declaration for Alice's key makes the storage-triggered check delete
// Alice's honest API upload (Mallory never uploads a byte).
func TestAttackDeclarationPoisonSTS(t *testing.T) {
	a, api := attackApp(t, map[string]string{"UPLOAD_FORBID_OVERWRITE": "true"})
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/report.txt"
	if s, c := attackPut(t, api, alice, key, "text/plain", "alice's honest report\n", nil); s != 200 {
		t.Fatalf("alice: %d %s", s, c)
	}
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": 1}, &k); s != 403 || k.Error.Code != "policy_denied" {
		t.Fatalf("mallory /sts for a named key under UPLOAD_FORBID_OVERWRITE: %d %+v", s, k.Error)
	}
	// the COS notification for alice's object arrives (or is retried) now
	if err := a.Service.ObjectCreated(context.Background(), key); err != nil {
		t.Logf("ObjectCreated: %v", err)
	}
	if _, err := os.Stat(localServer(a).ObjectPath(key)); err != nil {
		t.Errorf("HOLE: alice's honest object was deleted by the storage check after mallory's /sts declaration")
	}
}

// F2: same, with Mallory's *API* upload that fails with object_exists: the declaration is
// written before the complete, so it replaces Alice's even though Mallory stored nothing.
func TestAttackDeclarationPoisonFailedComplete(t *testing.T) {
	a, api := attackApp(t, map[string]string{"UPLOAD_FORBID_OVERWRITE": "true"})
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/report.txt"
	// mallory starts first (no object yet), alice then stores hers, mallory completes late
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
	}
	if s, _ := call(t, "POST", api+"/uploads", mallory, "", map[string]any{"key": key, "contentType": "text/plain", "size": 1}, &up); s != 201 {
		t.Fatal(s)
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader("x"))
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if s, c := attackPut(t, api, alice, key, "text/plain", "alice's honest report\n", nil); s != 200 {
		t.Fatalf("alice: %d %s", s, c)
	}
	var e struct{ Error struct{ Code string } }
	s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", mallory, up.Token,
		map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}}, &e)
	t.Logf("mallory's complete onto alice's key: %d %s", s, e.Error.Code)
	if err := a.Service.ObjectCreated(context.Background(), key); err != nil {
		t.Logf("ObjectCreated: %v", err)
	}
	if _, err := os.Stat(localServer(a).ObjectPath(key)); err != nil {
		t.Errorf("HOLE: alice's object deleted after mallory's refused (409) complete poisoned the declaration")
	}
}

// F3: /sts keys ignore UPLOAD_FORBID_OVERWRITE: Mallory replaces Alice's object.
func TestAttackSTSOverwrite(t *testing.T) {
	a, api := attackApp(t, map[string]string{"UPLOAD_FORBID_OVERWRITE": "true"})
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/report.txt"
	if s, c := attackPut(t, api, alice, key, "text/plain", "alice's honest report\n", nil); s != 200 {
		t.Fatalf("alice: %d %s", s, c)
	}
	if s, c := attackPut(t, api, mallory, key, "text/plain", "mallory", nil); s != 409 {
		t.Fatalf("API overwrite not refused: %d %s", s, c)
	}
	evil := "mallory's forged report\n"
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": len(evil)}, &k); s != 403 {
		t.Fatalf("mallory /sts under UPLOAD_FORBID_OVERWRITE: %d %+v", s, k.Error)
	}
	resp, err := sdkFor(k).Object.Put(context.Background(), key, strings.NewReader(evil),
		&sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "text/plain"}})
	t.Logf("mallory PutObject with keys: %v %v", resp != nil && resp.StatusCode == 200, err)
	a.Service.ObjectCreated(context.Background(), key)
	got, _ := os.ReadFile(localServer(a).ObjectPath(key))
	if string(got) == evil {
		t.Errorf("HOLE: UPLOAD_FORBID_OVERWRITE bypassed via /sts keys; stored now: %q (and the storage check kept it)", got)
	}
}

// before Alice's upload finishes: the storage check deletes Alice's object.
func TestAttackDeclarationPoisonAliceSTS(t *testing.T) {
	a, api := attackApp(t, nil)
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/alice.txt"
	content := "alice uploads with her SDK\n"
	var ka, km stsKeys
	if s := do(t, "POST", api+"/sts", alice, map[string]any{"key": key, "contentType": "text/plain", "size": len(content)}, &ka); s != 200 {
		t.Fatal(s)
	}
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": 1}, &km); s != 200 {
		t.Fatal(s)
	}
	if _, err := sdkFor(ka).Object.Put(context.Background(), key, strings.NewReader(content),
		&sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "text/plain"}}); err != nil {
		t.Fatal(err)
	}
	a.Service.ObjectCreated(context.Background(), key)
	if _, err := os.Stat(localServer(a).ObjectPath(key)); err != nil {
		t.Errorf("HOLE: alice's honest /sts upload deleted because of mallory's later declaration")
	}
}

// F5: /local/download of another caller's object: Mallory pre-registers abandoned uploads
// of every plausible size on a key; when Alice later stores there, one token opens it.
func TestAttackDownloadOthersObject(t *testing.T) {
	_, api := attackApp(t, map[string]string{"UPLOAD_ALLOW_STS": ""})
	alice, mallory := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/payroll.txt"
	secret := "alice's salary: 123456\n"
	tokens := map[int]string{}
	for size := 20; size <= 30; size++ {
		var up struct{ UploadID, Token string }
		if s, _ := call(t, "POST", api+"/uploads", mallory, "", map[string]any{"key": key, "contentType": "text/plain", "size": size}, &up); s != 201 {
			t.Fatal(s)
		}
		call(t, "DELETE", api+"/uploads/"+url.PathEscape(up.UploadID), mallory, up.Token, nil, nil)
		tokens[size] = up.Token
	}
	if s, c := attackPut(t, api, alice, key, "text/plain", secret, nil); s != 200 {
		t.Fatalf("alice: %d %s", s, c)
	}
	for size, tok := range tokens {
		if s, _, link := download(t, api, mallory, key, tok, ""); s == http.StatusFound {
			t.Errorf("HOLE: mallory's abandoned %d-byte token downloads alice's object: %q", size, fetchLink(t, link))
		}
	}
}
