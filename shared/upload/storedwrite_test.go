package upload_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// declareFor keeps, as POST /sts would, a declaration of caller's keys for key (valid from
// a minute ago for half an hour).
func declareFor(t *testing.T, e *holesEnv, key, caller, contentType string, size int) {
	t.Helper()
	now := time.Now().Unix()
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	if err := book.PutIn(context.Background(), records.Declared, key, "k-"+caller, map[string]any{"size": size, "contentType": contentType,
		"caller": caller, "keys": "k-" + caller, "notBefore": now - 60, "notAfter": now + 1800}); err != nil {
		t.Fatal(err)
	}
}

// storedRecord is the path of the record of what the upload writing write stored at key.
func storedRecord(key, write string) string {
	return records.New(nil, "uploads/", []byte(holesSecret)).Path(records.Stored, key+"\x00"+write)
}

// sealOf is the seal (WriteMetadata) of the object at key.
func sealOf(t *testing.T, e *holesEnv, key string) string {
	t.Helper()
	info, err := e.store.Stat(context.Background(), key)
	if err != nil || len(info.Metadata[policy.WriteMetadata]) != 32 {
		t.Fatalf("no seal at %s: %v %v", key, err, info.Metadata)
	}
	return info.Metadata[policy.WriteMetadata]
}

// putSealed writes body at key with seal, as temporary keys for the key can.
func putSealed(t *testing.T, e *holesEnv, key, contentType, seal string, body []byte) {
	t.Helper()
	h := http.Header{"Content-Type": {contentType}, "X-Cos-Meta-" + policy.WriteMetadata: {seal}}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: body, Header: h}); err != nil {
		t.Fatal(err)
	}
}

// lastEvent is the last event told.
func lastEvent(t *testing.T, e *holesEnv) events.Event {
	t.Helper()
	evs := e.told.all()
	if len(evs) == 0 {
		t.Fatal("nothing told")
	}
	return evs[len(evs)-1]
}

// Storage may report an object before its complete has recorded what it stored (the
// record is written while the complete reads the object back): the storage check waits
// for the record of a young object, so an honest upload is not taken for the write of keys
// that declared exactly it.
func TestObjectCreatedAwaitsTheCompletesRecord(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	key := "uploads/shared/young.png"
	size := int64(len(png56))
	up, err := e.svc.Initiate(alice, pngReq(key, size))
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, up.Parts[0], png56)
	declareFor(t, e, key, "mallory", "image/png", len(png56)) // keys that declared alice's very file
	entered, release := make(chan struct{}), make(chan struct{})
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Stored)+"/") {
			close(entered)
			<-release
		}
	}
	completed := make(chan error, 1)
	go func() {
		_, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
		completed <- err
	}()
	<-entered // the store completed; the record is not written yet
	checked := make(chan error, 1)
	go func() { checked <- e.svc.ObjectCreated(context.Background(), key) }()
	time.Sleep(300 * time.Millisecond)
	close(release)
	if err := <-completed; err != nil {
		t.Fatal(err)
	}
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.told.all() {
		if ev.Caller == "mallory" || ev.Type != events.Completed {
			t.Errorf("alice's upload, checked before its record was written, told %s for %q", ev.Type, ev.Caller)
		}
	}
	if !e.exists(t, key) {
		t.Error("alice's upload was removed")
	}
}

// The record binds only if directup sealed it: a record forged where a write's is kept,
// naming the ETag of bytes keys wrote under a copy of the seal, does not make them the
// upload's (they are held to the keys' declaration, and removed).
func TestForgedStoredRecordBindsNothing(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	key := "uploads/shared/forged.txt"
	if _, _, err := e.upload(t, alice, key, "text/plain", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	seal := sealOf(t, e, key)
	declareFor(t, e, key, "mallory", "text/plain", 6)
	putSealed(t, e, key, "text/plain", seal, []byte("HELLO"))
	info, _ := e.store.Stat(context.Background(), key)
	forged := `{"kind":"stored","subject":"` + key + `\u0000` + seal[:16] + `","body":{"etag":` + `"` + strings.Trim(info.ETag, `"`) + `"},"mac":"00"}`
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: storedRecord(key, seal[:16]), Body: []byte(forged)}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Errorf("bytes written under a copied seal stay, a forged record naming them (told %s)", lastEvent(t, e).Type)
	}
}

// An upload sealed before these records (AllowSTS turned on since) is judged as before
// them: its seal counts unless keys of another caller that existed at its write declared
// exactly it, so its own honest object is not removed for keys that declared something
// else. A recorded seal whose record is missing (its complete could not write it and was
// never repeated), judged once the record can no longer be on its way, counts only where no
// keys held at its write: else it is held to their declarations like any of their objects.
func TestUnrecordedUploadIsJudgedByTheDeclarations(t *testing.T) {
	for _, tt := range []struct {
		name        string
		legacy      bool // sealed before records
		declareSize int
		stays       bool
		wantCaller  string
	}{
		{"sealed before records, keys declared another size", true, len(png56) + 1, true, ""},
		{"sealed before records, keys declared exactly it", true, len(png56), true, "mallory"},
		{"record missing, keys declared another size", false, len(png56) + 1, false, "mallory"},
		{"record missing, keys declared exactly it", false, len(png56), true, "mallory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Judged a while after its write: a record missing for a young object is awaited.
			later := func() time.Time { return time.Now().Add(time.Minute) }
			b := functest.NewBackend(t)
			e := newHolesEnvOn(t, b, nil, false, upload.WithClock(later))
			up := e
			if tt.legacy {
				up = newHolesEnvOn(t, b, func(p *policy.Policy) { p.AllowSTS = false }, false)
			}
			alice := upload.WithCaller(context.Background(), "alice")
			key := "uploads/shared/legacy.png"
			if _, _, err := up.upload(t, alice, key, "image/png", png56); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Client.Delete(context.Background(), storedRecord(key, sealOf(t, e, key)[:16])); err != nil {
				t.Fatal(err)
			}
			declareFor(t, e, key, "mallory", "image/png", tt.declareSize)
			if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if got := e.exists(t, key); got != tt.stays {
				t.Fatalf("stays %v, want %v", got, tt.stays)
			}
			if got := lastEvent(t, e); got.Caller != tt.wantCaller {
				t.Errorf("told %s for %q, want %q", got.Type, got.Caller, tt.wantCaller)
			}
		})
	}
}

// A complete whose record could not be written is refused (the object stands, unbound from
// its seal, and nothing is told yet): the client's repeated complete records it and
// answers it, told once.
func TestCompleteRecordFailureIsRetried(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	key := "uploads/shared/retried.png"
	g.failPutRecord = func(path string) error {
		if strings.Contains(path, "/"+string(records.Stored)+"/") {
			return &errcode.Error{Code: errcode.UpstreamBusy, Message: "record write refused (test)"}
		}
		return nil
	}
	up, _, err := e.upload(t, alice, key, "image/png", png56)
	if !errcode.Is(err, errcode.UpstreamBusy) {
		t.Fatalf("complete with its record refused: %v, want upstream_busy", err)
	}
	if n := len(e.told.all()); n != 0 {
		t.Errorf("%d events told for a complete that failed", n)
	}
	g.failPutRecord = nil
	info, _ := e.store.Stat(context.Background(), key)
	done, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: info.ETag}})
	if err != nil || done.ETag != info.ETag {
		t.Fatalf("repeated complete: %v %+v", err, done)
	}
	if got, _, err := e.store.Client.GetMarker(context.Background(), storedRecord(key, sealOf(t, e, key)[:16])); err != nil || len(got) == 0 {
		t.Errorf("the repeated complete recorded nothing: %v", err)
	}
	// Keys declared after it for exactly this file do not take it: it is bound now.
	declareFor(t, e, key, "mallory", "image/png", len(png56))
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, e); got.Caller == "mallory" || got.Type != events.Completed {
		t.Errorf("alice's upload told %s for %q", got.Type, got.Caller)
	}
}

// The record costs one round trip, where others can be handed keys for the key only: the
// store's complete, one read, then the record of what the read found (its settings).
func TestCompleteRecordsAfterItsRead(t *testing.T) {
	e, rt := newRoundsEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	size := int64(len(png56))
	up, err := e.svc.Initiate(alice, pngReq("uploads/shared/rt.png", size))
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, up.Parts[0], png56)
	rt.since()
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
		t.Fatal(err)
	}
	if rounds, n := rt.since(); rounds != 3 || n != 3 {
		t.Errorf("complete: %d storage requests in %d round trips, want 3 in 3", n, rounds)
	}
	if got, _, err := e.store.Client.GetMarker(context.Background(), storedRecord(up.Key, sealOf(t, e, up.Key)[:16])); err != nil || len(got) == 0 {
		t.Errorf("nothing recorded: %v", errors.Join(err))
	}
}

// The storage-triggered function tells an API upload's object under the API's own event
// id (receivers deduplicate on it), also while another caller's keys for its key are out
// and declared exactly it: its complete's record makes it the upload's.
func TestStorageTellsTheAPIsEventID(t *testing.T) {
	for _, keysOut := range []bool{false, true} {
		e := newHolesEnv(t, nil, false)
		alice := upload.WithCaller(context.Background(), "alice")
		key := "uploads/shared/same-id.png"
		if _, _, err := e.upload(t, alice, key, "image/png", png56); err != nil {
			t.Fatal(err)
		}
		if keysOut {
			declareFor(t, e, key, "mallory", "image/png", len(png56))
		}
		if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		evs := e.told.all()
		if len(evs) != 2 || evs[0].Source != "api" || evs[1].Source != "storage" {
			t.Fatalf("keys out %v: told %+v", keysOut, evs)
		}
		if evs[0].ID != evs[1].ID || evs[1].Type != events.Completed || evs[1].Caller == "mallory" {
			t.Errorf("keys out %v: the API told %s, storage %s %s for %q", keysOut, evs[0].ID, evs[1].Type, evs[1].ID, evs[1].Caller)
		}
	}
}

// The record binds the object, not only its bytes: keys that rebuild an upload's very
// bytes, cut into the same parts (so of the ETag the record names), with any one setting
// of their own — a Content-Type's parameters, an entity header, metadata, a customer's key —
// or a second later write no upload's object: it is held to their declaration (here of
// another size: deleted). Their exact rebuild within the second is the upload's own object
// again (Last-Modified counts seconds), but for grants of their own.
func TestRecordBindsTheObjectsSettings(t *testing.T) {
	for _, tt := range []struct {
		name  string
		vary  func(o *storage.Object)
		stays bool
	}{
		{"the very object, in the same second", func(o *storage.Object) {}, true},
		{"the very object, a second later", func(o *storage.Object) { time.Sleep(1100 * time.Millisecond) }, false},
		{"a charset", func(o *storage.Object) { o.ContentType += "; charset=utf-7" }, false},
		{"Cache-Control", func(o *storage.Object) { o.CacheControl = "public, max-age=31536000" }, false},
		{"Content-Encoding", func(o *storage.Object) { o.ContentEncoding = "gzip" }, false},
		{"Content-Disposition", func(o *storage.Object) { o.ContentDisposition = `attachment; filename="invoice.exe"` }, false},
		{"metadata", func(o *storage.Object) { o.Metadata["approved-by"] = "admin" }, false},
		{"a public ACL", func(o *storage.Object) { o.ACL = "public-read" }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newHolesEnv(t, nil, false)
			alice := upload.WithCaller(context.Background(), "alice")
			mallory := upload.WithCaller(context.Background(), "mallory")
			key := "uploads/shared/rebuilt.txt"
			_, done, err := e.upload(t, alice, key, "text/plain", []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			info, _ := e.store.Stat(context.Background(), key)
			six := int64(6)
			if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
				t.Fatal(err)
			}
			obj := &storage.Object{Key: key, ContentType: info.ContentType, CacheControl: info.CacheControl, ContentDisposition: info.ContentDisposition,
				ContentEncoding: info.ContentEncoding, Expires: info.Expires, Metadata: maps.Clone(info.Metadata)}
			tt.vary(obj)
			if etag := putMultipartSealed(t, e, obj, []byte("hello")); strings.Trim(etag, `"`) != strings.Trim(done.ETag, `"`) {
				t.Fatalf("setup: the rebuilt parts' ETag %s is not the upload's %s", etag, done.ETag)
			}
			if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if got := e.exists(t, key); got != tt.stays {
				t.Errorf("the rebuilt object stays %v, want %v (told %s for %q)", got, tt.stays, lastEvent(t, e).Type, lastEvent(t, e).Caller)
			}
		})
	}
}

// The complete's read finding another object at the key (written between the store's
// complete and the read) records nothing that binds: the upload's object is gone, and the
// one there carries a copy of its seal.
func TestRecordOfAReplacedObjectBindsNothing(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/replaced.txt"
	size := int64(5)
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, up.Parts[0], []byte("hello"))
	var once sync.Once
	g.beforeRead = func(string) {
		once.Do(func() { // the complete's read: the store completed, the upload is no longer open
			six := int64(6)
			if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
				t.Error(err)
			}
			info, _ := e.store.Client.Stat(context.Background(), key)
			putSealed(t, e, key, "text/plain", info.Metadata[policy.WriteMetadata], []byte("HELLO"))
		})
	}
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
		t.Logf("alice's complete: %v", err)
	}
	g.beforeRead = nil
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Errorf("mallory's 5 bytes, under keys that declared 6, stay (told %s for %q)", lastEvent(t, e).Type, lastEvent(t, e).Caller)
	}
}

// A repeated complete racing its first call, while another caller's keys for the key are
// out, waits for the record the first is writing, and answers the upload's object.
func TestRepeatedCompleteAwaitsTheFirstsRecord(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	key := "uploads/shared/raced.png"
	up, err := e.svc.Initiate(alice, pngReq(key, int64(len(png56))))
	if err != nil {
		t.Fatal(err)
	}
	etag, _ := send(t, up.Parts[0], png56)
	declareFor(t, e, key, "mallory", "image/png", len(png56)+1)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Stored)+"/") {
			once.Do(func() { close(entered); <-release })
		}
	}
	first := make(chan error, 1)
	go func() {
		_, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
		first <- err
	}()
	<-entered
	go func() { time.Sleep(300 * time.Millisecond); close(release) }()
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
		t.Errorf("the repeat, racing the first complete: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// Keys declared after the storage check read the declarations, writing a copy of an
// upload's seal whose complete could not record it, are seen: the check reads the
// declarations again for a recent object with no record, and asks to be retried.
func TestUnrecordedCopyAfterTheDeclarationsRead(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/late-copy.txt"
	g.failPutRecord = func(path string) error {
		if strings.Contains(path, "/"+string(records.Stored)+"/") {
			return &errcode.Error{Code: errcode.UpstreamBusy, Message: "record write refused (test)"}
		}
		return nil
	}
	if _, _, err := e.upload(t, alice, key, "text/plain", []byte("hello")); !errcode.Is(err, errcode.UpstreamBusy) {
		t.Fatalf("setup: %v", err)
	}
	seal := sealOf(t, e, key)
	var once sync.Once
	g.beforeRead = func(string) {
		once.Do(func() {
			for g.gets.Load() < 2 { // the rejection and the declarations were read: none
				time.Sleep(time.Millisecond)
			}
			six := int64(6)
			if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
				t.Error(err)
			}
			putSealed(t, e, key, "text/plain", seal, []byte("HELLO"))
		})
	}
	g.gets.Store(0)
	if err := e.svc.ObjectCreated(context.Background(), key); !errcode.Is(err, errcode.UpstreamBusy) {
		t.Errorf("the copy's check: %v, want a retry (upstream_unavailable)", err)
	}
}

// A copy of a recorded seal is no upload's write even with no keys out for its key (their
// declaration dropped since, a replayed check, another writer): the storage check never
// tells it under the upload's own event id, which receivers would drop as a duplicate.
func TestCopiedSealWithNoKeysOutIsNotTheUploads(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	key := "uploads/shared/no-keys.txt"
	if _, _, err := e.upload(t, alice, key, "text/plain", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	api := lastEvent(t, e)
	// Its very bytes, cut as the upload cut them (so of its ETag), with a setting of another's.
	info, _ := e.store.Stat(context.Background(), key)
	putMultipartSealed(t, e, &storage.Object{Key: key, ContentType: info.ContentType, ContentDisposition: info.ContentDisposition,
		CacheControl: "public, max-age=31536000", Metadata: maps.Clone(info.Metadata)}, []byte("hello"))
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, e); got.ID == api.ID || got.Source != "storage" {
		t.Errorf("the copy is told %s %s (%s), the upload's id", got.Type, got.ID, got.Source)
	}
}
