package app

// The second outside attack: a sealed directup-upload value read back through a download
// link and replayed on larger bytes written with temporary keys (kept: failed before the
// seal covered size and type).

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/functest"
)

// Mallory learns the full sealed write value of her own API upload (download link / HEAD
// with her /sts keys) and replays it on bytes she writes with /sts keys: escapes her declaration.
func TestAttackSealReplay(t *testing.T) { atk3Seal(t, nil, strings.Repeat("A", 1<<20), "text/plain") }
func TestAttackSealReplayOverMax(t *testing.T) {
	atk3Seal(t, map[string]string{"UPLOAD_MAX_SIZE": "2097152"}, strings.Repeat("A", 1<<20), "text/plain")
}
func TestAttackSealReplayBadContent(t *testing.T) {
	atk3Seal(t, map[string]string{"UPLOAD_VERIFY_CONTENT": "true"}, "\x89PNG\r\n\x1a\n"+strings.Repeat("\x00", 1<<20), "image/png")
}
func atk3Seal(t *testing.T, env map[string]string, partBody, declType string) {
	a, api := attackApp(t, env)
	mallory := functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/m/evil.txt"
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
	}
	if s, _ := call(t, "POST", api+"/uploads", mallory, "", map[string]any{"key": key, "contentType": "text/plain", "size": 5}, &up); s != 201 {
		t.Fatal(s)
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader("hello"))
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	var e struct{ Error struct{ Code string } }
	if s, _ := call(t, "POST", api+"/uploads/"+up.UploadID+"/complete", mallory, up.Token, map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}}, &e); s != 200 {
		t.Fatal(s, e)
	}
	seal := ""
	if s, _, link := download(t, api, mallory, key, up.Token, ""); s == http.StatusFound {
		r, _ := http.Get(link)
		seal = r.Header.Get("X-Cos-Meta-Directup-Upload")
		t.Logf("download link headers: %v", r.Header)
		r.Body.Close()
	}
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": declType, "size": len(partBody)}, &k); s != 200 {
		t.Fatalf("sts %d %+v", s, k.Error)
	}
	c := sdkFor(k)
	if h, err := c.Object.Head(context.Background(), key, nil); err == nil {
		t.Logf("HEAD with sts keys ok: %q", h.Header.Get("X-Cos-Meta-Directup-Upload"))
		if seal == "" {
			seal = h.Header.Get("X-Cos-Meta-Directup-Upload")
		}
	} else {
		t.Logf("HEAD with sts keys: %v", err)
	}
	t.Logf("seal=%q", seal)
	if seal == "" {
		t.Skip("no seal obtained")
	}
	h := http.Header{}
	h.Set("X-Cos-Meta-Directup-Upload", seal)
	ctx := context.Background()
	ini, _, err := c.Object.InitiateMultipartUpload(ctx, key, &sdk.InitiateMultipartUploadOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: declType, XCosMetaXXX: &h}})
	if err != nil {
		t.Fatalf("initiate: %v", err)
	}
	opt := &sdk.CompleteMultipartUploadOptions{}
	for n := 1; n <= 3; n++ {
		r, err := c.Object.UploadPart(ctx, key, ini.UploadID, n, strings.NewReader(partBody), &sdk.ObjectUploadPartOptions{ContentLength: int64(len(partBody))})
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		opt.Parts = append(opt.Parts, sdk.Object{PartNumber: n, ETag: r.Header.Get("ETag")})
	}
	if _, _, err := c.Object.CompleteMultipartUpload(ctx, key, ini.UploadID, opt); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if err := a.Service.ObjectCreated(context.Background(), key); err != nil {
		t.Logf("ObjectCreated: %v", err)
	}
	if fi, err := os.Stat(localServer(a).ObjectPath(key)); err == nil {
		t.Errorf("HOLE: %d-byte object kept though /sts declared 1 byte (seal replayed)", fi.Size())
	}
}
