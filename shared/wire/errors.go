// Package wire holds the JSON shapes directup's doors share — the error object, part
// requests and stored parts, the compact part plan and its codec — so the HTTP API, Uppy's
// routes, the queue's callbacks and the platform adapters write the same bytes. Stores make
// part requests in these shapes directly (no copy per part); nothing here decides policy.
package wire

import (
	"encoding/json"

	"github.com/directup/directup/shared/errcode"
)

// ErrorBody is the error object of every answer: the code, a message safe to show, the
// field at fault, the request id (the API's, or the queue message's) and the storage
// request id when storage failed.
type ErrorBody struct {
	Code              string `json:"code"`
	Message           string `json:"message"`
	Field             string `json:"field,omitempty"`
	RequestID         string `json:"requestId"`
	UpstreamRequestID string `json:"upstreamRequestId,omitempty"`
}

// ErrorAnswer is an answer that failed: {"error": {...}}.
type ErrorAnswer struct {
	Error ErrorBody `json:"error"`
}

// ErrorOf is err's error object (anything but an *errcode.Error is internal).
func ErrorOf(err error, requestID string) ErrorBody {
	e := errcode.As(err)
	return ErrorBody{Code: e.Code, Message: e.Message, Field: e.Field, RequestID: requestID, UpstreamRequestID: e.UpstreamRequestID}
}

// ErrorJSON is the whole failed answer for err, as JSON (for adapters that answer before
// the API runs).
func ErrorJSON(err error, requestID string) []byte {
	js, _ := json.Marshal(ErrorAnswer{Error: ErrorOf(err, requestID)}) // strings only: always marshals
	return js
}

// BadBase64Body is the answer (400 invalid_json) a platform adapter gives an event whose
// body is marked base64 but is not: the client's fault, not an invocation error the
// gateway would turn into a 5xx.
func BadBase64Body(requestID string) string {
	return string(ErrorJSON(errcode.New(errcode.InvalidJSON, "", "the body is marked base64 (isBase64Encoded) but is not valid base64"), requestID))
}
