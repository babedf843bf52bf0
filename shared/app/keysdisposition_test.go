package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	sdk "github.com/tencentyun/cos-go-sdk-v5"
)

// POST /sts names the headers the upload must carry; the official SDK's upload with the
// answer's contentDisposition is kept, one that leaves it out (an HTML page then served
// inline from the bucket's domain) is deleted by the storage-triggered check.
func TestKeysAnswerNamesTheDisposition(t *testing.T) {
	a := localApp(t, map[string]string{"UPLOAD_ALLOW_STS": "true", "UPLOAD_ALLOWED_TYPES": "text/html"})
	srv := httptest.NewServer(a.Handler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	page := []byte("<!doctype html><html><body><script>alert(1)</script></body></html>")
	for _, follow := range []bool{true, false} {
		var keys struct {
			Credentials                     struct{ TmpSecretID, TmpSecretKey, SessionToken string }
			Key, Endpoint                   string
			ContentType, ContentDisposition string
		}
		if s := do(t, "POST", srv.URL+"/sts", "", map[string]any{"filename": "page.html", "contentType": "text/html", "size": len(page)}, &keys); s != 200 {
			t.Fatalf("POST /sts: %d", s)
		}
		if keys.ContentType != "text/html" || keys.ContentDisposition != "attachment" {
			t.Fatalf("the answer names Content-Type %q, Content-Disposition %q", keys.ContentType, keys.ContentDisposition)
		}
		u, _ := url.Parse(keys.Endpoint)
		c := sdk.NewClient(&sdk.BaseURL{BucketURL: u}, &http.Client{Transport: &sdk.AuthorizationTransport{
			SecretID: keys.Credentials.TmpSecretID, SecretKey: keys.Credentials.TmpSecretKey, SessionToken: keys.Credentials.SessionToken}})
		h := &sdk.ObjectPutHeaderOptions{ContentType: keys.ContentType}
		if follow {
			h.ContentDisposition = keys.ContentDisposition
		}
		if _, err := c.Object.Put(context.Background(), keys.Key, bytes.NewReader(page), &sdk.ObjectPutOptions{ObjectPutHeaderOptions: h}); err != nil {
			t.Fatal(err)
		}
		if err := a.Service.ObjectCreated(context.Background(), keys.Key); err != nil {
			t.Fatal(err)
		}
		_, err := os.Stat(localServer(a).ObjectPath(keys.Key))
		if kept := err == nil; kept != follow {
			t.Errorf("stored with the answer's disposition %v: kept %v", follow, kept)
		}
	}
}
