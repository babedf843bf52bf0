// Package queue processes upload requests that arrive as queue messages (CMQ, CKafka,
// SQS): initiate, complete or abort, through the same service and policy as the HTTP API.
// Delivery is at least once, so every message is idempotent by its requestId (the
// platform's message id when the sender gives none): the first delivery to finish writes
// a marker (a create-only record, shared/records), and redeliveries answer from it instead
// of acting again. A marker is bound to the message it answers (a digest of its whole
// content, subject included) and sealed like every record, so neither another message
// reusing a requestId nor an object somebody else wrote there is ever taken as a result.
// Results go to the message's callbackUrl (signed) and to one log line.
package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/records"
	"github.com/directup/directup/shared/strictjson"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/webhook"
	"github.com/directup/directup/shared/wire"
)

// Message is a queue message's body.
type Message struct {
	Action      string `json:"action"` // initiate, complete, abort
	RequestID   string `json:"requestId,omitempty"`
	CallbackURL string `json:"callbackUrl,omitempty"`
	// Subject, when set, is the caller the upload is bound to (back ends acting for a user).
	Subject string `json:"subject,omitempty"`
	// Claims, when set, are the caller's claims for profiles' claims rules: the queue
	// trusts its messages for them as it does for subject (only the deployer's back end
	// can send one).
	Claims map[string][]string `json:"claims,omitempty"`
	policy.InitiateRequest
	// PartURLs "compact" (initiate): the result carries every part's URL in the compact
	// form (initiated.compactParts) instead of the first batch in full.
	PartURLs string `json:"partUrls,omitempty"`
	// complete and abort:
	UploadID string               `json:"uploadId,omitempty"`
	Token    string               `json:"token,omitempty"`
	Parts    []wire.CompletedPart `json:"parts,omitempty"`
	// Checksum (complete): the object's whole checksum, as the complete call takes it.
	Checksum *wire.Checksum `json:"checksum,omitempty"`
}

// Result is what a message produced; it is the callback's body.
type Result struct {
	RequestID string `json:"requestId"`
	Action    string `json:"action"`
	Status    string `json:"status"` // ok, error
	Duplicate bool   `json:"duplicate,omitempty"`
	// Initiated carries every part's URL in compactParts when the message asked for
	// "partUrls": "compact" (its parts are then empty).
	Initiated *upload.Initiated `json:"initiated,omitempty"`
	Completed *wire.Completed   `json:"completed,omitempty"`
	Error     *wire.ErrorBody   `json:"error,omitempty"`
}

// Processor handles messages.
type Processor struct {
	svc       *upload.Service
	markers   *records.Book // kind records.Request, subject action and requestId
	callbacks *Callbacks
	log       *slog.Logger
}

// New returns a processor keeping its markers in markers (the service's Records).
func New(svc *upload.Service, markers *records.Book, callbacks *Callbacks, log *slog.Logger) *Processor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{svc: svc, markers: markers, callbacks: callbacks, log: log}
}

// Outcome tells the platform adapter what to do with the message.
type Outcome int

const (
	// Done: processed, or refused for good (bad JSON, policy): do not deliver again.
	Done Outcome = iota
	// Retry: a transient failure (storage, callback delivery): deliver again later.
	Retry
)

// Handle processes one message. fallbackID (the platform's message id) is the idempotency
// key when the message names no requestId.
func (p *Processor) Handle(ctx context.Context, body []byte, fallbackID string) (Result, Outcome) {
	start := time.Now()
	var msg Message
	res, outcome := p.handle(ctx, body, fallbackID, &msg)
	callback := "none"
	if msg.CallbackURL != "" && outcome == Done {
		callback = "delivered"
		if err := p.callbacks.Send(ctx, msg.CallbackURL, &res); err != nil {
			callback = "failed: " + err.Error()
			var refused *RefusedError
			if !errors.As(err, &refused) {
				// The result is kept in its marker: a redelivery sends the callback again.
				outcome = Retry
			}
		}
	}
	attrs := []any{"requestId", res.RequestID, "action", res.Action, "status", res.Status, "duplicate", res.Duplicate,
		"callback", callback, "retry", outcome == Retry, "ms", time.Since(start).Milliseconds()}
	if res.Error != nil {
		attrs = append(attrs, "code", res.Error.Code, "field", res.Error.Field, "error", res.Error.Message)
	}
	if res.Initiated != nil {
		attrs = append(attrs, "key", res.Initiated.Key, "uploadId", res.Initiated.UploadID)
	}
	if res.Completed != nil {
		attrs = append(attrs, "key", res.Completed.Key, "size", res.Completed.Size)
	}
	p.log.Info("queue message", attrs...)
	return res, outcome
}

func failure(res Result, err error) (Result, Outcome) {
	body := wire.ErrorOf(err, res.RequestID)
	res.Status = "error"
	res.Error = &body
	if errcode.Retryable(body.Code) {
		return res, Retry
	}
	return res, Done // poison: the same message will fail the same way
}

// handle decodes and checks a message, then acts on it at most once (see once).
func (p *Processor) handle(ctx context.Context, body []byte, fallbackID string, msg *Message) (Result, Outcome) {
	res := Result{RequestID: fallbackID}
	if err := decode(body, msg); err != nil {
		return failure(res, err)
	}
	if msg.RequestID == "" {
		msg.RequestID = fallbackID
	}
	res.RequestID, res.Action = msg.RequestID, msg.Action
	if len(msg.RequestID) > 256 {
		return failure(res, errcode.Invalid("requestId", "requestId must be at most 256 bytes"))
	}
	if msg.CallbackURL != "" {
		if err := p.callbacks.Check(msg.CallbackURL); err != nil {
			return p.refuseCallback(res, msg, err)
		}
	}
	if err := checkAsk(msg); err != nil {
		return failure(res, err)
	}
	ctx = upload.WithCallerClaims(upload.WithCaller(ctx, msg.Subject), msg.Claims)
	return p.once(ctx, res, msg)
}

// decode reads body into msg strictly; on failure msg is left empty (no callback is sent).
func decode(body []byte, msg *Message) error {
	err := strictjson.Unmarshal(body, msg)
	if err == nil {
		return nil
	}
	*msg = Message{}
	var strict *strictjson.Error
	if errors.As(err, &strict) && strict.Field != "" {
		return errcode.Invalid(strict.Field, "%s", strict.Message)
	}
	why := err.Error()
	if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
		why = wire.TypeMessage(te) // JSON's words, not the Go type's
	}
	return &errcode.Error{Code: errcode.InvalidJSON, Message: "the message is not a JSON object: " + why}
}

// refuseCallback refuses a message whose callbackUrl the policy refuses, clearing it so
// that address is never called, and logs the refusal (redacted).
func (p *Processor) refuseCallback(res Result, msg *Message, err error) (Result, Outcome) {
	bad := msg.CallbackURL
	msg.CallbackURL = "" // never call an address the policy refuses
	res, out := failure(res, err)
	p.log.Warn("queue message refused callback", "requestId", res.RequestID, "callbackUrl", webhook.Redact(bad))
	return res, out
}

// checkAsk refuses an action or a partUrls form the processor does not know.
func checkAsk(msg *Message) error {
	switch msg.Action {
	case "initiate", "complete", "abort":
	default:
		return errcode.Invalid("action", "action must be initiate, complete or abort")
	}
	if msg.PartURLs != "" && msg.PartURLs != "compact" {
		return errcode.Invalid("partUrls", "partUrls must be \"compact\" or absent")
	}
	return nil
}

// once acts on a checked message at most once per requestId (at-least-once delivery): a
// redelivery is answered from its marker, a first delivery acts and writes one.
func (p *Processor) once(ctx context.Context, res Result, msg *Message) (Result, Outcome) {
	if p.markers == nil {
		return failure(res, errors.New("queue: the store keeps no records"))
	}
	subject := msg.Action + "\x00" + msg.RequestID
	binding := p.binding(msg)
	var prev marker
	if ok, err := p.markers.Get(ctx, records.Request, subject, &prev); errors.Is(err, records.ErrForged) {
		return p.forged(res, err)
	} else if err != nil {
		return failure(res, err)
	} else if ok {
		return p.answerFrom(res, binding, &prev)
	}
	res, err := p.act(ctx, res, msg)
	if err != nil {
		return failure(res, err)
	}
	return p.record(ctx, res, subject, binding)
}

// act runs the message's action through the service; on error res is returned unchanged.
func (p *Processor) act(ctx context.Context, res Result, msg *Message) (Result, error) {
	switch msg.Action {
	case "initiate":
		initiate := p.svc.Initiate
		if msg.PartURLs == "compact" {
			initiate = p.svc.InitiateAll
		}
		up, err := initiate(ctx, &msg.InitiateRequest)
		if err != nil {
			return res, err
		}
		res.Status, res.Initiated = "ok", up
	case "complete":
		done, err := p.svc.CompleteWith(ctx, msg.Token, msg.UploadID, &wire.CompleteRequest{Parts: msg.Parts, Checksum: msg.Checksum})
		if err != nil {
			return res, err
		}
		res.Status, res.Completed = "ok", done
	case "abort":
		if err := p.svc.Abort(ctx, msg.Token, msg.UploadID); err != nil {
			return res, err
		}
		res.Status = "ok"
	}
	return res, nil
}

// record writes the marker of an action's result (create-only); if another delivery's
// marker is there first, that one answers instead.
func (p *Processor) record(ctx context.Context, res Result, subject, binding string) (Result, Outcome) {
	rj, _ := json.Marshal(&res)
	created, err := p.markers.Create(ctx, records.Request, subject, &marker{Binding: binding, Result: rj})
	if err != nil {
		// The outcome stands (the caller gets it); a later redelivery may act again,
		// which only initiate would notice: undo ours so no orphan is left.
		p.undoInitiate(ctx, res)
		return failure(res, err)
	}
	if !created {
		// Another delivery finished first (or another message took this requestId): keep
		// its upload, drop ours, and answer as its marker says.
		p.undoInitiate(ctx, res)
		return p.answerFirst(ctx, Result{RequestID: res.RequestID, Action: res.Action}, subject, binding)
	}
	return res, Done
}

// undoInitiate aborts the upload res initiated, if any, even once ctx is cancelled.
func (p *Processor) undoInitiate(ctx context.Context, res Result) {
	if res.Initiated != nil {
		p.svc.Abort(context.WithoutCancel(ctx), res.Initiated.Token, res.Initiated.UploadID)
	}
}

// answerFirst answers from the marker another delivery wrote first (first holds only the
// requestId and action); a vanished marker fails.
func (p *Processor) answerFirst(ctx context.Context, first Result, subject, binding string) (Result, Outcome) {
	var prev marker
	ok, err := p.markers.Get(ctx, records.Request, subject, &prev)
	if errors.Is(err, records.ErrForged) {
		return p.forged(first, err)
	}
	if err != nil || !ok {
		return failure(first, errors.Join(err, errors.New("queue: the marker vanished")))
	}
	return p.answerFrom(first, binding, &prev)
}

// marker is what a marker record holds: the result and the digest of the message it
// answers (the record's seal covers both and the requestId).
type marker struct {
	Binding string          `json:"binding"`
	Result  json.RawMessage `json:"result"`
}

// binding digests everything the message asks for, its subject included, so the same
// requestId with other content is told apart from a redelivery.
func (p *Processor) binding(msg *Message) string {
	js, _ := json.Marshal(msg) // plain fields and maps: always marshals, map keys sorted
	return hexSum(string(js))
}

// forged refuses a message whose marker was not written by directup: never acted on,
// never retried, logged as an error.
func (p *Processor) forged(res Result, err error) (Result, Outcome) {
	p.log.Error("queue marker not written by directup", "requestId", res.RequestID, "error", err.Error())
	res, _ = failure(res, &errcode.Error{Code: errcode.MarkerInvalid,
		Message: "the record of this requestId was not written by directup; it is not trusted (see the function's log)"})
	return res, Done
}

// answerFrom answers a message from an authentic marker: its result if it answers this
// very message, a refusal otherwise. Neither is retried.
func (p *Processor) answerFrom(res Result, binding string, m *marker) (Result, Outcome) {
	if m.Binding != binding {
		return failure(res, &errcode.Error{Code: errcode.RequestConflict, Field: "requestId",
			Message: "this requestId was already used by another message (other content or another subject); use a new requestId"})
	}
	var done Result
	if err := json.Unmarshal(m.Result, &done); err != nil {
		return failure(res, err)
	}
	done.Duplicate = true
	return done, Done
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
