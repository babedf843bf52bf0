package upload

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// A seal (WriteMetadata) binds a key, a size, a type and a profile, not the bytes: it comes
// back on every read of the object, so temporary keys for the key can copy it onto what
// they write, of that size and type. Where keys can be handed out for a key someone else
// can name, each API complete therefore records the ETag the store answered for the object
// it assembled, and while keys for the key hold, a seal counts as its upload's only on
// that very object. No round trip is added: the record is written while the complete's
// verification read is under way, and read only when keys held at the object's write.

// storedWrite is the record of what an API upload's complete stored.
type storedWrite struct {
	ETag string `json:"etag"` // the store's ETag of the assembled object
}

// storedSubject names the record of write's object at key: one per write, so two uploads
// completing at one key never overwrite each other's.
func storedSubject(key, write string) string { return key + "\x00" + write }

// othersCanKey reports whether temporary keys for an upload's key can go to someone else:
// keys are handed out and records kept, and the client (profile's clientKeys) or the hook
// names keys.
func (s *Service) othersCanKey(profile string) bool {
	return s.policy.AllowSTS && s.records != nil && (s.rulesNamed(profile).ClientKeys || s.hook != nil)
}

// recordWrite records the object c's complete stored (its ETag, as the store answered).
func (s *Service) recordWrite(ctx context.Context, c *uploadplan.Claims, etag string) error {
	return s.records.Put(ctx, records.Stored, storedSubject(c.Key, c.Write), &storedWrite{ETag: strings.Trim(etag, `"`)})
}

// A complete writes its record one round trip after the store's, and storage may report
// the object before that: a record missing for an object this young is awaited, at these
// waits, before the object is judged without it.
const recordYoung = 10*time.Second + declarationSkew*time.Second

var recordWaits = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}

// boundWrite reports whether the object info describes at key is the one write's complete
// stored (bound), and whether that complete recorded what it stored at all (recorded: false
// for a complete from before these records, or one whose record could not be written).
func (s *Service) boundWrite(ctx context.Context, key, write string, info storage.ObjectInfo) (bound, recorded bool, err error) {
	young := s.now().Sub(info.LastModified) < recordYoung
	for i := 0; ; i++ {
		var w storedWrite
		found, err := s.records.Get(ctx, records.Stored, storedSubject(key, write), &w)
		if errors.Is(err, records.ErrForged) {
			// Not directup's record where the write's is kept: it binds nothing.
			s.log.Error("record not written by directup: ignored", "kind", records.Stored, "key", key, "error", err.Error())
			return false, true, nil
		}
		if err != nil {
			return false, false, err
		}
		if found {
			return w.ETag == strings.Trim(info.ETag, `"`), true, nil
		}
		if !young || i == len(recordWaits) {
			return false, false, nil
		}
		select {
		case <-ctx.Done():
			return false, false, ctx.Err()
		case <-time.After(recordWaits[i]):
		}
	}
}
