package upload_test

// A third outside attack on today's changes: forms' records (formsout.go, form.go), the
// keys' Content-Disposition (tempkeys.go, objectcreated_checks.go) and the initiate that
// writes its resume record while it reads the declarations (initiate.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// newClockedGatedEnv is newGatedEnv where the service, its store client and the store
// itself (its STS stand-in, form expiry and LastModified included) all read clock.
func newClockedGatedEnv(t *testing.T, clock *fakeClock, adjust func(*policy.Policy)) (*holesEnv, *gatedStore) {
	t.Helper()
	var g *gatedStore
	b := functest.NewBackend(t)
	b.Store.SetClock(clock.now)
	e := newHolesEnvServing(t, b, adjust, false, func(fs *flakyStore) storage.Store {
		fs.Client.Now = clock.now
		g = &gatedStore{flakyStore: fs}
		return g
	}, upload.WithClock(clock.now))
	return e, g
}

// BROKE, fixed (the form is signed to expire at its record's end, and refused if its
// checks outlasted it). A form's record claimed the form "cannot be posted after" made+URLTTL+5s, where
// made is read before the record is written; but the form itself is signed only after
// that write, the declarations' read and the folder's tidy-up (formsRoom), and its
// policy expires URLTTL after the signing. When those storage round trips take more than
// the 5 s of skew (a slow or throttled store, retries with backoff, or a function on AWS
// Lambda talking to COS across clouds: about 30 sequential round trips once 256 forms
// sit in the folder), the form outlives its record. Past the record's end, POST /sts
// hands bob keys for the key while alice's form may still be posted: her object is then
// judged against bob's declaration and deleted (or, the other way round, a caller's
// stretched form overwrites the object of keys another caller holds, and passes as
// theirs when it matches their declaration). Here the record write takes 10 s.
// Fix: sign the form to expire at the record's own end (pass PresignForm the deadline
// made+URLTTL, not a TTL from the signing), or refuse the form when now > made+skew.
func TestAttack3FormOutlivesItsRecord(t *testing.T) {
	// Started an hour (the form's URLTTL) back, so that the moment past the record's end
	// below is now: the local store dates objects (LastModified) by the real clock.
	clock := newFakeClock(time.Now().Add(-time.Hour - 6*time.Second))
	e, g := newClockedGatedEnv(t, clock, nil)
	key := "uploads/shared/slow-form.png"
	alice := upload.WithCaller(bg, "alice")
	bob := upload.WithCaller(bg, "bob")
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Forms)+"/") {
			clock.add(10 * time.Second) // a slow record write
		}
	}
	f, err := e.svc.InitiateForm(alice, pngReq(key, int64(len(png56))))
	g.beforePutRecord = nil
	if err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	entries, _, err := book.ListIn(bg, records.Forms, key)
	if err != nil || len(entries) != 1 {
		t.Fatalf("alice's form records: %d, %v", len(entries), err)
	}
	var rec struct{ NotAfter int64 }
	if err := json.Unmarshal(entries[0].Body, &rec); err != nil {
		t.Fatal(err)
	}
	if f.ExpiresAt.Unix() > rec.NotAfter {
		t.Errorf("the form expires at %d, %d s after its record says it can no longer be posted (%d)",
			f.ExpiresAt.Unix(), f.ExpiresAt.Unix()-rec.NotAfter, rec.NotAfter)
	}
	// Past the record's end, before the form's.
	clock.set(time.Unix(rec.NotAfter+1, 0))
	if !clock.now().Before(f.ExpiresAt) {
		return // the form expired with its record: held
	}
	if _, err := e.svc.Keys(bob, pngReq(key, int64(len(png56)+1000))); err == nil {
		t.Errorf("bob was handed keys for %s while alice's form can still be posted", key)
	} else {
		return
	}
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		t.Fatalf("alice's form post: %d", s)
	}
	if err := e.svc.ObjectCreated(bg, key); err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.told.all() {
		t.Logf("told %s %s caller=%q reason=%q", ev.Type, ev.Key, ev.Caller, ev.Reason)
	}
	if !e.exists(t, key) {
		t.Errorf("alice's form upload was judged against bob's declaration and deleted")
	}
}

// abortFailStore is a gatedStore whose multipart aborts fail while failAborts is set.
type abortFailStore struct {
	*gatedStore
	failAborts atomic.Bool
}

func (a *abortFailStore) Abort(ctx context.Context, key, uploadID string) error {
	if a.failAborts.Load() {
		return &errcode.Error{Code: errcode.UpstreamBusy, Message: "abort refused (test)"}
	}
	return a.gatedStore.Abort(ctx, key, uploadID)
}

// BROKE, fixed (the record is written once the key is known free, as before). An initiate
// to a named key wrote its resume record while it read the key's
// declarations, so the record exists before the upload may be refused: GET /uploads in
// that window lists the refused upload, with a token. Before, the record was written only
// once lockedByKeys passed. The abort that follows the refusal is best effort
// (abortQuietly); when it fails (a throttled store), the token the listing handed out
// drives the upload to the end: alice's object lands on the key bob holds temporary keys
// for — what lockedByKeys exists to prevent (bob's keys could list, replace or abort it;
// it is judged against bob's declaration). The old order left such an upload with no
// token anywhere.
// Fix: write the resume record only once lockedByKeys passed (or write it marked pending
// and have ListOpen skip pending records), or keep the parallel writes but have the
// listing re-check the key's declarations before it hands out a token.
func TestAttack3ListingHandsOutARefusedUpload(t *testing.T) {
	var a *abortFailStore
	e := newHolesEnvServing(t, functest.NewBackend(t), nil, false, func(fs *flakyStore) storage.Store {
		a = &abortFailStore{gatedStore: &gatedStore{flakyStore: fs}}
		return a
	})
	key := "uploads/shared/listed.png"
	alice := upload.WithCaller(bg, "alice")
	bob := upload.WithCaller(bg, "bob")
	size := int64(len(png56))
	if _, err := e.svc.Keys(bob, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	a.failAborts.Store(true)
	var (
		once   sync.Once
		listed []upload.OpenUpload
	)
	a.failGet = func(path string) error {
		if !strings.Contains(path, "/"+string(records.Declared)+"/") {
			return nil
		}
		// alice's initiate reads bob's declarations: her resume record is written meanwhile.
		once.Do(func() {
			for range 200 {
				l, err := e.svc.ListOpen(alice)
				if err == nil && len(l) > 0 {
					listed = l
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
		return nil
	}
	_, err := e.svc.Initiate(alice, pngReq(key, size))
	a.failGet = nil
	if errcode.As(err).Code != errcode.KeyBusy {
		t.Fatalf("alice's initiate while bob's keys are out: %v, want key_busy", err)
	}
	if len(listed) == 0 {
		return // held: the listing never showed it
	}
	t.Errorf("GET /uploads listed alice's upload %s, refused because bob holds keys for %s", listed[0].UploadID, key)
	up := listed[0]
	urls, err := e.svc.PresignParts(alice, up.Token, up.UploadID, []int{1}, "")
	if err != nil {
		return
	}
	req, _ := http.NewRequest(http.MethodPut, urls.Parts[0].URL, bytes.NewReader(png56))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: resp.Header.Get("ETag")}}); err == nil {
		t.Errorf("the listed token completed alice's upload onto %s, which bob holds keys for", key)
	}
}

// HELD. The storage check compares the stored Content-Disposition with the declared one
// exactly (after trimming), so none of a scriptable type's variants a browser still
// renders inline passes, and a declared non-scriptable type whose bytes are HTML is
// deleted by the content check whatever its disposition.
func TestAttack3KeysDispositionVariants(t *testing.T) {
	e := newHolesEnv(t, func(p *policy.Policy) { p.AllowedTypes = []string{"text/html", "image/png"} }, false)
	page := []byte("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>")
	for i, tt := range []struct {
		contentType, stored string
		body                []byte
	}{
		{"text/html", "inline", page},
		{"text/html", "Inline", page},
		{"text/html", "inline; filename=attachment", page},
		{"text/html", "attachment2", page},
		{"text/html", "attachment; filename=a.html", page}, // another than declared: deleted (legit SDKs send the answer's)
		{"text/html", "attachmentx", page},
		{"image/png", "inline", page},
	} {
		size := int64(len(tt.body))
		keys, err := e.svc.Keys(upload.WithCaller(bg, "mallory"),
			&policy.InitiateRequest{Filename: "a", ContentType: tt.contentType, Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{"Content-Type": {tt.contentType}, "Content-Disposition": {tt.stored}}
		if _, _, err := e.store.Client.Do(bg, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: tt.body, Header: h}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ObjectCreated(bg, keys.Key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, keys.Key) {
			t.Errorf("%d: %s stored with Content-Disposition %q stays", i, tt.contentType, tt.stored)
		}
	}
}
