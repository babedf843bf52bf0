// Package errcode is the vocabulary every part of directup fails in: a stable code, a
// message safe to show, the request field at fault and the storage request id. The domain
// and the stores speak only codes; each door maps them to its own terms (httpapi to HTTP
// statuses, the queue to retry-or-not), so no status travels below the surface.
package errcode

import (
	"errors"
	"fmt"
)

// Error is the one error type the service and its stores return to callers. Stores wrap
// upstream failures in it and keep the upstream request id.
type Error struct {
	Code              string
	Message           string
	Field             string
	UpstreamRequestID string
	Err               error // the cause, for logs and errors.Is; never shown to callers
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Stable error codes. They are part of the public API: add, never rename. README's error
// table and httpapi's status table list each.
const (
	// The request itself.
	InvalidJSON      = "invalid_json"
	InvalidField     = "invalid_field"
	MissingField     = "missing_field"
	BodyTooLarge     = "body_too_large"
	SizeTooLarge     = "size_too_large"
	UnsupportedMedia = "unsupported_media_type"
	NotFound         = "not_found"
	MethodNotAllowed = "method_not_allowed"
	// The deployer's rules.
	PolicyDenied    = "policy_denied"
	HookDenied      = "hook_denied"
	HookUnavailable = "hook_unavailable"
	// ContentMismatch: the stored bytes are not of the declared type (or of a type the
	// policy does not allow); the object was deleted.
	ContentMismatch = "content_mismatch"
	// ChecksumMismatch: the store's checksum of the assembled object is not the one the
	// client computed; the object was deleted.
	ChecksumMismatch = "checksum_mismatch"
	// Who is calling, and with what.
	Unauthenticated = "unauthenticated"
	TokenMissing    = "token_missing"
	TokenInvalid    = "token_invalid"
	TokenExpired    = "token_expired"
	TokenMismatch   = "token_mismatch"
	CallerMismatch  = "caller_mismatch"
	// The upload's state.
	UploadNotFound   = "upload_not_found"
	UploadCompleted  = "upload_completed"
	ObjectExists     = "object_exists"
	IncompleteUpload = "incomplete_upload"
	InvalidPart      = "invalid_part"
	// KeyBusy: too many temporary keys are outstanding for one object key.
	KeyBusy = "key_busy"
	// NotAvailable: the store cannot do what was asked (no temporary keys on S3).
	NotAvailable = "not_available"
	// The queue's own: RequestConflict, the requestId was used by another message (other
	// content or another subject); MarkerInvalid, the record at a requestId was not
	// written by directup.
	RequestConflict = "request_conflict"
	MarkerInvalid   = "marker_invalid"
	// Storage and the function itself.
	UpstreamError     = "upstream_error"
	UpstreamDenied    = "upstream_denied"
	UpstreamBusy      = "upstream_unavailable"
	UpstreamTimeout   = "upstream_timeout"
	CredentialsFailed = "credentials_unavailable"
	Internal          = "internal"
)

// New returns an error with code, the field at fault ("" for none) and a message.
func New(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a malformed request field.
func Invalid(field, format string, args ...any) *Error {
	return New(InvalidField, field, format, args...)
}

// Missing reports a required field that is absent.
func Missing(field string) *Error { return New(MissingField, field, "%s is required", field) }

// Denied reports a request the deployer's policy does not allow.
func Denied(field, format string, args ...any) *Error {
	return New(PolicyDenied, field, format, args...)
}

// As returns err as an *Error, wrapping anything else as an internal error.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: "internal error", Err: err}
}

// Is reports whether err carries code.
func Is(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Retryable reports whether the same request may succeed later unchanged: storage or the
// hook busy or unreachable, credentials not yet available, the function's own fault. Every
// other code is the request's (or the state's) and fails the same way again.
func Retryable(code string) bool {
	switch code {
	case UpstreamError, UpstreamDenied, UpstreamBusy, UpstreamTimeout, CredentialsFailed, HookUnavailable, Internal:
		return true
	}
	return false
}
