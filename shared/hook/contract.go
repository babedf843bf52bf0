package hook

import (
	"context"
	"time"
)

// Hook is the deployer's own service, asked before anything reaches storage whether an
// upload may start, and under which key, metadata and tags (HOOK_URL; shared/hook is the
// HTTP client). An error means the hook could not answer: the upload is refused as
// unavailable, never let through.
type Hook interface {
	Create(ctx context.Context, ev *CreateEvent) (*Decision, error)
}

// CreateEvent is what the hook is asked about.
type CreateEvent struct {
	Type   string         `json:"type"` // "upload.create"
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Caller string         `json:"caller"`
	Upload ProposedUpload `json:"upload"`
}

// ProposedUpload is the upload as the policy let it through.
type ProposedUpload struct {
	// Profile is the profile the request named (UPLOAD_PROFILES; "" none): its rules were
	// applied, and will be to the hook's answer.
	Profile         string            `json:"profile,omitempty"`
	Key             string            `json:"key"`
	Filename        string            `json:"filename,omitempty"`
	ContentType     string            `json:"contentType"`
	Size            int64             `json:"size"`
	PartSize        int64             `json:"partSize,omitempty"`
	Open            bool              `json:"open,omitempty"` // size undeclared: Size is the policy's ceiling
	Metadata        map[string]string `json:"metadata,omitempty"`
	Tagging         map[string]string `json:"tagging,omitempty"`
	StorageClass    string            `json:"storageClass,omitempty"`
	ACL             string            `json:"acl,omitempty"`
	ForbidOverwrite bool              `json:"forbidOverwrite,omitempty"`
	Encryption      string            `json:"encryption,omitempty"` // the type only: keys never leave
}

// Decision is the hook's answer. Allow is required; Key, Metadata and Tagging, when
// set, replace the proposed ones and are checked by the policy again.
type Decision struct {
	Allow    *bool             `json:"allow"`
	Message  string            `json:"message,omitempty"`
	Key      string            `json:"key,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Tagging  map[string]string `json:"tagging,omitempty"`
}
