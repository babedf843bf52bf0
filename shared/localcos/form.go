package localcos

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"hash/crc64"
	"io"
	"mime"
	mpart "mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/directup/directup/shared/cos/campolicy"
	"github.com/directup/directup/shared/cos/cossign"
	"github.com/directup/directup/shared/formpolicy"
)

// maxFormFields bounds a form's fields before its file (S3 allows 20 KB; COS does not say).
const maxFormFields = 64 << 10

// isForm reports whether r is a POST Object: a multipart/form-data POST to the bucket's root.
func isForm(r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.Path != "/" && r.URL.Path != "" {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// form is a POST Object's fields (names lowercased) and its file, still to be read.
type form struct {
	fields   map[string]string
	file     *mpart.Part
	filename string
}

// readForm reads the fields up to the file, which must come last (COS: "placed at the end").
func readForm(r *http.Request) (*form, *refusal) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, &refusal{"MalformedPOSTRequest", "the body is not a multipart form"}
	}
	f := &form{fields: map[string]string{}}
	total := 0
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, &refusal{"MalformedPOSTRequest", "the form has no file field"}
		}
		name := strings.ToLower(p.FormName())
		if name == "file" {
			f.file, f.filename = p, p.FileName()
			return f, nil
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormFields+1))
		total += len(v)
		switch {
		case err != nil || total > maxFormFields:
			return nil, &refusal{"MalformedPOSTRequest", "the form's fields exceed 64 KB"}
		case name == "":
			return nil, &refusal{"MalformedPOSTRequest", "a form part has no name"}
		}
		if _, dup := f.fields[name]; dup {
			return nil, &refusal{"InvalidArgument", "the form repeats the field " + name}
		}
		f.fields[name] = string(v)
	}
}

// checkForm verifies a form's signature as COS does (q-signature over the policy, with the
// key q-ak names, in the window q-key-time, with its security token) and holds its fields
// to the policy. It returns the policy and the key that signed it.
func (s *Server) checkForm(f *form) (*formpolicy.Document, credential, *refusal) {
	fv := f.fields
	cred, no := s.signingKey(url.Values{"q-sign-algorithm": {fv[cossign.FormAlgorithm]}, "q-ak": {fv[cossign.FormKeyID]}})
	if no != nil {
		return nil, cred, no
	}
	raw, err := base64.StdEncoding.DecodeString(fv["policy"])
	if err != nil || fv["policy"] == "" {
		return nil, cred, &refusal{"AccessDenied", "the form has no policy"}
	}
	doc, err := formpolicy.Parse(raw)
	if err != nil {
		return nil, cred, &refusal{"InvalidPolicyDocument", err.Error()}
	}
	signTime, _ := doc.Field(cossign.FormSignTime)
	if no := s.checkKeyTime(signTime, fv[cossign.FormKeyTime]); no != nil {
		return nil, cred, no
	}
	for _, required := range []string{cossign.FormAlgorithm, cossign.FormKeyID} {
		if _, ok := doc.Field(required); !ok {
			return nil, cred, &refusal{"InvalidPolicyDocument", "the policy must name " + required}
		}
	}
	if cred.SessionToken != "" && fv[cossign.TokenHeader] != cred.SessionToken {
		return nil, cred, &refusal{"InvalidAccessKeyId", "the security token is missing or wrong"}
	}
	want := cossign.SignPolicy(cred.SecretKey, fv[cossign.FormKeyTime], raw)
	if subtle.ConstantTimeCompare([]byte(want), []byte(fv[cossign.FormSignature])) != 1 {
		return nil, cred, &refusal{"SignatureDoesNotMatch", "The Signature you specified does not match"}
	}
	// ${filename} is replaced before the policy is checked, as COS does.
	fv["key"] = strings.ReplaceAll(fv["key"], "${filename}", f.filename)
	// COS takes fields the policy does not name (its documented example leaves the key
	// out): only the conditions it has are enforced.
	implied := map[string]string{"bucket": s.bucket, cossign.FormSignTime: fv[cossign.FormKeyTime]}
	if err := doc.Check(fv, s.now(), func(string) bool { return true }, implied); err != nil {
		return nil, cred, &refusal{"AccessDenied", "Invalid according to Policy: " + err.Error()}
	}
	return doc, cred, nil
}

// postObject answers POST Object: a browser form, its policy enforced as COS enforces it
// — the signature, the expiry, every condition on the fields, the file's length range —
// before anything is stored; then the object is written like PUT Object's, with the
// form's Content-Type, entity fields, x-cos-* fields and acl as its settings.
func (s *Server) postObject(w http.ResponseWriter, r *http.Request) {
	f, no := readForm(r)
	if no == nil {
		var doc *formpolicy.Document
		var cred credential
		if doc, cred, no = s.checkForm(f); no == nil {
			no = s.storeForm(w, r, f, doc, cred)
		}
	}
	if no != nil {
		s.fail(w, r, no.code, no.message)
	}
}

func (s *Server) storeForm(w http.ResponseWriter, r *http.Request, f *form, doc *formpolicy.Document, cred credential) *refusal {
	key := f.fields["key"]
	switch {
	case key == "" || strings.HasSuffix(key, "/"):
		return &refusal{"InvalidArgument", "the form's key names no object"}
	case len(key) > 850:
		return &refusal{"KeyTooLong", "key is longer than 850 bytes"}
	}
	saved := formHeaders(f.fields)
	if cred.scope != nil && !cred.scope.Allows(campolicy.Request{Action: "name/cos:PostObject",
		Resource: campolicy.RequestResource(Region, s.bucket, key), Values: map[string]string{campolicy.ContentType: saved.Get("Content-Type")}}) {
		return &refusal{"AccessDenied", "Access Denied."}
	}
	min, max, ranged := doc.Range()
	if !ranged {
		min, max = 0, maxPartSize
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "objects"), "tmp-*")
	if err != nil {
		return &refusal{"InternalError", "cannot store the object"}
	}
	defer os.Remove(tmp.Name())
	sum, crc := md5.New(), crc64.New(crcTable)
	n, err := io.Copy(io.MultiWriter(tmp, sum, crc), io.LimitReader(f.file, max+1))
	tmp.Close()
	switch {
	case err != nil:
		return &refusal{"MalformedPOSTRequest", "the file could not be read"}
	case n > max:
		return &refusal{"EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"}
	case n < min:
		return &refusal{"EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"}
	}
	meta := &objectMeta{Key: key, Header: saved, Size: n, ETag: `"` + hex.EncodeToString(sum.Sum(nil)) + `"`,
		CRC64: strconv.FormatUint(crc.Sum64(), 10)}
	js, _ := json.Marshal(meta)
	s.mu.Lock()
	path := s.ObjectPath(key)
	err = os.WriteFile(path+".json", js, 0o644)
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	s.mu.Unlock()
	if err != nil {
		return &refusal{"InternalError", "could not store the object"}
	}
	s.formAnswer(w, r, f.fields, key, meta)
	if s.onForm != nil {
		s.onForm(key)
	}
	return nil
}

// formFields are the settings fields COS's POST Object documents (besides x-cos-meta-*):
// only these are kept as the object's settings, as COS keeps them.
var formFields = map[string]string{
	"cache-control": "Cache-Control", "content-disposition": "Content-Disposition", "content-encoding": "Content-Encoding",
	"content-type": "Content-Type", "expires": "Expires", "acl": "X-Cos-Acl", "x-cos-storage-class": "X-Cos-Storage-Class",
	"x-cos-grant-read": "X-Cos-Grant-Read", "x-cos-grant-read-acp": "X-Cos-Grant-Read-Acp",
	"x-cos-grant-write-acp": "X-Cos-Grant-Write-Acp", "x-cos-grant-full-control": "X-Cos-Grant-Full-Control",
	"x-cos-server-side-encryption":                    "X-Cos-Server-Side-Encryption",
	"x-cos-server-side-encryption-cos-kms-key-id":     "X-Cos-Server-Side-Encryption-Cos-Kms-Key-Id",
	"x-cos-server-side-encryption-context":            "X-Cos-Server-Side-Encryption-Context",
	"x-cos-server-side-encryption-customer-algorithm": "X-Cos-Server-Side-Encryption-Customer-Algorithm",
	"x-cos-server-side-encryption-customer-key-md5":   "X-Cos-Server-Side-Encryption-Customer-Key-Md5",
}

// formHeaders are the object settings a form carries: its Content-Type field (not the
// file part's, which COS ignores), the documented settings fields and x-cos-meta-*; other
// fields (x-cos-acl, x-cos-tagging, names COS does not document) are not settings.
func formHeaders(fields map[string]string) http.Header {
	h := http.Header{}
	for name, v := range fields {
		if header, ok := formFields[name]; ok {
			h.Set(header, v)
		} else if strings.HasPrefix(name, "x-cos-meta-") {
			h.Set(name, v)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/octet-stream")
	}
	return h
}

// formAnswer is COS's answer to a stored form: 204 with ETag and Location, or the status
// success_action_status asks (201 with the XML body), or a 303 to success_action_redirect.
func (s *Server) formAnswer(w http.ResponseWriter, r *http.Request, fields map[string]string, key string, meta *objectMeta) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	location := scheme + "://" + r.Host + "/" + cossign.EscapePath(key)
	w.Header().Set("ETag", meta.ETag)
	w.Header().Set("x-cos-hash-crc64ecma", meta.CRC64)
	if redirect := fields["success_action_redirect"]; redirect != "" {
		q := url.Values{"bucket": {s.bucket}, "key": {key}, "etag": {meta.ETag}}
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		w.Header().Set("Location", redirect+sep+q.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.Header().Set("Location", location)
	switch fields["success_action_status"] {
	case "200":
		w.WriteHeader(http.StatusOK)
	case "201":
		writeXMLStatus(w, http.StatusCreated, struct {
			XMLName  xml.Name `xml:"PostResponse"`
			Location string
			Bucket   string
			Key      string
			ETag     string
		}{Location: location, Bucket: s.bucket, Key: key, ETag: meta.ETag})
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeXMLStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(v)
}

// OnFormUpload sets a function called with the key of each object a form stored: local
// mode's stand-in for the storage trigger, the only check a form upload gets.
func (s *Server) OnFormUpload(f func(key string)) { s.onForm = f }

// groups are the grantees COS names by URI for its canned ACLs.
var groups = map[string][][2]string{ // ACL -> (group URI, permission)
	"public-read":        {{"http://cam.qcloud.com/groups/global/AllUsers", "READ"}},
	"public-read-write":  {{"http://cam.qcloud.com/groups/global/AllUsers", "READ"}, {"http://cam.qcloud.com/groups/global/AllUsers", "WRITE"}},
	"authenticated-read": {{"http://cam.qcloud.com/groups/global/AuthenticatedUsers", "READ"}},
}

type aclGrantee struct {
	XSI  string `xml:"xmlns:xsi,attr"`
	Type string `xml:"xsi:type,attr"`
	ID   string `xml:"ID,omitempty"`
	URI  string `xml:"URI,omitempty"`
}

type aclGrant struct {
	Grantee    aclGrantee
	Permission string
}

// getACL answers GET Object acl as COS does: the owner's FULL_CONTROL, then what the
// object's canned ACL and x-cos-grant-* settings give (ids as id="...", groups as uri="...").
func (s *Server) getACL(w http.ResponseWriter, r *http.Request, key string) {
	saved, _, _, _, err := s.Object(key)
	if err != nil {
		s.fail(w, r, "NoSuchKey", "The specified key does not exist")
		return
	}
	const xsi = "http://www.w3.org/2001/XMLSchema-instance"
	grants := []aclGrant{{aclGrantee{xsi, "CanonicalUser", localPrincipal.ID, ""}, "FULL_CONTROL"}}
	for _, g := range groups[saved.Get("X-Cos-Acl")] {
		grants = append(grants, aclGrant{aclGrantee{xsi, "Group", "", g[0]}, g[1]})
	}
	for _, name := range []string{"X-Cos-Grant-Read", "X-Cos-Grant-Read-Acp", "X-Cos-Grant-Write-Acp", "X-Cos-Grant-Full-Control"} {
		perm := strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(name, "X-Cos-Grant-"), "-", "_"))
		for _, g := range strings.Split(saved.Get(name), ",") {
			kind, v, ok := strings.Cut(strings.TrimSpace(g), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			if kind == "uri" {
				grants = append(grants, aclGrant{aclGrantee{xsi, "Group", "", v}, perm})
			} else {
				grants = append(grants, aclGrant{aclGrantee{xsi, "CanonicalUser", v, ""}, perm})
			}
		}
	}
	writeXML(w, struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
		Owner   principal
		Grants  []aclGrant `xml:"AccessControlList>Grant"`
	}{Owner: localPrincipal, Grants: grants})
}
