package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Event is an upload's outcome, told to the deployer's application (EVENTS_URL; shared/events
// delivers them). Every delivery of one outcome carries the same ID, derived from the
// stored object's write, so receivers deduplicate on it.
type Event struct {
	Type string `json:"type"` // upload.completed, upload.rejected, upload.aborted
	ID   string `json:"id"`
	// Profile is the profile the upload was started under (UPLOAD_PROFILES; "" none).
	Profile      string            `json:"profile,omitempty"`
	Time         time.Time         `json:"time"`
	Caller       string            `json:"caller,omitempty"`
	Bucket       string            `json:"bucket"`
	Key          string            `json:"key"`
	UploadID     string            `json:"uploadId,omitempty"`
	Size         int64             `json:"size,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	CRC64        string            `json:"crc64,omitempty"`
	CRC64NVME    string            `json:"crc64nvme,omitempty"` // S3's full-object CRC-64/NVME
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
	Completed = "upload.completed"
	Rejected  = "upload.rejected"
	Aborted   = "upload.aborted"
)

// Events receives outcomes. Publish delivers (retrying as it sees fit); an outcome it
// cannot deliver it must record (shared/events logs it as one JSON line) and report, so
// the storage-triggered path can fail and be retried by its platform. The API path does
// not fail a call it reports.
type Sink interface {
	Publish(ctx context.Context, ev *Event) error
}

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
