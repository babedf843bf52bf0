package companion_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/companion"
	"github.com/directup/directup/shared/cos"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/upload"
)

const secret = "0123456789abcdef0123456789abcdef"

type env struct {
	url   string
	store *localcos.Server
	comp  *companion.Handler
}

func setup(t *testing.T, anonymous bool, maxSize int64) *env {
	cred := cossign.Credentials{SecretID: "AKIDc", SecretKey: "k", SessionToken: "t"}
	store, err := localcos.New(t.TempDir(), "local-1250000000", cred)
	if err != nil {
		t.Fatal(err)
	}
	ss := httptest.NewServer(store)
	t.Cleanup(ss.Close)
	client, _ := cos.New(cos.Config{Bucket: "local-1250000000", Endpoint: ss.URL},
		credentials.Static{AccessKeyID: cred.SecretID, SecretAccessKey: cred.SecretKey, SessionToken: cred.SessionToken}, nil)
	p := upload.DefaultPolicy()
	p.MaxSize = maxSize
	p.KeyTemplate = "uploads/{sub}/{random}/{filename}"
	svc, err := upload.NewService(client, p, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	comp := companion.New(svc, []byte(secret), anonymous, time.Hour)
	srv := httptest.NewServer(comp)
	t.Cleanup(srv.Close)
	return &env{url: srv.URL, store: store, comp: comp}
}

func call(t *testing.T, method, u string, body any, out any) int {
	var r io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		r = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// uppyUpload speaks the protocol exactly as @uppy/aws-s3's S3Companion does.
func uppyUpload(t *testing.T, endpoint string, parts [][]byte) (int, map[string]string) {
	var created struct{ Key, UploadID, Bucket string }
	if s := call(t, "POST", endpoint+"/s3/multipart", map[string]any{"filename": "abc-clip.mp4", "type": "video/mp4", "metadata": map[string]string{"name": "clip.mp4"}}, &created); s != 200 {
		return s, nil
	}
	q := "?" + url.Values{"key": {created.Key}}.Encode()
	var done []map[string]any
	for i, data := range parts {
		var signed struct {
			URL     string
			Expires int
		}
		if s := call(t, "GET", fmt.Sprintf("%s/s3/multipart/%s/%d%s", endpoint, url.PathEscape(created.UploadID), i+1, q), nil, &signed); s != 200 || signed.Expires <= 0 {
			t.Fatalf("sign part: %d %+v", s, signed)
		}
		req, _ := http.NewRequest("PUT", signed.URL, bytes.NewReader(data))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT part: %v %v", err, resp.Status)
		}
		resp.Body.Close()
		done = append(done, map[string]any{"PartNumber": i + 1, "ETag": resp.Header.Get("ETag")})
	}
	var listed []struct {
		PartNumber int
		ETag       string
		Size       int64
	}
	if s := call(t, "GET", endpoint+"/s3/multipart/"+url.PathEscape(created.UploadID)+q, nil, &listed); s != 200 || len(listed) != len(parts) {
		t.Fatalf("list: %d %+v", s, listed)
	}
	var out map[string]string
	s := call(t, "POST", endpoint+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/complete"+q, map[string]any{"parts": done}, &out)
	return s, out
}

func TestAnonymousUpload(t *testing.T) {
	e := setup(t, true, 1<<30)
	status, out := uppyUpload(t, e.url, [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("tail")})
	if status != 200 || !strings.HasPrefix(out["key"], "uploads/anonymous/") || out["bucket"] != "local-1250000000" {
		t.Fatalf("%d %v", status, out)
	}
	_, _, _, size, err := e.store.Object(out["key"])
	if err != nil || size != 5<<20+4 {
		t.Fatalf("stored %d bytes: %v", size, err)
	}
}

func TestSizeLimitAtComplete(t *testing.T) {
	e := setup(t, true, 1<<20)
	status, _ := uppyUpload(t, e.url, [][]byte{bytes.Repeat([]byte("a"), 1<<20), []byte("one byte too many")})
	if status != http.StatusRequestEntityTooLarge || e.store.Uploads() != 0 {
		t.Fatalf("over the limit: %d, %d uploads left", status, e.store.Uploads())
	}
}

func TestCapabilities(t *testing.T) {
	e := setup(t, false, 1<<30)
	var out struct{ Error struct{ Code string } }
	if s := call(t, "POST", e.url+"/s3/multipart", map[string]any{"filename": "a", "type": "text/plain"}, &out); s != 401 || out.Error.Code != upload.CodeUnauthenticated {
		t.Fatalf("bare /s3 with authentication on: %d %+v", s, out)
	}
	alice, _ := e.comp.Mint("alice")
	status, done := uppyUpload(t, e.url+"/c/"+alice, [][]byte{[]byte("hello")})
	if status != 200 || !strings.HasPrefix(done["key"], "uploads/alice/") {
		t.Fatalf("alice: %d %v", status, done)
	}

	// Bob's capability cannot drive Alice's upload, even with its id.
	var created struct{ Key, UploadID string }
	call(t, "POST", e.url+"/c/"+alice+"/s3/multipart", map[string]any{"filename": "b", "type": "text/plain"}, &created)
	bob, _ := e.comp.Mint("bob")
	var refused struct{ Error struct{ Code string } }
	s := call(t, "GET", e.url+"/c/"+bob+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/1?key="+url.QueryEscape(created.Key), nil, &refused)
	if s != 403 || refused.Error.Code != upload.CodeCallerMismatch {
		t.Fatalf("bob signing alice's part: %d %+v", s, refused)
	}
	s = call(t, "GET", e.url+"/c/"+alice+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/1?key=uploads/other", nil, &refused)
	if s != 403 {
		t.Fatalf("a key that is not the upload's: %d", s)
	}
	for _, forged := range []string{alice[:len(alice)-2] + "xx", "c1.e30.AAAA", "nonsense"} {
		if s := call(t, "POST", e.url+"/c/"+forged+"/s3/multipart", map[string]any{"filename": "a", "type": "text/plain"}, nil); s != 401 {
			t.Errorf("forged capability %q: %d", forged, s)
		}
	}
	if s := call(t, "DELETE", e.url+"/c/"+alice+"/s3/multipart/"+url.PathEscape(created.UploadID)+"?key="+url.QueryEscape(created.Key), nil, nil); s != 200 || e.store.Uploads() != 0 {
		t.Fatalf("abort: %d", s)
	}
}

func TestParamsRefused(t *testing.T) {
	e := setup(t, true, 1<<30)
	var out struct{ Error struct{ Message string } }
	if s := call(t, "GET", e.url+"/s3/params?filename=a&type=text/plain", nil, &out); s != 400 || !strings.Contains(out.Error.Message, "shouldUseMultipart: true") {
		t.Fatalf("%d %+v", s, out)
	}
}
