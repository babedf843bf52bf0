package upload_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
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

// An upload whose complete recorded nothing (completed before these records were kept)
// is judged as before them: its seal counts unless keys of another caller that existed at
// its write declared exactly it, so its own honest object is not removed for keys that
// declared something else.
func TestUnrecordedUploadIsJudgedByTheDeclarations(t *testing.T) {
	for _, tt := range []struct {
		name        string
		declareSize int
		wantCaller  string
	}{
		{"keys declared another size", len(png56) + 1, ""},
		{"keys declared exactly it", len(png56), "mallory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Judged a while after its write: a record missing for a young object is awaited.
			later := func() time.Time { return time.Now().Add(time.Minute) }
			e := newHolesEnv(t, nil, false, upload.WithClock(later))
			alice := upload.WithCaller(context.Background(), "alice")
			key := "uploads/shared/legacy.png"
			up, done, err := e.upload(t, alice, key, "image/png", png56)
			if err != nil {
				t.Fatal(err)
			}
			seal := sealOf(t, e, key)
			if err := e.store.Client.Delete(context.Background(), storedRecord(key, seal[:16])); err != nil {
				t.Fatal(err)
			}
			declareFor(t, e, key, "mallory", "image/png", tt.declareSize)
			if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			if !e.exists(t, key) {
				t.Fatal("the unrecorded upload was removed")
			}
			if got := lastEvent(t, e); got.Type != events.Completed || got.Caller != tt.wantCaller {
				t.Errorf("told %s for %q, want completed for %q", got.Type, got.Caller, tt.wantCaller)
			}
			_, err = e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
			if (err == nil) != (tt.wantCaller == "") {
				t.Errorf("alice's repeated complete: %v", err)
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

// The record costs no round trip: a complete where others can be handed keys for the key
// is still the store's complete and one read, the record written alongside the read.
func TestCompleteRecordsAlongsideItsRead(t *testing.T) {
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
	if rounds, n := rt.since(); rounds != 2 || n != 3 {
		t.Errorf("complete: %d storage requests in %d round trips, want 3 in 2", n, rounds)
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
