// Package httpapi serves the upload service as a JSON HTTP API: routes, request decoding,
// errors to status codes, CORS and request logs. It knows nothing of SCF or Lambda; the
// platform adapters turn their events into calls of this one http.Handler.
package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/strictjson"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// TokenHeader carries the upload token on follow-up calls.
const TokenHeader = "X-Upload-Token"

// Options tune the API.
type Options struct {
	// CORSOrigins lists origins allowed to call the API from a browser; "*" allows any.
	// Upload tokens travel in a header, never in cookies, so "*" leaks no ambient credential.
	CORSOrigins []string
	// MaxBody bounds a request body (default 64 KiB; 10,000 completed parts fit in 1 MiB).
	MaxBody int64
	// MaxCompleteBody bounds the complete call's body (default 1 MiB).
	MaxCompleteBody int64
	// BasePath is removed from request paths ("/api" serves /api/uploads as /uploads),
	// for gateways that forward a prefix.
	BasePath string
	// Auth identifies callers; nil means anonymous callers (AUTH_MODE=none). Every route
	// but those added with HandlePublic is behind it.
	Auth *auth.Authenticator
	// RequestTimeout bounds one request, storage retries included (default 15 s, the
	// functions' own timeout); a platform's earlier deadline wins.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// Handler is the API.
type Handler struct {
	svc    *upload.Service
	opts   Options
	mux    *http.ServeMux
	public *http.ServeMux // routes served without authentication (matched, never served)
	log    *slog.Logger
}

// New returns the API for svc.
func New(svc *upload.Service, opts Options) *Handler {
	if opts.MaxBody == 0 {
		opts.MaxBody = 64 << 10
	}
	if opts.MaxCompleteBody == 0 {
		opts.MaxCompleteBody = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 15 * time.Second
	}
	h := &Handler{svc: svc, opts: opts, mux: http.NewServeMux(), public: http.NewServeMux(), log: opts.Logger}
	h.mux.HandleFunc("/uploads", h.methods(map[string]http.HandlerFunc{http.MethodPost: h.initiate, http.MethodGet: h.list}))
	h.mux.HandleFunc("/sts", h.methods(map[string]http.HandlerFunc{http.MethodPost: h.keys}))
	h.mux.HandleFunc("/uploads/{uploadId}/parts", h.methods(map[string]http.HandlerFunc{
		http.MethodPost: h.presignParts, http.MethodGet: h.listParts}))
	h.mux.HandleFunc("/uploads/{uploadId}/complete", h.methods(map[string]http.HandlerFunc{http.MethodPost: h.complete}))
	h.mux.HandleFunc("/uploads/{uploadId}", h.methods(map[string]http.HandlerFunc{http.MethodDelete: h.abort}))
	h.HandlePublic("/healthz", h.methods(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}}))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, &errcode.Error{Code: errcode.NotFound, Message: "no such route: " + r.Method + " " + r.URL.Path})
	})
	return h
}

// Handle adds a route behind authentication.
func (h *Handler) Handle(pattern string, handler http.Handler) { h.mux.Handle(pattern, handler) }

// HandlePublic adds a route served without authentication: the client script, the demo
// page, and routes that authenticate their callers themselves (Uppy's capabilities).
func (h *Handler) HandlePublic(pattern string, handler http.Handler) {
	h.mux.Handle(pattern, handler)
	h.public.Handle(pattern, handler)
}

type ctxKey struct{}

// record is what the request log says of a request; handlers below fill in the caller.
// It also carries the logger, so Error can log failures of handlers mounted on the API.
type record struct {
	caller string
	log    *slog.Logger
}

type recordKey struct{}

// WithCaller records the caller for the service and for the request log: handlers that
// identify callers themselves (capabilities) call it.
func WithCaller(r *http.Request, subject string) *http.Request {
	if rec, ok := r.Context().Value(recordKey{}).(*record); ok {
		rec.caller = subject
	}
	return r.WithContext(upload.WithCaller(r.Context(), subject))
}

// RequestID returns the id of the request being served.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "\r\n") {
		var b [8]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-Id", id)
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.RequestTimeout)
	defer cancel()
	rec := &record{log: h.log}
	r = r.WithContext(context.WithValue(context.WithValue(ctx, ctxKey{}, id), recordKey{}, rec))
	if bp := h.opts.BasePath; bp != "" {
		if p, ok := strings.CutPrefix(r.URL.Path, bp); ok && (p == "" || p[0] == '/') {
			r.URL.Path, r.URL.RawPath = "/"+strings.TrimPrefix(p, "/"), ""
		}
	}
	if !h.cors(w, r) {
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	if _, public := h.public.Handler(r); h.opts.Auth != nil && public == "" {
		id, err := h.opts.Auth.Identify(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			Error(sw, r, &errcode.Error{Code: errcode.Unauthenticated, Field: "Authorization", Message: err.Error()})
			h.logRequest(r, rec, sw, start)
			return
		}
		ctx := upload.WithCallerClaims(auth.WithIdentity(r.Context(), id), id.Claims)
		r = WithCaller(r.WithContext(ctx), id.Subject)
	}
	h.mux.ServeHTTP(sw, r)
	h.logRequest(r, rec, sw, start)
}

func (h *Handler) logRequest(r *http.Request, rec *record, sw *statusWriter, start time.Time) {
	h.log.Info("request", "requestId", RequestID(r.Context()), "method", r.Method, "path", RedactPath(r.URL.Path),
		"caller", rec.caller, "status", sw.status, "error", sw.code, "ms", time.Since(start).Milliseconds())
}

// RedactPath replaces every credential in a path (capabilities "c1.…" and upload tokens
// "v1.…", which Uppy's routes carry in the path) by its kind and a short fingerprint, so
// log lines can be correlated but never replayed.
func RedactPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if len(s) > 16 && (strings.HasPrefix(s, "c1.") || strings.HasPrefix(s, "v1.")) {
			segs[i] = Fingerprint(s)
		}
	}
	return strings.Join(segs, "/")
}

// Fingerprint names a credential in logs: its kind and 8 hex digits of its SHA-256.
func Fingerprint(credential string) string {
	sum := sha256.Sum256([]byte(credential))
	return credential[:3] + "<redacted:" + hex.EncodeToString(sum[:4]) + ">"
}

// cors applies the origin allow-list; it answers preflights itself (false: done).
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	allowed := slices.Contains(h.opts.CORSOrigins, "*") || slices.Contains(h.opts.CORSOrigins, origin)
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Access-Control-Expose-Headers", "X-Request-Id")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if allowed {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization, "+TokenHeader)
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

func (h *Handler) methods(m map[string]http.HandlerFunc) http.HandlerFunc {
	allow := make([]string, 0, len(m))
	for k := range m {
		allow = append(allow, k)
	}
	slices.Sort(allow)
	return func(w http.ResponseWriter, r *http.Request) {
		if f, ok := m[r.Method]; ok {
			f(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		Error(w, r, &errcode.Error{Code: errcode.MethodNotAllowed,
			Message: r.Method + " is not allowed here; use " + strings.Join(allow, " or ")})
	}
}

// statuses maps every code to the HTTP status the API and Uppy's routes answer it with;
// README's error table lists the same. A code missing here is a bug: it answers 500.
var statuses = map[string]int{
	errcode.InvalidJSON: http.StatusBadRequest, errcode.InvalidField: http.StatusBadRequest,
	errcode.MissingField: http.StatusBadRequest, errcode.BodyTooLarge: http.StatusRequestEntityTooLarge,
	errcode.SizeTooLarge: http.StatusRequestEntityTooLarge, errcode.UnsupportedMedia: http.StatusUnsupportedMediaType,
	errcode.NotFound: http.StatusNotFound, errcode.MethodNotAllowed: http.StatusMethodNotAllowed,
	errcode.PolicyDenied: http.StatusForbidden, errcode.HookDenied: http.StatusForbidden,
	errcode.HookUnavailable: http.StatusServiceUnavailable, errcode.ContentMismatch: http.StatusUnprocessableEntity,
	errcode.ChecksumMismatch: http.StatusUnprocessableEntity,
	errcode.Unauthenticated:  http.StatusUnauthorized, errcode.TokenMissing: http.StatusUnauthorized,
	errcode.TokenInvalid: http.StatusUnauthorized, errcode.TokenExpired: http.StatusUnauthorized,
	errcode.TokenMismatch: http.StatusForbidden, errcode.CallerMismatch: http.StatusForbidden,
	errcode.UploadNotFound: http.StatusNotFound, errcode.UploadCompleted: http.StatusConflict,
	errcode.ObjectExists: http.StatusConflict, errcode.IncompleteUpload: http.StatusConflict,
	errcode.InvalidPart: http.StatusConflict, errcode.KeyBusy: http.StatusConflict,
	errcode.NotAvailable: http.StatusNotImplemented, errcode.RequestConflict: http.StatusConflict,
	errcode.MarkerInvalid: http.StatusInternalServerError, errcode.UpstreamError: http.StatusBadGateway,
	errcode.UpstreamDenied: http.StatusBadGateway, errcode.UpstreamBusy: http.StatusServiceUnavailable,
	errcode.UpstreamTimeout: http.StatusGatewayTimeout, errcode.CredentialsFailed: http.StatusServiceUnavailable,
	errcode.Internal: http.StatusInternalServerError,
}

// StatusOf is the HTTP status code answers with.
func StatusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error answers err in the API's error shape (code, message, field, request id, upstream
// request id) with its code's status, and logs 5xx causes. Handlers mounted on the API
// (Uppy's routes) answer their errors with it too.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	e := errcode.As(err)
	body := wire.ErrorAnswer{Error: wire.ErrorOf(e, RequestID(r.Context()))}
	if sw, ok := w.(*statusWriter); ok {
		sw.code = e.Code
	}
	status := StatusOf(e.Code)
	if rec, ok := r.Context().Value(recordKey{}).(*record); ok && status >= 500 {
		// The cause is for operators; it never carries a signature or a secret (stores
		// keep requests out of their errors).
		rec.log.Error("upstream or internal failure", "requestId", body.Error.RequestID, "code", e.Code,
			"upstreamRequestId", e.UpstreamRequestID, "cause", errString(e.Err))
	}
	WriteJSON(w, status, body)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// WriteJSON answers v as JSON with status, never cached, never sniffed.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	// Answers are never HTML (the type is JSON, nosniff stops guessing): URLs keep their "&"
	// instead of "\u0026", 10% fewer bytes per part URL and a faster encode.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		b.WriteString(`{"error":{"code":"internal","message":"the answer could not be encoded"}}` + "\n")
		status = http.StatusInternalServerError
	}
	// Its length up front: a client can read a compact answer of 400 KB into one buffer.
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	writeHeader(w, status)
	w.Write(b.Bytes())
}

func writeHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
}

// decode reads one JSON object of at most limit bytes into v, refusing unknown fields.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &errcode.Error{Code: errcode.UnsupportedMedia,
			Message: "send the body as application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &errcode.Error{Code: errcode.BodyTooLarge,
				Message: "the request body is too large"}
		}
		return &errcode.Error{Code: errcode.InvalidJSON, Message: "could not read the body"}
	}
	if err := strictjson.Unmarshal(body, v); err != nil {
		return JSONError(err)
	}
	return nil
}

// JSONError maps a strictjson.Unmarshal error to the API's error, naming the field at
// fault where the decoder tells it.
func JSONError(err error) *errcode.Error {
	e := &errcode.Error{Code: errcode.InvalidJSON, Message: "the body is not valid JSON"}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var strict *strictjson.Error
	switch {
	case errors.As(err, &strict):
		e.Message, e.Field = strict.Message, strict.Field
		if strict.Field != "" {
			e.Code = errcode.InvalidField
		}
	case errors.As(err, &te):
		e.Code, e.Field = errcode.InvalidField, te.Field
		e.Message = wire.TypeMessage(te)
	case errors.As(err, &se):
		e.Message = "the body is not valid JSON: " + se.Error()
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e.Code, e.Field, e.Message = errcode.InvalidField, f, "unknown field "+f
	}
	return e
}

// compact reports a request for part URLs in the compact form (?parts=compact); any other
// value of parts is refused rather than answered in a form the client did not ask for.
func compact(r *http.Request) (bool, error) {
	q := r.URL.Query()
	if !q.Has("parts") {
		return false, nil
	}
	if v := q["parts"]; len(v) != 1 || v[0] != "compact" {
		return false, errcode.Invalid("parts", "parts must be \"compact\" or absent")
	}
	return true, nil
}

func (h *Handler) initiate(w http.ResponseWriter, r *http.Request) {
	var req policy.InitiateRequest
	if err := decode(w, r, h.opts.MaxBody, &req); err != nil {
		Error(w, r, err)
		return
	}
	initiate := h.svc.Initiate
	c, err := compact(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if c {
		initiate = h.svc.InitiateAll
	}
	out, err := initiate(r.Context(), &req)
	if err != nil {
		Error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, out)
}

// list answers GET /uploads: the caller's uploads in progress, to continue on any device.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	open, err := h.svc.ListOpen(r.Context())
	if err != nil {
		Error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"uploads": open})
}

// stsAnswer is the shape Tencent's client SDKs consume from a key server (Android's
// SessionCredentialProvider and Flutter parse it as is; cos-js-sdk-v5's getAuthorization
// maps it in one line), plus where to upload.
type stsAnswer struct {
	Credentials struct {
		TmpSecretID  string `json:"tmpSecretId"`
		TmpSecretKey string `json:"tmpSecretKey"`
		SessionToken string `json:"sessionToken"`
	} `json:"credentials"`
	StartTime   int64  `json:"startTime"`
	ExpiredTime int64  `json:"expiredTime"`
	Expiration  string `json:"expiration"`
	RequestID   string `json:"requestId"`
	Bucket      string `json:"bucket"`
	Region      string `json:"region"`
	Key         string `json:"key"`
	Endpoint    string `json:"endpoint,omitempty"`
	// The headers the upload must carry: the object is deleted otherwise.
	ContentType        string `json:"contentType"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) {
	var req struct {
		policy.InitiateRequest
		// Checksum: the whole object's, declared for what the keys will store.
		Checksum *wire.Checksum `json:"checksum,omitempty"`
	}
	if err := decode(w, r, h.opts.MaxBody, &req); err != nil {
		Error(w, r, err)
		return
	}
	k, err := h.svc.KeysFor(r.Context(), &req.InitiateRequest, req.Checksum)
	if err != nil {
		Error(w, r, err)
		return
	}
	var out stsAnswer
	out.Credentials.TmpSecretID, out.Credentials.TmpSecretKey, out.Credentials.SessionToken = k.SecretID, k.SecretKey, k.SessionToken
	out.StartTime, out.ExpiredTime, out.Expiration = k.Start.Unix(), k.Expires.Unix(), k.Expires.UTC().Format(time.RFC3339)
	out.RequestID, out.Bucket, out.Region, out.Key, out.Endpoint = k.RequestID, k.Bucket, k.Region, k.Key, k.Endpoint
	out.ContentType, out.ContentDisposition = k.ContentType, k.ContentDisposition
	WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) presignParts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PartNumbers []int `json:"partNumbers"`
		// CustomerKey: the SSE-C key again, for stores that sign it into part URLs (S3).
		CustomerKey string `json:"customerKey,omitempty"`
	}
	if err := decode(w, r, h.opts.MaxBody, &req); err != nil {
		Error(w, r, err)
		return
	}
	presign := h.svc.PresignParts
	c, err := compact(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	if c {
		presign = h.svc.PresignAll
	}
	out, err := presign(r.Context(), r.Header.Get(TokenHeader), r.PathValue("uploadId"), req.PartNumbers, req.CustomerKey)
	if err != nil {
		Error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request) {
	parts, err := h.svc.ListParts(r.Context(), r.Header.Get(TokenHeader), r.PathValue("uploadId"))
	if err != nil {
		Error(w, r, err)
		return
	}
	if parts == nil {
		parts = []wire.StoredPart{}
	}
	// partBatch: how many URLs a client may ask for at once, for clients that resume.
	WriteJSON(w, http.StatusOK, map[string]any{"parts": parts, "partBatch": h.svc.Policy().PartBatch})
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request) {
	var req wire.CompleteRequest
	if err := decode(w, r, h.opts.MaxCompleteBody, &req); err != nil {
		Error(w, r, err)
		return
	}
	out, err := h.svc.CompleteWith(r.Context(), r.Header.Get(TokenHeader), r.PathValue("uploadId"), &req)
	if err != nil {
		Error(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) abort(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Abort(r.Context(), r.Header.Get(TokenHeader), r.PathValue("uploadId")); err != nil {
		Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// NewServer returns the plain HTTP server for h (local mode, web functions, containers),
// with every timeout set: slow headers, slow bodies (bodies are at most 1 MiB) and idle
// keep-alives are dropped instead of held, and an answer may take the request deadline
// plus time to write it.
func NewServer(h http.Handler, requestTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      requestTimeout + 30*time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
