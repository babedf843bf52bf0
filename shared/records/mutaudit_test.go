package records

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/directup/directup/shared/signed"
)

// Before the secret is read (a ring with no key yet) no record verifies: one sealed with
// an empty key, which anyone who can write to the bucket can make, is ErrForged, in a key
// record and in a folder. Kills: verifies' `len(k) > 0` filter dropped.
func TestMutauditNoKeyYetVerifiesNoRecord(t *testing.T) {
	store := memStore{}
	b := NewKeys(store, "uploads/", &signed.Ring{})
	forge := func(path string, kind Kind, subject string) {
		body := []byte(`{"size":1}`)
		js, _ := json.Marshal(sealed{Kind: kind, Subject: subject, Body: body, MAC: mac(nil, kind, subject, body)})
		store[path] = js
	}
	forge(b.Path(Declared, "uploads/a.png"), Declared, "uploads/a.png")
	var v map[string]any
	if _, err := b.Get(context.Background(), Declared, "uploads/a.png", &v); !errors.Is(err, ErrForged) {
		t.Errorf("a record sealed with an empty key: %v %v; want ErrForged", v, err)
	}
	forge(b.PathIn(Open, "alice", "u1"), Open, inFolder("alice", "u1"))
	entries, forged, err := b.ListIn(context.Background(), Open, "alice")
	if err != nil || len(entries) != 0 || len(forged) != 1 {
		t.Errorf("a folder record sealed with an empty key: %d entries, %d forged, %v", len(entries), len(forged), err)
	}
}
