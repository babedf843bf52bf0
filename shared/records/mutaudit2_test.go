package records

import (
	"context"
	"errors"
	"strconv"
	"testing"
)

// A sealed folder record copied to another path is not a record there: into another
// owner's folder (same id), or to another id's path in its own owner's folder (so a record
// its writer removed cannot be kept alive, or doubled, under another name). Each copy is
// reported forged and never listed as an entry. Kills: readIn's owner check dropped; its
// path check dropped.
func TestMutaudit2MovedFolderRecordsAreForged(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		owner, id string // where the copy lands
	}{
		{"another owner's folder, same id", "bob", "u1"},
		{"its own folder, another id", "alice", "u2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memStore{}
			b := New(mem, "uploads/", []byte("0123456789abcdef0123456789abcdef"))
			if err := b.PutIn(ctx, Open, "alice", "u1", map[string]string{"id": "u1"}); err != nil {
				t.Fatal(err)
			}
			src := b.PathIn(Open, "alice", "u1")
			dst := b.PathIn(Open, tc.owner, tc.id)
			mem[dst] = mem[src]
			delete(mem, src) // moved: only the copy is left
			entries, forged, err := b.ListIn(ctx, Open, tc.owner)
			if err != nil || len(entries) != 0 || len(forged) != 1 || forged[0] != dst {
				t.Errorf("listing %s after the move: entries %v, forged %v, %v; want none, the copy forged", tc.owner, entries, forged, err)
			}
			entries, forged, err = b.ListWholeIn(ctx, Open, tc.owner)
			if err != nil || len(entries) != 0 || len(forged) != 1 {
				t.Errorf("whole listing of %s after the move: entries %v, forged %v, %v", tc.owner, entries, forged, err)
			}
		})
	}
}

// A folder holding exactly MaxInFolder records is read whole; one more makes ListWholeIn
// ErrFolderFull (never its first records only), and ListIn reads exactly MaxInFolder.
// Kills: the folder-size bound off by one (`len(paths) > MaxInFolder+1`).
func TestMutaudit2FolderBoundIsExact(t *testing.T) {
	ctx := context.Background()
	mem := memStore{}
	b := New(mem, "uploads/", []byte("0123456789abcdef0123456789abcdef"))
	for i := range MaxInFolder {
		if err := b.PutIn(ctx, Declared, "uploads/a.png", strconv.Itoa(i), map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if entries, _, err := b.ListWholeIn(ctx, Declared, "uploads/a.png"); err != nil || len(entries) != MaxInFolder {
		t.Fatalf("a folder of exactly %d: %d entries, %v", MaxInFolder, len(entries), err)
	}
	if err := b.PutIn(ctx, Declared, "uploads/a.png", "one-more", map[string]int{"i": -1}); err != nil {
		t.Fatal(err)
	}
	if entries, _, err := b.ListWholeIn(ctx, Declared, "uploads/a.png"); !errors.Is(err, ErrFolderFull) {
		t.Errorf("a folder of %d: %d entries, %v; want ErrFolderFull", MaxInFolder+1, len(entries), err)
	}
	if entries, _, err := b.ListIn(ctx, Declared, "uploads/a.png"); err != nil || len(entries) != MaxInFolder {
		t.Errorf("ListIn of a folder of %d: %d entries, %v; want the first %d", MaxInFolder+1, len(entries), err, MaxInFolder)
	}
}
