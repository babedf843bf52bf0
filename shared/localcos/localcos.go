// Package localcos is an embedded COS-compatible object store for local mode and tests.
// It speaks the multipart subset directup uses (Initiate, UploadPart, ListParts, Complete,
// Abort, plus GET/HEAD of objects, and browser forms: POST Object with its policy), verifies every COS signature, enforces COS's part
// rules and x-cos-forbid-overwrite, answers browsers' CORS with ETag exposed, and keeps
// parts and objects as files. One store serves one bucket; keys are the URL path.
package localcos

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/directup/directup/shared/cos/cossign"
)

// COS limits the store enforces.
const (
	minPartSize = 1 << 20
	maxPartSize = 5 << 30
	maxParts    = 10000
	maxMetaOne  = 2 << 10
	maxMetaAll  = 4 << 10
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// Server is a local COS bucket.
type Server struct {
	dir    string
	bucket string
	cred   cossign.Credentials
	now    func() time.Time

	mu        sync.Mutex
	uploads   map[string]*multipart
	temporary map[string]credential // keys the stand-in STS minted

	requests atomic.Int64
	onForm   func(key string)
}

type multipart struct {
	key     string
	header  http.Header // object settings from initiate
	sseCMD5 string
	parts   map[int]part
	created time.Time
	busy    bool // completing
}

type part struct {
	etag     string
	size     int64
	modified time.Time
}

type objectMeta struct {
	Key    string      `json:"key"`
	Header http.Header `json:"header"`
	ETag   string      `json:"etag"`
	CRC64  string      `json:"crc64"`
	Size   int64       `json:"size"`
}

// New returns a store keeping its files under dir.
func New(dir, bucket string, cred cossign.Credentials) (*Server, error) {
	for _, d := range []string{"objects", "parts"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	return &Server{dir: dir, bucket: bucket, cred: cred, now: time.Now, uploads: map[string]*multipart{}, temporary: map[string]credential{}}, nil
}

// SetClock replaces time.Now (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// Requests counts the non-preflight requests served, so tests can prove nothing reached
// the store.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Uploads counts the multipart uploads in progress.
func (s *Server) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uploads)
}

// ObjectPath returns the file holding an object's bytes.
func (s *Server) ObjectPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.dir, "objects", hex.EncodeToString(sum[:]))
}

type cosError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

var statusOf = map[string]int{
	"AccessDenied": 403, "SignatureDoesNotMatch": 403, "InvalidAccessKeyId": 403, "RequestTimeTooSkewed": 403,
	"NoSuchUpload": 404, "NoSuchKey": 404, "EntityTooSmall": 400, "EntityTooLarge": 400, "InvalidPart": 400,
	"InvalidPartOrder": 400, "InvalidArgument": 400, "MalformedXML": 400, "MissingContentLength": 411,
	"FileAlreadyExists": 409, "MethodNotAllowed": 405, "InternalError": 500, "KeyTooLong": 400, "ExpiredToken": 400,
	"MalformedPOSTRequest": 400, "InvalidPolicyDocument": 400,
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code, message string) {
	status := statusOf[code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		xml.NewEncoder(w).Encode(cosError{Code: code, Message: message, Resource: r.URL.Path, RequestID: w.Header().Get("x-cos-request-id")})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Server", "directup-localcos")
	h.Set("x-cos-request-id", randomHex(12))
	if o := r.Header.Get("Origin"); o != "" {
		// The CORS rule browsers need on a real bucket: any origin, ETag exposed.
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "ETag, Location, x-cos-hash-crc64ecma, x-cos-request-id")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "PUT, POST, GET, DELETE, HEAD")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusOK)
		return
	}
	s.requests.Add(1)
	if isForm(r) { // POST Object: signed in its form, not its headers
		s.postObject(w, r)
		return
	}
	code, msg, scope := s.authenticate(r)
	if code != "" {
		s.fail(w, r, code, msg)
		return
	}
	key := strings.TrimPrefix(r.URL.Path, "/")
	if !s.authorize(r, key, scope) {
		s.fail(w, r, "AccessDenied", "Access Denied.")
		return
	}
	if key == "" {
		if r.Method == http.MethodGet && r.URL.Query().Has("uploads") {
			s.listUploads(w, r.URL.Query().Get("prefix"))
			return
		}
		if r.Method == http.MethodGet {
			s.listObjects(w, r)
			return
		}
		s.fail(w, r, "MethodNotAllowed", "this bucket operation is not supported by the local store")
		return
	}
	if len(key) > 850 {
		s.fail(w, r, "KeyTooLong", "key is longer than 850 bytes")
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		s.initiate(w, r, key)
	case r.Method == http.MethodPut && q.Has("uploadId"):
		s.uploadPart(w, r, key, q.Get("uploadId"), q.Get("partNumber"))
	case r.Method == http.MethodGet && q.Has("uploadId"):
		s.listParts(w, r, key, q.Get("uploadId"))
	case r.Method == http.MethodPost && q.Has("uploadId"):
		s.complete(w, r, key, q.Get("uploadId"))
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		s.abort(w, r, key, q.Get("uploadId"))
	case r.Method == http.MethodGet && q.Has("acl"):
		s.getACL(w, r, key)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.get(w, r, key)
	case r.Method == http.MethodDelete:
		s.deleteObject(w, key)
	case r.Method == http.MethodPut:
		s.put(w, r, key)
	default:
		s.fail(w, r, "MethodNotAllowed", "operation not supported by the local store")
	}
}

// savedHeaders are the initiate headers that become object metadata.
func savedHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "content-type", "cache-control", "content-disposition", "content-encoding", "expires":
		return true
	case "x-cos-security-token", "x-cos-server-side-encryption-customer-key":
		return false
	}
	return strings.HasPrefix(n, "x-cos-")
}

func (s *Server) initiate(w http.ResponseWriter, r *http.Request, key string) {
	if r.Header.Get("Content-Type") == "" {
		s.fail(w, r, "InvalidArgument", "Content-Type is required")
		return
	}
	saved := http.Header{}
	metaAll := 0
	for k, vs := range r.Header {
		if !savedHeader(k) {
			continue
		}
		saved[k] = vs
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-cos-meta-") {
			n := len(lk) + len(strings.Join(vs, ","))
			if n > maxMetaOne {
				s.fail(w, r, "InvalidArgument", "a metadata header is larger than 2 KB")
				return
			}
			metaAll += n
		}
	}
	if metaAll > maxMetaAll {
		s.fail(w, r, "InvalidArgument", "metadata headers exceed 4 KB in all")
		return
	}
	if t := r.Header.Get("x-cos-tagging"); t != "" && strings.Count(t, "&")+1 > 10 {
		s.fail(w, r, "InvalidArgument", "at most 10 tags")
		return
	}
	md5sum := ""
	if r.Header.Get("x-cos-server-side-encryption-customer-algorithm") != "" {
		var ok bool
		if md5sum, ok = checkSSEC(r.Header); !ok {
			s.fail(w, r, "InvalidArgument", "SSE-C headers are inconsistent")
			return
		}
	}
	if forbids(saved) && s.exists(key) {
		s.fail(w, r, "FileAlreadyExists", "The object already exists and x-cos-forbid-overwrite is true")
		return
	}
	id := strconv.FormatInt(s.now().Unix(), 10) + randomHex(24)
	s.mu.Lock()
	s.uploads[id] = &multipart{key: key, header: saved, sseCMD5: md5sum, parts: map[int]part{}, created: s.now()}
	s.mu.Unlock()
	if err := os.MkdirAll(s.partDir(id), 0o755); err != nil {
		s.fail(w, r, "InternalError", "cannot create part folder")
		return
	}
	writeXML(w, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Bucket   string
		Key      string
		UploadID string `xml:"UploadId"`
	}{Bucket: s.bucket, Key: key, UploadID: id})
}

// checkSSEC verifies the customer key against its MD5 and returns the MD5.
func checkSSEC(h http.Header) (string, bool) {
	if h.Get("x-cos-server-side-encryption-customer-algorithm") != "AES256" {
		return "", false
	}
	key, err := base64.StdEncoding.DecodeString(h.Get("x-cos-server-side-encryption-customer-key"))
	if err != nil || len(key) != 32 {
		return "", false
	}
	sum := md5.Sum(key)
	want := base64.StdEncoding.EncodeToString(sum[:])
	return want, h.Get("x-cos-server-side-encryption-customer-key-MD5") == want
}

func forbids(h http.Header) bool { return strings.EqualFold(h.Get("x-cos-forbid-overwrite"), "true") }

func (s *Server) exists(key string) bool {
	_, err := os.Stat(s.ObjectPath(key))
	return err == nil
}

func (s *Server) partDir(id string) string { return filepath.Join(s.dir, "parts", id) }

func (s *Server) lookup(w http.ResponseWriter, r *http.Request, key, id string) *multipart {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[id]
	if u == nil || u.key != key {
		s.fail(w, r, "NoSuchUpload", "The specified upload does not exist")
		return nil
	}
	return u
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, key, id, num string) {
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > maxParts {
		s.fail(w, r, "InvalidArgument", "partNumber must be 1..10000")
		return
	}
	u := s.lookup(w, r, key, id)
	if u == nil {
		return
	}
	if r.ContentLength < 0 {
		s.fail(w, r, "MissingContentLength", "Content-Length is required")
		return
	}
	if r.ContentLength > maxPartSize {
		s.fail(w, r, "EntityTooLarge", "a part may be at most 5 GB")
		return
	}
	if u.sseCMD5 != "" {
		if md5sum, ok := checkSSEC(r.Header); !ok || md5sum != u.sseCMD5 {
			s.fail(w, r, "InvalidArgument", "this upload is SSE-C: send the same customer key with every part")
			return
		}
	}
	f, err := os.CreateTemp(s.partDir(id), "tmp-*")
	if err != nil {
		s.fail(w, r, "NoSuchUpload", "The specified upload does not exist")
		return
	}
	defer os.Remove(f.Name())
	sum, crc := md5.New(), crc64.New(crcTable)
	written, err := io.Copy(io.MultiWriter(f, sum, crc), r.Body)
	f.Close()
	if err != nil || written != r.ContentLength {
		s.fail(w, r, "InvalidArgument", "the body was shorter than Content-Length")
		return
	}
	if err := os.Rename(f.Name(), filepath.Join(s.partDir(id), strconv.Itoa(n))); err != nil {
		s.fail(w, r, "NoSuchUpload", "The specified upload does not exist")
		return
	}
	etag := `"` + hex.EncodeToString(sum.Sum(nil)) + `"`
	s.mu.Lock()
	if cur := s.uploads[id]; cur != nil {
		cur.parts[n] = part{etag: etag, size: written, modified: s.now()}
	}
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.Header().Set("x-cos-hash-crc64ecma", strconv.FormatUint(crc.Sum64(), 10))
	w.WriteHeader(http.StatusOK)
}

type xmlPart struct {
	PartNumber   int
	LastModified string `xml:",omitempty"`
	ETag         string
	Size         int64 `xml:",omitempty"`
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request, key, id string) {
	u := s.lookup(w, r, key, id)
	if u == nil {
		return
	}
	q := r.URL.Query()
	maxN := 1000
	if v := q.Get("max-parts"); v != "" {
		if m, err := strconv.Atoi(v); err == nil && m > 0 && m <= 1000 {
			maxN = m
		}
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	s.mu.Lock()
	nums := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	truncated := len(nums) > maxN
	if truncated {
		nums = nums[:maxN]
	}
	var parts []xmlPart
	for _, n := range nums {
		p := u.parts[n]
		parts = append(parts, xmlPart{n, p.modified.UTC().Format(time.RFC3339), p.etag, p.size})
	}
	s.mu.Unlock()
	next := marker
	if len(nums) > 0 {
		next = nums[len(nums)-1]
	}
	writeXML(w, struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		Bucket               string
		Key                  string
		UploadID             string `xml:"UploadId"`
		Initiator            principal
		Owner                principal
		StorageClass         string
		PartNumberMarker     int
		NextPartNumberMarker int
		MaxParts             int
		IsTruncated          bool
		Part                 []xmlPart
	}{Bucket: s.bucket, Key: key, UploadID: id, Initiator: localPrincipal, Owner: localPrincipal, StorageClass: u.storageClass(),
		PartNumberMarker: marker, NextPartNumberMarker: next, MaxParts: maxN, IsTruncated: truncated, Part: parts})
}

// principal is an Initiator or Owner as COS lists them.
type principal struct {
	ID          string
	DisplayName string
}

// localPrincipal stands for the account of local mode's one key.
var localPrincipal = principal{ID: "qcs::cam::uin/100000000001:uin/100000000001", DisplayName: "100000000001"}

func (u *multipart) storageClass() string {
	if c := u.header.Get("X-Cos-Storage-Class"); c != "" {
		return c
	}
	return "STANDARD"
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, key, id string) {
	var body struct {
		Parts []xmlPart `xml:"Part"`
	}
	if err := xml.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&body); err != nil || len(body.Parts) == 0 {
		s.fail(w, r, "MalformedXML", "The XML you provided was not well-formed")
		return
	}
	s.mu.Lock()
	u := s.uploads[id]
	if u == nil || u.key != key || u.busy {
		s.mu.Unlock()
		s.fail(w, r, "NoSuchUpload", "The specified upload does not exist")
		return
	}
	for i := 1; i < len(body.Parts); i++ {
		if body.Parts[i].PartNumber <= body.Parts[i-1].PartNumber {
			s.mu.Unlock()
			s.fail(w, r, "InvalidPartOrder", "parts must be in ascending order")
			return
		}
	}
	for i, p := range body.Parts {
		have, ok := u.parts[p.PartNumber]
		switch {
		case !ok || have.etag != `"`+strings.Trim(p.ETag, `"`)+`"`:
			s.mu.Unlock()
			s.fail(w, r, "InvalidPart", fmt.Sprintf("part %d was not found or its ETag differs", p.PartNumber))
			return
		case i < len(body.Parts)-1 && have.size < minPartSize:
			s.mu.Unlock()
			s.fail(w, r, "EntityTooSmall", fmt.Sprintf("part %d is smaller than 1 MB and not the last", p.PartNumber))
			return
		}
	}
	u.busy = true
	header := u.header
	s.mu.Unlock()

	release := func(done bool) {
		s.mu.Lock()
		if done {
			delete(s.uploads, id)
		} else {
			u.busy = false
		}
		s.mu.Unlock()
	}
	meta, err := s.assemble(key, id, header, body.Parts)
	if errors.Is(err, errExists) {
		release(false)
		s.fail(w, r, "FileAlreadyExists", "The object already exists and x-cos-forbid-overwrite is true")
		return
	}
	if err != nil {
		release(false)
		s.fail(w, r, "InternalError", "could not assemble the object")
		return
	}
	release(true)
	os.RemoveAll(s.partDir(id))
	w.Header().Set("x-cos-hash-crc64ecma", meta.CRC64)
	writeXML(w, struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Location string
		Bucket   string
		Key      string
		ETag     string
	}{Location: r.Host + "/" + cossign.EscapePath(key), Bucket: s.bucket, Key: key, ETag: meta.ETag})
}

// assemble concatenates the parts into the object file; the ETag is COS's multipart form.
func (s *Server) assemble(key, id string, header http.Header, parts []xmlPart) (*objectMeta, error) {
	out, err := os.CreateTemp(filepath.Join(s.dir, "objects"), "tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(out.Name())
	crc := crc64.New(crcTable)
	etags := md5.New()
	var size int64
	for _, p := range parts {
		f, err := os.Open(filepath.Join(s.partDir(id), strconv.Itoa(p.PartNumber)))
		if err != nil {
			out.Close()
			return nil, err
		}
		n, err := io.Copy(io.MultiWriter(out, crc), f)
		f.Close()
		if err != nil {
			out.Close()
			return nil, err
		}
		size += n
		raw, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		etags.Write(raw)
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	meta := &objectMeta{Key: key, Header: header, Size: size,
		ETag:  fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(etags.Sum(nil)), len(parts)),
		CRC64: strconv.FormatUint(crc.Sum64(), 10)}
	js, _ := json.Marshal(meta)
	// Checking forbid-overwrite and publishing are one step, as in put: of two completes
	// racing for a key that forbids overwriting, exactly one stores its object.
	s.mu.Lock()
	defer s.mu.Unlock()
	if forbids(header) && s.exists(key) {
		return nil, errExists
	}
	path := s.ObjectPath(key)
	if err := os.WriteFile(path+".json", js, 0o644); err != nil {
		return nil, err
	}
	return meta, os.Rename(out.Name(), path)
}

var errExists = errors.New("localcos: the object exists")

// put stores a whole object (PUT Object), honouring x-cos-forbid-overwrite. The check and
// the write happen under the store's lock, so of two racing writers exactly one wins.
func (s *Server) put(w http.ResponseWriter, r *http.Request, key string) {
	if r.ContentLength < 0 || r.ContentLength > maxPartSize {
		s.fail(w, r, "MissingContentLength", "Content-Length is required (at most 5 GB)")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || int64(len(body)) != r.ContentLength {
		s.fail(w, r, "InvalidArgument", "the body was shorter than Content-Length")
		return
	}
	saved := http.Header{}
	for k, vs := range r.Header {
		if savedHeader(k) {
			saved[k] = vs
		}
	}
	sum := md5.Sum(body)
	meta := &objectMeta{Key: key, Header: saved, Size: int64(len(body)), ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
		CRC64: strconv.FormatUint(crc64.Checksum(body, crcTable), 10)}
	js, _ := json.Marshal(meta)
	s.mu.Lock()
	defer s.mu.Unlock()
	if forbids(saved) && s.exists(key) {
		s.fail(w, r, "FileAlreadyExists", "The object already exists and x-cos-forbid-overwrite is true")
		return
	}
	path := s.ObjectPath(key)
	if err := os.WriteFile(path+".json", js, 0o644); err != nil || os.WriteFile(path, body, 0o644) != nil {
		s.fail(w, r, "InternalError", "could not store the object")
		return
	}
	w.Header().Set("ETag", meta.ETag)
	w.Header().Set("x-cos-hash-crc64ecma", meta.CRC64)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request, key, id string) {
	s.mu.Lock()
	u := s.uploads[id]
	if u == nil || u.key != key || u.busy {
		s.mu.Unlock()
		s.fail(w, r, "NoSuchUpload", "The specified upload does not exist")
		return
	}
	delete(s.uploads, id)
	s.mu.Unlock()
	os.RemoveAll(s.partDir(id))
	w.WriteHeader(http.StatusNoContent)
}

// Object returns a stored object's settings (tests read them to check what COS received).
func (s *Server) Object(key string) (header http.Header, etag, crc string, size int64, err error) {
	js, err := os.ReadFile(s.ObjectPath(key) + ".json")
	if err != nil {
		return nil, "", "", 0, err
	}
	var m objectMeta
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, "", "", 0, err
	}
	if m.Key != key {
		return nil, "", "", 0, errors.New("localcos: object file collision")
	}
	return m.Header, m.ETag, m.CRC64, m.Size, nil
}

// deleteObject answers DeleteObject: 204 whether or not there was one, as COS does.
func (s *Server) deleteObject(w http.ResponseWriter, key string) {
	s.mu.Lock()
	path := s.ObjectPath(key)
	os.Remove(path)
	os.Remove(path + ".json")
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, key string) {
	header, etag, crc, _, err := s.Object(key)
	if err != nil {
		s.fail(w, r, "NoSuchKey", "The specified key does not exist")
		return
	}
	f, err := os.Open(s.ObjectPath(key))
	if err != nil {
		s.fail(w, r, "NoSuchKey", "The specified key does not exist")
		return
	}
	defer f.Close()
	for k, vs := range header {
		if !strings.HasPrefix(strings.ToLower(k), "x-cos-server-side-encryption-customer-key") {
			w.Header()[k] = vs
		}
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("x-cos-hash-crc64ecma", crc)
	modified := time.Time{}
	if fi, err := f.Stat(); err == nil {
		modified = fi.ModTime()
	}
	// Last-Modified, HEAD, Range and conditional GETs as COS answers them.
	http.ServeContent(w, r, "", modified, f)
}

// listObjects answers GET Bucket (ListObjects v1): the keys under prefix after marker, in
// key order, max-keys (at most 1,000) a page, with NextMarker when truncated.
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix, marker := q.Get("prefix"), q.Get("marker")
	limit, err := strconv.Atoi(q.Get("max-keys"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 1000
	}
	names, _ := filepath.Glob(filepath.Join(s.dir, "objects", "*.json"))
	var keys []string
	for _, n := range names {
		js, err := os.ReadFile(n)
		var m objectMeta
		if err == nil && json.Unmarshal(js, &m) == nil && strings.HasPrefix(m.Key, prefix) && m.Key > marker {
			keys = append(keys, m.Key)
		}
	}
	sort.Strings(keys)
	type content struct{ Key string }
	out := struct {
		XMLName     xml.Name `xml:"ListBucketResult"`
		Name        string
		Prefix      string
		Marker      string
		MaxKeys     int
		IsTruncated bool
		NextMarker  string `xml:",omitempty"`
		Contents    []content
	}{Name: s.bucket, Prefix: prefix, Marker: marker, MaxKeys: limit}
	if len(keys) > limit {
		keys, out.IsTruncated = keys[:limit], true
		out.NextMarker = keys[limit-1]
	}
	for _, k := range keys {
		out.Contents = append(out.Contents, content{k})
	}
	writeXML(w, out)
}

// listUploads answers ListMultipartUploads (GET /?uploads&prefix=), oldest first.
func (s *Server) listUploads(w http.ResponseWriter, prefix string) {
	type xmlUpload struct {
		Key          string
		UploadID     string `xml:"UploadId"`
		StorageClass string
		Initiator    principal
		Owner        principal
		Initiated    string
	}
	var out struct {
		XMLName     xml.Name `xml:"ListMultipartUploadsResult"`
		Bucket      string
		Prefix      string
		IsTruncated bool
		Upload      []xmlUpload
	}
	out.Bucket, out.Prefix = s.bucket, prefix
	s.mu.Lock()
	for id, u := range s.uploads {
		if strings.HasPrefix(u.key, prefix) {
			out.Upload = append(out.Upload, xmlUpload{Key: u.key, UploadID: id, StorageClass: u.storageClass(),
				Initiator: localPrincipal, Owner: localPrincipal, Initiated: u.created.UTC().Format("2006-01-02T15:04:05.000Z")})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out.Upload, func(a, b xmlUpload) int { return strings.Compare(a.Initiated+a.UploadID, b.Initiated+b.UploadID) })
	writeXML(w, out)
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	xml.NewEncoder(w).Encode(v)
}
