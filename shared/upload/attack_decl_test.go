package upload_test

// Attacks on the declarations kept one record each in a folder per object key.

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/credentials"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
)

// The count limit (32 outstanding keys for one object key) read from a listing taken
// before a declaration's own record is written: callers racing on one named key each see
// the others' records missing and all get keys. Repeated bursts grow the folder past what
// a listing reads (records.MaxInFolder), after which declarations sorting late are missed.
func TestAttackDeclLimitUnderConcurrency(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/burst.png"
	size := int64(len(png56))
	const n = 64
	var ok, busy atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ctx := upload.WithCaller(context.Background(), "caller"+strconv.Itoa(i))
			<-start
			_, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
			switch {
			case err == nil:
				ok.Add(1)
			case errcode.As(err).Code == errcode.KeyBusy:
				busy.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	entries, _, err := book.ListIn(context.Background(), records.Declared, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("granted %d, busy %d, records %d", ok.Load(), busy.Load(), len(entries))
	if ok.Load() > 32 || len(entries) > 32 {
		t.Errorf("%d callers got keys for one key and %d declarations are kept; at most 32 may be outstanding", ok.Load(), len(entries))
	}
}

// Every declaration drops the first 8 expired records it lists, so callers racing on one
// key drop the same 8: bursts of declarations, one each time the last ones' keys expired,
// leave more expired records than they drop, until the folder outgrows what a listing
// reads (records.MaxInFolder, in hash order) and declarations sorting late are missed.
func TestAttackDeclExpiredOutgrowCleanup(t *testing.T) {
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newHolesEnv(t, nil, false, upload.WithClock(clock))
	key := "uploads/shared/grow.png"
	size := int64(len(png56))
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	var grown []int
	for period := range 6 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 32 {
			wg.Go(func() {
				ctx := upload.WithCaller(context.Background(), "p"+strconv.Itoa(period)+"c"+strconv.Itoa(i))
				<-start
				_, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
				if err != nil && errcode.As(err).Code != errcode.KeyBusy {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		paths, err := book.PathsIn(context.Background(), records.Declared, key)
		if err != nil {
			t.Fatal(err)
		}
		grown = append(grown, len(paths))
		skew.Add(int64(2 * time.Hour)) // every key handed out so far has expired, an hour ago and more
	}
	t.Logf("records in the folder after each burst: %v", grown)
	if last := grown[len(grown)-1]; last > 3*32 {
		t.Errorf("the folder of one key holds %d records after 6 bursts (%v): expired ones outgrow their cleanup", last, grown)
	}
}

// A declaration's record is dropped by the next declaration for the key once its keys
// have expired (5 s of skew after). An object the keys wrote just before they expired is
// checked by the storage-triggered function when its event arrives — seconds later, or
// on a retry minutes later: if another declaration for the key came first, the record is
// gone, no declaration holds, and the object escapes what its keys declared.
func TestAttackDeclCleanupBeforeTheCheck(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	issue := e.store.Client.Issuer
	e.store.Client.Issuer = func(ctx context.Context, policy string, _ time.Duration) (credentials.Value, string, error) {
		return issue(ctx, policy, time.Second) // keys about to expire
	}
	key := "uploads/shared/late.png"
	size := int64(len(png56))
	mallory := upload.WithCaller(context.Background(), "mallory")
	bob := upload.WithCaller(context.Background(), "bob")
	keys, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	// Written while the keys are valid, 1000 bytes more than declared.
	put(t, e.store.Client, keys.Key, "image/png", append(png56, make([]byte, 1000)...))
	time.Sleep(time.Until(keys.Expires.Add(7 * time.Second)))
	// Anyone's next declaration for the key (mallory's own will do) drops the expired record.
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), keys.Key); err != nil { // the event, late
		t.Fatal(err)
	}
	if e.exists(t, keys.Key) {
		t.Errorf("an object larger than its keys declared, written while they were valid, stays: its declaration was dropped before its check")
	}
}

// A record of the key's folder whose read fails is skipped as "unreadable for good" unless
// the failure is one of a few transient codes: a 500 from the store, or a connection it
// could not make, is neither, so the declaration it holds is silently ignored — another
// caller's API upload gets onto the key while bob's keys are out, and what bob's keys
// write escapes what he declared.
func TestAttackDeclRecordReadFailsOpen(t *testing.T) {
	for _, fault := range []*errcode.Error{
		{Code: errcode.UpstreamError, Message: "COS answered 500 InternalError", Err: &storerest.ResponseError{Status: 500, Code: "InternalError"}},
		{Code: errcode.UpstreamError, Message: "could not reach COS", Err: &storerest.ResponseError{Err: errors.New("connection reset by peer")}},
	} {
		e, g := newGatedEnv(t, nil)
		key := "uploads/shared/fail.png"
		size := int64(len(png56))
		bob := upload.WithCaller(context.Background(), "bob")
		alice := upload.WithCaller(context.Background(), "alice")
		keys, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
		if err != nil {
			t.Fatal(err)
		}
		book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
		folder := path.Dir(book.PathIn(records.Declared, key, "")) + "/"
		g.failGet = func(k string) error {
			if strings.HasPrefix(k, folder) {
				return fault
			}
			return nil
		}
		if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err == nil {
			t.Errorf("%s: alice's API upload started while bob's keys are out", fault.Message)
		}
		put(t, e.store.Client, keys.Key, "image/png", append(png56, make([]byte, 1000)...))
		err = e.svc.ObjectCreated(context.Background(), keys.Key)
		g.failGet = nil
		if err == nil && e.exists(t, keys.Key) {
			t.Errorf("%s: the object larger than bob's keys declared passed (neither refused nor retried)", fault.Message)
		}
	}
}

// A listing reads the first records.MaxInFolder objects of a key's folder, in key order.
// Anyone who may write under the prefix (the records' own threat: another deployment, a
// misconfigured role) fills the folder with objects sorting first: every declaration is
// then past what is read — bob's keys block no API upload and bind nothing they write.
func TestAttackDeclFolderFilledPastTheListing(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/full.png"
	size := int64(len(png56))
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	folder := path.Dir(book.PathIn(records.Declared, key, "")) + "/"
	bob := upload.WithCaller(context.Background(), "bob")
	alice := upload.WithCaller(context.Background(), "alice")
	keys, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				if err := e.store.PutRecord(context.Background(), folder+"0000"+strconv.Itoa(100000+i), []byte("x")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range records.MaxInFolder {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err == nil {
		t.Errorf("alice's API upload started while bob's keys are out")
	}
	put(t, e.store.Client, keys.Key, "image/png", append(png56, make([]byte, 1000)...))
	if err := e.svc.ObjectCreated(context.Background(), keys.Key); err == nil && e.exists(t, keys.Key) {
		t.Errorf("the object larger than bob's keys declared passed (neither refused nor retried)")
	}
	// And no more keys are handed out for the key while its folder cannot be read whole.
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err == nil {
		t.Errorf("alice got keys for a key whose declarations cannot all be read")
	}
}

// A named key's form was refused while another caller's keys for the key were out — but
// only when it was signed: a form stays valid for its lifetime, and POST /sts could not see
// a form (it is no open upload). Alice signed a form, bob was then handed keys for the key,
// and alice's upload landed on the key while bob's keys were out: held to bob's
// declaration, it was deleted (or, were it the size bob declared, told as bob's). Now the
// form is recorded and bob's keys are refused.
func TestAttackDeclFormSignedBeforeTheKeys(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	key := "uploads/shared/form.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	f, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	big := int64(len(png56) + 1000)
	_, kerr := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &big})
	if kerr != nil {
		return // keys refused while a form for the key is out: held
	}
	if s := postFormOf(t, f, f.Fields, png56); s != 204 {
		return // the form refused while keys are out: held
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Errorf("alice's form upload, signed before bob's keys, landed while they were out and was deleted against bob's declaration")
	}
}
