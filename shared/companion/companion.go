// Package companion serves the S3 multipart protocol that Uppy's @uppy/aws-s3 speaks to a
// Companion server (companionEndpoint), backed by the upload service and its policy, so an
// existing Uppy frontend works by pointing companionEndpoint at directup.
//
// Uppy sends no Authorization header and no file size in this protocol. So:
//   - callers are bound through a capability in the endpoint path (/c/<capability>/s3/...),
//     an HMAC-signed, expiring grant for one subject minted by POST /capabilities for an
//     authenticated caller; the bare /s3/... routes serve anonymous callers and exist only
//     with AUTH_MODE=none;
//   - the frontend declares each file's size in Uppy's metadata (metadata.size), and the
//     upload is planned like the JSON API's: Uppy's own part size, every part URL pinned
//     to its exact size, so no route stores more than the policy allows. Uploads without a
//     size ("open": part sizes not pinned, the limit enforced only at complete) exist only
//     behind Options.OpenUploads;
//   - the upload id Uppy carries is directup's upload token, so every follow-up call is
//     checked statelessly like the JSON API's.
package companion

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/directup/directup/shared/auth"
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/httpapi"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/signed"
	"github.com/directup/directup/shared/storage"
	"github.com/directup/directup/shared/strictjson"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/uploadplan"
	"github.com/directup/directup/shared/wire"
)

// Options configure the handler.
type Options struct {
	// Secret signs capabilities (the upload-token secret serves, under its own domain prefix).
	Secret []byte
	// Keys, when set, replace Secret: the token secret read from a store, which rotates
	// (capabilities signed before a rotation verify until they expire).
	Keys signed.Keys
	// Anonymous enables the bare /s3/ routes (AUTH_MODE=none).
	Anonymous bool
	// TTL bounds a capability's life (and the minting caller's credential bounds it too).
	TTL time.Duration
	// OpenUploads lets a create without metadata.size start an upload whose part URLs do
	// not pin sizes (API_COMPANION_OPEN_UPLOADS): until complete refuses it, such an
	// upload can hold up to 10,000 parts of up to 5 GiB each.
	OpenUploads bool
	// Forms answers Uppy's small-file path (GET /s3/params) with a form upload
	// (API_COMPANION_FORMS); false refuses it, so every file goes in parts.
	Forms bool
}

// Handler serves the protocol.
type Handler struct {
	svc  *upload.Service
	opts Options
	now  func() time.Time
	mux  *http.ServeMux
}

// New returns the handler.
func New(svc *upload.Service, opts Options) *Handler {
	h := &Handler{svc: svc, opts: opts, now: time.Now, mux: http.NewServeMux()}
	for _, prefix := range []string{"/s3", "/c/{capability}/s3"} {
		h.mux.HandleFunc("POST "+prefix+"/multipart", h.create)
		h.mux.HandleFunc("GET "+prefix+"/multipart/{uploadId}/{partNumber}", h.signPart)
		h.mux.HandleFunc("GET "+prefix+"/multipart/{uploadId}", h.listParts)
		h.mux.HandleFunc("POST "+prefix+"/multipart/{uploadId}/complete", h.complete)
		h.mux.HandleFunc("DELETE "+prefix+"/multipart/{uploadId}", h.abort)
		h.mux.HandleFunc("GET "+prefix+"/params", h.params)
	}
	return h
}

// ServeHTTP implements http.Handler: the caller comes from the capability, if any.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/c/") {
		capability, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/c/"), "/")
		cp, err := h.verify(capability)
		if err != nil {
			httpapi.Error(w, r, err)
			return
		}
		// The caller, and the claims its profiles' rules read, as verified when it was minted.
		r = r.WithContext(context.WithValue(upload.WithCallerClaims(r.Context(), cp.Claims), pinnedKey{}, cp.Profile))
		r = httpapi.WithCaller(r, cp.Subject) // the request log names the capability's caller
	} else if !h.opts.Anonymous {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.Unauthenticated,
			Message: "this deployment authenticates callers: use the companionEndpoint from POST /capabilities"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

type capability struct {
	Subject string `json:"sub"`
	Expires int64  `json:"e"`
	// Profile pins the uploads made through it to one profile ("" any the caller may use).
	Profile string `json:"pf,omitempty"`
	// Claims are the minting caller's claims that profiles' rules name (only those).
	Claims map[string][]string `json:"cl,omitempty"`
	// Bucket binds it to this deployment's bucket, as upload tokens are: a deployment
	// sharing the secret does not take another's capabilities (nor the claims they carry).
	Bucket string `json:"b,omitempty"`
}

type pinnedKey struct{}

// capabilities are signed tokens of their own kind: "c1." under the domain
// "directup-capability:", so the upload-token secret serves both and neither verifies as
// the other.
func (h *Handler) capabilities() *signed.Signer {
	if h.opts.Keys != nil {
		return signed.NewKeys(h.opts.Keys, "directup-capability:", "c1.")
	}
	return signed.New(h.opts.Secret, "directup-capability:", "c1.")
}

// Mint issues a capability for subject, valid for the handler's TTL but never beyond
// notAfter (the minting caller's own credential; zero: no such bound).
func (h *Handler) Mint(subject string, notAfter time.Time) (string, time.Time) {
	return h.mint(capability{Subject: subject}, notAfter)
}

func (h *Handler) mint(cp capability, notAfter time.Time) (string, time.Time) {
	exp := h.now().Add(h.opts.TTL)
	if !notAfter.IsZero() && notAfter.Before(exp) {
		exp = notAfter
	}
	cp.Expires, cp.Bucket = exp.Unix(), h.svc.Bucket()
	return h.capabilities().Sign(cp), exp
}

func (h *Handler) verify(c string) (*capability, error) {
	var cp capability
	if err := h.capabilities().Verify(c, &cp); err != nil {
		return nil, &errcode.Error{Code: errcode.Unauthenticated, Message: "the capability in the endpoint is not valid"}
	}
	if cp.Bucket != h.svc.Bucket() {
		return nil, &errcode.Error{Code: errcode.Unauthenticated, Message: "the capability in the endpoint is not valid"}
	}
	if h.now().Unix() >= cp.Expires {
		return nil, &errcode.Error{Code: errcode.TokenExpired, Message: "the capability has expired; ask for a new one"}
	}
	return &cp, nil
}

// profileClaims keeps of claims the ones some profile's rule names: all a capability needs.
func (h *Handler) profileClaims(claims map[string][]string) map[string][]string {
	var out map[string][]string
	for _, p := range h.svc.Profiles() {
		for name := range p.Claims {
			if v, ok := claims[name]; ok {
				if out == nil {
					out = map[string][]string{}
				}
				out[name] = v
			}
		}
	}
	return out
}

// MintHandler answers POST /capabilities for an authenticated caller with a
// companionEndpoint to give Uppy.
func (h *Handler) MintHandler(base func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		endpoint := base(r)
		if endpoint == "" {
			httpapi.Error(w, r, &errcode.Error{Code: errcode.Internal,
				Message: "the request does not tell the API's public address: set API_PUBLIC_URL"})
			return
		}
		var req struct {
			Profile string `json:"profile"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			httpapi.Error(w, r, &errcode.Error{Code: errcode.BodyTooLarge, Message: "the request body could not be read"})
			return
		}
		// No body (or null): a capability for any profile the caller may use.
		if b := bytes.TrimSpace(body); len(b) > 0 && string(b) != "null" {
			if err := strictjson.Unmarshal(b, &req); err != nil {
				httpapi.Error(w, r, httpapi.JSONError(err))
				return
			}
		}
		if req.Profile != "" {
			if err := h.svc.CanUse(r.Context(), req.Profile); err != nil {
				httpapi.Error(w, r, err)
				return
			}
		}
		id := auth.FromContext(r.Context())
		c, exp := h.mint(capability{Subject: upload.Caller(r.Context()), Profile: req.Profile,
			Claims: h.profileClaims(upload.CallerClaims(r.Context()))}, id.Expires)
		out := map[string]any{"capability": c, "companionEndpoint": endpoint + "/c/" + c, "expiresAt": exp.UTC()}
		if req.Profile != "" {
			out["profile"] = req.Profile
		}
		httpapi.WriteJSON(w, http.StatusCreated, out)
	}
}

// decode reads a body of at most 1 MiB without repeated or case-variant member names, as
// the JSON API does; members Uppy may add in other versions are ignored.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		return &errcode.Error{Code: errcode.BodyTooLarge, Message: "the request body is too large"}
	}
	if err := strictjson.UnmarshalAllowUnknown(body, v); err != nil {
		return httpapi.JSONError(err)
	}
	return nil
}

// upload verifies the token Uppy carries as uploadId, and the key it sends beside it.
func (h *Handler) upload(r *http.Request) (*uploadplan.Claims, string, error) {
	token := r.PathValue("uploadId")
	c, err := h.svc.Upload(r.Context(), token)
	if err != nil {
		return nil, "", err
	}
	if k := r.URL.Query().Get("key"); k != "" && k != c.Key {
		return nil, "", &errcode.Error{Code: errcode.TokenMismatch, Field: "key", Message: "the key does not belong to this upload"}
	}
	return c, token, nil
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Filename string `json:"filename"`
		Type     string `json:"type"`
		// Uppy's metadata (name, type, relativePath...) is not stored: its names and
		// values rarely fit COS's metadata rules. Only size and partSize are read.
		Metadata map[string]any `json:"metadata"`
	}
	if err := decode(r, &req); err != nil {
		httpapi.Error(w, r, err)
		return
	}
	if req.Type == "" {
		req.Type = "application/octet-stream"
	}
	profile, err := profileOf(r, req.Metadata)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	size, err := metaInt(req.Metadata, "size")
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	var up *upload.Initiated
	switch {
	case size >= 0:
		partSize, err := metaInt(req.Metadata, "partSize")
		if err != nil {
			httpapi.Error(w, r, err)
			return
		}
		if partSize < 0 {
			partSize = UppyPartSize(size)
		}
		up, err = h.svc.InitiatePlanned(r.Context(), &policy.InitiateRequest{
			Filename: req.Filename, ContentType: req.Type, Size: &size, PartSize: partSize, Profile: profile})
		if err != nil {
			httpapi.Error(w, r, err)
			return
		}
	case h.opts.OpenUploads:
		if up, err = h.svc.InitiateOpen(r.Context(), req.Filename, req.Type, profile); err != nil {
			httpapi.Error(w, r, err)
			return
		}
	default:
		httpapi.Error(w, r, &errcode.Error{Code: errcode.MissingField, Field: "metadata.size",
			Message: "declare the file's size in Uppy's metadata, so every part is pinned: " +
				"uppy.on('file-added', (f) => uppy.setFileMeta(f.id, { size: f.size }))"})
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"key": up.Key, "uploadId": up.Token, "bucket": up.Bucket})
}

// profileOf is the profile an Uppy create names in metadata.profile, or the one its
// capability is pinned to: a pinned capability takes no other.
func profileOf(r *http.Request, meta map[string]any) (string, error) {
	pinned, _ := r.Context().Value(pinnedKey{}).(string)
	v, ok := meta["profile"]
	if !ok || v == nil || v == "" {
		return pinned, nil
	}
	named, isString := v.(string)
	switch {
	case !isString:
		return "", errcode.Invalid("metadata.profile", "metadata.profile must be a profile's name")
	case pinned != "" && named != pinned:
		return "", errcode.Denied("profile", "this companionEndpoint is pinned to profile %s", pinned)
	}
	return named, nil
}

// UppyPartSize is the part size @uppy/aws-s3 cuts a file of size bytes into when its
// getChunkSize option is not set: 5 MiB, or more for files that would need over 10,000.
func UppyPartSize(size int64) int64 {
	return max(5<<20, (size+storage.MaxParts-1)/storage.MaxParts)
}

// metaInt reads a whole number Uppy's metadata carries as a JSON number or a decimal
// string; -1 when absent.
func metaInt(meta map[string]any, name string) (int64, error) {
	v, ok := meta[name]
	if !ok || v == nil {
		return -1, nil
	}
	var n int64
	var err error
	switch v := v.(type) {
	case float64:
		n = int64(v)
		if float64(n) != v {
			err = errors.New("not whole")
		}
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	default:
		err = errors.New("not a number")
	}
	if err != nil || n < 0 || n > storage.MaxTotalSize {
		return 0, errcode.Invalid("metadata."+name, "metadata.%s must be a whole number of bytes", name)
	}
	return n, nil
}

func (h *Handler) signPart(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.upload(r)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	n, err := strconv.Atoi(r.PathValue("partNumber"))
	if err != nil {
		httpapi.Error(w, r, errcode.Invalid("partNumber", "partNumber must be a number"))
		return
	}
	urls, err := h.svc.PresignParts(r.Context(), token, c.UploadID, []int{n}, "")
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"url": urls.Parts[0].URL, "expires": int64(urls.ExpiresAt.Sub(h.now()).Seconds())})
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.upload(r)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	parts, err := h.svc.ListParts(r.Context(), token, c.UploadID)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	type s3Part struct {
		PartNumber int
		ETag       string
		Size       int64
	}
	out := make([]s3Part, len(parts))
	for i, p := range parts {
		out[i] = s3Part{p.PartNumber, p.ETag, p.Size}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) complete(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.upload(r)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	var req struct {
		Parts []struct {
			PartNumber int
			ETag       string
		} `json:"parts"`
	}
	if err := decode(r, &req); err != nil {
		httpapi.Error(w, r, err)
		return
	}
	parts := make([]wire.CompletedPart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = wire.CompletedPart{PartNumber: p.PartNumber, ETag: p.ETag}
	}
	done, err := h.svc.Complete(r.Context(), token, c.UploadID, parts)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"location": done.Location, "key": done.Key, "bucket": done.Bucket})
}

func (h *Handler) abort(w http.ResponseWriter, r *http.Request) {
	c, token, err := h.upload(r)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	if err := h.svc.Abort(r.Context(), token, c.UploadID); err != nil {
		httpapi.Error(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{})
}

// params answers Uppy's small-file path (@uppy/aws-s3 sends files under 100 MiB this way
// unless shouldUseMultipart is set): GET /s3/params?filename=…&type=…&metadata[k]=v, answered
// {method, url, fields}, which Uppy POSTs as a browser form straight to storage. The form is
// made after the same policy, profile and hook as a multipart create, and its policy pins
// the key, the type and (metadata.size, when the app declares it) the exact length — else
// the rules' maximum — so storage itself refuses anything else.
func (h *Handler) params(w http.ResponseWriter, r *http.Request) {
	if !h.opts.Forms {
		httpapi.Error(w, r, &errcode.Error{Code: errcode.NotAvailable, Field: "shouldUseMultipart",
			Message: "this deployment takes uploads in parts only (API_COMPANION_FORMS=false): set shouldUseMultipart: true in @uppy/aws-s3's options"})
		return
	}
	q := r.URL.Query()
	for _, name := range []string{"filename", "type"} {
		if len(q[name]) > 1 {
			httpapi.Error(w, r, errcode.Invalid(name, "%s is given more than once", name))
			return
		}
	}
	meta, err := queryMetadata(q)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	profile, err := profileOf(r, meta)
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	req := &policy.InitiateRequest{Filename: q.Get("filename"), ContentType: q.Get("type"), Profile: profile}
	if req.ContentType == "" {
		req.ContentType = "application/octet-stream"
	}
	size, err := metaInt(meta, "size")
	if err != nil {
		httpapi.Error(w, r, err)
		return
	}
	if size >= 0 {
		req.Size = &size
	}
	f, err := h.svc.InitiateForm(r.Context(), req)
	if err != nil {
		if e := errcode.As(err); e.Code == errcode.NotAvailable {
			e.Message += " (@uppy/aws-s3: shouldUseMultipart: true)"
		}
		httpapi.Error(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, f)
}

// queryMetadata reads Uppy's metadata[k]=v query parameters (each once, at most 64 of
// them), as create reads its metadata object: values are strings.
func queryMetadata(q url.Values) (map[string]any, error) {
	meta := map[string]any{}
	for name, vs := range q {
		k, ok := strings.CutPrefix(name, "metadata[")
		if !ok {
			continue
		}
		k, ok = strings.CutSuffix(k, "]")
		switch {
		case !ok || k == "":
			return nil, errcode.Invalid(name, "metadata parameters are metadata[name]=value")
		case len(vs) != 1:
			return nil, errcode.Invalid(name, "%s is given more than once", name)
		case len(meta) >= 64:
			return nil, errcode.Invalid("metadata", "at most 64 metadata parameters")
		}
		meta[k] = vs[0]
	}
	return meta, nil
}
