package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/wire"
)

const jwtSecret = functest.JWTSecret

// bearer is an http.RoundTripper that authenticates every API call as one subject.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" && !strings.Contains(r.URL.RawQuery, "q-signature") {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestCallerBinding(t *testing.T) {
	a, err := auth.New(auth.Settings{Mode: auth.ModeJWT, JWTSecret: jwtSecret, Audience: "directup", Issuer: "https://idp.example"})
	if err != nil {
		t.Fatal(err)
	}
	e := setupWith(t, func(p *policy.Policy) { p.KeyTemplate = "uploads/{sub}/{date}/{random}/{filename}" }, httpapi.Options{Auth: a})
	ctx := context.Background()
	alice := &apiclient.Client{API: e.api.API, HTTP: &http.Client{Transport: bearer{functest.JWT(t, "alice")}}}
	bob := &apiclient.Client{API: e.api.API, HTTP: &http.Client{Transport: bearer{functest.JWT(t, "bob")}}}
	anonymous := &apiclient.Client{API: e.api.API}

	size := int64(5)
	req := &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: &size}
	if _, err := anonymous.Initiate(ctx, req); apiError(t, err).Status != 401 || apiError(t, err).Code != errcode.Unauthenticated {
		t.Fatalf("no bearer: %v", err)
	}
	up, err := alice.Initiate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.Key, "uploads/alice/"+time.Now().UTC().Format("2006/01/02")+"/") {
		t.Errorf("key %q does not carry the subject and date", up.Key)
	}
	before := e.store.Requests()
	for name, call := range map[string]func() error{
		"list":    func() error { _, err := bob.ListParts(ctx, up); return err },
		"presign": func() error { _, err := bob.Presign(ctx, up, []int{1}); return err },
		"complete": func() error {
			_, err := bob.Complete(ctx, up, []wire.CompletedPart{{PartNumber: 1, ETag: "e"}})
			return err
		},
		"abort": func() error { return bob.Abort(ctx, up) },
	} {
		if a := apiError(t, call()); a.Status != 403 || a.Code != errcode.CallerMismatch {
			t.Errorf("bob %s with alice's token: %v", name, a)
		}
	}
	if e.store.Requests() != before {
		t.Error("another caller's calls reached the store")
	}
	if _, err := alice.Resume(ctx, up, strings.NewReader("hello"), nil, nil); err != nil {
		t.Fatalf("alice completes her own upload: %v", err)
	}
}

// TestNoLeaks runs a full session, failures included, and scans every log line and every
// API answer (but the part URLs, which are meant for the caller) for secrets.
func TestNoLeaks(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logs, &mu}, nil))
	e := setupWith(t, nil, httpapi.Options{Logger: logger})
	var answers bytes.Buffer
	record := &recordingTransport{out: &answers}
	c := &apiclient.Client{API: e.api.API, HTTP: &http.Client{Transport: record}}
	ctx := context.Background()

	customerKey := make([]byte, 32)
	rand.Read(customerKey)
	key64 := base64.StdEncoding.EncodeToString(customerKey)
	data := make([]byte, 2<<20+5)
	size := int64(len(data))
	sse := &policy.EncryptionRequest{Type: "SSE-C", CustomerKey: key64}
	up, done, err := c.Upload(ctx, &policy.InitiateRequest{Filename: "s.bin", ContentType: "application/octet-stream", Size: &size, PartSize: 1 << 20, Encryption: sse},
		bytes.NewReader(data), http.Header{"X-Cos-Server-Side-Encryption-Customer-Key": {key64}})
	if err != nil || done.Size != size {
		t.Fatal(err)
	}
	// Failures: bad input, a bad token, an unknown upload, a refused part.
	c.Initiate(ctx, &policy.InitiateRequest{Filename: "x", ContentType: "text/plain", Size: &size, Encryption: &policy.EncryptionRequest{Type: "SSE-C", CustomerKey: "short"}})
	forged := *up
	forged.Token += "x"
	c.ListParts(ctx, &forged)
	c.ListParts(ctx, up)
	first, ok := up.CompactParts.Lookup()(1)
	if !ok {
		t.Fatal("no part 1 in the compact answer")
	}
	c.PutPart(ctx, first, data[:10], nil)

	secrets := map[string]string{
		"store secret key": storeCred.SecretKey, "session token": storeCred.SessionToken, "token secret": tokenSecret, "SSE-C key": key64,
	}
	for name, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the %s appears in the logs", name)
		}
		if strings.Contains(answers.String(), s) {
			t.Errorf("the %s appears in an API answer outside the part URLs", name)
		}
	}
	if strings.Contains(logs.String(), up.Token) {
		t.Error("an upload token appears in the logs")
	}
	if strings.Contains(logs.String(), "q-signature") || strings.Contains(answers.String(), "q-signature") {
		t.Error("a signature appears outside the part URLs")
	}
	if logs.Len() == 0 || answers.Len() == 0 {
		t.Fatal("nothing was captured: the scan proves nothing")
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// recordingTransport keeps every API answer body with the part URLs cut out, and every
// storage answer whole.
type recordingTransport struct {
	mu  sync.Mutex
	out *bytes.Buffer
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body := new(bytes.Buffer)
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	resp.Body = readCloser{bytes.NewReader(body.Bytes())}
	text := body.String()
	for {
		i := strings.Index(text, `"url":"`)
		if i < 0 {
			break
		}
		j := strings.Index(text[i+7:], `"`)
		text = text[:i] + text[i+7+j+1:]
	}
	rt.mu.Lock()
	rt.out.WriteString(text)
	for k, v := range resp.Header {
		rt.out.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	rt.mu.Unlock()
	return resp, nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
