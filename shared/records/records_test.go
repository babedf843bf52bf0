package records

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/directup/directup/shared/signed"

	"github.com/directup/directup/shared/errcode"
)

type memStore map[string][]byte

func (m memStore) PutMarker(_ context.Context, key string, body []byte) (bool, error) {
	if _, ok := m[key]; ok {
		return false, nil
	}
	m[key] = body
	return true, nil
}
func (m memStore) PutRecord(_ context.Context, key string, body []byte) error {
	m[key] = body
	return nil
}
func (m memStore) GetMarker(_ context.Context, key string) ([]byte, bool, error) {
	b, ok := m[key]
	return b, ok, nil
}
func (m memStore) Delete(_ context.Context, key string) error { delete(m, key); return nil }
func (m memStore) ListKeys(_ context.Context, prefix string, max int) ([]string, error) {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out[:min(len(out), max)], nil
}

// A record sealed before the token secret rotated still reads (the previous value is
// verify-only); one sealed two rotations back is refused as forged.
func TestRecordsAcrossRotation(t *testing.T) {
	ctx := context.Background()
	var ring signed.Ring
	ring.Set([]byte("first-secret-0123456789abcdef012"), nil)
	b := NewKeys(memStore{}, "uploads/", &ring)
	if _, err := b.Create(ctx, Declared, "uploads/a", map[string]int{"size": 1}); err != nil {
		t.Fatal(err)
	}
	ring.Set([]byte("second-secret-0123456789abcdef01"), []byte("first-secret-0123456789abcdef012"))
	var v map[string]int
	if found, err := b.Get(ctx, Declared, "uploads/a", &v); !found || err != nil || v["size"] != 1 {
		t.Fatalf("after one rotation: %v %v", found, err)
	}
	ring.Set([]byte("third-secret-0123456789abcdef012"), []byte("second-secret-0123456789abcdef01"))
	if _, err := b.Get(ctx, Declared, "uploads/a", &v); !errors.Is(err, ErrForged) {
		t.Fatalf("after two rotations: %v", err)
	}
}

// A caller's folder listed after a rotation still holds the records sealed before it;
// two rotations back they are skipped as forged.
func TestFolderRecordsAcrossRotation(t *testing.T) {
	ctx := context.Background()
	var ring signed.Ring
	ring.Set([]byte("first-secret-0123456789abcdef012"), nil)
	b := NewKeys(memStore{}, "uploads/", &ring)
	if err := b.PutIn(ctx, Open, "alice", "u1", map[string]int{"size": 1}); err != nil {
		t.Fatal(err)
	}
	ring.Set([]byte("second-secret-0123456789abcdef01"), []byte("first-secret-0123456789abcdef012"))
	if entries, forged, err := b.ListIn(ctx, Open, "alice"); err != nil || len(entries) != 1 || entries[0].ID != "u1" || len(forged) != 0 {
		t.Fatalf("after one rotation: %v %v %v", entries, forged, err)
	}
	ring.Set([]byte("third-secret-0123456789abcdef012"), []byte("second-secret-0123456789abcdef01"))
	if entries, forged, err := b.ListIn(ctx, Open, "alice"); err != nil || len(entries) != 0 || len(forged) != 1 {
		t.Fatalf("after two rotations: %v %v %v", entries, forged, err)
	}
}

// answered is the store's answer's status as storerest's ResponseError tells it (0: none came).
type answered int

func (a answered) HTTPStatus() int { return int(a) }
func (a answered) Error() string   { return "answered " + strconv.Itoa(int(a)) }

// failing is a store whose reads of some paths fail with code.
type failing struct {
	memStore
	paths map[string]string
}

func (f failing) GetMarker(ctx context.Context, key string) ([]byte, bool, error) {
	if code, ok := f.paths[key]; ok {
		if code == errcode.UpstreamError { // the store's 4xx for that object (archived, encrypted)
			return nil, false, &errcode.Error{Code: code, Message: "refused", Err: answered(400)}
		}
		if code == "unreachable" { // a connection the store could not make
			return nil, false, &errcode.Error{Code: errcode.UpstreamError, Message: "could not reach COS", Err: answered(0)}
		}
		if code == "5xx" {
			return nil, false, &errcode.Error{Code: errcode.UpstreamError, Message: "COS answered 500", Err: answered(500)}
		}
		return nil, false, &errcode.Error{Code: code, Message: "refused"}
	}
	return f.memStore.GetMarker(ctx, key)
}

// One object of a folder that cannot be read for good (put there encrypted or archived by
// someone who may write under the prefix) does not break its owner's listing; a read that
// failed for now (the store busy, slow) fails it, to be tried again.
func TestListInSkipsWhatCannotBeRead(t *testing.T) {
	ctx := context.Background()
	mem := memStore{}
	b := New(mem, "uploads/", []byte("0123456789abcdef0123456789abcdef"))
	for _, id := range []string{"a", "b"} {
		if err := b.PutIn(ctx, Open, "alice", id, map[string]string{"id": id}); err != nil {
			t.Fatal(err)
		}
	}
	junk := b.folder(Open, "alice") + "0000"
	mem[junk] = []byte("x")
	for code, wantErr := range map[string]bool{errcode.UpstreamError: false, errcode.UpstreamDenied: false, errcode.UpstreamBusy: true, errcode.UpstreamTimeout: true,
		"unreachable": true, "5xx": true} {
		fb := New(failing{mem, map[string]string{junk: code}}, "uploads/", []byte("0123456789abcdef0123456789abcdef"))
		entries, forged, err := fb.ListIn(ctx, Open, "alice")
		if wantErr {
			if err == nil {
				t.Errorf("%s: the listing passed over a read that may succeed later", code)
			}
			continue
		}
		if err != nil || len(entries) != 2 || len(forged) != 1 || forged[0] != junk {
			t.Errorf("%s: %d entries, forged %v, %v", code, len(entries), forged, err)
		}
	}
}
