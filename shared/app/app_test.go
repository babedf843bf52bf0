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

	"github.com/golang-jwt/jwt/v5"
	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/config"
)

// clearEnv unsets every setting, so the machine's environment cannot leak in.
func clearEnv(t *testing.T) {
	for _, k := range config.Variables() {
		t.Setenv(k, "")
	}
}

// localApp wires local mode from the environment the test sets, plus env.
func localApp(t *testing.T, env map[string]string) *App {
	clearEnv(t)
	t.Setenv("LOCAL_COS_DIR", t.TempDir())
	for k, v := range env {
		t.Setenv(k, v)
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
	if a.Local == nil || !strings.HasPrefix(a.LocalURL, "http://127.0.0.1:") || a.Store.Bucket() != LocalBucket {
		t.Fatalf("app = %+v", a)
	}
}

const testJWTSecret = "jwt-secret-0123456789abcdef-0123456789"

func jwtFor(t *testing.T, sub string, exp time.Time) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "aud": "directup", "iss": "https://idp.example",
		"exp": exp.Unix()}).SignedString([]byte(testJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

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
	if s := do(t, "POST", api+"/capabilities", jwtFor(t, "alice", exp), nil, &capability); s != 201 || !capability.ExpiresAt.Equal(exp) {
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

// Local mode's download links are behind AUTH_MODE like /uploads.
func TestLocalDownloadIsAuthenticated(t *testing.T) {
	api := localJWTApp(t, io.Discard)
	if s := do(t, "GET", api+"/local/download?key=uploads/x", "", nil, nil); s != http.StatusUnauthorized {
		t.Fatalf("without a JWT: %d", s)
	}
	if s := do(t, "GET", api+"/local/download?key=uploads/x", jwtFor(t, "alice", time.Now().Add(time.Hour)), nil, nil); s != http.StatusFound {
		t.Fatalf("with a JWT: %d", s)
	}
	for _, public := range []string{"/healthz", "/directup.js", "/"} {
		if s := do(t, "GET", api+public, "", nil, nil); s != 200 {
			t.Errorf("%s without a JWT: %d", public, s)
		}
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
			keys.Bucket != LocalBucket || keys.Region != "local" || !strings.HasPrefix(keys.Key, "uploads/") || keys.Endpoint != a.LocalURL || keys.RequestID == "" {
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
		if got, err := os.ReadFile(a.Local.ObjectPath(keys.Key)); err != nil || !bytes.Equal(got, png) {
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
		if _, err := os.Stat(a.Local.ObjectPath(keys.Key)); err != nil {
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
		if _, err := os.Stat(a.Local.ObjectPath(keys.Key)); err == nil {
			t.Fatal("an object of another size than declared stayed")
		}
	}
}
