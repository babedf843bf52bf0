package upload

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/directup/directup/shared/events"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/uploadplan"
)

// newWrite is a fresh value for WriteMetadata on key: 80 random bits and an 80-bit HMAC
// over them, the key, the declared size (or "open") and the declared media type. The seal
// is readable by whoever can read the object (its metadata comes back on a GET), so it
// must not exempt other bytes: it verifies only for an object of exactly that size and
// type, which is what the API pinned — a copy put on other bytes written with temporary
// keys fails and is held to their declaration.
//
// The seal covers the upload's profile too, so the storage-triggered function holds the
// object to that profile's rules, and a value sealed for one profile never passes for
// another's.
//
// Where others may be handed temporary keys for the key (othersCanKey), the seal says so
// (recorded): the upload's complete records the object it stored, and the seal counts only
// on that object (storedwrite.go).
func (s *Service) newWrite(key string, size int64, open bool, contentType, profile string) (string, error) {
	return s.seal(key, sealedSize(size, open), contentType, profile, s.othersCanKey(profile))
}

// newFormWrite is newWrite for a form upload: its seal names the form, so the
// storage-triggered function knows the object came through one (and holds it to what a
// form can carry: never SSE-C, whose content it could not read).
func (s *Service) newFormWrite(key string, size int64, open bool, contentType, profile string) (string, error) {
	return s.seal(key, formSize+sealedSize(size, open), contentType, profile, false)
}

// seal is a fresh write value: 80 random bits and their MAC under the signing key.
func (s *Service) seal(key, size, contentType, profile string, recorded bool) (string, error) {
	var b [10]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return "", err
	}
	r := policy.KeyEncoding.EncodeToString(b[:])
	sign, _ := s.writeKeys.Keys()
	if len(sign) == 0 {
		return "", errors.New("upload: no write key yet (the token secret is read before use)")
	}
	return r + writeMAC(sign, key, r, size, policy.MediaType(contentType), profile, recorded), nil
}

// formSize prefixes the size a form write's seal covers.
const formSize = "form:"

func sealedSize(size int64, open bool) string {
	if open {
		return "open" // size undeclared: the policy's ceiling still holds
	}
	return strconv.FormatInt(size, 10)
}

func writeMAC(secret []byte, key, r, size, mediaType, profile string, recorded bool) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(key + "\x00" + r + "\x00" + size + "\x00" + mediaType))
	if profile != "" { // seals of uploads without a profile are what they were before profiles
		m.Write([]byte("\x00profile\x00" + profile))
	}
	if recorded { // seals of before these records are what they were
		m.Write([]byte("\x00recorded"))
	}
	return policy.KeyEncoding.EncodeToString(m.Sum(nil)[:10])
}

// writeIDLen is the length of a write value's random part, the write's id: the token and
// event ids carry only it.
const writeIDLen = 16

// sealed is what a verified seal tells of the write that made it.
type sealed struct {
	profile  string // the upload's profile ("" the deployment's rules)
	form     bool   // a form (not a multipart upload) wrote it
	open     bool   // sealed open (for any size: the upload declared none)
	recorded bool   // its complete records the object it stored (storedwrite.go)
}

// apiWrite reports whether the object info describes, at key, carries a WriteMetadata
// value this deployment sealed for an upload of its very size and type, and what the seal
// tells of that upload.
func (s *Service) apiWrite(key string, info storage.ObjectInfo) (sealed, bool) {
	w := info.Metadata[policy.WriteMetadata]
	if len(w) != 2*writeIDLen {
		return sealed{}, false
	}
	mt := policy.MediaType(info.ContentType)
	profiles := []string{""}
	for name := range s.profiles {
		profiles = append(profiles, name)
	}
	// A value sealed before a rotation of the secret verifies with the verify-only key.
	sign, previous := s.writeKeys.Keys()
	for _, secret := range append([][]byte{sign}, previous...) {
		if len(secret) == 0 {
			continue
		}
		for _, profile := range profiles {
			for i, size := range []string{sealedSize(info.Size, false), sealedSize(0, true)} {
				for _, kind := range []string{"", formSize} {
					for _, recorded := range []bool{false, true} {
						if hmac.Equal([]byte(w[writeIDLen:]), []byte(writeMAC(secret, key, w[:writeIDLen], kind+size, mt, profile, recorded))) {
							return sealed{profile: profile, form: kind == formSize, open: i == 1, recorded: recorded}, true
						}
					}
				}
			}
		}
	}
	return sealed{}, false
}

// UploadedBy reports whether the object info describes is the one the upload of c stored:
// it carries that upload's sealed write value.
func (s *Service) UploadedBy(c *uploadplan.Claims, info storage.ObjectInfo) bool {
	w := info.Metadata[policy.WriteMetadata]
	seal, ok := s.apiWrite(c.Key, info)
	return c.Write != "" && info.Exists && ok && !seal.form && seal.profile == c.Profile && w[:writeIDLen] == c.Write
}

// StoredBy is UploadedBy that also tells a copy of the upload's seal from its write: a seal
// is readable, so temporary keys may have copied it onto what they wrote. A recorded seal is
// the upload's only on the object its complete recorded (storedwrite.go), or, where no
// record is there (its complete could not write it), where no keys for the key held at
// the object's write; a seal of before these records only where no other caller's keys,
// existing once it was written, declared it. Read only where keys can be handed out and a
// client or the hook names keys.
func (s *Service) StoredBy(ctx context.Context, c *uploadplan.Claims, info storage.ObjectInfo) (bool, error) {
	ours, _, err := s.storedBy(ctx, c, info)
	return ours, err
}

// storedBy is StoredBy, and whether the upload's record is missing (unrecorded: its
// complete, repeated, records it).
func (s *Service) storedBy(ctx context.Context, c *uploadplan.Claims, info storage.ObjectInfo) (ours, unrecorded bool, err error) {
	if !s.UploadedBy(c, info) {
		return false, false, nil
	}
	// A recorded seal is judged by its record whatever the settings are now (keys may have
	// been handed out before they were turned off).
	seal, _ := s.apiWrite(c.Key, info)
	seal.recorded = seal.recorded && s.records != nil
	if !seal.recorded && !s.othersCanKey(c.Profile) {
		return true, false, nil
	}
	var all []declared
	var rec *storedWrite
	var declErr, recErr error
	var wg sync.WaitGroup
	wg.Go(func() { all, declErr = s.readDeclarations(ctx, c.Key) })
	if seal.recorded {
		wg.Go(func() { rec, recErr = s.storedRecord(ctx, c.Key, c.Write) })
	}
	wg.Wait()
	if err := errors.Join(declErr, recErr); err != nil {
		return false, false, err
	}
	held := heldFor(all, info, c.Profile)
	if seal.recorded {
		if rec == nil && len(held) > 0 {
			// Keys held at its write: the record decides. One still being written (the
			// complete, in flight, writes it after its read) is awaited.
			if rec, err = s.awaitRecord(ctx, c.Key, c.Write, info); err != nil {
				return false, false, err
			}
		}
		if rec != nil {
			return rec.binds(info), false, nil
		}
		return len(held) == 0, len(held) == 0, nil
	}
	if len(held) == 0 {
		return true, false, nil
	}
	var others []declared
	for _, d := range writtenByKeys(all, info, c.Profile) {
		if d.Caller != c.Subject || d.Caller == "" {
			others = append(others, d)
		}
	}
	return matching(others, info) == nil, false, nil
}

// identify sets ev's id from what names the write: its WriteMetadata value (write; the
// API knows it from the token, the storage function from the object), else the fingerprint
// of the temporary keys that wrote it (keys), else its modification time; then the ETag.
// Outcomes without an object use the upload id.
func identify(ev *events.Event, write, keys string, modified time.Time) {
	switch {
	case ev.ETag != "" && write != "":
		ev.ID = events.EventID(ev.Type, ev.Bucket, ev.Key, "w:"+write+"@"+strings.Trim(ev.ETag, `"`))
	case ev.ETag != "" && keys != "":
		ev.ID = events.EventID(ev.Type, ev.Bucket, ev.Key, "k:"+keys+"@"+events.ObjectVersion(ev.ETag, modified))
	case ev.ETag != "" && !modified.IsZero():
		ev.ID = events.EventID(ev.Type, ev.Bucket, ev.Key, events.ObjectVersion(ev.ETag, modified))
	case ev.ETag != "":
		ev.ID = events.EventID(ev.Type, ev.Bucket, ev.Key, strings.Trim(ev.ETag, `"`)+"@"+ev.UploadID)
	default:
		ev.ID = events.EventID(ev.Type, ev.Bucket, ev.Key, ev.UploadID)
	}
}

// userMetadata is an object's metadata without directup's own.
func userMetadata(m map[string]string) map[string]string {
	if _, ok := m[policy.WriteMetadata]; !ok {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, policy.ReservedMetaPrefix) {
			out[k] = v
		}
	}
	return out
}
