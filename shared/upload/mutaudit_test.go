package upload_test

// Tests added by the mutation audit: each kills a mutant of a guarantee's keeping line
// that the suite let pass before (named in the test's comment).

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/s3"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// s3Quiet is the service over versitygw without events and without content
// verification: the deployment where nothing but the store's own size check holds a
// pinned upload's object to its declared size (the service reads nothing back).
func s3Quiet(t *testing.T) (*upload.Service, *s3.Client) {
	t.Helper()
	endpoint := functest.Versitygw(t, "quiet")
	c, err := s3.New(s3.Config{Bucket: "quiet", Region: "us-east-1", Endpoint: endpoint},
		credentials.Static{AccessKeyID: functest.S3Creds[0], SecretAccessKey: functest.S3Creds[1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	p.DefaultPartSize = 5 << 20
	p.VerifyContent = false
	svc, err := upload.NewService(c, p, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return svc, c
}

// "Exactly what was declared ... the assembled object is the declared size", on S3 with
// no events and no verification: the complete carries x-amz-mp-object-size, so S3 refuses
// parts (one stored a byte long with other credentials) that do not add up to the
// declared size, and no object is made. Kills: complete.go `opts.ObjectSize = &plan.Size`
// removed (checkStored reads nothing back there, so the object stayed).
func TestMutauditS3CompleteHoldsTheDeclaredSize(t *testing.T) {
	svc, c := s3Quiet(t)
	const mib = 1 << 20
	size := int64(5*mib + 6)
	in, err := svc.Initiate(bg, &policy.InitiateRequest{Filename: "f.bin", ContentType: "application/octet-stream", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Parts) != 2 {
		t.Fatalf("%d parts; want 2", len(in.Parts))
	}
	e1, status := send(t, in.Parts[0], bytes.Repeat([]byte("a"), 5*mib))
	if status != 200 {
		t.Fatalf("part 1: %d", status)
	}
	// Part 2 stored a byte long through a URL the store signs for 7 bytes (other credentials).
	p, err := c.Presign(bg, &storage.PresignRequest{Key: in.Key, UploadID: in.UploadID, TTL: time.Hour,
		Parts: []wire.PartSpec{{Number: 2, Size: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	e2, status := send(t, p.Parts[0], []byte("bbbbbbb"))
	if status != 200 {
		t.Fatalf("sideloading part 2: %d", status)
	}
	_, err = svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: e1}, {PartNumber: 2, ETag: e2}})
	wantError(t, "parts a byte over the declared size", err, http.StatusConflict, errcode.InvalidPart, "parts")
	if info, err := c.Stat(bg, in.Key); err != nil || info.Exists {
		t.Errorf("an object of another size than declared was made: %+v (%v)", info, err)
	}
}

// "The assembled object is the declared size", a byte over: a part stored a byte longer
// than its plan with other credentials makes an object larger than declared, which the
// complete's read removes (409 invalid_part). Kills: verify.go `info.Size != done.Size`
// weakened to `<` (only short objects were tested).
func TestMutauditCompleteRefusesAnObjectOverTheDeclaredSize(t *testing.T) {
	r := newRig(t, nil)
	in := r.initiate(t, 6, 0)
	etag := r.sideload(t, in.Key, in.UploadID, 1, []byte("sevenby"))
	_, err := r.svc.Complete(bg, in.Token, in.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: etag}})
	wantError(t, "a part one byte over its plan", err, http.StatusConflict, errcode.InvalidPart, "parts")
	if info, _ := r.store.Stat(bg, in.Key); info.Exists {
		t.Errorf("%s: an object larger than declared was left (%d bytes)", in.Key, info.Size)
	}
}

// The storage-triggered check holds any object to the rules' limits at their exact
// bounds: UPLOAD_MAX_SIZE and UPLOAD_MIN_SIZE themselves are kept, a byte over or under
// is deleted. Kills: objectcreated_checks.go `Size > MaxSize` weakened to `> MaxSize+1`,
// `Size < MinSize` to `< MinSize-1`.
func TestMutauditStorageCheckAtTheSizeLimits(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.MaxSize, p.MinSize, p.VerifyContent = 64, 8, false }, false)
	for _, tt := range []struct {
		size int
		keep bool
	}{{64, true}, {65, false}, {8, true}, {7, false}} {
		key := "uploads/limits/" + strconv.Itoa(tt.size) + ".bin"
		put(t, e.store.Client, key, "application/octet-stream", bytes.Repeat([]byte("x"), tt.size))
		if err := e.svc.ObjectCreated(bg, key); err != nil {
			t.Fatal(err)
		}
		if got := e.exists(t, key); got != tt.keep {
			t.Errorf("an object of %d bytes (limits 8..64): kept %v, want %v", tt.size, got, tt.keep)
		}
	}
}

// "/sts ... take [head] too as a check before the keys are issued": a head contradicting
// the declared type refuses the keys (422 content_mismatch, field head), nothing is sent to
// storage and nothing declared. Kills: tempkeys.go `checkHead` error ignored.
func TestMutauditKeysRefuseAContradictingHead(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	ctx := upload.WithCaller(bg, "alice")
	html := []byte("<!doctype html><script>alert(1)</script>")
	size := int64(len(html))
	before := e.b.Store.Requests()
	keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: "uploads/alice/cat.png", ContentType: "image/png", Size: &size,
		Head: base64.StdEncoding.EncodeToString(html)})
	if keys != nil {
		t.Errorf("keys handed out for HTML named .png: %+v", keys)
	}
	wantError(t, "HTML head for image/png keys", err, 422, errcode.ContentMismatch, "head")
	if n := e.b.Store.Requests() - before; n != 0 {
		t.Errorf("a refused head reached storage %d times", n)
	}
	if got := e.recordsIn(t); len(got) != 0 {
		t.Errorf("records written for refused keys: %v", got)
	}
}

// "Temporary keys and API uploads never share a key", for anonymous callers (AUTH_MODE
// none: everyone is ""): keys handed out for a named key make an API upload to it from
// anyone 409 key_busy, as no caller can be told apart from their holder. Kills:
// tempkeys.go:lockedByKeys `|| d.Caller == ""` dropped.
func TestMutauditAnonymousKeysLockTheKey(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	n := int64(len(png56))
	req := &policy.InitiateRequest{Key: "uploads/anon/shared.png", ContentType: "image/png", Size: &n}
	if _, err := e.svc.Keys(bg, req); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Initiate(bg, req)
	wantError(t, "an anonymous API upload to a key anonymous keys are out for", err, 409, errcode.KeyBusy, "key")
}

// "A declaration holds only while its keys were valid", before them too: keys another
// caller obtained after an object was written do not hold it to their declaration (their
// NotBefore is after its modification time). Kills: declared.holds' lower bound dropped
// (the object, older than mallory's keys, was deleted as not matching them).
func TestMutauditDeclarationDoesNotHoldBeforeItsKeys(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/alice/before.png"
	put(t, e.store.Client, key, "image/png", png56)
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	later := time.Now().Add(time.Hour).Unix()
	if err := book.Put(bg, records.Declared, key, map[string]any{"declared": []map[string]any{{"size": 1, "contentType": "image/png", "caller": "mallory",
		"keys": "0011223344556677", "notBefore": later, "notAfter": later + 1800}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(bg, key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Fatal("a declaration for keys issued after the object was written removed it")
	}
}

// Anonymous callers never "renew" keys: with an anonymous API upload open at a named key,
// a second anonymous request for keys is refused as the first was (409 key_busy), though
// the first one's declaration was kept. Kills: tempkeys.go `d.Caller != "" &&` dropped
// from renewing (the second request then skipped the open-upload check).
func TestMutauditAnonymousCallersNeverRenewKeys(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	n := int64(len(png56))
	req := &policy.InitiateRequest{Key: "uploads/anon/open.png", ContentType: "image/png", Size: &n}
	if _, err := e.svc.Initiate(bg, req); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		keys, err := e.svc.Keys(bg, req)
		if keys != nil {
			t.Errorf("request %d: keys handed out while an API upload to the key is open", i+1)
		}
		wantError(t, "keys for a key with an open API upload", err, 409, errcode.KeyBusy, "key")
	}
}

// Keys of a caller that expired long ago do not make a new request a renewal: with bob's
// API upload open at the key since, alice's request for keys is 409 key_busy. Kills:
// tempkeys.go `o.holds(now)` dropped from renewing (alice's keys would act on bob's upload).
func TestMutauditExpiredKeysAreNoRenewal(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/k.png"
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	past := time.Now().Add(-2 * time.Hour).Unix()
	if err := book.Put(bg, records.Declared, key, map[string]any{"declared": []map[string]any{{"size": len(png56), "contentType": "image/png", "caller": "alice",
		"keys": "0011223344556677", "notBefore": past, "notAfter": past + 1800}}}); err != nil {
		t.Fatal(err)
	}
	n := int64(len(png56))
	req := &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &n}
	if _, err := e.svc.Initiate(upload.WithCaller(bg, "bob"), req); err != nil {
		t.Fatalf("bob's API upload once alice's keys expired: %v", err)
	}
	keys, err := e.svc.Keys(upload.WithCaller(bg, "alice"), req)
	if keys != nil {
		t.Error("alice got keys for a key bob's API upload is open at")
	}
	wantError(t, "keys while another caller's API upload is open", err, 409, errcode.KeyBusy, "key")
}

// "A rejected object is removed ... at the next call for this upload": an abort after a
// rejection whose removal failed removes the object then, and succeeds (nothing is
// stored once it is removed), rather than answering upload_completed for an object that
// contradicted its type. Kills: complete.go:Abort's finishRejection branch skipped.
func TestMutauditAbortFinishesARecordedRejection(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	html := []byte("<html><script>alert(1)</script></html>")
	key := "uploads/mallory/abort.png"
	e.store.failDeletes.Store(1 << 20)
	up, _, err := e.upload(t, bg, key, "image/png", html)
	if code, _ := errCode(err); code != errcode.ContentMismatch {
		t.Fatalf("complete of HTML named .png: %v", err)
	}
	if !e.exists(t, key) {
		t.Fatal("the test store should have kept the object")
	}
	e.store.failDeletes.Store(0)
	if err := e.svc.Abort(bg, up.Token, up.UploadID); err != nil {
		t.Fatalf("abort after the rejection: %v", err)
	}
	if e.exists(t, key) {
		t.Fatal("the abort left the rejected object")
	}
}

// A rejection recorded for an object the API could not remove concerns that very object
// (its ETag): when other bytes replaced it at the key before the storage-triggered check
// ran, those are checked on their own — HTML named .png is deleted, not waved through as
// "the rejection finished". Kills: objectcreated.go `rej.Event.ETag == info.ETag` dropped.
func TestMutauditARecordedRejectionDoesNotExemptANewerObject(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	html := []byte("<html><script>alert(1)</script></html>")
	key := "uploads/mallory/replaced.png"
	e.store.failDeletes.Store(1 << 20)
	if _, _, err := e.upload(t, bg, key, "image/png", html); err == nil {
		t.Fatal("HTML named .png completed")
	}
	e.store.failDeletes.Store(0)
	other := []byte("<html><body onload=alert(2)></body></html>") // other bytes: another ETag
	put(t, e.store.Client, key, "image/png", other)
	if err := e.svc.ObjectCreated(bg, key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Fatal("an object replacing a recorded rejection escaped the storage check")
	}
}

// Finishing a recorded rejection removes only the object it rejected (the same ETag): a
// valid PNG written at the key since is kept when the upload's next call (an abort)
// finishes the rejection. Kills: objectcreated.go:finishRecordedRejection's
// `info.ETag == r.Event.ETag` dropped (it deleted the newer object).
func TestMutauditFinishingARejectionKeepsANewerObject(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	html := []byte("<html><script>alert(1)</script></html>")
	key := "uploads/alice/kept.png"
	e.store.failDeletes.Store(1 << 20)
	up, _, err := e.upload(t, bg, key, "image/png", html)
	if err == nil {
		t.Fatal("HTML named .png completed")
	}
	e.store.failDeletes.Store(0)
	put(t, e.store.Client, key, "image/png", png56) // a real PNG replaces it
	if err := e.svc.Abort(bg, up.Token, up.UploadID); err != nil && errcode.As(err).Code != errcode.UploadCompleted {
		t.Fatalf("abort: %v", err)
	}
	if !e.exists(t, key) {
		t.Fatal("finishing the rejection deleted the newer object at the key")
	}
}

// directup's own records are not uploads: the storage-triggered check of a record's key
// (a declaration, under .directup/) leaves it, whatever the rules say of its bytes.
// Kills: objectcreated.go:uploadsKey's IsReserved check dropped (the declaration, JSON
// of a type the rules do not allow, was deleted, and with it what held the keys' object).
func TestMutauditRecordsAreNotCheckedAsUploads(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.AllowedTypes = []string{"image/png"} }, false)
	ctx := upload.WithCaller(bg, "alice")
	n := int64(len(png56))
	keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: "uploads/alice/k.png", ContentType: "image/png", Size: &n})
	if err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	fingerprint := sha256.Sum256([]byte(keys.SecretID)) // the declaration's id: its keys' fingerprint
	path := book.PathIn(records.Declared, "uploads/alice/k.png", hex.EncodeToString(fingerprint[:8]))
	if !e.exists(t, path) {
		t.Fatalf("no declaration at %s", path)
	}
	before := len(e.told.all())
	if err := e.svc.ObjectCreated(bg, path); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, path) {
		t.Fatal("the storage check deleted directup's own record")
	}
	if n := len(e.told.all()) - before; n != 0 {
		t.Errorf("%d events told for a record", n)
	}
}

// A real write seal, copied from an API upload's object (its metadata is readable) onto
// other bytes written with temporary keys, exempts nothing: a byte longer, or the same
// size stored as another type, is not the upload the seal was made for, so the keys'
// declaration holds it (and deletes it). Kills: writeseal.go:apiWrite accepting sizes
// next to the object's; writeMAC not covering the media type.
func TestMutauditCopiedSealsFitOnlyTheirUpload(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	mallory := upload.WithCaller(bg, "mallory")
	for name, tt := range map[string]struct {
		body        []byte
		contentType string
	}{
		"a byte longer":      {append(append([]byte{}, png56...), 0), "image/png"},
		"another media type": {png56, "application/octet-stream"},
	} {
		key := "uploads/mallory/sealed-" + strings.ReplaceAll(name, " ", "-") + ".png"
		if _, _, err := e.upload(t, mallory, key, "image/png", png56); err != nil {
			t.Fatal(err)
		}
		info, err := e.store.Stat(bg, key)
		if err != nil {
			t.Fatal(err)
		}
		seal := info.Metadata[policy.WriteMetadata]
		if len(seal) != 32 {
			t.Fatalf("the API upload's object carries the seal %q", seal)
		}
		one := int64(1)
		if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &one}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.Client.Do(bg, storerest.Call{Method: http.MethodPut, Key: key, Body: tt.body,
			Header: http.Header{"Content-Type": {tt.contentType}, "X-Cos-Meta-Directup-Upload": {seal}}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ObjectCreated(bg, key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, key) {
			t.Errorf("%s: a copied seal exempted other bytes from the keys' declaration", name)
		}
	}
}

// Forms keep the rules every create keeps (README: "after the same rules, profile and
// hook as every create"): a form for a key another caller holds temporary keys for is
// 409 key_busy; a form of the deployment's rules for a key in a profile's folder is 403;
// a declared size over a form's 5 GiB is 400 size. Kills: form.go's lockedByKeys,
// inFolder and MaxFormSize checks dropped, each.
func TestMutauditFormsKeepTheCreateRules(t *testing.T) {
	e := profiledEnv(t)
	alice := upload.WithCaller(bg, "alice")
	mallory := upload.WithCaller(bg, "mallory")
	n := int64(len(png56))
	key := "uploads/shared/form.png"
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &n}); err != nil {
		t.Fatal(err)
	}
	f, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &n})
	if f != nil {
		t.Error("a form was signed for a key another caller holds keys for")
	}
	wantError(t, "a form for a key with keys out", err, 409, errcode.KeyBusy, "key")

	f, err = e.svc.InitiateForm(alice, &policy.InitiateRequest{Key: "uploads/video/x.mp4", ContentType: "video/mp4", Size: sizeOf(5)})
	if f != nil {
		t.Error("a form of the deployment's rules was signed into video's folder (nested in the deployment's)")
	}
	wantError(t, "the deployment's form in video's folder", err, 403, errcode.PolicyDenied, "key")

	big := profiledEnvWith(t, func(p *policy.Policy) { p.MaxSize = 6 << 30 })
	huge := int64(5<<30 + 1)
	f, err = big.svc.InitiateForm(alice, &policy.InitiateRequest{Filename: "big.bin", ContentType: "application/octet-stream", Size: &huge})
	if f != nil {
		t.Error("a form was signed for more than 5 GiB")
	}
	wantError(t, "a form over 5 GiB", err, 400, errcode.InvalidField, "size")
}

// profiledEnvWith is newHolesEnv with the rules adjusted, for one-off limits.
func profiledEnvWith(t *testing.T, adjust func(*policy.Policy)) *holesEnv {
	t.Helper()
	return newHolesEnv(t, adjust, false)
}

// A write seal names its key: copied from an API upload's object at one key onto the very
// same bytes at another key (written with temporary keys declared for 1 byte), it exempts
// nothing. Kills: writeMAC not covering the key.
func TestMutauditCopiedSealsFitOnlyTheirKey(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	mallory := upload.WithCaller(bg, "mallory")
	from, to := "uploads/mallory/seal-from.png", "uploads/mallory/seal-to.png"
	if _, _, err := e.upload(t, mallory, from, "image/png", png56); err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(bg, from)
	if err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: to, ContentType: "image/png", Size: &one}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Client.Do(bg, storerest.Call{Method: http.MethodPut, Key: to, Body: png56,
		Header: http.Header{"Content-Type": {"image/png"}, "X-Cos-Meta-Directup-Upload": {info.Metadata[policy.WriteMetadata]}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(bg, to); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, to) {
		t.Error("a seal copied from another key exempted an object from its keys' declaration")
	}
}

// Objects outside every key prefix are not uploads: the storage-triggered check leaves
// them (a bucket-wide trigger must not delete what directup did not upload) and tells
// nothing. Kills: objectcreated.go:uploadsKey's folder-owner test dropped.
func TestMutauditObjectsOutsideThePrefixesAreLeftAlone(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.MaxSize = 8 }, false)
	key := "elsewhere/page.html"
	put(t, e.store.Client, key, "image/png", []byte("<html><script>alert(1)</script></html>"))
	before := len(e.told.all())
	if err := e.svc.ObjectCreated(bg, key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Fatal("the storage check deleted an object outside every key prefix")
	}
	if n := len(e.told.all()) - before; n != 0 {
		t.Errorf("%d events told for an object outside every key prefix", n)
	}
}
