package upload_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/upload"
)

// A form for a named key and temporary keys for it never meet another caller's: a form is
// valid for its lifetime and its object would be judged against the keys' declaration. In
// each order, and with either request landing in the middle of the other, at most one of
// alice's form and bob's keys is handed out (and the other answers key_busy); the same
// caller may hold both.
func TestFormsAndOthersKeysNeverShareAKey(t *testing.T) {
	size := int64(len(png56))
	for _, tt := range []struct {
		name string
		// race, when set, runs the second request while the first writes the record
		// named by the path fragment: "forms" (the form's record) or "declared" (the keys').
		race      string
		keysFirst bool
		sameUser  bool
		wantForm  bool
		wantKeys  bool
	}{
		{name: "form, then another's keys", wantForm: true},
		{name: "keys, then another's form", keysFirst: true, wantKeys: true},
		{name: "another's keys while the form is recorded", race: "forms"},
		{name: "another's form while the keys are declared", race: "declared", keysFirst: true},
		{name: "form, then the same caller's keys", sameUser: true, wantForm: true, wantKeys: true},
		{name: "keys, then the same caller's form", sameUser: true, keysFirst: true, wantForm: true, wantKeys: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, g := newGatedEnv(t, nil)
			key := "uploads/shared/" + strings.ReplaceAll(tt.name, " ", "-") + ".png"
			alice := upload.WithCaller(context.Background(), "alice")
			bob := upload.WithCaller(context.Background(), "bob")
			if tt.sameUser {
				bob = alice
			}
			var formErr, keysErr error
			var f *upload.FormUpload
			form := func() {
				f, formErr = e.svc.InitiateForm(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
			}
			keys := func() {
				_, keysErr = e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
			}
			first, second := form, keys
			if tt.keysFirst {
				first, second = keys, form
			}
			var declaredWrites atomic.Int32
			var raced atomic.Bool
			g.beforePutRecord = func(path string) {
				if strings.Contains(path, "/"+string(records.Declared)+"/") {
					declaredWrites.Add(1)
				}
				if tt.race != "" && strings.Contains(path, "/"+tt.race+"/") && !raced.Swap(true) {
					second()
				}
			}
			first()
			if tt.race == "" {
				second()
			}
			if tt.race != "" {
				// Played out in the middle: one of the two, never both.
				if formErr == nil && keysErr == nil {
					t.Fatalf("both handed out: alice's form and bob's keys for one key")
				}
				if formErr != nil && keysErr != nil {
					t.Fatalf("both refused: form %v; keys %v", formErr, keysErr)
				}
				return
			}
			if (formErr == nil) != tt.wantForm || (keysErr == nil) != tt.wantKeys {
				t.Fatalf("form handed out %v (%v), keys %v (%v); want %v, %v", formErr == nil, formErr, keysErr == nil, keysErr, tt.wantForm, tt.wantKeys)
			}
			for _, err := range []error{formErr, keysErr} {
				if err != nil && !errcode.Is(err, errcode.KeyBusy) {
					t.Errorf("refused with %v, want key_busy", err)
				}
			}
			if !tt.keysFirst && !tt.wantKeys && declaredWrites.Load() != 0 {
				t.Errorf("keys refused for an outstanding form still wrote %d declarations first", declaredWrites.Load())
			}
			if f != nil && !tt.sameUser {
				// The form's upload lands and is kept: no declaration was made to judge it by.
				if s := postFormOf(t, f, f.Fields, png56); s != 204 {
					t.Fatalf("form post: %d", s)
				}
				if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
					t.Fatal(err)
				}
				if !e.exists(t, key) {
					t.Errorf("alice's form upload was deleted")
				}
			}
		})
	}
}

// A form's record holds for the form's lifetime only: once every form it records has
// expired, another caller's keys are handed out, and the expired record is dropped.
func TestFormRecordEndsWithItsForms(t *testing.T) {
	clock := time.Now()
	e, _ := newGatedEnv(t, nil, upload.WithClock(func() time.Time { return clock }))
	key := "uploads/shared/expiring.png"
	size := int64(len(png56))
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	if _, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour - time.Second) // the form (UPLOAD_URL_TTL 1h) may still be posted
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); !errcode.Is(err, errcode.KeyBusy) {
		t.Fatalf("keys while alice's form is valid: %v, want key_busy", err)
	}
	clock = clock.Add(time.Minute)
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatalf("keys once alice's form expired: %v", err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	if paths, err := book.PathsIn(context.Background(), records.Forms, key); err != nil || len(paths) != 0 {
		t.Errorf("the expired form record stayed: %v %v", paths, err)
	}
}

// A form refused because another caller holds keys drops its record, and never stops the
// keys' holder renewing them as its SDK's upload goes on — nor when its record was left
// (the drop failed, or the renewal read it first): recorded while those keys held, it met
// them and was refused. A caller holding no keys is refused while such a record stands,
// and not once it is dropped.
func TestRefusedFormNeverStopsARenewal(t *testing.T) {
	size := int64(len(png56))
	for _, left := range []bool{false, true} {
		e, _ := newGatedEnv(t, nil)
		key := "uploads/shared/renewed.png"
		alice := upload.WithCaller(context.Background(), "alice")
		bob := upload.WithCaller(context.Background(), "bob")
		carol := upload.WithCaller(context.Background(), "carol")
		req := func() *policy.InitiateRequest {
			return &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}
		}
		if _, err := e.svc.Keys(bob, req()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.InitiateForm(alice, req()); !errcode.Is(err, errcode.KeyBusy) {
			t.Fatalf("alice's form while bob's keys are out: %v, want key_busy", err)
		}
		if left { // the refused form's record, left: made while bob's keys were out
			now := time.Now().Unix()
			book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
			if err := book.PutIn(context.Background(), records.Forms, key, "00112233445566778899aabb",
				map[string]any{"caller": "alice", "notBefore": now, "notAfter": now + 3600}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.Keys(bob, req()); err != nil {
			t.Errorf("record left %v: bob's renewal after alice's refused form: %v", left, err)
		}
		if _, err := e.svc.Keys(carol, req()); errcode.Is(err, errcode.KeyBusy) != left {
			t.Errorf("record left %v: carol's keys: %v", left, err)
		}
	}
}

// A form recorded while another caller's keys held meets them even if they expire before
// it reads the declarations: the renewal racing it passes over forms recorded while its
// keys held, so the form must be the one refused. Here bob renews at his keys' last
// second; alice's form is recorded in it, and reads the declarations once those keys have
// run out and before bob's renewal is written.
func TestFormRecordedWhileKeysHeldMeetsThem(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, g := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/last-second.png"
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	big := int64(len(png56) + 1000)
	first, err := e.svc.Keys(bob, pngReq(key, big))
	if err != nil {
		t.Fatal(err)
	}
	clock.set(first.Expires) // bob's keys still hold: his request is a renewal
	var once sync.Once
	var formErr error
	g.beforePutRecord = func(path string) {
		switch {
		case strings.Contains(path, "/"+string(records.Declared)+"/"):
			once.Do(func() { _, formErr = e.svc.InitiateForm(alice, pngReq(key, int64(len(png56)))) })
		case strings.Contains(path, "/"+string(records.Forms)+"/"):
			clock.set(first.Expires.Add(10 * time.Second)) // recorded; bob's first keys run out
		}
	}
	_, keysErr := e.svc.Keys(bob, pngReq(key, big))
	g.beforePutRecord = nil
	if formErr == nil && keysErr == nil {
		t.Fatalf("alice's form and bob's renewed keys were both handed out")
	}
	if keysErr != nil {
		t.Errorf("bob's renewal refused (%v): the form recorded while his keys held should be", keysErr)
	}
}

// Forms for a key no keys are asked for tidy their folder themselves: once it holds more
// than 16 records, each form drops a few of expired forms, so expired records never pile up.
func TestFormsTidyTheirFolder(t *testing.T) {
	clock := newFakeClock(time.Now())
	e, _ := newDeleteGatedEnv(t, clock)
	key := "uploads/shared/tidy.png"
	size := int64(len(png56))
	form := func(caller string) {
		if _, err := e.svc.InitiateForm(upload.WithCaller(context.Background(), caller), pngReq(key, size)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		form(fmt.Sprintf("early-%d", i))
	}
	clock.add(2 * time.Hour) // all 40 expired
	for i := range 6 {
		form(fmt.Sprintf("late-%d", i))
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	paths, err := book.PathsIn(context.Background(), records.Forms, key)
	if err != nil || len(paths) > 16 {
		t.Errorf("the key's folder holds %d records (%v) after 6 forms, 40 expired before; want at most 16", len(paths), err)
	}
}

// A profile that lets clients name keys makes its generated keys nameable too: its forms
// are recorded (and keys refused while one may be posted) though the deployment's own
// rules name none.
func TestProfileClientKeysRecordItsForms(t *testing.T) {
	e := clientKeysProfileEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	size := int64(len(png56))
	f, err := e.svc.InitiateForm(alice, &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size, Profile: "open"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: f.Key, ContentType: "image/png", Size: &size, Profile: "open"}); !errcode.Is(err, errcode.KeyBusy) {
		t.Errorf("bob's keys for alice's generated key (a profile with client keys) while her form is valid: %v, want key_busy", err)
	}
}
