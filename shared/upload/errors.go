package upload

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is the one error type the service and its stores return to callers: a stable
// machine-readable code, a message safe to show, the request field at fault, and the HTTP
// status it maps to. Stores wrap upstream failures in it and keep the upstream request id.
type Error struct {
	Status            int
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

// Stable error codes. They are part of the public API: add, never rename.
const (
	CodeInvalidJSON       = "invalid_json"
	CodeInvalidField      = "invalid_field"
	CodeMissingField      = "missing_field"
	CodeBodyTooLarge      = "body_too_large"
	CodeSizeTooLarge      = "size_too_large"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodePolicyDenied      = "policy_denied"
	CodeTokenMissing      = "token_missing"
	CodeTokenInvalid      = "token_invalid"
	CodeTokenExpired      = "token_expired"
	CodeTokenMismatch     = "token_mismatch"
	CodeCallerMismatch    = "caller_mismatch"
	CodeUnauthenticated   = "unauthenticated"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeUploadNotFound    = "upload_not_found"
	CodeUploadCompleted   = "upload_completed"
	CodeObjectExists      = "object_exists"
	CodeIncompleteUpload  = "incomplete_upload"
	CodeInvalidPart       = "invalid_part"
	CodeUpstreamError     = "upstream_error"
	CodeUpstreamDenied    = "upstream_denied"
	CodeUpstreamBusy      = "upstream_unavailable"
	CodeUpstreamTimeout   = "upstream_timeout"
	CodeInternal          = "internal"
	CodeCredentialsFailed = "credentials_unavailable"
)

func newError(status int, code, field, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a malformed request field (400).
func Invalid(field, format string, args ...any) *Error {
	return newError(http.StatusBadRequest, CodeInvalidField, field, format, args...)
}

// Missing reports a required field that is absent (400).
func Missing(field string) *Error {
	return newError(http.StatusBadRequest, CodeMissingField, field, "%s is required", field)
}

// Denied reports a request the deployer's policy does not allow (403).
func Denied(field, format string, args ...any) *Error {
	return newError(http.StatusForbidden, CodePolicyDenied, field, format, args...)
}

// AsError returns err as an *Error, wrapping anything else as an internal error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
}
