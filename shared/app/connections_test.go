package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/localcos"
)

type connKey struct{}

// A warm function keeps its connection to storage: one after another, every storage call
// of the upload sequence — initiate, the complete and its verification read, a complete
// the store refuses (its error answer, then the listing that explains it), a listing, an
// abort, a listing of the aborted upload (404) — goes over the one connection the first
// call opened. Over TLS to COS each new connection would cost two round trips more.
func TestStorageConnectionsAreReused(t *testing.T) {
	cos, err := localcos.New(t.TempDir(), "local-1250000000", cossign.Credentials{SecretID: "AKIDCONN", SecretKey: "conn-key"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	functionConns := map[net.Conn]bool{} // connections that carried a call signed in its header: the function's
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			mu.Lock()
			functionConns[r.Context().Value(connKey{}).(net.Conn)] = true
			mu.Unlock()
		}
		cos.ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }
	srv.Start()
	t.Cleanup(srv.Close)
	a := appFrom(t, map[string]string{"COS_BUCKET": "local-1250000000", "COS_ENDPOINT": srv.URL,
		"TENCENTCLOUD_SECRETID": "AKIDCONN", "TENCENTCLOUD_SECRETKEY": "conn-key", "UPLOAD_TOKEN_SECRET": "t0123456789abcdef0123456789abcdef"})
	api := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	t.Cleanup(api.Close)

	for i := 0; i < 3; i++ {
		uploadAs(t, api.URL, "", "a.txt", []byte("hello"), true)
	}
	var up struct{ UploadID, Token string }
	if s, _ := call(t, "POST", api.URL+"/uploads", "", "", map[string]any{"filename": "b.txt", "contentType": "text/plain", "size": 5}, &up); s != 201 {
		t.Fatalf("initiate: %d", s)
	}
	path := api.URL + "/uploads/" + url.PathEscape(up.UploadID)
	steps := []struct {
		method, path string
		body         any
		want         int
	}{
		{"POST", "/complete", map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": `"0123456789abcdef0123456789abcdef"`}}}, 409},
		{"GET", "/parts", nil, 200},
		{"DELETE", "", nil, 204},
		{"GET", "/parts", nil, 404},
	}
	for _, s := range steps {
		if got, _ := call(t, s.method, path+s.path, "", up.Token, s.body, nil); got != s.want {
			t.Fatalf("%s %s: %d, want %d", s.method, s.path, got, s.want)
		}
	}
	if len(functionConns) != 1 {
		t.Fatalf("the function's storage calls used %d connections, want 1 (reused)", len(functionConns))
	}
}
