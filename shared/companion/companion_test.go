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
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/localcos"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
)

const secret = "0123456789abcdef0123456789abcdef"

type env struct {
	url   string
	store *localcos.Server
	comp  *companion.Handler
}

func setup(t *testing.T, anonymous bool, maxSize int64, open ...bool) *env {
	backend := functest.NewBackend(t)
	store, client := backend.Store, backend.Client(t)
	p := policy.Default()
	p.MaxSize = maxSize
	p.KeyTemplate = "uploads/{sub}/{random}/{filename}"
	svc, err := upload.NewService(client, p, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	comp := companion.New(svc, companion.Options{Secret: []byte(secret), Anonymous: anonymous, TTL: time.Hour, OpenUploads: len(open) > 0 && open[0], Forms: true})
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

// uppyUpload speaks the protocol exactly as @uppy/aws-s3's S3Companion does, with the
// file's size in its metadata as README's frontend line sets it (undeclared: no size).
func uppyUpload(t *testing.T, endpoint string, parts [][]byte, undeclared ...bool) (int, map[string]string) {
	var created struct{ Key, UploadID, Bucket string }
	meta := map[string]any{"name": "clip.mp4"}
	if len(undeclared) == 0 {
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		meta["size"] = size
	}
	if s := call(t, "POST", endpoint+"/s3/multipart", map[string]any{"filename": "abc-clip.bin", "type": "application/octet-stream", "metadata": meta}, &created); s != 200 {
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

func TestOpenUploadsOnlyWhenAllowed(t *testing.T) {
	// The default: a create without a size is refused, naming the frontend's fix.
	e := setup(t, true, 1<<30)
	var out struct {
		Error struct{ Code, Field, Message string }
	}
	if s := call(t, "POST", e.url+"/s3/multipart", map[string]any{"filename": "a", "type": "text/plain", "metadata": map[string]any{}}, &out); s != 400 ||
		out.Error.Code != errcode.MissingField || out.Error.Field != "metadata.size" || !strings.Contains(out.Error.Message, "setFileMeta") {
		t.Fatalf("create without a size: %d %+v", s, out)
	}
	if e.store.Uploads() != 0 {
		t.Fatal("a refused create reached the store")
	}

	// API_COMPANION_OPEN_UPLOADS: the limit is enforced only at complete.
	e = setup(t, true, 1<<20, true)
	status, _ := uppyUpload(t, e.url, [][]byte{bytes.Repeat([]byte("a"), 1<<20), []byte("one byte too many")}, true)
	if status != http.StatusRequestEntityTooLarge || e.store.Uploads() != 0 {
		t.Fatalf("over the limit: %d, %d uploads left", status, e.store.Uploads())
	}
}

// The attack: with UPLOAD_MAX_SIZE=2 MiB an authenticated user stored 12 MiB of parts
// through part URLs that pinned no size. Now every URL pins its part's planned size.
func TestPartsPinnedToTheDeclaredSize(t *testing.T) {
	e := setup(t, false, 2<<20)
	alice, _ := e.comp.Mint("alice", time.Time{})
	base := e.url + "/c/" + alice
	var out struct{ Error struct{ Code, Field string } }
	if s := call(t, "POST", base+"/s3/multipart", map[string]any{"filename": "a", "type": "video/mp4", "metadata": map[string]any{"size": 12 << 20}}, &out); s != 413 || out.Error.Code != errcode.SizeTooLarge {
		t.Fatalf("declared over the limit: %d %+v", s, out)
	}
	var created struct{ Key, UploadID string }
	if s := call(t, "POST", base+"/s3/multipart", map[string]any{"filename": "a", "type": "video/mp4", "metadata": map[string]any{"size": "1000"}}, &created); s != 200 {
		t.Fatalf("create: %d", s)
	}
	q := "?key=" + url.QueryEscape(created.Key)
	var signed struct{ URL string }
	if s := call(t, "GET", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/1"+q, nil, &signed); s != 200 {
		t.Fatalf("sign: %d", s)
	}
	for _, n := range []int{12 << 20, 1001, 999} {
		resp, err := http.DefaultClient.Do(must(http.NewRequest("PUT", signed.URL, bytes.NewReader(make([]byte, n)))))
		if err != nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a %d-byte part on a URL pinned to 1000: %v %v", n, err, resp.Status)
		}
		resp.Body.Close()
	}
	if s := call(t, "GET", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/2"+q, nil, &out); s != 400 || out.Error.Field != "partNumbers" {
		t.Fatalf("a part outside the one-part plan: %d %+v", s, out)
	}
	var listed []map[string]any
	if s := call(t, "GET", base+"/s3/multipart/"+url.PathEscape(created.UploadID)+q, nil, &listed); s != 200 || len(listed) != 0 {
		t.Fatalf("parts stored: %d %v", s, listed)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestUppyPartSize(t *testing.T) {
	// @uppy/aws-s3 6.x: max(5 MiB, ceil(size / 10,000)).
	for size, want := range map[int64]int64{0: 5 << 20, 100: 5 << 20, 50 << 30: 5368710, 5 << 40: 549755814} {
		if got := companion.UppyPartSize(size); got != want {
			t.Errorf("UppyPartSize(%d) = %d, want %d", size, got, want)
		}
	}
}

func TestCapabilityEndsWithTheJWT(t *testing.T) {
	e := setup(t, false, 1<<30)
	soon := time.Now().Add(5 * time.Second).Truncate(time.Second)
	_, exp := e.comp.Mint("alice", soon)
	if !exp.Equal(soon) {
		t.Fatalf("a capability minted with 5 s left on the JWT expires at %v, want %v", exp, soon)
	}
	if _, exp := e.comp.Mint("alice", time.Time{}); exp.Before(time.Now().Add(59 * time.Minute)) {
		t.Fatalf("without a bound the TTL applies: %v", exp)
	}
}

func TestCapabilities(t *testing.T) {
	e := setup(t, false, 1<<30)
	var out struct{ Error struct{ Code string } }
	if s := call(t, "POST", e.url+"/s3/multipart", map[string]any{"filename": "a", "type": "text/plain"}, &out); s != 401 || out.Error.Code != errcode.Unauthenticated {
		t.Fatalf("bare /s3 with authentication on: %d %+v", s, out)
	}
	alice, _ := e.comp.Mint("alice", time.Time{})
	status, done := uppyUpload(t, e.url+"/c/"+alice, [][]byte{[]byte("hello")})
	if status != 200 || !strings.HasPrefix(done["key"], "uploads/alice/") {
		t.Fatalf("alice: %d %v", status, done)
	}

	// Bob's capability cannot drive Alice's upload, even with its id.
	var created struct{ Key, UploadID string }
	call(t, "POST", e.url+"/c/"+alice+"/s3/multipart", map[string]any{"filename": "b", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &created)
	bob, _ := e.comp.Mint("bob", time.Time{})
	var refused struct{ Error struct{ Code string } }
	s := call(t, "GET", e.url+"/c/"+bob+"/s3/multipart/"+url.PathEscape(created.UploadID)+"/1?key="+url.QueryEscape(created.Key), nil, &refused)
	if s != 403 || refused.Error.Code != errcode.CallerMismatch {
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

// otherBucket is a store of another deployment (another bucket).
type otherBucket struct{ *cos.Client }

func (otherBucket) Bucket() string { return "other-1250000000" }

// A capability names its deployment's bucket: another deployment sharing the secret does
// not take it (nor the claims it carries).
func TestCapabilityIsBoundToItsBucket(t *testing.T) {
	e := setup(t, false, 1<<20)
	svc, err := upload.NewService(otherBucket{functest.NewBackend(t).Client(t)}, policy.Default(), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := companion.New(svc, companion.Options{Secret: []byte(secret), TTL: time.Hour}).Mint("alice", time.Time{})
	var out struct{ Error struct{ Code string } }
	if s := call(t, "POST", e.url+"/c/"+foreign+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, &out); s != 401 || out.Error.Code != "unauthenticated" {
		t.Fatalf("another bucket's capability: %d %+v", s, out.Error)
	}
	own, _ := e.comp.Mint("alice", time.Time{})
	if s := call(t, "POST", e.url+"/c/"+own+"/s3/multipart", map[string]any{"filename": "a.txt", "type": "text/plain", "metadata": map[string]any{"size": 5}}, nil); s != 200 {
		t.Fatalf("its own capability: %d", s)
	}
}
