package upload_test

// The seventh outside attack, on binding a recorded seal to the object its complete
// stored (911f122, f919282: storedwrite.go's record of the ETag and storedText,
// recordedVerdict, StoredBy). Each test fails (printing HOLE) on the code it names.

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// putMultipartSSEC is putMultipartSealed with the object encrypted under a customer key
// of the writer's own (SSE-C headers at the initiate and on the part), as temporary keys
// for the key can: their CAM policy conditions type and length only.
func putMultipartSSEC(t *testing.T, e *holesEnv, obj *storage.Object, body []byte) string {
	t.Helper()
	ctx := context.Background()
	raw := []byte("mallorys-own-32-byte-customerkey")
	sum := md5.Sum(raw)
	ck, ckMD5 := base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(sum[:])
	obj.Encryption = &storage.Encryption{Type: storage.SSEC, CustomerKey: ck, CustomerKeyMD5: ckMD5}
	id, err := e.store.Client.Initiate(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Cos-Server-Side-Encryption-Customer-Algorithm": {"AES256"},
		"X-Cos-Server-Side-Encryption-Customer-Key": {ck}, "X-Cos-Server-Side-Encryption-Customer-Key-Md5": {ckMD5}}
	resp, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: obj.Key, Body: body, Header: h,
		Query: url.Values{"partNumber": {"1"}, "uploadId": {id}}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.store.Client.Complete(ctx, obj.Key, id, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}}, storage.CompleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return done.ETag
}

// objectOf is an initiate of the very object info describes (its type, settings and
// metadata, the seal among them).
func objectOf(key string, info storage.ObjectInfo) *storage.Object {
	return &storage.Object{Key: key, ContentType: info.ContentType, CacheControl: info.CacheControl, ContentDisposition: info.ContentDisposition,
		ContentEncoding: info.ContentEncoding, Expires: info.Expires, Metadata: maps.Clone(info.Metadata)}
}

// BROKE (ESCAPE + lasting DoS). The record binds the ETag and storedText, and storedText
// leaves out whether the object is encrypted with a customer's key (SSE-C is not
// info.Encryption: CustomerKeyEncrypted is a field of its own). Keys for alice's key that
// rebuild her very object — her bytes cut as her upload cut them, her seal and settings —
// under SSE-C with a customer key of mallory's own store an object of the ETag the record
// names (the store's part ETags are of the plaintext here) and the same storedText: it is
// bound, so it counts as alice's API upload. Unbound, declaredVerdict would delete it ("a
// customer's key its keys' request did not ask for"); bound, that check never runs (nor
// the content check: SSE-C), and the object stays, readable by nobody but mallory (alice's
// file denied to every reader for good), told under alice's own event id (a duplicate
// receivers drop), with no caller.
// Fix: put CustomerKeyEncrypted (and the SSE-C key's MD5, where a HEAD tells it) in
// storedText; better, bind the object's LastModified (or version id) from the complete's
// read too, so no rewrite is ever the upload's object.
func TestAttack7CustomerKeyRebuildIsBound(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/report.txt"
	_, done, err := e.upload(t, alice, key, "text/plain", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	api := lastEvent(t, e)
	info, _ := e.store.Stat(context.Background(), key)
	time.Sleep(1100 * time.Millisecond)
	five := int64(5)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	etag := putMultipartSSEC(t, e, objectOf(key, info), []byte("hello"))
	now, _ := e.store.Stat(context.Background(), key)
	if !now.CustomerKeyEncrypted || strings.Trim(etag, `"`) != strings.Trim(done.ETag, `"`) {
		t.Fatalf("setup: the SSE-C rebuild: encrypted %v, ETag %s (the upload's %s)", now.CustomerKeyEncrypted, etag, done.ETag)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	got := lastEvent(t, e)
	if e.exists(t, key) {
		t.Errorf("HOLE: keys that asked for no customer key rewrote alice's object under SSE-C of their own, and it stays as her bound upload (told %s, caller %q, id same as the API's: %v)",
			got.Type, got.Caller, got.ID == api.ID)
	}
}

// BROKE (ESCAPE, silent). "Their exact rebuild is the upload's own object again": only
// while that object is still the one at the key. Mallory uploads her file A1 through the
// API (she reads her own seal back), then bob uploads his A2 to the same shared key. Mallory
// takes keys for the key (declaring 6 bytes) and rebuilds her A1 exactly — her bytes cut
// as her upload cut them, her seal, its settings. Her A1's record binds it: the storage check
// takes it for A1's API upload (not held to the keys' declaration, so 5 bytes under keys
// that declared 6 stay), names no caller (not the keys' mallory) and tells it under A1's
// own event id "w:<A1's write>@<A1's ETag>", which receivers already saw and drop as a
// duplicate: bob's file is replaced in the bucket and nobody hears of it.
// Fix: bind what only the complete's object has — its LastModified (or version id), from the
// complete's read, in the record — so a rebuild (a later write) is never the upload's; at the
// least, tell a bound object's storage event under an id naming its LastModified.
func TestAttack7RebuiltOldUploadReplacesANewerOneSilently(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	mallory := upload.WithCaller(context.Background(), "mallory")
	bob := upload.WithCaller(context.Background(), "bob")
	key := "uploads/shared/notes.txt"
	if _, _, err := e.upload(t, mallory, key, "text/plain", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	a1 := lastEvent(t, e)
	info1, _ := e.store.Stat(context.Background(), key)
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := e.upload(t, bob, key, "text/plain", []byte("bob's newer notes")); err != nil {
		t.Fatal(err)
	}
	a2 := lastEvent(t, e)
	time.Sleep(1100 * time.Millisecond)
	six := int64(6)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
		t.Fatal(err)
	}
	putMultipartSealed(t, e, objectOf(key, info1), []byte("hello"))
	before := len(e.told.all())
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	evs := e.told.all()[before:]
	if len(evs) == 0 {
		t.Fatal("nothing told")
	}
	got := evs[len(evs)-1]
	if e.exists(t, key) && got.Type == events.Completed && got.Caller != "mallory" {
		t.Errorf("HOLE: mallory's keys' rebuild of her old upload over bob's (5 bytes, her keys declared 6) stays as an API upload, caller %q", got.Caller)
	}
	if got.ID == a1.ID {
		t.Errorf("HOLE: the replacement of bob's object (%s) is told under the old upload's event id %s: receivers drop it as a duplicate", a2.ETag, got.ID)
	}
}

// BROKE (ESCAPE through the complete's read). The record keeps the settings the complete's
// read found, not the ones the upload asked for: whatever carries the store's ETag at the key
// when that read runs is recorded as the upload's object. Alice's upload is no longer open
// once the store's complete returns, so mallory can take keys for the key at once and, before
// the complete's read (one round trip later; more while the store throttles that read),
// rebuild alice's bytes cut the same way — the very ETag — with settings of her own
// (Content-Encoding, Cache-Control, metadata). Alice's complete reads it, finds the ETag it
// was answered, and records mallory's settings as what it stored: the rebuild is bound, kept
// as alice's API upload (not held to the keys' declaration of 6 bytes, no caller named), and
// the API's own upload.completed tells mallory's metadata as alice's.
// Fix: record what the upload asked for (objectSettings of the initiate's object, kept in the
// token or the seal) and hold the read to it — a read that finds other settings records
// nothing that binds (and the complete refuses, or tells the object as another's) — or bind
// the store's LastModified/version of the complete's answer, not of the read.
func TestAttack7RebuildBeforeTheCompletesReadIsRecorded(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/window.txt"
	size := int64(5)
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, up.Parts[0], []byte("hello"))
	var once sync.Once
	g.beforeRead = func(string) {
		once.Do(func() { // the store completed alice's upload: her seal is readable, the upload no longer open
			six := int64(6)
			if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
				t.Error(err)
				return
			}
			info, _ := e.store.Client.Stat(context.Background(), key)
			obj := objectOf(key, info)
			obj.ContentEncoding, obj.CacheControl = "gzip", "public, max-age=31536000"
			obj.Metadata["approved-by"] = "admin"
			putMultipartSealed(t, e, obj, []byte("hello"))
		})
	}
	done, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	g.beforeRead = nil
	if err != nil {
		t.Fatalf("alice's complete: %v", err)
	}
	apiSaid := lastEvent(t, e)
	info, _ := e.store.Stat(context.Background(), key)
	if info.ContentEncoding != "gzip" || strings.Trim(info.ETag, `"`) != strings.Trim(done.ETag, `"`) {
		t.Fatalf("setup: mallory's rebuild is not at the key: %+v", info)
	}
	if apiSaid.Metadata["approved-by"] == "admin" {
		t.Errorf("HOLE: the API's upload.completed for alice tells the metadata mallory's rewrite set (%v)", apiSaid.Metadata)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	got := lastEvent(t, e)
	if e.exists(t, key) && got.Type == events.Completed && got.Caller != "mallory" {
		t.Errorf("HOLE: mallory's rebuild with her own settings (gzip, public cache, approved-by=admin), written before alice's complete read, is recorded and bound as alice's upload (caller %q)", got.Caller)
	}
}

// BROKE (a copy answered as the owner's, once keys are no longer handed out). StoredBy
// consults a recorded seal's record only while othersCanKey holds *now*: turn off
// UPLOAD_ALLOW_STS (or a profile's clientKeys, or the hook) and every recorded seal counts
// on whatever carries it. Mallory's copy of alice's seal, written under her keys while they
// were handed out (the storage check rightly credited it to her), is then alice's upload:
// alice's repeated complete answers mallory's bytes and tells upload.completed of them
// under alice's upload, her download link and checksum read hand them out; the record at
// the key, which names alice's object, is never read.
// Fix: a seal that says it is recorded is judged by its record whatever the deployment's
// settings now (storedBy: read the record when seal.recorded, before othersCanKey).
func TestAttack7RecordIgnoredOnceKeysAreOff(t *testing.T) {
	b := functest.NewBackend(t)
	on := newHolesEnvOn(t, b, nil, false)
	off := newHolesEnvOn(t, b, func(p *policy.Policy) { p.AllowSTS = false }, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/later-off.txt"
	up, done, err := on.upload(t, alice, key, "text/plain", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	seal := sealOf(t, on, key)
	time.Sleep(1100 * time.Millisecond)
	five := int64(5)
	if _, err := on.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	putSealed(t, on, key, "text/plain", seal, []byte("HELLO"))
	if err := on.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, on); got.Caller != "mallory" || !on.exists(t, key) {
		t.Fatalf("setup: mallory's keys' write told %s for %q", got.Type, got.Caller)
	}
	info, _ := off.store.Stat(context.Background(), key)
	c, err := off.svc.Upload(alice, up.Token)
	if err != nil {
		t.Fatal(err)
	}
	if by, err := off.svc.StoredBy(alice, c, info); err == nil && by {
		t.Errorf("HOLE: with keys no longer handed out, StoredBy answers mallory's copy (%s) as alice's upload; her record names %s", info.ETag, done.ETag)
	}
	again, err := off.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
	if err == nil && again.ETag == info.ETag {
		t.Errorf("HOLE: alice's repeated complete answers mallory's bytes as hers (%s; told %s)", again.ETag, lastEvent(t, off).Type)
	}
}
