package upload_test

// The fourth outside attack. Each test fails (printing HOLE) on the code it names.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// BROKE, fixed for the storage check (what keys declared, written once they existed, is theirs whatever seal it carries). README (Security model, Event ids): "An upload with temporary keys that copies
// another upload's directup-upload metadata is named by its keys instead, so it cannot take
// that upload's id". That holds only when the copy is put on bytes of another size or
// type: the seal binds key, size, media type and profile, not the bytes. Alice completes
// "hello" (text/plain) at a client key; mallory, who can read the object's metadata (a
// seal is readable), takes temporary keys for the key with the same size and type and
// writes "HELLO" with alice's seal. The storage-triggered check takes it for an API write:
// no declaration is consulted, the event is told as completed with alice's write id
// (w:<alice's write>@etag) and no caller, instead of naming mallory's keys and mallory —
// and alice's token now "owns" mallory's object (UploadedBy: a repeated complete answers
// it, local mode's /local/download hands it out to alice as hers).
// Fix: do not let a seal exempt an object from the declarations of keys that hold for its
// write: when a declaration held at the object's LastModified, a seal whose API upload
// completed before that time (or any seal, when a declaration matches) must not name it;
// better, bind the seal to the write (the assembled object's ETag is known only after
// complete, so record the write's ETag at complete and have UploadedBy/apiWrite compare it).
func TestAttack4CopiedSealTakesAnotherUploadsID(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/notes.txt"
	up, done, err := e.upload(t, alice, key, "text/plain", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	seal := info.Metadata[policy.WriteMetadata]
	five := int64(5)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"text/plain"}, "X-Cos-Meta-" + policy.WriteMetadata: {seal}}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: []byte("HELLO"), Header: h}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	evs := e.told.all()
	last := evs[len(evs)-1]
	asAlices := events.EventID(events.Completed, e.store.Bucket(), key, "w:"+seal[:16]+"@"+strings.Trim(last.ETag, `"`))
	if last.Type == events.Completed && (last.Caller != "mallory" || last.ID == asAlices) {
		t.Errorf("HOLE: mallory's keys' write is told as %s with caller %q and id %s (alice's write's id: %v), not named by mallory's keys", last.Type, last.Caller, last.ID, last.ID == asAlices)
	}
	// Nor does alice's token take mallory's object for hers: her repeated complete is
	// not answered with it.
	again, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
	if err == nil && again.ETag == last.ETag {
		t.Errorf("alice's repeated complete answers mallory's object as hers: %+v", again)
	}
}

// BROKE, fixed (an open seal under keys is held to a declared size). Same flaw, with the size: the seal of an open upload (Uppy without metadata.size,
// API_COMPANION_OPEN_UPLOADS) is made over "open", and apiWrite accepts an "open" seal at
// any size. Mallory completes a 5-byte open upload at a generated key, reads its seal,
// takes temporary keys for that key (client keys on) declaring 5 bytes, and writes 1 MiB
// with the seal: no declaration is consulted, only the deployment's maximum, so the object
// stays 200,000 times the size her keys declared (README: "a 1 MiB object where 3 MiB were
// declared is removed" — the keys' total size is checked only here).
// Fix: as above (a seal never exempts an object from a declaration that holds for it);
// at least never accept an "open" seal on an object whose key has declarations that hold.
func TestAttack4OpenSealLetsKeysExceedTheirDeclaration(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	mallory := upload.WithCaller(context.Background(), "mallory")
	in, err := e.svc.InitiateOpen(mallory, "a.txt", "text/plain", "")
	if err != nil {
		t.Fatal(err)
	}
	urls, err := e.svc.PresignParts(mallory, in.Token, in.UploadID, []int{1}, "")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, urls.Parts[0].URL, strings.NewReader("hello"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := e.svc.Complete(mallory, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}}); err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(context.Background(), in.Key)
	if err != nil {
		t.Fatal(err)
	}
	five := int64(5)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: in.Key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	big := []byte(strings.Repeat("A", 1<<20))
	h := http.Header{"Content-Type": {"text/plain"}, "X-Cos-Meta-" + policy.WriteMetadata: {info.Metadata[policy.WriteMetadata]}}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: in.Key, Body: big, Header: h}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), in.Key); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.store.Stat(context.Background(), in.Key); after.Exists && after.Size == int64(len(big)) {
		t.Errorf("HOLE: a %d-byte object written with keys that declared 5 bytes stays (an open upload's seal copied onto it)", after.Size)
	}
}

// BROKE, fixed (only this upload's own write is its completion). README (DELETE /uploads/{id}): "Aborting an upload that is already gone (aborted,
// expired) also answers 204; one that was already completed answers 409 upload_completed
// (the object is stored: delete it to undo)". Abort tells the two apart by the object at
// the key being newer than the upload's token, not by the object carrying this upload's
// write (UploadedBy). With client keys, alice aborts her upload (204), bob then completes
// his own upload at the same key, and alice's client retries the DELETE (its first answer
// lost): told 409 upload_completed, "the object ... is stored; delete it to undo" — bob's
// object, which alice never stored, and which that advice has her delete. (The same
// answer comes when her upload merely expired.)
// Fix: answer upload_completed only when the object carries this upload's write
// (s.UploadedBy(c, info)), as completedBefore and /local/download already decide.
func TestAttack4AbortRetryClaimsAnotherCallersObject(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	key := "uploads/shared/report.txt"
	five := int64(5)
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Abort(alice, up.Token, up.UploadID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.upload(t, bob, key, "text/plain", []byte("bob's")); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Abort(alice, up.Token, up.UploadID); err != nil {
		t.Errorf("HOLE: alice's repeated abort of her aborted upload answers %v: told her upload was completed (bob's object)", err)
	}
}
