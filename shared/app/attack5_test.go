package app

// The fifth outside attack, on the copied-seal fixes. Each test fails (printing HOLE) on
// the code it names.

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/storage"
)

// BROKE (ESCAPE + POISON), over HTTP with the official SDK: the flaw of upload
// TestAttack5CopiedSealOnBytesThatContradictTheDeclaration. verdict and StoredBy take a
// sealed object from its seal's upload only when it matches a declaration of keys that
// existed when it was written; bytes that contradict every declaration keep the seal's
// upload. Alice stores "alice" at a shared client key through the API; mallory reads the
// object's directup-upload value (readable by whoever reads the object), takes keys for
// the key declaring 100 bytes of text/plain, and with them PUTs "ALICE" (5 bytes: within
// the keys' per-request bound) carrying alice's seal. The storage check keeps it (it
// contradicts mallory's declaration), and alice's /local/download hands her mallory's
// bytes as the object her upload stored.
// Fix: an object written while another caller's keys for its key existed is never the
// seal's upload (an API upload cannot complete then: lockedByKeys); hold it to declaredVerdict
// and answer StoredBy false — or bind the seal to the write (the ETag recorded at complete).
func TestAttack5CopiedSealOffTheDeclarationDownloadsAsAlices(t *testing.T) {
	a, api := attackApp(t, nil)
	alice := functest.JWT(t, "alice", time.Now().Add(time.Hour))
	mallory := functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/shared/memo.txt"
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
	}
	if s, _ := call(t, "POST", api+"/uploads", alice, "", map[string]any{"key": key, "contentType": "text/plain", "size": 5}, &up); s != 201 {
		t.Fatal(s)
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader("alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s, _ := call(t, "POST", api+"/uploads/"+url.PathEscape(up.UploadID)+"/complete", alice, up.Token,
		map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}}, nil); s != 200 {
		t.Fatal(s)
	}
	info, err := a.Store.(storage.Objects).Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	seal := info.Metadata["directup-upload"]
	time.Sleep(1100 * time.Millisecond)
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": "text/plain", "size": 100}, &k); s != 200 {
		t.Fatalf("sts %d %+v", s, k.Error)
	}
	h := http.Header{}
	h.Set("X-Cos-Meta-Directup-Upload", seal)
	opt := &sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "text/plain", XCosMetaXXX: &h}}
	if _, err := sdkFor(k).Object.Put(context.Background(), key, strings.NewReader("ALICE"), opt); err != nil {
		t.Fatalf("put with the keys: %v", err)
	}
	if err := a.Service.ObjectCreated(context.Background(), key); err != nil {
		t.Logf("ObjectCreated: %v", err)
	}
	s, code, link := download(t, api, alice, key, up.Token, "")
	if s != http.StatusFound {
		t.Logf("alice's download: %d %s", s, code)
		return
	}
	r, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) == "ALICE" {
		t.Errorf("HOLE: mallory's keys' bytes (5, where her keys declared 100) stay, and alice's /local/download hands them to her as her upload's")
	}
}
