package upload

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/records"
)

// Event is an upload's outcome, told to the deployer's application (EVENTS_URL; shared/events
// delivers them). Every delivery of one outcome carries the same ID, derived from the
// stored object's write, so receivers deduplicate on it.
type Event struct {
	Type         string            `json:"type"` // upload.completed, upload.rejected, upload.aborted
	ID           string            `json:"id"`
	Time         time.Time         `json:"time"`
	Caller       string            `json:"caller,omitempty"`
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	UploadID     string            `json:"uploadId,omitempty"`
	Size         int64             `json:"size,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	CRC64        string            `json:"crc64,omitempty"`
	ContentType  string            `json:"contentType,omitempty"`
	DetectedType string            `json:"detectedType,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	Reason       string            `json:"reason,omitempty"` // upload.rejected: why
	// RemovalPending (upload.rejected): the object could not be removed yet; directup
	// removes it at the next call for the upload or the storage-triggered function's check.
	RemovalPending bool   `json:"removalPending,omitempty"`
	Source         string `json:"source"` // "api", or "storage" (the storage-triggered function)
}

// Event types.
const (
	EventCompleted = "upload.completed"
	EventRejected  = "upload.rejected"
	EventAborted   = "upload.aborted"
)

// Events receives outcomes. Publish delivers (retrying as it sees fit); an outcome it
// cannot deliver it must record (shared/events logs it as one JSON line) and report, so
// the storage-triggered path can fail and be retried by its platform. The API path does
// not fail a call it reports.
type Events interface {
	Publish(ctx context.Context, ev *Event) error
}

// WithEvents tells events every outcome.
func WithEvents(e Events) Option { return func(s *Service) { s.events = e } }

// EventID names one outcome of one write: the same kind, bucket, key and version always
// give the same id. The version of a stored object is its ETag and modification time
// (two uploads of the same bytes to one key differ in time); an outcome without an
// object (an abort, an upload refused before it became one) uses its upload id.
func EventID(kind, bucket, key, version string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + bucket + "\x00" + key + "\x00" + version))
	return hex.EncodeToString(sum[:16])
}

// ObjectVersion is the version EventID takes for a stored object: its ETag and
// modification time.
func ObjectVersion(etag string, modified time.Time) string {
	return strings.Trim(etag, `"`) + "@" + strconv.FormatInt(modified.Unix(), 10)
}

// WriteMetadata is the metadata (x-cos-meta-directup-upload, x-amz-meta-...) in which an
// upload through the API names its write with a random value, also signed into its token:
// the API and the storage-triggered function both know it, so the events of two uploads of
// the same bytes to one key get different ids, and both paths the same id for one write.
// Clients cannot send metadata starting with "directup-".
const WriteMetadata = "directup-upload"

const (
	reservedMetaPrefix = "directup-"
	// writeMetaBytes is what WriteMetadata takes of COS's 4 KB of metadata headers.
	writeMetaBytes = 64
)

// newWrite is a fresh value for WriteMetadata on key: 80 random bits and an 80-bit HMAC
// over them, the key, the declared size (or "open") and the declared media type. The seal
// is readable by whoever can read the object (its metadata comes back on a GET), so it
// must not exempt other bytes: it verifies only for an object of exactly that size and
// type, which is what the API pinned — a copy put on other bytes written with temporary
// keys fails and is held to their declaration.
func (s *Service) newWrite(key string, size int64, open bool, contentType string) (string, error) {
	var b [10]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return "", err
	}
	r := keyEncoding.EncodeToString(b[:])
	return r + s.writeMAC(key, r, sealedSize(size, open), mediaType(contentType)), nil
}

func sealedSize(size int64, open bool) string {
	if open {
		return "open" // size undeclared: the policy's ceiling still holds
	}
	return strconv.FormatInt(size, 10)
}

func (s *Service) writeMAC(key, r, size, mediaType string) string {
	m := hmac.New(sha256.New, s.writeKey)
	m.Write([]byte(key + "\x00" + r + "\x00" + size + "\x00" + mediaType))
	return keyEncoding.EncodeToString(m.Sum(nil)[:10])
}

// writeIDLen is the length of a write value's random part, the write's id: the token and
// event ids carry only it.
const writeIDLen = 16

// apiWrite reports whether the object info describes, at key, carries a WriteMetadata
// value this deployment sealed for an upload of its very size and type.
func (s *Service) apiWrite(key string, info ObjectInfo) bool {
	w := info.Metadata[WriteMetadata]
	if len(w) != 2*writeIDLen {
		return false
	}
	mt := mediaType(info.ContentType)
	for _, size := range []string{sealedSize(info.Size, false), sealedSize(0, true)} {
		if hmac.Equal([]byte(w[writeIDLen:]), []byte(s.writeMAC(key, w[:writeIDLen], size, mt))) {
			return true
		}
	}
	return false
}

// UploadedBy reports whether the object info describes is the one the upload of c stored:
// it carries that upload's sealed write value.
func (s *Service) UploadedBy(c *Claims, info ObjectInfo) bool {
	w := info.Metadata[WriteMetadata]
	return c.Write != "" && info.Exists && s.apiWrite(c.Key, info) && w[:writeIDLen] == c.Write
}

func deriveKey(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// identify sets ev's id from what names the write: its WriteMetadata value (write; the
// API knows it from the token, the storage function from the object), else the fingerprint
// of the temporary keys that wrote it (keys), else its modification time; then the ETag.
// Outcomes without an object use the upload id.
func identify(ev *Event, write, keys string, modified time.Time) {
	switch {
	case ev.ETag != "" && write != "":
		ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, "w:"+write+"@"+strings.Trim(ev.ETag, `"`))
	case ev.ETag != "" && keys != "":
		ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, "k:"+keys+"@"+ObjectVersion(ev.ETag, modified))
	case ev.ETag != "" && !modified.IsZero():
		ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, ObjectVersion(ev.ETag, modified))
	case ev.ETag != "":
		ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, strings.Trim(ev.ETag, `"`)+"@"+ev.UploadID)
	default:
		ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, ev.UploadID)
	}
}

// userMetadata is an object's metadata without directup's own.
func userMetadata(m map[string]string) map[string]string {
	if _, ok := m[WriteMetadata]; !ok {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !strings.HasPrefix(k, reservedMetaPrefix) {
			out[k] = v
		}
	}
	return out
}

func (s *Service) publish(ctx context.Context, ev *Event) {
	if s.events == nil {
		return
	}
	ev.Source = "api"
	s.tell(ctx, ev)
}

// tell completes ev (time, caller, and the id if identify did not set it) and publishes
// it within 5 s.
func (s *Service) tell(ctx context.Context, ev *Event) error {
	if s.events == nil {
		return nil
	}
	ev.Time = s.now().UTC()
	if ev.Caller == "" {
		ev.Caller = Caller(ctx)
	}
	if ev.ID == "" {
		identify(ev, "", "", time.Time{})
	}
	// Told while the caller waits (a function may be frozen once it answers), within 5 s
	// of its own even if the request's deadline ends first.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.events.Publish(ctx, ev)
}

// ObjectCreated checks an object storage reports created (the storage-triggered function)
// as the API checks a complete — size within the policy, content against its type, a
// contradiction deleted — and tells the outcome. It covers objects completed by any path.
// Objects outside the key prefix and directup's own records are not uploads: ignored. An
// error (storage, or an event that could not be delivered) asks the platform to retry.
func (s *Service) ObjectCreated(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, s.policy.KeyPrefix) || reserved(s.policy.KeyPrefix, key) {
		return nil
	}
	info, err := s.store.Stat(ctx, key)
	if err != nil {
		return err
	}
	rej, err := s.rejectionFor(ctx, key)
	if err != nil {
		return err
	}
	if !info.Exists {
		// Deleted since: by the API's verification, or by an earlier attempt of this very
		// event whose rejection could not be told then — its record says so.
		return s.finishRecordedRejection(ctx, key, rej, info)
	}
	if rej != nil && rej.Remove && rej.Event.ETag == info.ETag {
		// The API rejected this very object but could not remove it: finish that.
		return s.finishRecordedRejection(ctx, key, rej, info)
	}
	ev := &Event{Type: EventCompleted, Bucket: s.store.Bucket(), Key: key, Size: info.Size, ETag: info.ETag,
		CRC64: info.CRC64, ContentType: info.ContentType, Metadata: userMetadata(info.Metadata), Source: "storage"}
	write, keys := info.Metadata[WriteMetadata], ""
	if s.apiWrite(key, info) {
		write = write[:writeIDLen] // the write's id, as the token names it
	} else {
		write = "" // not an API upload's: a client's (temporary keys), or written outside directup
	}
	reject := func(reason string) error {
		// Deleted first (what contradicts its declaration is not left in the bucket while
		// an endpoint is down); a rejection that cannot be told is recorded, and the
		// platform's retry, finding the object gone, tells it from the record.
		if err := s.removeObject(ctx, key); err != nil {
			return err
		}
		ev.Type, ev.Reason = EventRejected, reason
		identify(ev, write, keys, info.LastModified)
		err := s.tell(ctx, ev)
		if s.records != nil && err != nil {
			if rerr := s.records.Put(ctx, records.Rejected, key, &rejection{Event: *ev}); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	if info.Size > s.policy.MaxSize {
		return reject("the object is larger than this deployment's limit of " + strconv.FormatInt(s.policy.MaxSize, 10) + " bytes; it was deleted")
	}
	if write == "" {
		// Written with temporary keys, perhaps: held to what was declared for keys valid
		// when it was written — any one of them (several callers may hold keys for one
		// client key; each declaration bounds what its keys may leave).
		held, err := s.declarationsFor(ctx, key, info.LastModified)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			d := matching(held, info)
			if d == nil {
				d = &held[len(held)-1] // the newest names the refusal
				if d.Caller != "" {
					ev.Caller = d.Caller
				}
				keys = d.Keys
				if info.Size != d.Size {
					return reject("the object holds " + strconv.FormatInt(info.Size, 10) + " bytes, not the " + strconv.FormatInt(d.Size, 10) + " declared for its keys; it was deleted")
				}
				return reject("the object is stored as " + mediaType(info.ContentType) + ", not the " + mediaType(d.ContentType) + " declared for its keys; it was deleted")
			}
			keys = d.Keys
			if d.Caller != "" {
				ev.Caller = d.Caller // who declared it, the only caller the bucket can name
			}
		}
	}
	if s.policy.VerifyContent && !info.CustomerKeyEncrypted {
		head, err := s.store.ReadHead(ctx, key, headBytes)
		if err != nil {
			return err
		}
		detected, ok := s.policy.ContentVerdict(info.ContentType, head)
		ev.DetectedType = detected
		if !ok {
			return reject(errcode.ContentMismatch + ": the stored content is " + detected + ", not the declared " + mediaType(info.ContentType) + "; the object was deleted")
		}
	}
	identify(ev, write, keys, info.LastModified)
	return s.tell(ctx, ev)
}

// rejection is the record of a rejected object: its event (untold until Told), and Remove
// while the object itself could not be deleted yet.
type rejection struct {
	Event  Event `json:"event"`
	Told   bool  `json:"told,omitempty"`
	Remove bool  `json:"remove,omitempty"`
}

// rejectionFor reads the rejection recorded for key; a forged record is logged and
// ignored (never told, never acted on).
func (s *Service) rejectionFor(ctx context.Context, key string) (*rejection, error) {
	if s.records == nil {
		return nil, nil
	}
	var r rejection
	found, err := s.records.Get(ctx, records.Rejected, key, &r)
	if errors.Is(err, records.ErrForged) {
		s.log.Error("record not written by directup: ignored", "kind", records.Rejected, "key", key, "error", err.Error())
		return nil, nil
	}
	if err != nil || !found || r.Event.Key != key {
		return nil, err
	}
	return &r, nil
}

// finishRecordedRejection does what a recorded rejection still needs — remove the object
// it rejected (only that very object: the same ETag), tell it — then drops the record,
// so a later upload to the key is not answered from it.
func (s *Service) finishRecordedRejection(ctx context.Context, key string, r *rejection, info ObjectInfo) error {
	if r == nil {
		return nil
	}
	if r.Remove && info.Exists && info.ETag == r.Event.ETag {
		if err := s.removeObject(ctx, key); err != nil {
			return err
		}
	}
	if !r.Told {
		ev := r.Event
		ev.RemovalPending = false
		if err := s.tell(ctx, &ev); err != nil {
			return err
		}
	}
	return s.records.Delete(ctx, records.Rejected, key)
}

// removeObject deletes an object that contradicts its declaration, retried with backoff
// (200 ms, 800 ms) within 10 s of its own: what was rejected must not stay.
func (s *Service) removeObject(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for i, wait := range []time.Duration{0, 200 * time.Millisecond, 800 * time.Millisecond} {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(wait):
			}
		}
		if err = s.store.Delete(ctx, key); err == nil {
			return nil
		}
	}
	return err
}
