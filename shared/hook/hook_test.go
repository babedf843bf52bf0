package hook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/apiclient"
	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/queue"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/webhook"
)

const secret = "hook-secret-0123456789"

type env struct {
	api    *apiclient.Client
	url    string
	store  *localcos.Server
	client *cos.Client
	svc    *upload.Service
}

// setup runs the whole stack (API, service, COS client, local store) with a hook served
// by h, which sees only requests whose signature verifies.
func setup(t *testing.T, h http.HandlerFunc, timeout time.Duration) *env {
	t.Helper()
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify([]byte(secret), body, r.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute) {
			t.Errorf("the hook got a request whose signature does not verify")
			w.WriteHeader(401)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(w, r)
	}))
	t.Cleanup(hookSrv.Close)
	backend := functest.NewBackend(t)
	store, client := backend.Store, backend.Client(t)
	p := policy.Default()
	p.KeyTemplate = "uploads/{sub}/{random}/{filename}"
	hk := hook.New(hook.Settings{URL: hookSrv.URL, Secret: secret, Timeout: timeout})
	svc, err := upload.NewService(client, p, []byte(strings.Repeat("t", 32)), upload.WithHook(hk))
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(svc, httpapi.Options{})
	comp := companion.New(svc, companion.Options{Secret: []byte(strings.Repeat("t", 32)), Anonymous: true, TTL: time.Hour})
	api.HandlePublic("/s3/", comp)
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	return &env{api: &apiclient.Client{API: apiSrv.URL}, url: apiSrv.URL, store: store, client: client, svc: svc}
}

func answer(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

func size(n int64) *int64 { return &n }

func apiErr(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	e, ok := err.(*apiclient.Error)
	if !ok {
		t.Fatalf("err = %v, want an API error", err)
	}
	return e
}

func TestHookRefusals(t *testing.T) {
	var redirected atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	defer elsewhere.Close()
	tests := []struct {
		name   string
		hook   http.HandlerFunc
		status int
		code   string
		msg    string
	}{
		{"denies", answer(map[string]any{"allow": false, "message": "uploads are closed on Sundays"}), 403, errcode.HookDenied, "uploads are closed on Sundays"},
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 503, errcode.HookUnavailable, ""},
		{"fails", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 503, errcode.HookUnavailable, ""},
		{"redirects", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, elsewhere.URL, 307) }, 503, errcode.HookUnavailable, ""},
		{"answers garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("yes")) }, 503, errcode.HookUnavailable, ""},
		{"answers without allow", answer(map[string]any{"key": "uploads/x"}), 503, errcode.HookUnavailable, ""},
		{"rewrites to a key outside the prefix", answer(map[string]any{"allow": true, "key": "secret/x"}), 503, errcode.HookUnavailable, ""},
		{"rewrites into the records folder", answer(map[string]any{"allow": true, "key": "uploads/.directup/requests/x"}), 503, errcode.HookUnavailable, ""},
		{"rewrites metadata badly", answer(map[string]any{"allow": true, "metadata": map[string]string{"a_b": "1"}}), 503, errcode.HookUnavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t, tt.hook, 300*time.Millisecond)
			start := time.Now()
			_, err := e.api.Initiate(context.Background(), &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: size(5)})
			a := apiErr(t, err)
			if a.Status != tt.status || a.Code != tt.code || (tt.msg != "" && a.Message != tt.msg) {
				t.Fatalf("%d %s %q, want %d %s %q", a.Status, a.Code, a.Message, tt.status, tt.code, tt.msg)
			}
			if e.store.Requests() != 0 {
				t.Errorf("%d requests reached storage", e.store.Requests())
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %v with a 300 ms hook timeout", time.Since(start))
			}
		})
	}
	if redirected.Load() != 0 {
		t.Error("a redirect of the hook was followed")
	}
}

func TestHookRewrites(t *testing.T) {
	var got hook.CreateEvent
	e := setup(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		answer(map[string]any{"allow": true, "key": "uploads/reviewed/" + got.Upload.Filename,
			"metadata": map[string]string{"review": "pending"}, "tagging": map[string]string{"tier": "free"}})(w, r)
	}, time.Second)
	up, done, err := e.api.Upload(context.Background(), &policy.InitiateRequest{Filename: "a.txt", ContentType: "text/plain", Size: size(5),
		Metadata: map[string]string{"from": "client"}}, strings.NewReader("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.Key != "uploads/reviewed/a.txt" || done.Key != up.Key {
		t.Fatalf("key %q, want the hook's", up.Key)
	}
	h, _, _, _, err := e.store.Object(up.Key)
	if err != nil || h.Get("X-Cos-Meta-Review") != "pending" || h.Get("X-Cos-Meta-From") != "" || h.Get("X-Cos-Tagging") != "tier=free" {
		t.Fatalf("stored headers %v, %v", h, err)
	}
	if got.Type != "upload.create" || got.ID == "" || got.Upload.Size != 5 || got.Upload.ContentType != "text/plain" ||
		!strings.HasPrefix(got.Upload.Key, "uploads/anonymous/") || got.Upload.Metadata["from"] != "client" {
		t.Fatalf("the hook was asked %+v", got)
	}
}

// quotaHook is README's example: a per-caller daily byte quota kept in the deployer's own
// store (here a map).
func quotaHook(limit int64) http.HandlerFunc {
	var mu sync.Mutex
	used := map[string]int64{} // "<caller> <day>" -> bytes
	return func(w http.ResponseWriter, r *http.Request) {
		var ev hook.CreateEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(400)
			return
		}
		day := ev.Caller + " " + ev.Time.Format("2006-01-02")
		mu.Lock()
		defer mu.Unlock()
		if used[day]+ev.Upload.Size > limit {
			answer(map[string]any{"allow": false, "message": "daily upload quota reached"})(w, r)
			return
		}
		used[day] += ev.Upload.Size
		answer(map[string]any{"allow": true})(w, r)
	}
}

func TestQuotaHook(t *testing.T) {
	e := setup(t, quotaHook(10<<20), time.Second)
	ctx := context.Background()
	for i, want := range []string{"", "", errcode.HookDenied} {
		_, err := e.api.Initiate(ctx, &policy.InitiateRequest{Filename: "a.bin", ContentType: "application/octet-stream", Size: size(4 << 20)})
		if got := ""; err != nil {
			got = apiErr(t, err).Code
			if got != want {
				t.Fatalf("upload %d: %v, want %q", i, err, want)
			}
		} else if want != "" {
			t.Fatalf("upload %d was let through past the quota", i)
		}
	}
	// The same hook guards Uppy's routes and the queue (both start uploads through the
	// service): the quota is spent, so they are refused too.
	res, err := http.Post(e.url+"/s3/multipart", "application/json", strings.NewReader(`{"filename":"u.bin","type":"application/octet-stream","metadata":{"size":4194304}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 403 || !strings.Contains(string(body), errcode.HookDenied) {
		t.Fatalf("Uppy past the quota: %d %s", res.StatusCode, body)
	}
	proc := queue.New(e.svc, e.svc.Records(), &queue.Callbacks{}, nil)
	out, outcome := proc.Handle(ctx, []byte(`{"action":"initiate","filename":"q.bin","contentType":"application/octet-stream","size":4194304}`), "m1")
	if outcome != queue.Done || out.Error == nil || out.Error.Code != errcode.HookDenied {
		t.Fatalf("a queue message past the quota: %+v", out)
	}
}
