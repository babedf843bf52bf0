package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Event is an upload's outcome, told to the deployer's application (EVENTS_URL; shared/events
// delivers them). Every delivery of one outcome carries the same ID, derived from the
// stored object, so receivers deduplicate on it.
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
	Source       string            `json:"source"`           // "api", or "storage" (the storage-triggered function)
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

// EventID names one outcome of one stored object: the same bucket, key and ETag (or, for
// outcomes without an object, upload id) always give the same id.
func EventID(kind, bucket, key, version string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + bucket + "\x00" + key + "\x00" + version))
	return hex.EncodeToString(sum[:16])
}

func (s *Service) publish(ctx context.Context, ev *Event) {
	if s.events == nil {
		return
	}
	ev.Source = "api"
	s.tell(ctx, ev)
}

// tell completes ev (time, caller, id) and publishes it within 5 s.
func (s *Service) tell(ctx context.Context, ev *Event) error {
	if s.events == nil {
		return nil
	}
	ev.Time = s.now().UTC()
	if ev.Caller == "" {
		ev.Caller = Caller(ctx)
	}
	version := ev.ETag
	if version == "" {
		version = ev.UploadID
	}
	ev.ID = EventID(ev.Type, ev.Bucket, ev.Key, version)
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
	if !info.Exists {
		// Deleted since: by the API's verification, or by an earlier attempt of this very
		// event whose rejection could not be told then — its record says so.
		return s.tellRecordedRejection(ctx, key)
	}
	ev := &Event{Type: EventCompleted, Bucket: s.store.Bucket(), Key: key, Size: info.Size, ETag: info.ETag,
		CRC64: info.CRC64, ContentType: info.ContentType, Metadata: info.Metadata, Source: "storage"}
	reject := func(reason string) error {
		// Deleted first (what contradicts its declaration is not left in the bucket while
		// an endpoint is down); a rejection that cannot be told is recorded, and the
		// platform's retry, finding the object gone, tells it from the record.
		if err := s.store.Delete(ctx, key); err != nil {
			return err
		}
		ev.Type, ev.Reason = EventRejected, reason
		err := s.tell(ctx, ev)
		if rec, ok := s.store.(Recorder); ok && err != nil {
			body, _ := json.Marshal(ev)
			if _, rerr := rec.PutMarker(ctx, rejectionRecord(s.policy.KeyPrefix, key), body); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	if info.Size > s.policy.MaxSize {
		return reject("the object is larger than this deployment's limit of " + strconv.FormatInt(s.policy.MaxSize, 10) + " bytes; it was deleted")
	}
	d, err := s.declaredFor(ctx, key)
	if err != nil {
		return err
	}
	if d != nil && info.Size != d.Size {
		return reject("the object holds " + strconv.FormatInt(info.Size, 10) + " bytes, not the " + strconv.FormatInt(d.Size, 10) + " declared for its keys; it was deleted")
	}
	if d != nil && mediaType(info.ContentType) != mediaType(d.ContentType) {
		return reject("the object is stored as " + mediaType(info.ContentType) + ", not the " + mediaType(d.ContentType) + " declared for its keys; it was deleted")
	}
	if s.policy.VerifyContent && !info.CustomerKeyEncrypted {
		head, err := s.store.ReadHead(ctx, key, headBytes)
		if err != nil {
			return err
		}
		detected, ok := s.policy.ContentVerdict(info.ContentType, head)
		ev.DetectedType = detected
		if !ok {
			return reject(CodeContentMismatch + ": the stored content is " + detected + ", not the declared " + mediaType(info.ContentType) + "; the object was deleted")
		}
	}
	return s.tell(ctx, ev)
}

// Recorder is a store that keeps directup's own small records under the records folder
// (create-only writes): the queue's markers, untold rejections.
type Recorder interface {
	PutMarker(ctx context.Context, key string, body []byte) (created bool, err error)
	GetMarker(ctx context.Context, key string) (body []byte, ok bool, err error)
}

func rejectionRecord(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return RecordKey(prefix, "rejected/"+hex.EncodeToString(sum[:]))
}

// tellRecordedRejection tells a rejection an earlier attempt recorded, then drops the
// record (so a later upload to the key is not answered from it).
func (s *Service) tellRecordedRejection(ctx context.Context, key string) error {
	rec, ok := s.store.(Recorder)
	if !ok || s.events == nil {
		return nil
	}
	record := rejectionRecord(s.policy.KeyPrefix, key)
	body, found, err := rec.GetMarker(ctx, record)
	if err != nil || !found {
		return err
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil // not ours to tell
	}
	if err := s.tell(ctx, &ev); err != nil {
		return err
	}
	return s.store.Delete(ctx, record)
}
