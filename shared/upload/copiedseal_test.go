package upload_test

import (
	"context"
	"testing"
	"time"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
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
