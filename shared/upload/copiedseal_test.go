package upload_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// What keys declared and wrote once they existed is theirs whatever seal it carries — but
// an API upload completed before another caller's keys for its key existed stays the
// upload's, even when those keys declared exactly its size and type (the storage check runs
// late, within the declarations' clock skew): nobody takes an honest upload by declaring it.
func TestKeysAfterAnUploadNeverTakeIt(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/honest.png"
	if _, _, err := e.upload(t, alice, key, "image/png", png56); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the keys come a second later (times are in seconds)
	size := int64(len(png56))
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if !e.exists(t, key) {
		t.Fatal("alice's upload was deleted")
	}
	evs := e.told.all()
	if last := evs[len(evs)-1]; last.Type != events.Completed || last.Caller == "mallory" {
		t.Errorf("alice's upload told as %s for %q: taken by keys declared after it", last.Type, last.Caller)
	}
}

// The copied seal under a profile that lets clients name keys (the deployment's rules name
// none): what mallory's keys wrote with alice's seal is not answered to alice's token.
func TestCopiedSealUnderAProfileWithClientKeys(t *testing.T) {
	e := clientKeysProfileEnv(t)
	alice := upload.WithCaller(context.Background(), "alice")
	mallory := upload.WithCaller(context.Background(), "mallory")
	up, done, err := e.profiledUpload(t, alice, "open", "image/png", png56)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(context.Background(), up.Key)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(png56))
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: up.Key, ContentType: "image/png", Size: &size, Profile: "open"}); err != nil {
		t.Fatal(err)
	}
	other := append([]byte(nil), png56...)
	other[len(other)-1] ^= 1
	h := http.Header{"Content-Type": {"image/png"}, "X-Cos-Meta-" + policy.WriteMetadata: {info.Metadata[policy.WriteMetadata]}}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: up.Key, Body: other, Header: h}); err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.Complete(alice, up.Token, up.UploadID, []wire.CompletedPart{{PartNumber: 1, ETag: done.ETag}})
	if err == nil && again.ETag != done.ETag {
		t.Errorf("alice's repeated complete answers mallory's object as hers: %+v", again)
	}
}

// clientKeysProfileEnv is a deployment whose own rules name no keys, with temporary keys
// on and a profile "open" (keys under open/) that lets clients name them.
func clientKeysProfileEnv(t *testing.T) *holesEnv {
	t.Helper()
	base := policy.Default()
	base.AllowSTS = true
	profiles, err := policy.ParseProfiles([]byte(`{"open":{"keyPrefix":"open/","clientKeys":true}}`), base)
	if err != nil {
		t.Fatal(err)
	}
	return newHolesEnv(t, func(p *policy.Policy) { p.ClientKeys = false }, false, upload.WithProfiles(profiles))
}

// A copied seal on what keys write that their declaration does not match (so the seal's
// upload keeps it) is still held to what every API upload keeps: here the storage class.
func TestCopiedSealOffTheDeclarationKeepsTheRulesClass(t *testing.T) {
	e := newHolesEnv(t, nil, false)
	mallory := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/cold.txt"
	if _, _, err := e.upload(t, mallory, key, "text/plain", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	info, err := e.store.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	six := int64(6)
	if _, err := e.svc.Keys(mallory, &policy.InitiateRequest{Key: key, ContentType: "text/plain", Size: &six}); err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"text/plain"}, "X-Cos-Storage-Class": {"DEEP_ARCHIVE"},
		"X-Cos-Meta-" + policy.WriteMetadata: {info.Metadata[policy.WriteMetadata]}}
	if _, _, err := e.store.Client.Do(context.Background(), storerest.Call{Method: http.MethodPut, Key: key, Body: []byte("HELLO"), Header: h}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Errorf("an object written with keys in DEEP_ARCHIVE under a copied seal stays")
	}
}
