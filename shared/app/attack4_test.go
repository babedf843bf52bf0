package app

// The fourth outside attack. Each test fails (printing HOLE) on the code it names.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/storage"
)

// attack4Seal has mallory store content through the API at a key she names, read back the
// sealed directup-upload value of her own object (its metadata comes back on any read: the
// README calls a seal readable), take temporary keys for the same key, size and type, and
// write the same bytes again with those keys — the copied seal on them, and header set by
// her SDK. It answers the key once the storage-triggered check ran.
func attack4Seal(t *testing.T, env map[string]string, ct, content string, set func(*sdk.ObjectPutOptions)) (*App, string) {
	t.Helper()
	a, api := attackApp(t, env)
	mallory := functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	key := "uploads/m/page"
	var up struct {
		UploadID, Token string
		Parts           []struct{ URL string }
		Error           struct{ Code string }
	}
	if s, _ := call(t, "POST", api+"/uploads", mallory, "", map[string]any{"key": key, "contentType": ct, "size": len(content)}, &up); s != 201 {
		t.Fatal(s, up.Error)
	}
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, strings.NewReader(content))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var e struct{ Error struct{ Code string } }
	if s, _ := call(t, "POST", api+"/uploads/"+up.UploadID+"/complete", mallory, up.Token, map[string]any{"parts": []map[string]any{{"partNumber": 1, "etag": resp.Header.Get("ETag")}}}, &e); s != 200 {
		t.Fatal(s, e)
	}
	seal := ""
	if s, _, link := download(t, api, mallory, key, up.Token, ""); s == http.StatusFound {
		r, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		seal = r.Header.Get("X-Cos-Meta-Directup-Upload")
		r.Body.Close()
	}
	if seal == "" {
		t.Fatal("no seal read back")
	}
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"key": key, "contentType": ct, "size": len(content)}, &k); s != 200 {
		t.Fatalf("sts %d %+v", s, k.Error)
	}
	h := http.Header{}
	h.Set("X-Cos-Meta-Directup-Upload", seal)
	opt := &sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: ct, XCosMetaXXX: &h}, ACLHeaderOptions: &sdk.ACLHeaderOptions{}}
	set(opt)
	if _, err := sdkFor(k).Object.Put(context.Background(), key, strings.NewReader(content), opt); err != nil {
		t.Fatalf("put with the keys: %v", err)
	}
	if err := a.Service.ObjectCreated(context.Background(), key); err != nil {
		t.Logf("ObjectCreated: %v", err)
	}
	return a, key
}

// BROKE, fixed (a sealed object written while keys were out is held to what every API upload keeps). The storage-triggered check skips everything it holds temporary keys' objects to —
// their declaration (disposition, checksum), their storage class, their grants — for an
// object whose directup-upload seal verifies (newCreatedObject / verdict: `o.write == ""`).
// The seal binds key, size, type and profile only, and it is readable, so a caller who
// completed one API upload at a key, then took keys for that key with the same size and
// type, writes with them an object that carries her copied seal and passes as an API
// upload's. Here the object is made public-read (x-cos-acl) though UPLOAD_ALLOWED_ACLS is
// empty: kept, and told completed. An API upload could never have carried that ACL.
// Fix: a seal should exempt only what the API's initiate pinned; run keysGrants, the class
// check and the declaration check (or at least the ACL read) for sealed objects too — or
// bind the seal to the write itself (e.g. check the object's grants/class/disposition against
// what the seal's upload declared, kept in the seal or in a record of the upload).
func TestAttack4CopiedSealMakesKeysObjectPublic(t *testing.T) {
	a, key := attack4Seal(t, nil, "text/plain", "hello", func(o *sdk.ObjectPutOptions) { o.ACLHeaderOptions.XCosACL = "public-read" })
	if _, err := os.Stat(localServer(a).ObjectPath(key)); err == nil {
		grants, _ := a.Store.(storage.GrantReader).OthersGrants(context.Background(), key)
		t.Logf("grants to others on the kept object: %+v", grants)
		t.Errorf("HOLE: an object written with temporary keys and x-cos-acl: public-read stays (UPLOAD_ALLOWED_ACLS is empty): a copied seal exempted it from the grants check")
	}
}

// BROKE, fixed. Same flaw, other rule: with text/html allowed by name, the API stores HTML with
// Content-Disposition: attachment and the keys' declaration names attachment too; keys
// that copy the seal of their caller's own API upload at the key write the page inline
// (no Content-Disposition), and the check keeps it: script served inline from the bucket's
// domain, what README's /sts section says the disposition check exists to prevent.
func TestAttack4CopiedSealServesHTMLInline(t *testing.T) {
	page := "<html><script>alert(document.domain)</script></html>"
	a, key := attack4Seal(t, map[string]string{"UPLOAD_ALLOWED_TYPES": "text/html,text/plain"}, "text/html", page, func(*sdk.ObjectPutOptions) {})
	info, err := a.Store.(storage.Objects).Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Exists && !strings.HasPrefix(info.ContentDisposition, "attachment") {
		t.Errorf("HOLE: HTML stays with Content-Disposition %q (declared attachment): a copied seal exempted it from its keys' declaration", info.ContentDisposition)
	}
}

// BROKE, fixed. Same flaw: the keys choose the storage class (their CAM policy pins type and
// length only); UPLOAD_ALLOWED_STORAGE_CLASSES is STANDARD, and an unsealed keys' object
// in DEEP_ARCHIVE (unreadable until restored, so its content can never be checked) is deleted (TestAttackKeysChooseTheStorageClass). With the copied seal
// it stays.
func TestAttack4CopiedSealChoosesTheStorageClass(t *testing.T) {
	a, key := attack4Seal(t, nil, "text/plain", "hello", func(o *sdk.ObjectPutOptions) { o.ObjectPutHeaderOptions.XCosStorageClass = "DEEP_ARCHIVE" })
	info, err := a.Store.(storage.Objects).Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Exists {
		t.Errorf("HOLE: an object written with temporary keys in class %q stays (only STANDARD allowed): a copied seal exempted it", info.StorageClass)
	}
}

// BROKE, fixed (the declaration says whether SSE-C was asked for). Temporary keys' objects are held to their declaration (size, type, disposition,
// class, grants) and their content checked — unless the object is SSE-C encrypted: verdict
// skips content verification for every CustomerKeyEncrypted object, and nothing holds
// keys to the encryption they declared (none here). The keys' CAM policy does not pin the
// SSE-C headers, so mallory, declaring image/png, writes an HTML page as image/png under
// a customer key of her own choosing; the check keeps it and tells it completed as a PNG.
// Whoever holds the customer key (mallory hands it out with the object's URL) reads HTML
// the deployment accepted as an image. Forms are already refused this way ("a form directup
// signed never asks for SSE-C"); the keys' path is not.
// Fix: record in the declaration whether SSE-C was asked for, and delete a keys' object
// that is SSE-C encrypted when its declaration did not ask for it (as forms do).
func TestAttack4KeysHideContentBehindSSEC(t *testing.T) {
	a, api := attackApp(t, map[string]string{"UPLOAD_VERIFY_CONTENT": "true", "UPLOAD_ALLOWED_TYPES": "image/png"})
	mallory := functest.JWT(t, "mallory", time.Now().Add(time.Hour))
	page := "<html><script>alert(document.domain)</script></html>"
	var k stsKeys
	if s := do(t, "POST", api+"/sts", mallory, map[string]any{"filename": "a.png", "contentType": "image/png", "size": len(page)}, &k); s != 200 {
		t.Fatalf("sts %d %+v", s, k.Error)
	}
	ck := strings.Repeat("k", 32)
	sum := md5.Sum([]byte(ck))
	opt := &sdk.ObjectPutOptions{ObjectPutHeaderOptions: &sdk.ObjectPutHeaderOptions{ContentType: "image/png",
		XCosSSECustomerAglo: "AES256", XCosSSECustomerKey: base64.StdEncoding.EncodeToString([]byte(ck)),
		XCosSSECustomerKeyMD5: base64.StdEncoding.EncodeToString(sum[:])}}
	if _, err := sdkFor(k).Object.Put(context.Background(), k.Key, strings.NewReader(page), opt); err != nil {
		t.Fatalf("put with the keys: %v", err)
	}
	err := a.Service.ObjectCreated(context.Background(), k.Key)
	info, _ := a.Store.(storage.Objects).Stat(context.Background(), k.Key)
	if info.Exists {
		t.Errorf("HOLE: HTML declared image/png, written with the keys under SSE-C (not declared), stays (encrypted %v; check: %v)", info.CustomerKeyEncrypted, err)
	}
}

// The SSE-C hiding with a copied seal too: mallory's own API upload's seal on the bytes her
// keys write under a customer key she chose. Written while her keys were out, the object is
// held to them: none asked for SSE-C, so it is deleted.
func TestAttack4CopiedSealHidesContentBehindSSEC(t *testing.T) {
	ck := strings.Repeat("k", 32)
	sum := md5.Sum([]byte(ck))
	a, key := attack4Seal(t, map[string]string{"UPLOAD_VERIFY_CONTENT": "true", "UPLOAD_ALLOWED_TYPES": "image/png"}, "image/png",
		"\x89PNG\r\n\x1a\n0123456789abcdef", func(o *sdk.ObjectPutOptions) {
			o.XCosSSECustomerAglo, o.XCosSSECustomerKey = "AES256", base64.StdEncoding.EncodeToString([]byte(ck))
			o.XCosSSECustomerKeyMD5 = base64.StdEncoding.EncodeToString(sum[:])
		})
	info, _ := a.Store.(storage.Objects).Stat(context.Background(), key)
	if info.Exists {
		t.Errorf("an object written under keys with a copied seal and an undeclared customer key stays (encrypted %v)", info.CustomerKeyEncrypted)
	}
}
