package upload_test

// The sixth outside attack, on binding a seal to the object its complete stored
// (storedwrite.go: the record of the complete's ETag, boundWrite, StoredBy,
// sealedByItsUpload). Each test fails (printing HOLE) on the code it names.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// BROKE (ESCAPE, lasting). StoredBy consults the complete's record only "while keys held
// at an object's write": it first asks readDeclarations for a declaration that holds at
// the object's LastModified, and with none it answers the seal alone. But declarations are
// dropped declarationRetention (1 h) after their keys expire — by the next declaration at
// the key, which the attacker can make herself — while the record (and the upload's token,
// 24 h) stays. Mallory copies alice's seal onto her own bytes of alice's size and type
// under keys that declared them: the storage check (rightly) credits them to mallory's
// keys. Ninety minutes later mallory asks for keys at the key again: her old declaration is
// dropped, and from then on the object is alice's — alice's repeated complete answers
// mallory's bytes as her upload, *re-records mallory's ETag as the one alice's complete
// stored* (binding the copied seal for good, also for any later storage check) and tells
// a fresh upload.completed of alice's upload naming mallory's object; StoredBy (so
// /local/download and the checksum read) hands mallory's bytes out under alice's token.
// Fix: where othersCanKey, read the record whenever one exists, not only while a
// declaration holds (recorded → bound decides, whatever the declarations); at the least,
// never rewrite the record in completedBefore with a stat'd ETag that the record does not
// already name.
func TestAttack6DroppedDeclarationUnbindsTheRecord(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newHolesEnv(t, nil, false, upload.WithClock(clock))
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/report.txt"
	up, done, err := e.upload(t, alice, key, "text/plain", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	seal := sealOf(t, e, key)
	time.Sleep(1100 * time.Millisecond)
	five := int64(5)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	putSealed(t, e, key, "text/plain", seal, []byte("HELLO")) // as mallory's keys can
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, e); got.Caller != "mallory" || !e.exists(t, key) {
		t.Fatalf("setup: mallory's keys' write told %s for %q", got.Type, got.Caller)
	}
	c, err := e.svc.Upload(alice, up.Token)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.store.Stat(context.Background(), key)
	if by, err := e.svc.StoredBy(alice, c, info); err != nil || by {
		t.Fatalf("setup: StoredBy of mallory's object while her declaration is kept: %v %v", by, err)
	}

	// An hour and a half later (her keys expired, their declaration past retention),
	// mallory asks for keys at the key again: the expired declaration is dropped.
	time.Sleep(6 * time.Second) // the new keys must not hold at the object's write
	offset.Store(int64(90 * time.Minute))
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &five}); err != nil {
		t.Fatal(err)
	}
	before := len(e.told.all())
	if by, err := e.svc.StoredBy(alice, c, info); err == nil && by {
		t.Errorf("HOLE: once mallory's declaration is dropped, StoredBy answers her bytes (%s) as alice's upload (download, checksum read); the record names %s", info.ETag, done.ETag)
	}
	again, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
	if err == nil && again.ETag == info.ETag {
		t.Errorf("HOLE: alice's repeated complete answers mallory's object as hers: %+v", again)
	}
	var rec struct {
		ETag string `json:"etag"`
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	if found, err := book.Get(context.Background(), records.Stored, key+"\x00"+seal[:16], &rec); err == nil && found && rec.ETag == strings.Trim(info.ETag, `"`) {
		t.Errorf("HOLE: the repeated complete re-recorded mallory's ETag as the object alice's complete stored: the copied seal is bound for good")
	}
	for _, ev := range e.told.all()[before:] {
		if ev.Type == events.Completed && ev.ETag == info.ETag && ev.Caller != "mallory" {
			t.Errorf("HOLE: upload.completed told for alice's upload naming mallory's object (id %s)", ev.ID)
		}
	}
}

// BROKE (ESCAPE, then bound for good). "A failed record write fails the complete and its
// repeat records it": between the two, alice's object is sealed, stored and unrecorded, so
// every check takes it for a complete of before these records and applies the old rule —
// the one the Attack5 holes broke. Alice's upload is no longer open, so mallory can take
// keys for the key at once (declaring 6 bytes) and write 5 with alice's seal: the storage
// check awaits a record that never comes (~3 s), then keeps mallory's contradicting bytes
// as alice's upload. Then alice's client repeats its complete, as it is told to:
// completedBefore's StoredBy again falls back to the old rule, answers mallory's object as
// alice's and recordWrite records *its* ETag (the stat's, not the store's complete answer):
// the copied seal is now bound to mallory's bytes for every later check. A record write
// that is merely slow (a throttled store's retries past the 3 s the check waits) opens the
// same fallback without any failure (second subtest).
// Fix: an upload whose seal (or token) was made by a version that records must never be
// judged by the unrecorded rule: a missing record for it is "unbound" once the young wait
// ends (or an error, so the platform retries the check later). Better, write the record
// before the store's complete (the expected multipart ETag is computable from the named
// parts' ETags on COS/S3, or a "pending" record), and have completedBefore never record an
// ETag the complete did not answer.
func TestAttack6UnrecordedWindowTakesTheCopiedSeal(t *testing.T) {
	t.Run("record write failed, complete repeated", func(t *testing.T) {
		var offset atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		e, g := newGatedEnv(t, nil, upload.WithClock(clock))
		alice := upload.WithCaller(context.Background(), "alice")
		mallory := upload.WithCaller(context.Background(), "mallory")
		key := "uploads/shared/failed.txt"
		var fails atomic.Int32
		fails.Store(1)
		g.failPutRecord = func(path string) error {
			if strings.Contains(path, "/"+string(records.Stored)+"/") && fails.Add(-1) >= 0 {
				return &errcode.Error{Code: errcode.UpstreamBusy, Message: "record write refused (test)"}
			}
			return nil
		}
		up, _, err := e.upload(t, alice, key, "text/plain", []byte("hello"))
		if !errcode.Is(err, errcode.UpstreamBusy) {
			t.Fatalf("setup: complete with its record refused: %v", err)
		}
		alicesETag := ""
		if info, _ := e.store.Stat(context.Background(), key); info.Exists {
			alicesETag = info.ETag
		}
		seal := sealOf(t, e, key)
		six := int64(6)
		if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
			t.Fatal(err)
		}
		putSealed(t, e, key, "text/plain", seal, []byte("HELLO"))
		// Checked while the record may still come: the platform is asked to retry.
		if err := e.svc.ObjectCreated(context.Background(), key); !errcode.Is(err, errcode.UpstreamBusy) {
			t.Fatalf("the young copy's check: %v, want a retry (upstream_unavailable)", err)
		}
		info, _ := e.store.Stat(context.Background(), key)
		if !info.Exists {
			return
		}
		again, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: alicesETag}})
		if err == nil && again.ETag == info.ETag {
			t.Errorf("HOLE: alice's repeated complete answers mallory's bytes as hers (%s)", again.ETag)
		}
		var rec struct {
			ETag string `json:"etag"`
		}
		book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
		if found, _ := book.Get(context.Background(), records.Stored, key+"\x00"+seal[:16], &rec); found && rec.ETag == strings.Trim(info.ETag, `"`) {
			t.Errorf("HOLE: the repeat recorded mallory's ETag as what alice's complete stored: the copied seal is bound to her bytes")
		}
		offset.Store(int64(time.Minute)) // the platform's retry, a minute on
		if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, key) {
			t.Errorf("HOLE: 5 bytes written under keys that declared 6, with alice's unrecorded seal, stay (told %s for %q)", lastEvent(t, e).Type, lastEvent(t, e).Caller)
		}
	})
	t.Run("record write slow", func(t *testing.T) {
		e, g := newGatedEnv(t, nil)
		alice := upload.WithCaller(context.Background(), "alice")
		mallory := upload.WithCaller(context.Background(), "mallory")
		key := "uploads/shared/slow.txt"
		size := int64(5)
		up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		etag, _ := send(t, up.Parts[0], []byte("hello"))
		entered, release := make(chan struct{}), make(chan struct{})
		var once atomic.Bool
		g.beforePutRecord = func(path string) {
			if strings.Contains(path, "/"+string(records.Stored)+"/") && once.CompareAndSwap(false, true) {
				close(entered)
				<-release // the store is slow to take the record (its retries)
			}
		}
		completed := make(chan error, 1)
		go func() {
			_, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
			completed <- err
		}()
		<-entered // the store completed: the seal is readable, the upload no longer open
		seal := sealOf(t, e, key)
		six := int64(6)
		if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
			close(release)
			t.Fatal(err)
		}
		putSealed(t, e, key, "text/plain", seal, []byte("HELLO"))
		checked := e.svc.ObjectCreated(context.Background(), key)
		close(release)
		if err := <-completed; err != nil {
			t.Logf("alice's complete: %v", err)
		}
		if !errcode.Is(checked, errcode.UpstreamBusy) {
			t.Errorf("the copy checked before the record came: %v, want a retry (upstream_unavailable)", checked)
		}
		if err := e.svc.ObjectCreated(context.Background(), key); err != nil { // the platform's retry
			t.Fatal(err)
		}
		storageSaid := lastEvent(t, e)
		info, _ := e.store.Stat(context.Background(), key)
		if info.Exists && info.Size == 5 && info.ETag != etag && strings.Contains(string(mustRead(t, e, key)), "HELLO") {
			t.Errorf("HOLE: mallory's 5 bytes under keys that declared 6 stay, judged (record not yet written) by the unrecorded rule as alice's (the storage check told %s, id %s, for %q)", storageSaid.Type, storageSaid.ID, storageSaid.Caller)
		}
	})
}

// mustRead is the object at key's first bytes.
func mustRead(t *testing.T, e *holesEnv, key string) []byte {
	t.Helper()
	head, _, err := e.store.ReadHead(context.Background(), key, 64)
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// putMultipartSealed writes body at key as one-part multipart upload created with obj's
// settings (as temporary keys for the key can: InitiateMultipartUpload, UploadPart,
// CompleteMultipartUpload), and returns the object's ETag.
func putMultipartSealed(t *testing.T, e *holesEnv, obj *storage.Object, body []byte) string {
	t.Helper()
	ctx := context.Background()
	id, err := e.store.Client.Initiate(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: obj.Key, Body: body,
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

// BROKE (ESCAPE: the object, not the bytes). The record binds the seal to an ETag, and an
// ETag names the bytes only: keys for the key that reproduce the upload's parts (a
// multipart upload of the same bytes cut the same way: InitiateMultipartUpload is among
// their actions, and its headers are theirs) store an object of the very ETag the record
// names, with settings of their choosing — metadata, Cache-Control, Content-Encoding,
// Content-Disposition's filename, Expires. It is bound: it counts as alice's API upload
// (not held to the keys' declaration, not credited to their caller), and the storage check
// tells it under alice's own event id ("w:<write>@<etag>"): receivers deduplicate it away,
// so nobody learns alice's object was rewritten. Forms keep exactly this out with their
// settings seal (FormMetadata, addedSettings); API uploads under keys have none.
// Fix: record what the complete's object carries beside its ETag (the settings text of
// infoSettings, from the complete's own read, or objectSettings from the initiate, in the
// seal or the record) and bind only an object whose settings are those; or include the
// object's LastModified in the storage event's id so a rewrite is never a duplicate.
func TestAttack6SameETagOtherSettingsIsTheUploads(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/photo.png"
	_, done, err := e.upload(t, alice, key, "image/png", png56)
	if err != nil {
		t.Fatal(err)
	}
	seal := sealOf(t, e, key)
	apiEvent := lastEvent(t, e)
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.svc.Keys(mallory, pngReq(key, int64(len(png56)))); err != nil {
		t.Fatal(err)
	}
	etag := putMultipartSealed(t, e, &storage.Object{Key: key, ContentType: "image/png",
		CacheControl: "public, max-age=31536000", ContentEncoding: "gzip", ContentDisposition: `attachment; filename="invoice.exe"`,
		Metadata: map[string]string{policy.WriteMetadata: seal, "approved-by": "admin"}}, png56)
	if strings.Trim(etag, `"`) != strings.Trim(done.ETag, `"`) {
		t.Fatalf("setup: the reproduced parts' ETag %s is not the upload's %s", etag, done.ETag)
	}
	info, _ := e.store.Stat(context.Background(), key)
	if info.ContentEncoding != "gzip" || info.Metadata["approved-by"] != "admin" {
		t.Fatalf("setup: mallory's settings not stored: %+v", info)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	got := lastEvent(t, e)
	if e.exists(t, key) && got.Type == events.Completed && got.Caller != "mallory" {
		t.Errorf("HOLE: keys' rewrite of alice's object (their Content-Encoding, Cache-Control, disposition, metadata %v) is bound to alice's seal and kept as her upload", got.Metadata)
	}
	if got.Type == events.Completed && got.ID == apiEvent.ID {
		t.Errorf("HOLE: the rewrite is told under the API's own event id %s: receivers drop it as a duplicate", got.ID)
	}
}

// BROKE (POISON: an honest upload deleted). The record now tells alice's own object from a
// copy of its seal, yet sealedUnderKeys still runs first, on every sealed object written
// while another caller's keys held, bound or not: what an honest API upload may ask for and
// keys may not — here a scriptable type stored inline because alice's request asked for it
// (policy.headers allows it) — is deleted. Mallory needs only keys that hold at alice's
// write: the Attack5 straddle (her POST /sts in flight across alice's complete; polled back
// to back, one request always straddles it) gets them, declaring anything. Alice's upload,
// its complete answered ok and its record naming exactly this object, is removed by the
// storage check and told rejected.
// Fix: hold a sealed object to sealedUnderKeys only when it is not bound (its record names
// another ETag, or none): a bound object is its upload's and keeps its request's settings
// (with the settings bound too, see TestAttack6SameETagOtherSettingsIsTheUploads).
func TestAttack6StraddledKeysDeleteABoundUpload(t *testing.T) {
	// A deployment that admits HTML by name (UPLOAD_ALLOWED_TYPES), as a site builder does.
	e, g := newGatedEnv(t, func(p *policy.Policy) { p.AllowedTypes = []string{"text/html", "image/png"} })
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/page.html"
	page := []byte("<!doctype html><html><body><p>alice's page</p></body></html>")
	size := int64(len(page))
	up, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "text/html", Size: &size, ContentDisposition: "inline"})
	if err != nil {
		t.Fatal(err)
	}
	// mallory's request for keys, in flight across alice's complete (Attack5's straddle)
	var once atomic.Bool
	release := make(chan struct{})
	g.beforePutRecord = func(k string) {
		if strings.Contains(k, "/.directup/") && strings.Contains(k, "declared") && once.CompareAndSwap(false, true) {
			<-release
		}
	}
	kerr := make(chan error, 1)
	go func() {
		_, err := e.svc.Keys(mallory, pngReq(key, int64(len(png56))))
		kerr <- err
	}()
	time.Sleep(1100 * time.Millisecond)
	etag, _ := send(t, up.Parts[0], page)
	time.Sleep(1100 * time.Millisecond)
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}}); err != nil {
		close(release)
		t.Fatal(err)
	}
	close(release)
	if err := <-kerr; err != nil {
		t.Skipf("mallory's keys refused: %v", err)
	}
	info, _ := e.store.Stat(context.Background(), key)
	seal := info.Metadata[policy.WriteMetadata]
	var rec struct {
		ETag string `json:"etag"`
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	if found, err := book.Get(context.Background(), records.Stored, key+"\x00"+seal[:16], &rec); err != nil || !found || rec.ETag != strings.Trim(info.ETag, `"`) {
		t.Fatalf("setup: alice's record does not name her object: %v %v %+v", found, err, rec)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := lastEvent(t, e); !e.exists(t, key) || got.Type != events.Completed {
		t.Errorf("HOLE: alice's honest upload, bound by its record, is removed because mallory's keys held at its write: told %s: %s", got.Type, got.Reason)
	}
}
