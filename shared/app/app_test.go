package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/config"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/localmode"
	"github.com/directup/directup/shared/storage"
)

// localApp wires local mode from the environment the test sets, plus env.
func localApp(t *testing.T, env map[string]string) *App {
	return appFrom(t, map[string]string{"LOCAL_COS_DIR": t.TempDir()}, env)
}

// appFrom wires the application from the given settings only (none inherited), later
// maps winning.
func appFrom(t *testing.T, envs ...map[string]string) *App {
	t.Helper()
	functest.ClearEnv(t)
	for _, env := range envs {
		for k, v := range env {
			t.Setenv(k, v)
		}
	}
	c, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func TestBuildLocal(t *testing.T) {
	a := localApp(t, nil)
	if a.Embedded() == nil || !strings.HasPrefix(a.Embedded().EmbeddedEndpoint(), "http://127.0.0.1:") || a.Store.Bucket() != localmode.Bucket {
		t.Fatalf("app = %+v", a)
	}
}

const testJWTSecret = functest.JWTSecret

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// localJWTApp is the whole HTTP surface of local mode with AUTH_MODE=jwt, logging to logs.
func localJWTApp(t *testing.T, logs io.Writer) string {
	a := localApp(t, map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testJWTSecret,
		"AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example"})
	srv := httptest.NewServer(a.Handler(slog.New(slog.NewJSONHandler(logs, nil))))
	t.Cleanup(srv.Close)
	return srv.URL
}

func do(t *testing.T, method, u, bearer string, body any, out any) int {
	var r io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		r = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// The access log names the capability's caller and never holds a capability or an
// upload token (Uppy's routes carry both in the path); capabilities end with the JWT.
func TestUppyRoutesInTheLog(t *testing.T) {
	logs := &syncBuffer{}
	api := localJWTApp(t, logs)
	exp := time.Now().Add(5 * time.Second).Truncate(time.Second)
	var capability struct {
		Capability, CompanionEndpoint string
		ExpiresAt                     time.Time
	}
	if s := do(t, "POST", api+"/capabilities", functest.JWT(t, "alice", exp), nil, &capability); s != 201 || !capability.ExpiresAt.Equal(exp) {
		t.Fatalf("capability: %d %+v; want it to end with the JWT at %v", s, capability, exp)
	}
	var created struct{ Key, UploadID string }
	if s := do(t, "POST", capability.CompanionEndpoint+"/s3/multipart", "", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &created); s != 200 {
		t.Fatalf("create: %d", s)
	}
	q := "?key=" + url.QueryEscape(created.Key)
	if s := do(t, "GET", capability.CompanionEndpoint+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/1"+q, "", nil, nil); s != 200 {
		t.Fatalf("sign: %d", s)
	}
	text := logs.String()
	for name, secret := range map[string]string{"capability": capability.Capability, "upload token": created.UploadID} {
		if strings.Contains(text, secret) || strings.Contains(text, secret[:40]) {
			t.Errorf("the %s appears in the log", name)
		}
	}
	var lines int
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var l struct{ Msg, Path, Caller string }
		json.Unmarshal([]byte(line), &l)
		if l.Msg == "request" && strings.HasPrefix(l.Path, "/c/") {
			lines++
			if l.Caller != "alice" || !strings.HasPrefix(l.Path, "/c/c1.<redacted:") || !strings.Contains(l.Path, "/multipart") {
				t.Errorf("log line %s", line)
			}
		}
	}
	if lines != 2 || !strings.Contains(text, "/multipart/v1.<redacted:") {
		t.Fatalf("%d capability lines in %s", lines, text)
	}
}

// Local mode's download links are behind AUTH_MODE like /uploads, and a JWT alone opens
// nothing: the caller shows the upload (its token).
func TestLocalDownloadIsAuthenticated(t *testing.T) {
	api := localJWTApp(t, io.Discard)
	if s, code, _ := download(t, api, "", "uploads/x", "", ""); s != http.StatusUnauthorized || code != "unauthenticated" {
		t.Fatalf("without a JWT: %d %s", s, code)
	}
	if s, code, _ := download(t, api, functest.JWT(t, "alice", time.Now().Add(time.Hour)), "uploads/x", "", ""); s != http.StatusUnauthorized || code != "token_missing" {
		t.Fatalf("with a JWT but no upload token: %d %s", s, code)
	}
	for _, public := range []string{"/healthz", "/directup.js", "/"} {
		if s := do(t, "GET", api+public, "", nil, nil); s != 200 {
			t.Errorf("%s without a JWT: %d", public, s)
		}
	}
}

// call is do with an upload token and the raw answer's headers.
func call(t *testing.T, method, u, bearer, token string, body any, out any) (int, http.Header) {
	t.Helper()
	js, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, u, bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if token != "" {
		req.Header.Set("X-Upload-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, resp.Header
}

// uploadAs stores content under a generated key through the API as the caller the bearer
// JWT names ("": anonymous); complete false leaves the upload in progress.
func uploadAs(t *testing.T, api, bearer, filename string, content []byte, complete bool) (key, token string) {
	t.Helper()
	var up struct {
		Key, UploadID, Token string
		Parts                []struct{ URL string }
	}
	if s, _ := call(t, "POST", api+"/uploads", bearer, "", map[string]any{"filename": filename, "contentType": "text/plain", "size": len(content)}, &up); s != 201 || len(up.Parts) != 1 {
		t.Fatalf("initiate: %d %+v", s, up)
	}
	if !complete {
		return up.Key, up.Token
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, bytes.NewReader(content))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("part: %v %v", err, resp)
	}
	resp.Body.Close()
	parts := []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}
	if s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", bearer, up.Token, map[string]any{"parts": parts}, nil); s != 200 {
		t.Fatalf("complete: %d", s)
	}
	return up.Key, up.Token
}

// download asks for a download link of key; the upload token goes in X-Upload-Token
// (header) or the token query parameter (query). It answers the status, the error code
// and the link.
func download(t *testing.T, api, bearer, key, header, query string) (status int, code, location string) {
	t.Helper()
	q := url.Values{"key": {key}}
	if query != "" {
		q.Set("token", query)
	}
	req, _ := http.NewRequest("GET", api+"/local/download?"+q.Encode(), nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if header != "" {
		req.Header.Set("X-Upload-Token", header)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error struct{ Code string } }
	if resp.StatusCode != http.StatusFound {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET /local/download refused with %d as %q, not the API's JSON error", resp.StatusCode, ct)
		}
		json.NewDecoder(resp.Body).Decode(&e)
	}
	return resp.StatusCode, e.Error.Code, resp.Header.Get("Location")
}

func fetchLink(t *testing.T, link string) []byte {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("the link answered %d: %s", resp.StatusCode, b)
	}
	return b
}

func jwtLocal(t *testing.T) (*App, string) {
	a := localApp(t, map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testJWTSecret,
		"AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example"})
	srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return a, srv.URL
}

// A download link opens only an object the caller uploaded, shown by the upload's token:
// not another caller's object, whatever token or key is sent.
func TestLocalDownloadOwnObjectsOnly(t *testing.T) {
	a, api := jwtLocal(t)
	alice, bob := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "bob", time.Now().Add(time.Hour))
	keyA, tokA := uploadAs(t, api, alice, "a.txt", []byte("alice's secret\n"), true)
	keyB, tokB := uploadAs(t, api, bob, "b.txt", []byte("bob's\n"), true)

	for name, how := range map[string][2]string{"header": {tokA, ""}, "query": {"", tokA}} {
		s, code, link := download(t, api, alice, keyA, how[0], how[1])
		if s != http.StatusFound {
			t.Fatalf("alice, her own object, token in the %s: %d %s", name, s, code)
		}
		if got := fetchLink(t, link); string(got) != "alice's secret\n" {
			t.Fatalf("alice's link gave %q", got)
		}
	}
	if s, _, link := download(t, api, bob, keyB, tokB, ""); s != http.StatusFound || string(fetchLink(t, link)) != "bob's\n" {
		t.Fatalf("bob, his own object: %d", s)
	}

	for _, c := range []struct {
		name, key, token string
		status           int
		code             string
	}{
		{"bob, alice's key alone", keyA, "", 401, "token_missing"},
		{"bob, alice's key with alice's token", keyA, tokA, 403, "caller_mismatch"},
		{"bob, alice's key with his own token", keyA, tokB, 403, "token_mismatch"},
		{"bob, a forged token", keyA, "v1.eyJrIjoidXBsb2Fkcy94In0.AAAA", 401, "token_invalid"},
	} {
		if s, code, _ := download(t, api, bob, c.key, c.token, ""); s != c.status || code != c.code {
			t.Errorf("%s: %d %s; want %d %s", c.name, s, code, c.status, c.code)
		}
		if s, code, _ := download(t, api, bob, c.key, "", c.token); c.token != "" && (s != c.status || code != c.code) {
			t.Errorf("%s (token in the query): %d %s; want %d %s", c.name, s, code, c.status, c.code)
		}
	}

	// An upload still in progress shows no object: what is at its key is not its own.
	keyP, tokP := uploadAs(t, api, alice, "p.txt", []byte("pending"), false)
	if s, code, _ := download(t, api, alice, keyP, tokP, ""); s != http.StatusConflict || code != "incomplete_upload" {
		t.Errorf("an upload in progress: %d %s", s, code)
	}
	// The object the upload stored is gone: nothing to hand out.
	if err := a.Store.(storage.Objects).Delete(context.Background(), keyB); err != nil {
		t.Fatal(err)
	}
	if s, code, _ := download(t, api, bob, keyB, tokB, ""); s != http.StatusNotFound || code != "not_found" {
		t.Errorf("a deleted object: %d %s", s, code)
	}
}

// directup's records are never handed out, whoever asks and whatever token comes along.
func TestLocalDownloadNeverRecords(t *testing.T) {
	a, api := jwtLocal(t)
	alice := functest.JWT(t, "alice", time.Now().Add(time.Hour))
	_, tokA := uploadAs(t, api, alice, "a.txt", []byte("alice\n"), true)
	record := "uploads/.directup/requests/0123abcd"
	marker, ok := a.Store.(interface {
		PutMarker(ctx context.Context, key string, body []byte) (bool, error)
	})
	if !ok {
		t.Fatal("the local store keeps no records")
	}
	if _, err := marker.PutMarker(context.Background(), record, []byte(`{"secret":"record"}`)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{record, "uploads/.directup/declared/x", ".directup/requests/x", "uploads/a/.directup/b", "uploads/.DIRECTUP/x"} {
		for _, token := range []string{"", tokA} {
			if s, code, _ := download(t, api, alice, key, token, ""); s != http.StatusForbidden || code != "policy_denied" {
				t.Errorf("%s (token %t): %d %s", key, token != "", s, code)
			}
		}
	}
	if s, code, _ := download(t, api, "", record, "", ""); s != http.StatusUnauthorized || code != "unauthenticated" {
		t.Errorf("a record without a JWT: %d %s", s, code)
	}
}

// With client keys two callers can start uploads on one key: a token shows only the object
// its own upload stored there — not one written while it was in progress, one of another
// size, or one older than the upload.
func TestLocalDownloadSameKeyOtherCaller(t *testing.T) {
	a := localApp(t, map[string]string{"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": testJWTSecret,
		"AUTH_AUDIENCE": "directup", "AUTH_ISSUER": "https://idp.example", "UPLOAD_CLIENT_KEYS": "true"})
	srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	api := srv.URL
	alice, bob := functest.JWT(t, "alice", time.Now().Add(time.Hour)), functest.JWT(t, "bob", time.Now().Add(time.Hour))
	start := func(bearer, key string, size int) (uploadID, token string) {
		var up struct{ UploadID, Token string }
		if s, _ := call(t, "POST", api+"/uploads", bearer, "", map[string]any{"key": key, "contentType": "text/plain", "size": size}, &up); s != 201 {
			t.Fatalf("initiate %s: %d", key, s)
		}
		return up.UploadID, up.Token
	}
	cancel := func(bearer, uploadID, token string) {
		if s, _ := call(t, "DELETE", api+"/uploads/"+url.PathEscape(uploadID), bearer, token, nil, nil); s != http.StatusNoContent {
			t.Fatalf("abort: %d", s)
		}
	}
	put := func(bearer, key string, content string) {
		var up struct {
			UploadID, Token string
			Parts           []struct{ URL string }
		}
		if s, _ := call(t, "POST", api+"/uploads", bearer, "", map[string]any{"key": key, "contentType": "text/plain", "size": len(content)}, &up); s != 201 {
			t.Fatalf("initiate %s: %d", key, s)
		}
		req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader(content))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("part: %v %v", err, resp)
		}
		resp.Body.Close()
		parts := []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}
		if s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", bearer, up.Token, map[string]any{"parts": parts}, nil); s != 200 {
			t.Fatalf("complete: %d", s)
		}
	}

	// Bob's upload is in progress when alice stores an object of the same size there.
	_, pending := start(bob, "uploads/shared/a.txt", 6)
	put(alice, "uploads/shared/a.txt", "alice\n")
	if s, code, _ := download(t, api, bob, "uploads/shared/a.txt", pending, ""); s != http.StatusConflict || code != "incomplete_upload" {
		t.Errorf("bob's upload in progress, alice's object at its key: %d %s", s, code)
	}

	// Bob declared another size and gave up; alice's object came later.
	id, other := start(bob, "uploads/shared/b.txt", 3)
	cancel(bob, id, other)
	put(alice, "uploads/shared/b.txt", "alice\n")
	if s, code, _ := download(t, api, bob, "uploads/shared/b.txt", other, ""); s != http.StatusNotFound || code != "not_found" {
		t.Errorf("bob's abandoned upload of 3 bytes, alice's object of 6 at its key: %d %s", s, code)
	}

	// Alice's object was there before bob's upload started.
	put(alice, "uploads/shared/c.txt", "alice\n")
	time.Sleep(2100 * time.Millisecond) // the store's times are whole seconds
	id, late := start(bob, "uploads/shared/c.txt", 6)
	cancel(bob, id, late)
	if s, code, _ := download(t, api, bob, "uploads/shared/c.txt", late, ""); s != http.StatusNotFound || code != "not_found" {
		t.Errorf("bob's later upload of the same size, alice's older object at its key: %d %s", s, code)
	}
	if s, _, _ := download(t, api, alice, "uploads/shared/c.txt", late, ""); s != http.StatusForbidden {
		t.Errorf("alice with bob's token: %d", s)
	}
}

// With AUTH_MODE=none (the demo page) the link still needs the upload's token: a key
// alone opens nothing.
func TestLocalDownloadAnonymous(t *testing.T) {
	a := localApp(t, nil)
	srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	key, token := uploadAs(t, srv.URL, "", "hello.txt", []byte("hello\n"), true)
	if s, code, _ := download(t, srv.URL, "", key, "", ""); s != http.StatusUnauthorized || code != "token_missing" {
		t.Errorf("a key alone: %d %s", s, code)
	}
	if s, _, link := download(t, srv.URL, "", key, "", token); s != http.StatusFound || string(fetchLink(t, link)) != "hello\n" {
		t.Errorf("the demo page's link: %d", s)
	}
	if s, code, _ := download(t, srv.URL, "", "", "", token); s != http.StatusBadRequest || code != "missing_field" {
		t.Errorf("no key: %d %s", s, code)
	}
}

// POST /sts in local mode: keys scoped to the one key the policy chose, which the official
// SDK uploads with, and which do nothing else; off unless UPLOAD_ALLOW_STS.
func TestScopedKeys(t *testing.T) {
	for _, allow := range []string{"", "true"} {
		a := localApp(t, map[string]string{"UPLOAD_ALLOW_STS": allow})
		srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
		defer srv.Close()
		var keys struct {
			Credentials            struct{ TmpSecretID, TmpSecretKey, SessionToken string }
			StartTime, ExpiredTime int64
			Expiration, RequestID  string
			Bucket, Region, Key    string
			Endpoint               string
			Error                  struct{ Code string }
		}
		status := do(t, "POST", srv.URL+"/sts", "", map[string]any{"filename": "cat.png", "contentType": "image/png", "size": 3 << 20}, &keys)
		if allow == "" {
			if status != 403 || keys.Error.Code != "policy_denied" {
				t.Fatalf("without UPLOAD_ALLOW_STS: %d %+v", status, keys)
			}
			continue
		}
		if status != 200 || keys.Credentials.TmpSecretID == "" || keys.Credentials.SessionToken == "" || keys.ExpiredTime-keys.StartTime != 1800 ||
			keys.Bucket != localmode.Bucket || keys.Region != "local" || !strings.HasPrefix(keys.Key, "uploads/") || keys.Endpoint != a.Embedded().EmbeddedEndpoint() || keys.RequestID == "" {
			t.Fatalf("POST /sts: %d %+v", status, keys)
		}
		u, _ := url.Parse(keys.Endpoint)
		sdkc := sdk.NewClient(&sdk.BaseURL{BucketURL: u}, &http.Client{Transport: &sdk.AuthorizationTransport{
			SecretID: keys.Credentials.TmpSecretID, SecretKey: keys.Credentials.TmpSecretKey, SessionToken: keys.Credentials.SessionToken}})
		png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 3<<20-16)...)
		file := filepath.Join(t.TempDir(), "cat.png")
		os.WriteFile(file, png, 0o644)
		if _, _, err := sdkc.Object.Upload(context.Background(), keys.Key, file, &sdk.MultiUploadOptions{PartSize: 1,
			OptIni: &sdk.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "image/png"}}}); err != nil {
			t.Fatalf("the SDK's multipart upload with the keys: %v", err)
		}
		if got, err := os.ReadFile(localServer(a).ObjectPath(keys.Key)); err != nil || !bytes.Equal(got, png) {
			t.Fatal("the stored bytes differ")
		}
		if _, err := sdkc.Object.Put(context.Background(), "uploads/other.png", bytes.NewReader(png[:100]), nil); err == nil {
			t.Error("the keys wrote another key")
		}
		if _, _, err := sdkc.Bucket.Get(context.Background(), nil); err == nil {
			t.Error("the keys listed the bucket")
		}
		// After the fact, the storage-triggered check: the object matches what was declared
		// for its keys and stays.
		if err := a.Service.ObjectCreated(context.Background(), keys.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(localServer(a).ObjectPath(keys.Key)); err != nil {
			t.Fatal("an object as declared was removed")
		}
		// Keys do not pin the total: a client stores less (or more, part by part) than it
		// declared. The storage-triggered check removes it.
		short, _ := sdkc.Object.Put(context.Background(), keys.Key, bytes.NewReader(png[:1<<20]),
			&sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "image/png"}})
		if short == nil || short.StatusCode != 200 {
			t.Fatalf("a simple PUT within the keys' scope: %v", short)
		}
		if err := a.Service.ObjectCreated(context.Background(), keys.Key); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(localServer(a).ObjectPath(keys.Key)); err == nil {
			t.Fatal("an object of another size than declared stayed")
		}
	}
}

// localServer is local mode's embedded server, to look at what it stored.
func localServer(a *App) *localcos.Server { return a.Store.(*localmode.Store).Server }
