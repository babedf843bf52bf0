package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// Events receives outcomes. Publish delivers (retrying as it sees fit) and never fails
// the call it reports: an outcome it cannot deliver it must record (shared/events logs
// it as one JSON line).
type Events interface {
	Publish(ctx context.Context, ev *Event)
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
	ev.Time, ev.Source = s.now().UTC(), "api"
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
	s.events.Publish(ctx, ev)
}
