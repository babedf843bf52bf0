package upload_test

// An outside attack on the records of forms signed for named keys (formsout.go): that
// another caller's form and temporary keys never share a named key, and that the records
// open nothing new.

import (
	"context"
	"fmt"
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
)

// deleteGatedStore is a gatedStore whose deletes can be held by a test too.
type deleteGatedStore struct {
	*gatedStore
	beforeDelete func(key string)
}

func (d *deleteGatedStore) Delete(ctx context.Context, key string) error {
	if d.beforeDelete != nil {
		d.beforeDelete(key)
	}
	return d.gatedStore.Delete(ctx, key)
}

// fakeClock is a clock a test moves (read from several goroutines).
type fakeClock struct{ unix atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.unix.Store(t.UnixNano())
	return c
}
func (c *fakeClock) now() time.Time      { return time.Unix(0, c.unix.Load()) }
func (c *fakeClock) set(t time.Time)     { c.unix.Store(t.UnixNano()) }
func (c *fakeClock) add(d time.Duration) { c.unix.Add(int64(d)) }

func newDeleteGatedEnv(t *testing.T, clock *fakeClock) (*holesEnv, *deleteGatedStore) {
	t.Helper()
	var d *deleteGatedStore
	e := newHolesEnvServing(t, functest.NewBackend(t), nil, false, func(fs *flakyStore) storage.Store {
		d = &deleteGatedStore{gatedStore: &gatedStore{flakyStore: fs}}
		return d
	}, upload.WithClock(clock.now))
	return e, d
}

func pngReq(key string, size int64) *policy.InitiateRequest {
	return &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}
}

// BROKE, fixed (each form now has a record of its own, never rewritten). One record per
// caller and key, rewritten in place by each of the caller's forms, and dropped by POST
// /sts once it read it as expired: the drop was blind. bob's declare
// reads alice's record of an old form (expired) and, while it writes its own declaration,
// deletes that path; alice meanwhile signs a new form for the key, rewriting the same path
// before bob's declaration exists (so her lockedByKeys sees no keys). bob's delete then
// removes alice's fresh record, and bob's second read of the forms finds none: alice's
// live form and bob's keys are both out, and alice's object is judged against (and deleted
// by) bob's declaration.
func TestAttackFormsStaleDropRemovesARewrittenRecord(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, g := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/stale-drop.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	if _, err := e.svc.InitiateForm(alice, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Hour) // alice's first form (1h) expired: her record reads as stale

	var (
		once      sync.Once
		aliceDone = make(chan struct{})
		f         *upload.FormUpload
		formErr   error
	)
	g.beforeDelete = func(path string) {
		if strings.Contains(path, "/"+string(records.Forms)+"/") {
			once.Do(func() {
				defer close(aliceDone)
				f, formErr = e.svc.InitiateForm(alice, pngReq(key, size))
			})
		}
	}
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Declared)+"/") {
			select { // bob's declaration waits for alice's new form (never forever)
			case <-aliceDone:
			case <-time.After(10 * time.Second):
			}
		}
	}
	big := int64(len(png56) + 1000)
	_, keysErr := e.svc.Keys(bob, pngReq(key, big))
	g.beforeDelete, g.beforePutRecord = nil, nil
	if formErr != nil || keysErr != nil {
		return // one of the two refused: held
	}
	t.Errorf("alice's new form and bob's keys were both handed out for %s", key)
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		t.Fatalf("form post: %d", s)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Errorf("alice's form upload was judged against bob's declaration and deleted")
	}
}

// BROKE, fixed (a renewal reads the forms too, passing over only those recorded while its
// caller's keys held, and a form meets the declarations that held when it was recorded).
// A renewal skipped both reads of the forms, on the ground that every form signed since
// the caller's keys were out met their declaration. But whether the request renews
// is decided from the declarations' listing (the old keys still hold, skew included),
// while a form racing it reads the declarations a moment later, when the old keys no
// longer hold and the renewal's own declaration is not written yet: alice's form passes
// lockedByKeys, bob's renewal never looks at her record, and both are out.
func TestAttackFormsRenewalAcrossTheOldKeysExpiry(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, g := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/renewal-edge.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	big := int64(len(png56) + 1000)
	first, err := e.svc.Keys(bob, pngReq(key, big))
	if err != nil {
		t.Fatal(err)
	}
	// bob's SDK renews its keys as they run out: the last second his old keys still hold
	// (their expiry and the 5 s skew).
	edge := first.Expires.Unix() + 5
	clock.set(time.Unix(edge, 0))
	var (
		once    sync.Once
		f       *upload.FormUpload
		formErr = fmt.Errorf("alice's form was never asked for")
	)
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Declared)+"/") {
			once.Do(func() {
				// bob's renewal listed; one second on, alice asks for a form.
				clock.set(time.Unix(edge+1, 0))
				f, formErr = e.svc.InitiateForm(alice, pngReq(key, int64(len(png56))))
			})
		}
	}
	_, keysErr := e.svc.Keys(bob, pngReq(key, big))
	g.beforePutRecord = nil
	if formErr != nil || keysErr != nil {
		return // one of the two refused: held
	}
	t.Errorf("alice's form and bob's renewed keys were both handed out for %s", key)
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		t.Fatalf("form post: %d", s)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Errorf("alice's form upload was judged against bob's renewed declaration and deleted")
	}
}

// BROKE, fixed. The records of forms for one key had no bound (one per caller ever signed
// a form for it) and were dropped only by POST /sts, after it read them all; a folder past
// records.MaxInFolder made that read fail (key_busy) before anything was dropped. Once
// 1001 callers were signed forms for one named key (a hook naming a shared key, or callers
// with client keys), temporary keys for it were refused for good — long after every one of
// those forms expired, with no one holding anything. Now a form tidies the folder and at
// most 256 may be outstanding for one key (the rest key_busy): a month on, keys are handed out.
func TestAttackFormsFolderFilledBlocksKeysForever(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 300 forms")
	}
	clock := newFakeClock(time.Now())
	e, _ := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/popular.png"
	size := int64(len(png56))
	var wg sync.WaitGroup
	var failed atomic.Int32
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				ctx := upload.WithCaller(context.Background(), fmt.Sprintf("user-%04d", i))
				if _, err := e.svc.InitiateForm(ctx, pngReq(key, size)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	const asked = 300 // past the 256 a key may have outstanding
	for i := range asked {
		next <- i
	}
	close(next)
	wg.Wait()
	if ok := asked - int(failed.Load()); ok < 256-8 || ok > 256+8 {
		t.Errorf("%d forms for one key handed out at once, want 256 (give or take the few racing)", ok)
	}
	clock.add(30 * 24 * time.Hour) // every form long expired
	carol := upload.WithCaller(context.Background(), "carol")
	for try := range 3 {
		if _, err := e.svc.Keys(carol, pngReq(key, size)); err != nil {
			t.Errorf("keys (try %d) a month after every form for the key expired: %v", try+1, err)
		}
	}
}

// BROKE, fixed (with client keys on, a generated key's form is recorded too). A form for a
// generated key was not recorded: "nobody could name
// it before". But a form stays valid for its lifetime and may be posted again (a retry,
// a second pick), while its key is known to whoever saw the first object. bob, with client
// keys, names it for temporary keys (no record to refuse him); alice posts her still-valid
// form again, and her object is judged against bob's declaration and deleted.
func TestAttackFormsGeneratedKeyPostedAgainUnderOthersKeys(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	f, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Filename: "me.png", ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		t.Fatalf("form post: %d", s)
	}
	if err := e.svc.ObjectCreated(context.Background(), f.Key); err != nil {
		t.Fatal(err)
	}
	// The object's key is now public knowledge (its URL shared); bob names it.
	big := int64(len(png56) + 1000)
	if _, err := e.svc.Keys(bob, pngReq(f.Key, big)); err != nil {
		return // keys refused while alice's form is valid: held
	}
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		return // the form refused while keys are out: held
	}
	if err := e.svc.ObjectCreated(context.Background(), f.Key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, f.Key) {
		t.Errorf("alice's second post of her still-valid form (generated key) was judged against bob's declaration and deleted")
	}
}

// HELD. Without authentication every caller is "": a form's record stops every caller's
// keys, the form's own caller's too (no one can tell them apart), and the form is refused
// once anyone's keys are out.
func TestAttackFormsEmptyCallerIsEveryone(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	anon := context.Background()
	size := int64(len(png56))
	if _, err := e.svc.InitiateForm(anon, pngReq("uploads/shared/anon-a.png", size)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(anon, pngReq("uploads/shared/anon-a.png", size)); !errcode.Is(err, errcode.KeyBusy) {
		t.Errorf("anonymous keys with an anonymous form out: %v, want key_busy", err)
	}
	if _, err := e.svc.Keys(anon, pngReq("uploads/shared/anon-b.png", size)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.InitiateForm(anon, pngReq("uploads/shared/anon-b.png", size)); !errcode.Is(err, errcode.KeyBusy) {
		t.Errorf("anonymous form with anonymous keys out: %v, want key_busy", err)
	}
	// The refused form dropped its record: more keys for the key are handed out (keys
	// beside keys, as for any callers).
	if _, err := e.svc.Keys(anon, pngReq("uploads/shared/anon-b.png", size)); err != nil {
		t.Errorf("anonymous keys again after a refused anonymous form: %v", err)
	}
}

// BROKE, fixed (a record per form). A caller's record was rewritten whole by each of her forms, each
// computing its NotAfter before its write: two forms of alice's whose writes land out of
// order (the first one's held up by the store's retries for longer than the 10 s margin)
// leave the earlier NotAfter, though her later form is valid for longer. Once the record
// reads as expired bob's keys are handed out while her later form may still be posted,
// and its object is judged against bob's declaration.
func TestAttackFormsRecordRewrittenOutOfOrder(t *testing.T) {
	t0 := time.Now()
	clock := newFakeClock(t0)
	e, g := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/out-of-order.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	entered, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool // (a sync.Once would hold the second form's write too)
	g.beforePutRecord = func(path string) {
		if strings.Contains(path, "/"+string(records.Forms)+"/") && !held.Swap(true) {
			close(entered)
			<-release
		}
	}
	first := make(chan error, 1)
	go func() {
		_, err := e.svc.InitiateForm(alice, pngReq(key, size))
		first <- err
	}()
	<-entered
	clock.add(time.Minute)
	f, err := e.svc.InitiateForm(alice, pngReq(key, size)) // valid a minute longer
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	g.beforePutRecord = nil
	clock.set(t0.Add(time.Hour + 30*time.Second)) // alice's second form still valid
	big := int64(len(png56) + 1000)
	if _, err := e.svc.Keys(bob, pngReq(key, big)); err != nil {
		return // held
	}
	t.Errorf("bob's keys handed out while alice's later form may still be posted")
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		t.Fatalf("form post: %d", s)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Errorf("alice's later form's upload was judged against bob's declaration and deleted")
	}
}

// HELD. alice cannot pass for a renewer to dodge bob's form record: her keys for another
// key, or her pending (refused) declaration, never make her request a renewal.
func TestAttackFormsNoFakeRenewal(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	key := "uploads/shared/fake-renewal.png"
	if _, err := e.svc.Keys(alice, pngReq("uploads/shared/other.png", size)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.InitiateForm(bob, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	for try := range 3 { // each refused request leaves no declaration to renew
		if _, err := e.svc.Keys(alice, pngReq(key, size)); !errcode.Is(err, errcode.KeyBusy) {
			t.Fatalf("alice's keys (try %d) with bob's form out: %v, want key_busy", try+1, err)
		}
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	if paths, err := book.PathsIn(context.Background(), records.Declared, key); err != nil || len(paths) != 0 {
		t.Errorf("refused keys left declarations: %v %v", paths, err)
	}
}

// HELD. A form record is bound to its key and its caller: a bucket writer copying bob's
// live record to another key, or to another id in the same key's folder, plants a record
// that is ignored (logged), blocking no one; a junk object in the folder blocks no one
// either. (Deleting or rolling back a record is open to a bucket writer, as for every
// record.)
func TestAttackFormsMovedRecordsAreIgnored(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	bob := upload.WithCaller(context.Background(), "bob")
	carol := upload.WithCaller(context.Background(), "carol")
	size := int64(len(png56))
	from, to := "uploads/shared/moved-from.png", "uploads/shared/moved-to.png"
	if _, err := e.svc.InitiateForm(bob, pngReq(from, size)); err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	paths, err := book.PathsIn(context.Background(), records.Forms, from)
	if err != nil || len(paths) != 1 {
		t.Fatalf("bob's record: %v %v", paths, err)
	}
	body, _, err := e.store.Client.GetMarker(context.Background(), paths[0])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put := func(k string, b []byte) {
		if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: k, Body: b, Header: http.Header{"Content-Type": {"application/json"}}}); err != nil {
			t.Fatal(err)
		}
	}
	put(book.PathIn(records.Forms, to, "0123456789abcdef"), body)                     // another key's folder
	put(book.PathIn(records.Forms, to, "junk"), []byte(`{"kind":"forms","body":{}}`)) // junk
	put(book.PathIn(records.Forms, from, "00000000000000ff"), []byte("x"))            // junk beside bob's
	if _, err := e.svc.Keys(carol, pngReq(to, size)); err != nil {
		t.Errorf("carol's keys for a key with only moved or junk form records: %v", err)
	}
	if _, err := e.svc.Keys(carol, pngReq(from, size)); !errcode.Is(err, errcode.KeyBusy) {
		t.Errorf("carol's keys beside bob's real record: %v, want key_busy", err)
	}
	if !strings.Contains(e.log.String(), "record not written by directup") {
		t.Errorf("the moved records were not logged")
	}
}

// HELD. An object written under .directup/forms/ (a record, or a bucket writer's object
// there) is never checked as an upload: ObjectCreated leaves it and tells nothing.
func TestAttackFormsRecordsAreNoUploads(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	key := "uploads/shared/record-event.png"
	if _, err := e.svc.InitiateForm(bob, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	paths, err := book.PathsIn(context.Background(), records.Forms, key)
	if err != nil || len(paths) != 1 {
		t.Fatalf("bob's record: %v %v", paths, err)
	}
	before := len(e.told.all())
	if err := e.svc.ObjectCreated(context.Background(), paths[0]); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, paths[0]) {
		t.Errorf("the form record was deleted as an upload")
	}
	if n := len(e.told.all()); n != before {
		t.Errorf("the form record's event was told: %d events", n-before)
	}
}

// HELD. Forms for generated keys (no hook) write no record and cost no storage request
// beyond signing where clients cannot name keys, and one write (the record: once the key
// is known another caller could name it) where they can; a form for a named key refused
// for another's keys tells nothing of them but key_busy, and no message carries a
// record's path or a URL query.
func TestAttackFormsGeneratedKeysAreNotRecorded(t *testing.T) {
	size := int64(len(png56))
	for _, clientKeys := range []bool{false, true} {
		e, g := newGatedEnv(t, func(p *policy.Policy) { p.ClientKeys = clientKeys })
		var puts atomic.Int32
		g.beforePutRecord = func(string) { puts.Add(1) }
		before := e.b.Store.Requests()
		if _, err := e.svc.InitiateForm(upload.WithCaller(context.Background(), "alice"), &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size}); err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{false: 0, true: 1}[clientKeys]
		if n := e.b.Store.Requests() - before; int(n) != want || int(puts.Load()) != want {
			t.Errorf("client keys %v: a form for a generated key made %d storage requests, %d record writes; want %d", clientKeys, n, puts.Load(), want)
		}
	}
	e, _ := newGatedEnv(t, nil)
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	key := "uploads/shared/leak.png"
	if _, err := e.svc.Keys(bob, pngReq(key, size)); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.InitiateForm(alice, pngReq(key, size))
	if !errcode.Is(err, errcode.KeyBusy) {
		t.Fatalf("alice's form with bob's keys out: %v", err)
	}
	_, kerr := e.svc.Keys(upload.WithCaller(context.Background(), "carol"), pngReq(key, size))
	for _, err := range []error{err, kerr} {
		msg := errcode.As(err).Message
		for _, bad := range []string{"bob", "alice", ".directup", "?", "q-sign"} {
			if strings.Contains(msg, bad) {
				t.Errorf("refusal %q tells %q", msg, bad)
			}
		}
	}
}
