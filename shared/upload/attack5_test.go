package upload_test

// The fifth outside attack, on the copied-seal fixes (verdict's writtenByKeys, StoredBy).
// Each test fails (printing HOLE) on the code it names.

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// BROKE (ESCAPE + POISON). README: "what keys declared (size, type, disposition, checksum)
// and wrote once they existed is theirs whatever seal it carries". verdict and StoredBy
// take the write from the seal's upload only when the object *matches* a declaration
// (matching(o.writtenByKeys(), info) != nil). Bytes that contradict the keys' declaration
// keep the copied seal's upload: they pass as alice's API upload. Alice completes "hello"
// at a shared client key; mallory reads its seal, takes keys for the key declaring 6 bytes
// (the keys' CAM policy bounds each request by <= 6: a 5-byte PUT is allowed) and writes
// "HELLO" with alice's seal. The object contradicts mallory's declaration (5 bytes, not 6;
// a declared checksum or disposition mismatch does the same), yet it is kept, told
// completed under alice's write id with no caller, and alice's repeated complete answers
// mallory's bytes as hers (so would an abort, the checksum read and /local/download).
// Exactly TestAttack4CopiedSealTakesAnotherUploadsID, with the declaration off by one.
// Fix: when another caller's keys existed at the object's LastModified (writtenByKeys of
// another caller non-empty: an API upload to the key cannot complete then, lockedByKeys
// refuses it), the object is never the seal's upload — hold it to declaredVerdict (deleted
// when no declaration matches); StoredBy likewise answers false for any writtenByKeys of
// another caller, matching or not. Better: record the upload's ETag at complete and have
// UploadedBy/apiWrite compare it (binds the seal to the write, not to size and type).
func TestAttack5CopiedSealOnBytesThatContradictTheDeclaration(t *testing.T) {
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
	time.Sleep(1100 * time.Millisecond) // the keys come well after alice's complete
	six := int64(6)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
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
	after, _ := e.store.Stat(context.Background(), key)
	if after.Exists {
		t.Errorf("HOLE: 5 bytes written with keys that declared 6 stay (told %s, caller %q, id %s): a copied seal exempts bytes that contradict their keys' declaration", last.Type, last.Caller, last.ID)
	}
	asAlices := events.EventID(events.Completed, e.store.Bucket(), key, "w:"+seal[:16]+"@"+strings.Trim(last.ETag, `"`))
	if last.Type == events.Completed && last.ID == asAlices {
		t.Errorf("HOLE: mallory's keys' write is told completed under alice's write id")
	}
	again, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
	if err == nil && again.ETag == after.ETag && after.ETag != done.ETag {
		t.Errorf("HOLE: alice's repeated complete answers mallory's object as hers: %+v", again)
	}
}

// BROKE (POISON). README: "An API upload completed before another caller's keys for its
// key existed stays the upload's ... (times are in seconds, so keys handed out in the very
// second of its complete that declared it exactly would take it for theirs)". A
// declaration's NotBefore is keys.Start, taken (cos.Client.IssueKeys) *before* the STS
// call, the declaration's round trips and the key_busy check (OpenUploads). A request
// started while alice's upload is open and checked after her complete gets keys whose
// NotBefore precedes her complete by however long that request took: with POST /sts as the
// oracle (key_busy while her upload is open), mallory polls back to back and one poll
// always straddles the complete — deterministic, not a matter of hitting the same second.
// Here the request's declaration write is held 2 s (a slow STS/record round trip; mallory
// can also fill the key's folders to slow the reads) while alice completes: keys handed out
// two seconds after her complete take her upload — told completed under mallory's keys and
// caller, and alice's repeated complete is refused.
// Fix: a declaration's keys "exist" for writtenByKeys only from when they were handed out:
// record that time after the OpenUploads check passed (as confirm does for Pending) and
// compare LastModified strictly after it (also closes the same-second case) — or bind the
// seal to the write (the upload's ETag recorded at complete).
func TestAttack5KeysRequestedBeforeACompleteTakeIt(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/honest.png"
	size := int64(len(png56))
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	// mallory's request for keys (the poll that straddles alice's complete)
	var once sync.Once
	release := make(chan struct{})
	g.beforePutRecord = func(k string) {
		if strings.Contains(k, "/.directup/") && strings.Contains(k, "declared") {
			once.Do(func() { <-release })
		}
	}
	var wg sync.WaitGroup
	var kerr error
	wg.Go(func() { _, kerr = e.svc.Keys(mallory, pngReq(key, size)) })
	time.Sleep(1100 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodPut, up.Parts[0].URL, strings.NewReader(string(png56)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(1100 * time.Millisecond)
	done, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the keys are handed out after the complete
	close(release)
	wg.Wait()
	if kerr != nil {
		t.Skipf("mallory's keys refused: %v", kerr)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	evs := e.told.all()
	last := evs[len(evs)-1]
	if last.Caller == "mallory" || !e.exists(t, key) {
		t.Errorf("HOLE: alice's honest upload, completed a second before mallory's keys were handed out, is told %s for %q", last.Type, last.Caller)
	}
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}}); err != nil {
		t.Errorf("HOLE: alice's repeated complete of her own stored upload is refused: %v", err)
	}
}

// BROKE, fixed (lockedByKeys holds a key until three times the skew past its keys' expiry) (POISON, needs clock skew within the allowance). The declarations allow 5 s
// (declarationSkew) between the store's clock and the function's either side, and
// writtenByKeys counts a declaration whose keys expired up to those 5 s before the object
// was written. lockedByKeys releases a named key by the function's clock. With the function
// 4 s ahead of the store (within the allowance), alice's API upload, let through once
// mallory's keys for the key had expired (and 5 s more, by the function's clock), completes
// at a store time within their NotAfter+5: it is taken for mallory's keys' write (she
// declared its size and type), told completed under her caller, and alice's repeated
// complete is refused. The keys here expire 2 s after issue (as if 30 min had passed).
// Fix: writtenByKeys (and StoredBy) should not count a declaration of another caller whose
// keys' NotAfter was before the seal's upload was let through (record at initiate the
// declarations seen, or compare against the token's Issued time: an API upload's seal is
// the upload's when its token was issued after every other caller's keys' NotAfter+skew,
// by the function's clock that let it through) — or bind the seal to the write's ETag.
func TestAttack5ExpiredKeysTakeALaterUploadUnderSkew(t *testing.T) {
	ahead := func() time.Time { return time.Now().Add(4 * time.Second) } // the function's clock
	e := newHolesEnv(t, nil, false, upload.WithClock(ahead))
	orig := e.store.Client.Issuer
	e.store.Client.Issuer = func(ctx context.Context, p string, ttl time.Duration) (credentials.Value, string, error) {
		v, rid, err := orig(ctx, p, ttl)
		v.Expires = time.Now().Add(2 * time.Second) // keys near their end
		return v, rid, err
	}
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/late.png"
	size := int64(len(png56))
	if _, err := e.svc.Keys(mallory, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	// alice waits until the key is free for her (key_busy till then)
	deadline := time.Now().Add(20 * time.Second)
	var up *upload.Initiated
	for {
		var err error
		if up, err = e.svc.Initiate(alice, pngReq(key, size)); err == nil {
			break
		} else if code, _ := errCode(err); code != "key_busy" || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest(http.MethodPut, up.Parts[0].URL, strings.NewReader(string(png56)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	done, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	evs := e.told.all()
	last := evs[len(evs)-1]
	if last.Caller == "mallory" || !e.exists(t, key) {
		t.Errorf("HOLE: alice's upload, let through after mallory's keys expired, is told %s for %q", last.Type, last.Caller)
	}
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}}); err != nil {
		t.Errorf("HOLE: alice's repeated complete of her own stored upload is refused: %v", err)
	}
}
