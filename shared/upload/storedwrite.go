package upload

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// A seal (WriteMetadata) binds a key, a size, a type and a profile, not the object: it
// comes back on every read, so temporary keys for the key can copy it onto what they write,
// of that size and type, and even rebuild the upload's very bytes with settings of their
// own. Where keys can be handed out for a key someone else can name, an upload's seal says
// its complete records what it stored — the ETag and the settings its own read of the
// object found — and such a seal counts only on an object with both. The record is one
// storage write after complete's read, and one read for the storage check of a sealed
// object, in that setting only.

// storedWrite is the record of what an API upload's complete stored.
type storedWrite struct {
	ETag     string `json:"etag"`     // the store's ETag of the assembled object; "" binds nothing
	Object   string `json:"object"`   // its Content-Type and settings, as a read tells them back
	Modified int64  `json:"modified"` // its Last-Modified (Unix seconds): a rebuild of it is a later write
}

// storedText is what a record keeps of an object beside its ETag: its full Content-Type
// (the seal covers only the media type), settings (infoSettings), and whether a customer's
// key encrypts it.
func storedText(info storage.ObjectInfo) string {
	return info.ContentType + "\x00" + infoSettings(info) + "\x00" + strconv.FormatBool(info.CustomerKeyEncrypted)
}

// requestedText is storedText of the object an initiate asks for.
func requestedText(obj *storage.Object) string {
	ssec := obj.Encryption != nil && obj.Encryption.CustomerKeyMD5 != ""
	return obj.ContentType + "\x00" + objectSettings(obj) + "\x00" + strconv.FormatBool(ssec)
}

// settingsDigest is a short digest of a storedText (the token carries it: Claims.Settings).
func settingsDigest(text string) string {
	sum := sha256.Sum256([]byte(text))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// binds reports whether the record names the object info describes: its very write.
func (w *storedWrite) binds(info storage.ObjectInfo) bool {
	return w.ETag != "" && w.ETag == strings.Trim(info.ETag, `"`) && w.Object == storedText(info) && w.Modified == info.LastModified.Unix()
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

// recordWrite records what c's complete stored: etag is the store's answer, info what the
// complete's read found at the key (read now if it read nothing). A read that found
// another object (written since the complete) binds nothing: the upload's is gone. Nor
// does one of the upload's bytes with settings other than the initiate asked for while
// another caller's keys for the key held: keys can rebuild the upload's very bytes, cut
// the same way, in the moment since the store's complete (the declarations are read only
// then: a store that spells settings as they were sent costs no request more). ours
// tells whether what the read found is the upload's object.
func (s *Service) recordWrite(ctx context.Context, c *uploadplan.Claims, etag string, info storage.ObjectInfo) (ours bool, _ error) {
	if !info.Exists {
		var err error
		if info, err = s.objects.Stat(ctx, c.Key); err != nil {
			return false, err
		}
	}
	w := storedWrite{}
	if info.Exists && strings.Trim(info.ETag, `"`) == strings.Trim(etag, `"`) {
		w = storedWrite{ETag: strings.Trim(info.ETag, `"`), Object: storedText(info), Modified: info.LastModified.Unix()}
	}
	if w.ETag != "" && settingsDigest(storedText(info)) != c.Settings {
		all, err := s.readDeclarations(ctx, c.Key)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(heldFor(all, info, c.Profile), func(d declared) bool { return d.Caller != c.Subject || d.Caller == "" }) {
			w = storedWrite{}
		}
	}
	return w.ETag != "", s.records.Put(ctx, records.Stored, storedSubject(c.Key, c.Write), &w)
}

// storedRecord reads the record of write's object at key: nil when there is none. A
// record not sealed by this deployment binds nothing.
func (s *Service) storedRecord(ctx context.Context, key, write string) (*storedWrite, error) {
	var w storedWrite
	found, err := s.records.Get(ctx, records.Stored, storedSubject(key, write), &w)
	if errors.Is(err, records.ErrForged) {
		s.log.Error("record not written by directup: ignored", "kind", records.Stored, "key", key, "error", err.Error())
		return &storedWrite{}, nil
	}
	if err != nil || !found {
		return nil, err
	}
	return &w, nil
}

// A complete writes its record after its read, within 30 s of the store's complete, and
// storage may report the object before that: a record missing for an object this young is
// awaited, at these waits.
const recordYoung = 30*time.Second + declarationSkew*time.Second

var recordWaits = []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}

// awaitRecord is storedRecord, awaiting a young object's record a few seconds.
func (s *Service) awaitRecord(ctx context.Context, key, write string, info storage.ObjectInfo) (*storedWrite, error) {
	young := s.young(info)
	for i := 0; ; i++ {
		w, err := s.storedRecord(ctx, key, write)
		if err != nil || w != nil || !young || i == len(recordWaits) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(recordWaits[i]):
		}
	}
}

// young reports whether the object info describes may still have its complete's record
// on the way.
func (s *Service) young(info storage.ObjectInfo) bool {
	return s.now().Sub(info.LastModified) < recordYoung
}

// errRecordPending asks the platform to check an object again later: its upload's
// complete has not recorded it yet, and temporary keys for its key held at its write.
var errRecordPending = &errcode.Error{Code: errcode.UpstreamBusy,
	Message: "the object's upload has not recorded it yet, and temporary keys for its key were out: checked again at the platform's retry"}
