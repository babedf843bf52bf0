package httpapi_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

// varies reports whether h's Vary lists Origin.
func varies(h http.Header) bool {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Origin") {
				return true
			}
		}
	}
	return false
}

// "Browser origins are an allow-list (API_CORS_ORIGINS)": an origin on the list is
// reflected, one off it is not; a reflected origin comes with Vary: Origin, so no cache
// in front serves one origin's answer (and its Access-Control-Allow-Origin) to another.
// A list holding "*" reflects every origin, so its answers vary by origin too.
func TestGuaranteeCORSReflectsWithVary(t *testing.T) {
	for _, origins := range [][]string{{"https://app.example"}, {"*"}} {
		e := setupWith(t, nil, httpapi.Options{CORSOrigins: origins})
		for _, tt := range []struct {
			method, path, origin string
			preflight            bool
		}{
			{"GET", "/healthz", "https://app.example", false},
			{"POST", "/uploads", "https://app.example", false},
			{"OPTIONS", "/uploads", "https://app.example", true},
			{"GET", "/healthz", "https://evil.example", false},
			{"OPTIONS", "/uploads/x/complete", "https://evil.example", true},
		} {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Content-Type", "application/json")
			if tt.preflight {
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			allowed := slices.Contains(origins, "*") || slices.Contains(origins, tt.origin)
			got := rec.Header().Get("Access-Control-Allow-Origin")
			switch {
			case allowed && got != tt.origin:
				t.Errorf("%v %s %s from %s: Access-Control-Allow-Origin %q; want the origin reflected", origins, tt.method, tt.path, tt.origin, got)
			case !allowed && got != "":
				t.Errorf("%v %s %s from %s: Access-Control-Allow-Origin %q for an origin off the list", origins, tt.method, tt.path, tt.origin, got)
			case allowed && !varies(rec.Header()):
				t.Errorf("%v %s %s from %s: the reflected origin comes without Vary: Origin (Vary %q)", origins, tt.method, tt.path, tt.origin, rec.Header().Values("Vary"))
			}
			if !allowed && rec.Header().Get("Access-Control-Allow-Headers") != "" {
				t.Errorf("%v: a preflight from %s was answered with allowed headers", origins, tt.origin)
			}
		}
	}
}

// "Errors carry the COS request id, never a request, signature, secret, session token or
// SSE-C key": when the store cannot be reached, the answer says so without the request
// the function tried to send (its address and query) or anything it was signed with.
func TestGuaranteeErrorsCarryNoRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nobody answers there
	client, err := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: endpoint}, credentials.Static{
		AccessKeyID: storeCred.SecretID, SecretAccessKey: storeCred.SecretKey, SessionToken: storeCred.SessionToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	client.BaseDelay, client.MaxDelay = time.Millisecond, time.Millisecond
	svc, err := upload.NewService(client, policy.Default(), []byte(tokenSecret))
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(svc, httpapi.Options{})
	req := httptest.NewRequest("POST", "/uploads", strings.NewReader(`{"filename":"a.txt","contentType":"text/plain","size":5}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != http.StatusBadGateway || !strings.Contains(body, `"upstream_error"`) {
		t.Fatalf("an unreachable store: %d %s", rec.Code, body)
	}
	for _, secret := range []string{ln.Addr().String(), "?uploads", "uploads=", "q-sign", "Authorization", storeCred.SecretID, storeCred.SecretKey, storeCred.SessionToken, "dial tcp"} {
		if strings.Contains(body, secret) {
			t.Errorf("the error answer holds %q: %s", secret, body)
		}
	}
}

// "Every route but the health check, the client script, the demo page and Uppy's ... is
// behind it": each API route without a JWT is 401 unauthenticated (with
// WWW-Authenticate: Bearer), an upload token alone included, and nothing reaches the store.
func TestGuaranteeEveryRouteIsAuthenticated(t *testing.T) {
	a, err := auth.New(auth.Settings{Mode: auth.ModeJWT, JWTSecret: jwtSecret, Audience: "directup", Issuer: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	e := setupWith(t, nil, httpapi.Options{Auth: a})
	alice := &apiclient.Client{API: e.url, HTTP: &http.Client{Transport: bearer{functest.JWT(t, "alice")}}}
	size := int64(5)
	up, err := alice.Initiate(t.Context(), &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	id := url.PathEscape(up.UploadID)
	before := e.store.Requests()
	for _, rt := range []struct{ method, path, body string }{
		{"POST", "/uploads", `{"filename":"a.txt","contentType":"text/plain","size":5}`},
		{"POST", "/uploads?parts=compact", `{"filename":"a.txt","contentType":"text/plain","size":5}`},
		{"POST", "/sts", `{"filename":"a.txt","contentType":"text/plain","size":5}`},
		{"POST", "/uploads/" + id + "/parts", `{"partNumbers":[1]}`},
		{"POST", "/uploads/" + id + "/parts?parts=compact", `{}`},
		{"GET", "/uploads/" + id + "/parts", ""},
		{"POST", "/uploads/" + id + "/complete", `{"parts":[{"partNumber":1,"etag":"x"}]}`},
		{"DELETE", "/uploads/" + id, ""},
		{"GET", "/no/such/route", ""},
	} {
		for _, authz := range []string{"", "Bearer not-a-jwt"} {
			req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(rt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(httpapi.TokenHeader, up.Token)
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"unauthenticated"`) || rec.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s %s (Authorization %q): %d %s", rt.method, rt.path, authz, rec.Code, rec.Body.String())
			}
		}
	}
	if n := e.store.Requests() - before; n != 0 {
		t.Errorf("%d requests reached the store", n)
	}
	for _, public := range []string{"/healthz"} {
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, httptest.NewRequest("GET", public, nil))
		if rec.Code != 200 {
			t.Errorf("%s without a JWT: %d", public, rec.Code)
		}
	}
}

// "Request bodies are capped (64 KiB, 1 MiB for complete)": a body of exactly the cap is
// read, one byte more is 413 body_too_large.
func TestGuaranteeBodyCaps(t *testing.T) {
	e := setup(t, nil)
	for _, c := range []struct {
		path, head string
		limit      int
	}{
		{"/uploads", `{"filename":"a.txt","contentType":"text/plain","size":5}`, 64 << 10},
		{"/uploads/x/complete", `{"parts":[{"partNumber":1,"etag":"x"}]}`, 1 << 20},
	} {
		for _, n := range []int{c.limit, c.limit + 1} {
			body := c.head + strings.Repeat(" ", n-len(c.head)) // JSON allows trailing whitespace
			req := httptest.NewRequest("POST", c.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			tooLarge := rec.Code == http.StatusRequestEntityTooLarge && strings.Contains(rec.Body.String(), `"body_too_large"`)
			if tooLarge != (n > c.limit) {
				t.Errorf("POST %s with %d bytes (cap %d): %d %s", c.path, n, c.limit, rec.Code, rec.Body.String())
			}
		}
	}
}
