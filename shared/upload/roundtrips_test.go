package upload_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/upload"
)

// rounds counts the storage round trips a function a network away from storage waits
// for: requests in flight together are one round trip, a request sent when none is in
// flight starts the next. Each request is held a moment before it is served, so requests
// sent together are seen together.
type rounds struct {
	mu                 sync.Mutex
	rounds, requests   int
	inFlight           int
	hold               time.Duration
	methods, lastRound []string
}

func (r *rounds) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		if r.inFlight == 0 {
			r.rounds++
		}
		r.inFlight++
		r.requests++
		r.mu.Unlock()
		time.Sleep(r.hold)
		h.ServeHTTP(w, req)
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	})
}

// since returns the round trips and requests made since the last call.
func (r *rounds) since() (rounds, requests int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rounds, requests = r.rounds, r.requests
	r.rounds, r.requests = 0, 0
	return rounds, requests
}

func newRoundsEnv(t *testing.T) (*holesEnv, *rounds) {
	rt := &rounds{hold: 100 * time.Millisecond} // long enough that requests sent together overlap on a loaded machine
	return newHolesEnvOn(t, functest.NewBackendBehind(t, rt.wrap), nil, false), rt
}

// The storage-triggered function reads what it judges an object by — the object's first
// bytes, a recorded rejection, temporary keys' declarations — at once: one round trip, and
// one more for the records a key's folder of declarations lists (none for an object no
// keys were declared for). An object that matches a declaration has its access list read
// too (keysGrants).
func TestObjectCreatedReadsInOneRoundTrip(t *testing.T) {
	e, rt := newRoundsEnv(t)
	ctx := context.Background()
	if _, _, err := e.upload(t, ctx, "uploads/alice/api.png", "image/png", png56); err != nil {
		t.Fatal(err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	now := time.Now().Unix()
	declare := func(key string, size int) {
		if err := book.Put(ctx, records.Declared, key, map[string]any{"declared": []map[string]any{{"size": size, "contentType": "image/png",
			"caller": "alice", "keys": "0011223344556677", "notBefore": now - 60, "notAfter": now + 1800}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Declared as directup now keeps declarations: a record each, in the key's folder.
	declareIn := func(key string, size int) {
		if err := book.PutIn(ctx, records.Declared, key, "8899aabbccddeeff", map[string]any{"size": size, "contentType": "image/png",
			"caller": "alice", "keys": "8899aabbccddeeff", "notBefore": now - 60, "notAfter": now + 1800}); err != nil {
			t.Fatal(err)
		}
	}
	declareIn("uploads/alice/keys-in.png", len(png56))
	put(t, e.store.Client, "uploads/alice/keys-in.png", "image/png", png56)
	declareIn("uploads/alice/lied-in.png", 1)
	put(t, e.store.Client, "uploads/alice/lied-in.png", "image/png", png56)
	declare("uploads/alice/keys.png", len(png56))
	put(t, e.store.Client, "uploads/alice/keys.png", "image/png", png56)
	declare("uploads/alice/lied.png", 1)
	put(t, e.store.Client, "uploads/alice/lied.png", "image/png", png56)
	for _, tt := range []struct {
		name, key  string
		wantRounds int
		stays      bool
		// The folder's records are read once its listing answers, perhaps while the
		// object's read is still in flight: counted then with the first round trip.
		overlap int
	}{
		{"completed through the API", "uploads/alice/api.png", 2, true, 0},                                                        // the reads, then its complete's record (others may hold keys for the key)
		{"written with temporary keys, as declared", "uploads/alice/keys.png", 2, true, 0},                                        // the reads, then its access list
		{"written with temporary keys, another size than declared", "uploads/alice/lied.png", 3, false, 1},                        // the reads, the declarations again (read maybe before the object was written; not for an older object), the removal
		{"written with temporary keys, as declared in the key's folder", "uploads/alice/keys-in.png", 3, true, 1},                 // the reads with the folder's listing, its records, its access list
		{"written with temporary keys, another size than declared in the key's folder", "uploads/alice/lied-in.png", 5, false, 2}, // as above, the listing and records read again, the removal (read again only for an object written within the skew of the first read: on a slow machine it is older, and judged at once)
	} {
		rt.since()
		if err := e.svc.ObjectCreated(ctx, tt.key); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if n, _ := rt.since(); n > tt.wantRounds || n < tt.wantRounds-tt.overlap {
			t.Errorf("%s: %d storage round trips, want %d", tt.name, n, tt.wantRounds)
		}
		if got := e.exists(t, tt.key); got != tt.stays {
			t.Errorf("%s: object stays %v, want %v", tt.name, got, tt.stays)
		}
	}
}

// Temporary keys for a generated key — one nobody could name before — write their
// declaration once: nothing can be there to count or renew. A named key's declarations
// are listed (with the single record kept before, and the key's records of forms) before
// its own is written, listed again (names only: the count limit against racers; the forms
// again), its open uploads listed, and its own record then written again, confirmed: five
// round trips, the forms' listings riding along with the declarations'.
func TestKeysDeclareAGeneratedKeyInOneWrite(t *testing.T) {
	e, rt := newRoundsEnv(t)
	ctx := context.Background()
	size := int64(len(png56))
	for _, tt := range []struct {
		name, key                string
		wantRounds, wantRequests int
	}{
		{"generated key", "", 1, 1},
		{"named key", "uploads/alice/named.png", 5, 8},
	} {
		rt.since()
		req := &policy.InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: &size}
		if tt.key != "" {
			req.Filename, req.Key = "", tt.key
		}
		keys, err := e.svc.Keys(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if rounds, n := rt.since(); n != tt.wantRequests || rounds != tt.wantRounds {
			t.Errorf("%s: %d storage requests in %d round trips, want %d in %d", tt.name, n, rounds, tt.wantRequests, tt.wantRounds)
		}
		// The declaration holds: an object of another size at the key is removed.
		put(t, e.store.Client, keys.Key, "image/png", append(png56, 0))
		if err := e.svc.ObjectCreated(ctx, keys.Key); err != nil {
			t.Fatal(err)
		}
		if e.exists(t, keys.Key) {
			t.Errorf("%s: an object of another size than declared stayed", tt.name)
		}
	}
}

// An authenticated caller's upload to a named key (temporary keys on) is started, the key's
// declarations read, then its resume record written: three round trips, the record only
// once the key is known free (a record is a working token: GET /uploads answers it, so the
// two are not sent at once). Refused for another caller's keys, the upload is aborted and
// no record is left.
func TestInitiateNamedKeyRecordsOnceFree(t *testing.T) {
	e, rt := newRoundsEnv(t)
	size := int64(len(png56))
	alice := upload.WithCaller(context.Background(), "alice")
	bob := upload.WithCaller(context.Background(), "bob")
	rt.since()
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: "uploads/alice/named.png", ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if rounds, n := rt.since(); rounds != 3 {
		t.Errorf("initiate to a named key: %d round trips (%d requests), want 3", rounds, n)
	}
	key := "uploads/shared/held.png"
	if _, err := e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); !errcode.Is(err, errcode.KeyBusy) {
		t.Fatalf("alice's upload to a key bob holds keys for: %v, want key_busy", err)
	}
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	entries, _, err := book.ListIn(context.Background(), records.Open, "alice")
	if err != nil || len(entries) != 1 {
		t.Errorf("alice's records of open uploads: %d (%v), want the first upload's only", len(entries), err)
	}
	open, err := e.svc.ListOpen(alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range open {
		if o.Key == key {
			t.Errorf("the refused upload is listed open: %+v", o)
		}
	}
}
