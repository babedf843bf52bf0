package upload_test

// A late outside attack on the day's changes: the single write of a generated key's
// declaration, pending declarations and their confirmation, the storage function's
// concurrent reads, and the grants of objects written with temporary keys.

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/functest"
	"github.com/directup/directup/shared/hook"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/storerest"
	"github.com/directup/directup/shared/upload"
)

// gatedStore is a flakyStore whose object reads and record writes can be held by a test
// (a hook runs before each), so a race can be played out step by step.
type gatedStore struct {
	*flakyStore
	beforeRead      func(key string)
	beforePutRecord func(key string)
	failPutRecord   func(key string) error // a record write's failure, or nil
	failGet         func(key string) error // a record read's failure, or nil
	gets            atomic.Int32           // record reads answered
}

func (g *gatedStore) ReadHead(ctx context.Context, key string, n int) ([]byte, storage.ObjectInfo, error) {
	if g.beforeRead != nil {
		g.beforeRead(key)
	}
	return g.flakyStore.ReadHead(ctx, key, n)
}

func (g *gatedStore) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if g.beforeRead != nil {
		g.beforeRead(key)
	}
	return g.flakyStore.Stat(ctx, key)
}

func (g *gatedStore) GetMarker(ctx context.Context, key string) ([]byte, bool, error) {
	defer g.gets.Add(1)
	if g.failGet != nil {
		if err := g.failGet(key); err != nil {
			return nil, false, err
		}
	}
	return g.flakyStore.GetMarker(ctx, key)
}

func (g *gatedStore) PutRecord(ctx context.Context, key string, body []byte) error {
	if g.beforePutRecord != nil {
		g.beforePutRecord(key)
	}
	if g.failPutRecord != nil {
		if err := g.failPutRecord(key); err != nil {
			return err
		}
	}
	return g.flakyStore.PutRecord(ctx, key, body)
}

// newGatedEnv is newHolesEnv on a gatedStore.
func newGatedEnv(t *testing.T, adjust func(*policy.Policy), opts ...upload.Option) (*holesEnv, *gatedStore) {
	t.Helper()
	var g *gatedStore
	e := newHolesEnvServing(t, functest.NewBackend(t), adjust, false, func(fs *flakyStore) storage.Store {
		g = &gatedStore{flakyStore: fs}
		return g
	}, opts...)
	return e, g
}

// The storage function reads the object, its rejection and the key's declarations
// together. A declaration is written before its keys exist, so an object read after a
// declarations read may have been written by keys that read never saw: the object (too
// large for what its keys declared) was told completed and left in the bucket.
func TestAttackDeclarationsReadBeforeTheObject(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	ctx := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/a.png"
	// An object at the key (written outside directup): its event is being handled.
	if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: key, Body: png56, Header: http.Header{"Content-Type": {"image/png"}}}); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	g.beforeRead = func(string) {
		once.Do(func() { close(entered); <-release })
	}
	done := make(chan error, 1)
	go func() { done <- e.svc.ObjectCreated(context.Background(), key) }()
	<-entered
	for g.gets.Load() < 2 { // the rejection and the declarations were read: none
		time.Sleep(time.Millisecond)
	}
	// Meanwhile the attacker takes keys for the key and writes more than it declared.
	size := int64(len(png56))
	keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	big := append(append([]byte(nil), png56...), make([]byte, 1000)...)
	if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: big, Header: http.Header{"Content-Type": {"image/png"}}}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, ev := range e.told.all() {
		if ev.Type == events.Completed && ev.Size == int64(len(big)) {
			t.Errorf("the object larger than its keys' declaration was told completed: %+v", ev)
		}
	}
	if e.exists(t, key) {
		t.Errorf("the object larger than its keys' declaration stays")
	}
}

// A named key's declaration is written pending, then confirmed. Another caller's
// declaration kept between alice's declaration and her confirm must survive it: were the
// record written whole, bob's keys would be out with no declaration, no longer blocking
// alice's API upload to the key, which they could then complete or abort.
func TestAttackConfirmWritesOverAnotherDeclaration(t *testing.T) {
	e, g := newGatedEnv(t, nil)
	ctx := context.Background()
	alice, bob := upload.WithCaller(ctx, "alice"), upload.WithCaller(ctx, "bob")
	key := "uploads/shared/b.png"
	size := int64(len(png56))
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	folder := path.Dir(book.PathIn(records.Declared, key, "")) + "/"
	var puts atomic.Int32
	var bobErr error
	g.beforePutRecord = func(k string) {
		if strings.HasPrefix(k, folder) && puts.Add(1) == 2 { // alice's confirm is about to write
			_, bobErr = e.svc.Keys(bob, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
		}
	}
	if _, err := e.svc.Keys(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); err != nil {
		t.Fatal(err)
	}
	if bobErr != nil {
		t.Fatal(bobErr)
	}
	if callers := declaredCallers(t, book, key); !slices.Contains(callers, "bob") {
		t.Errorf("bob holds keys, but the key's declarations are %v", callers)
	}
	if _, err := e.svc.Initiate(alice, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size}); errcode.As(err).Code != errcode.KeyBusy {
		t.Errorf("alice's API upload while bob's keys are out: %v, want key_busy", err)
	}
}

// An undeclared-size form's fields carry the write's seal and the settings' seal, both
// bound to the key only (not to a write the form itself made). Temporary keys for the
// same key can set those metadata (their CAM policy pins type and length only): the object
// they write is then judged as a form's, never against the keys' declaration.
func TestAttackKeysReplayAFormsSeal(t *testing.T) {
	e, _ := newGatedEnv(t, nil)
	ctx := upload.WithCaller(context.Background(), "mallory")
	key := "uploads/shared/c.png"
	f, err := e.svc.InitiateForm(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png"})
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(png56))
	keys, err := e.svc.Keys(ctx, &policy.InitiateRequest{Key: key, ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"image/png"}}
	for k, v := range f.Fields {
		if strings.HasPrefix(strings.ToLower(k), "x-cos-meta-") {
			h.Set(k, v)
		}
	}
	big := append(append([]byte(nil), png56...), make([]byte, 1000)...)
	if _, _, err := e.store.Client.Do(ctx, storerest.Call{Method: http.MethodPut, Key: keys.Key, Body: big, Header: h}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ObjectCreated(ctx, key); err != nil {
		t.Fatal(err)
	}
	if e.exists(t, key) {
		t.Errorf("an object of %d bytes written with keys declared for %d stays (events %+v)", len(big), size, e.told.all())
	}
}

// dedupHook answers, for a filename it has seen, the key it was first proposed for it (a
// deployer's hook that stores one file once): the generated key of one request becomes
// the named key of the next.
type dedupHook struct {
	mu   sync.Mutex
	keys map[string]string
	seen func(key string)
}

func (h *dedupHook) Create(_ context.Context, ev *hook.CreateEvent) (*hook.Decision, error) {
	yes := true
	h.mu.Lock()
	key, ok := h.keys[ev.Upload.Filename]
	if !ok {
		h.keys[ev.Upload.Filename] = ev.Upload.Key
	}
	h.mu.Unlock()
	if !ok && h.seen != nil {
		h.seen(ev.Upload.Key)
	}
	return &hook.Decision{Allow: &yes, Key: key}, nil
}

// A generated key's declaration is written once, on the argument that nobody could name
// the key before. The hook is told it first, and may answer it to another request (here
// one deduplicating by filename): that request's declaration, kept in between, is written
// over. Its keys are then out with no declaration.
func TestAttackHookNamesAKeyGeneratedForAnother(t *testing.T) {
	h := &dedupHook{keys: map[string]string{}}
	e, _ := newGatedEnv(t, nil, upload.WithHook(h))
	ctx := context.Background()
	alice, bob := upload.WithCaller(ctx, "alice"), upload.WithCaller(ctx, "bob")
	size := int64(len(png56))
	book := records.New(e.store.Client, "uploads/", []byte(holesSecret))
	var bobErr error
	h.seen = func(string) { // alice's request was told its key: bob's whole request runs before hers goes on
		_, bobErr = e.svc.Keys(bob, &policy.InitiateRequest{Filename: "same.png", ContentType: "image/png", Size: &size})
	}
	keys, err := e.svc.Keys(alice, &policy.InitiateRequest{Filename: "same.png", ContentType: "image/png", Size: &size})
	if err != nil {
		t.Fatal(err)
	}
	if bobErr != nil {
		t.Fatal(bobErr)
	}
	if callers := declaredCallers(t, book, keys.Key); !slices.Contains(callers, "bob") {
		t.Errorf("bob holds keys for %s, but its declarations are %v", keys.Key, callers)
	}
}

// declaredCallers is the callers of key's declarations: its folder's records and those of
// the single record kept before.
func declaredCallers(t *testing.T, book *records.Book, key string) []string {
	t.Helper()
	ctx := context.Background()
	entries, _, err := book.ListIn(ctx, records.Declared, key)
	if err != nil {
		t.Fatal(err)
	}
	var callers []string
	for _, e := range entries {
		var d struct{ Caller string }
		if err := json.Unmarshal(e.Body, &d); err != nil {
			t.Fatal(err)
		}
		callers = append(callers, d.Caller)
	}
	var old struct{ Declared []struct{ Caller string } }
	if _, err := book.Get(ctx, records.Declared, key, &old); err != nil {
		t.Fatal(err)
	}
	for _, d := range old.Declared {
		callers = append(callers, d.Caller)
	}
	return callers
}
