package policy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
)

func i64(n int64) *int64 { return &n }

func fixedKey(filename string) (string, error) {
	return "uploads/RANDOM/" + SanitizeFilename(filename), nil
}

func TestObjectMapsEveryField(t *testing.T) {
	p := Default()
	p.AllowedACLs = []string{"public-read"}
	p.AllowGrants = true
	p.AllowedStorageClasses = []string{"STANDARD", "STANDARD_IA"}
	key := base64.StdEncoding.EncodeToString([]byte("0123456789ABCDEF0123456789ABCDEF"))
	req := &InitiateRequest{
		Filename: "a b.mp4", ContentType: "video/mp4", Size: i64(20 << 20), PartSize: 5 << 20,
		CacheControl: "max-age=86400", ContentDisposition: "attachment; filename=example.jpg",
		ContentEncoding: "gzip", Expires: "Wed, 21 Oct 2026 07:28:00 GMT",
		Metadata: map[string]string{"Example-Field": "example-value"}, StorageClass: "standard_ia",
		Tagging: map[string]string{"team": "a&b", "k 2": "v=2"}, ForbidOverwrite: true, ACL: "public-read",
		Grants:     &GrantsRequest{Read: []string{"100000000001", `id="100000000002"`}, FullControl: []string{"qcs::cam::uin/1:uin/2"}},
		Encryption: &EncryptionRequest{Type: storage.SSEC, CustomerKey: key},
	}
	obj, plan, err := p.object(req, fixedKey)
	if err != nil {
		t.Fatal(err)
	}
	want := &storage.Object{
		Key: "uploads/RANDOM/a-b.mp4", ContentType: "video/mp4", CacheControl: "max-age=86400",
		ContentDisposition: "attachment; filename=example.jpg", ContentEncoding: "gzip", Expires: "Wed, 21 Oct 2026 07:28:00 GMT",
		Metadata: map[string]string{"example-field": "example-value"}, StorageClass: "STANDARD_IA",
		Tags: map[string]string{"team": "a&b", "k 2": "v=2"}, ForbidOverwrite: true, ACL: "public-read",
		Grants:     storage.Grants{Read: []string{"100000000001", "100000000002"}, FullControl: []string{"qcs::cam::uin/1:uin/2"}},
		Encryption: &storage.Encryption{Type: storage.SSEC, CustomerKey: key, CustomerKeyMD5: "U5L61r7jcwdNvT7frmUG8g=="},
	}
	if !reflect.DeepEqual(obj, want) {
		t.Errorf("object =\n%+v\nwant\n%+v", obj, want)
	}
	if plan.PartCount != 4 || plan.PartSize != 5<<20 {
		t.Errorf("plan = %+v", plan)
	}
	if got := EncodeTags(obj.Tags, func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "&", "%26"), "=", "%3D"), " ", "%20")
	}); got != "k%202=v%3D2&team=a%26b" {
		t.Errorf("EncodeTags = %q", got)
	}
}

func TestKMSContext(t *testing.T) {
	p := Default()
	obj, _, err := p.object(&InitiateRequest{Filename: "a", ContentType: "text/plain", Size: i64(1),
		Encryption: &EncryptionRequest{Type: "cos/kms", KMSKeyID: "48ba38aa-26c5-11ea-855c-52540085", Context: map[string]string{"author": "fysntian", "company": "Tencent"}}}, fixedKey)
	if err != nil {
		t.Fatal(err)
	}
	// The document's example context, byte for byte.
	if obj.Encryption.Context != "eyJhdXRob3IiOiJmeXNudGlhbiIsImNvbXBhbnkiOiJUZW5jZW50In0=" {
		t.Errorf("context = %s", obj.Encryption.Context)
	}
}

func TestObjectRefusals(t *testing.T) {
	base := func() *InitiateRequest {
		return &InitiateRequest{Filename: "a.png", ContentType: "image/png", Size: i64(10)}
	}
	meta := func(m map[string]string) *InitiateRequest { r := base(); r.Metadata = m; return r }
	tags := map[string]string{}
	for i := 0; i < 11; i++ {
		tags[strings.Repeat("k", i+1)] = "v"
	}
	strict := Default()
	strict.AllowedTypes = []string{"image/*"}
	strict.MaxSize = 100
	clientKeys := Default()
	clientKeys.ClientKeys = true
	clientKeys.MaxSize = storage.MaxTotalSize
	bounded := Default()
	bounded.MinSize, bounded.RequiredMetadata = 10, []string{"project"}
	withProject := func(size int64, m map[string]string) *InitiateRequest {
		return &InitiateRequest{Filename: "a", ContentType: "image/png", Size: i64(size), Metadata: m}
	}

	tests := []struct {
		name   string
		policy Policy
		req    *InitiateRequest
		status int
		code   string
		field  string
	}{
		{"no filename", strict, &InitiateRequest{ContentType: "image/png", Size: i64(1)}, 400, errcode.MissingField, "filename"},
		{"under the minimum size", bounded, withProject(9, map[string]string{"project": "1"}), 400, errcode.InvalidField, "size"},
		{"required metadata missing", bounded, withProject(10, map[string]string{"other": "1"}), 400, errcode.MissingField, "metadata.project"},
		{"required metadata empty", bounded, withProject(10, map[string]string{"Project": ""}), 400, errcode.MissingField, "metadata.project"},
		{"no size", strict, &InitiateRequest{Filename: "a", ContentType: "image/png"}, 400, errcode.MissingField, "size"},
		{"no content type", strict, &InitiateRequest{Filename: "a", Size: i64(1)}, 400, errcode.MissingField, "contentType"},
		{"over the policy size", strict, &InitiateRequest{Filename: "a", ContentType: "image/png", Size: i64(101)}, 413, errcode.SizeTooLarge, "size"},
		{"type not allowed", strict, &InitiateRequest{Filename: "a", ContentType: "text/html", Size: i64(1)}, 403, errcode.PolicyDenied, "contentType"},
		{"type malformed", strict, &InitiateRequest{Filename: "a", ContentType: "image/", Size: i64(1)}, 400, errcode.InvalidField, "contentType"},
		{"type with CRLF", strict, &InitiateRequest{Filename: "a", ContentType: "image/png\r\nX-Evil: 1", Size: i64(1)}, 400, errcode.InvalidField, "contentType"},
		{"key without policy", strict, &InitiateRequest{Key: "uploads/a", ContentType: "image/png", Size: i64(1)}, 403, errcode.PolicyDenied, "key"},
		{"key and filename", clientKeys, &InitiateRequest{Key: "uploads/a", Filename: "a", ContentType: "image/png", Size: i64(1)}, 400, errcode.InvalidField, "key"},
		{"key outside prefix", clientKeys, &InitiateRequest{Key: "private/a", ContentType: "image/png", Size: i64(1)}, 403, errcode.PolicyDenied, "key"},
		{"key traversal", clientKeys, &InitiateRequest{Key: "uploads/../private/a", ContentType: "image/png", Size: i64(1)}, 400, errcode.InvalidField, "key"},
		{"meta underscore", Default(), meta(map[string]string{"a_b": "v"}), 400, errcode.InvalidField, "metadata.a_b"},
		{"meta dot", Default(), meta(map[string]string{"a.b": "v"}), 400, errcode.InvalidField, "metadata.a.b"},
		{"meta case duplicate", Default(), meta(map[string]string{"Ab": "1", "aB": "2"}), 400, errcode.InvalidField, ""},
		{"meta value CRLF", Default(), meta(map[string]string{"a": "x\r\nX-Cos-Acl: public-read"}), 400, errcode.InvalidField, "metadata.a"},
		{"meta value unicode", Default(), meta(map[string]string{"a": "é"}), 400, errcode.InvalidField, "metadata.a"},
		{"meta header over 2 KB", Default(), meta(map[string]string{"a": strings.Repeat("v", 2040)}), 400, errcode.InvalidField, "metadata.a"},
		{"meta over 4 KB in all", Default(), meta(map[string]string{"a": strings.Repeat("v", 1500), "b": strings.Repeat("v", 1500), "c": strings.Repeat("v", 1500)}), 400, errcode.InvalidField, "metadata"},
		{"11 tags", Default(), func() *InitiateRequest { r := base(); r.Tagging = tags; return r }(), 400, errcode.InvalidField, "tagging"},
		{"empty tag key", Default(), func() *InitiateRequest { r := base(); r.Tagging = map[string]string{"": "v"}; return r }(), 400, errcode.InvalidField, "tagging."},
		{"storage class unknown", Default(), func() *InitiateRequest { r := base(); r.StorageClass = "GLACIER"; return r }(), 400, errcode.InvalidField, "storageClass"},
		{"storage class not allowed", Default(), func() *InitiateRequest { r := base(); r.StorageClass = "ARCHIVE"; return r }(), 403, errcode.PolicyDenied, "storageClass"},
		{"acl unknown", Default(), func() *InitiateRequest { r := base(); r.ACL = "public-read-write"; return r }(), 400, errcode.InvalidField, "acl"},
		{"acl not allowed", Default(), func() *InitiateRequest { r := base(); r.ACL = "public-read"; return r }(), 403, errcode.PolicyDenied, "acl"},
		{"grants not allowed", Default(), func() *InitiateRequest { r := base(); r.Grants = &GrantsRequest{Read: []string{"1"}}; return r }(), 403, errcode.PolicyDenied, "grants"},
		{"grant malformed", Default(), func() *InitiateRequest {
			r := base()
			r.Grants = &GrantsRequest{Read: []string{`1",id="2`}}
			return r
		}(), 400, errcode.InvalidField, "grants.read"},
		{"sse type unknown", Default(), func() *InitiateRequest { r := base(); r.Encryption = &EncryptionRequest{Type: "aws:kms"}; return r }(), 400, errcode.InvalidField, "encryption.type"},
		{"sse-cos with key id", Default(), func() *InitiateRequest {
			r := base()
			r.Encryption = &EncryptionRequest{Type: storage.SSECOS, KMSKeyID: "k"}
			return r
		}(), 400, errcode.InvalidField, "encryption"},
		{"sse-c without key", Default(), func() *InitiateRequest { r := base(); r.Encryption = &EncryptionRequest{Type: storage.SSEC}; return r }(), 400, errcode.MissingField, "encryption.customerKey"},
		{"sse-c short key", Default(), func() *InitiateRequest {
			r := base()
			r.Encryption = &EncryptionRequest{Type: storage.SSEC, CustomerKey: base64.StdEncoding.EncodeToString([]byte("short"))}
			return r
		}(), 400, errcode.InvalidField, "encryption.customerKey"},
		{"kms with customer key", Default(), func() *InitiateRequest {
			r := base()
			r.Encryption = &EncryptionRequest{Type: "cos/kms", CustomerKey: "x"}
			return r
		}(), 400, errcode.InvalidField, "encryption.customerKey"},
		{"expires not a date", Default(), func() *InitiateRequest { r := base(); r.Expires = "tomorrow"; return r }(), 400, errcode.InvalidField, "expires"},
		{"cache control CRLF", Default(), func() *InitiateRequest { r := base(); r.CacheControl = "a\nb"; return r }(), 400, errcode.InvalidField, "cacheControl"},
		{"disposition unicode", Default(), func() *InitiateRequest { r := base(); r.ContentDisposition = "attachment; filename=文件"; return r }(), 400, errcode.InvalidField, "contentDisposition"},
		{"part size that cannot fit", clientKeys, func() *InitiateRequest {
			r := base()
			r.Size = i64(20 << 30)
			r.PartSize = 1 << 20
			return r
		}(), 400, errcode.InvalidField, "partSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			_, _, err := p.object(tt.req, fixedKey)
			var e *errcode.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *errcode.Error", err)
			}
			if e.Code != tt.code || (tt.field != "" && e.Field != tt.field) {
				t.Errorf("got %s field %q (%s), want %d %s field %q", e.Code, e.Field, e.Message, tt.status, tt.code, tt.field)
			}
		})
	}
}

func TestForbidOverwriteForcedByPolicy(t *testing.T) {
	p := Default()
	p.ForbidOverwrite = true
	obj, _, err := p.object(&InitiateRequest{Filename: "a", ContentType: "text/plain", Size: i64(1)}, fixedKey)
	if err != nil || !obj.ForbidOverwrite {
		t.Fatalf("obj = %+v, err %v: policy must force forbid-overwrite", obj, err)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Policy)
		want   string
	}{
		{"defaults", func(*Policy) {}, ""},
		{"bad acl", func(p *Policy) { p.AllowedACLs = []string{"everyone"} }, "UPLOAD_ALLOWED_ACLS"},
		{"bad class", func(p *Policy) { p.AllowedStorageClasses = []string{"GLACIER"} }, "UPLOAD_ALLOWED_STORAGE_CLASSES"},
		{"bad type", func(p *Policy) { p.AllowedTypes = []string{"images"} }, "UPLOAD_ALLOWED_TYPES"},
		{"ttl too short", func(p *Policy) { p.URLTTL = 1 }, "UPLOAD_URL_TTL"},
		{"token ttl under url ttl", func(p *Policy) { p.TokenTTL = p.URLTTL / 2 }, "UPLOAD_TOKEN_TTL"},
		{"part size", func(p *Policy) { p.DefaultPartSize = 1 }, "UPLOAD_PART_SIZE"},
		{"prefix traversal", func(p *Policy) { p.KeyPrefix = "../" }, "UPLOAD_KEY_PREFIX"},
		{"max size", func(p *Policy) { p.MaxSize = storage.MaxTotalSize + 1 }, "UPLOAD_MAX_SIZE"},
		{"template without random", func(p *Policy) { p.KeyTemplate = "{prefix}{sub}/{filename}" }, "UPLOAD_KEY_TEMPLATE"},
		{"template outside prefix", func(p *Policy) { p.KeyTemplate = "other/{random}/{filename}" }, "UPLOAD_KEY_TEMPLATE"},
		{"template with empty segment", func(p *Policy) { p.KeyTemplate = "{prefix}/{random}/{filename}" }, "UPLOAD_KEY_TEMPLATE"},
		{"template with subject and date", func(p *Policy) { p.KeyTemplate = "uploads/{sub}/{date}/{random}/{filename}" }, ""},
	}
	for _, tt := range tests {
		p := Default()
		tt.mutate(&p)
		err := p.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%s: Validate = %v, want prefix %q", tt.name, err, tt.want)
		}
	}
}

// FuzzInitiateRequest decodes arbitrary bodies as the API does and runs the request
// rules: nothing panics, and whatever is accepted is safe to send to COS.
func FuzzInitiateRequest(f *testing.F) {
	f.Add(`{"filename":"a.png","contentType":"image/png","size":10}`)
	f.Add(`{"filename":"../../x","contentType":"text/plain; charset=utf-8","size":5368709120,"partSize":1048576,"metadata":{"A-b":"v"},"tagging":{"k":"v&=x"}}`)
	f.Add(`{"key":"uploads/a/b","contentType":"a/b","size":0,"encryption":{"type":"cos/kms","context":{"a":"b"}},"grants":{"read":["1"]}}`)
	f.Add(`{"filename":"x","contentType":"a/b","size":1,"cacheControl":"max-age=1\r\n","expires":"Wed, 21 Oct 2026 07:28:00 GMT"}`)
	p := Default()
	p.ClientKeys, p.AllowGrants, p.AllowedACLs = true, true, []string{"public-read", "private"}
	p.MaxSize = storage.MaxTotalSize
	if err := p.Validate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req InitiateRequest
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&req) != nil {
			return
		}
		obj, plan, err := p.object(&req, func(filename string) (string, error) {
			return GenerateKey(strings.NewReader(strings.Repeat("r", 15)), p.KeyTemplate, p.KeyPrefix, "", filename, time.Unix(0, 0))
		})
		if err != nil {
			var e *errcode.Error
			if !errors.As(err, &e) || e.Code == "" || errcode.Retryable(e.Code) {
				t.Fatalf("refusal %v is not a client error with a code", err)
			}
			return
		}
		if e := checkKey(obj.Key); e != nil || !strings.HasPrefix(obj.Key, p.KeyPrefix) {
			t.Fatalf("accepted key %q", obj.Key)
		}
		for _, v := range []string{obj.ContentType, obj.CacheControl, obj.ContentDisposition, obj.ContentEncoding, obj.Expires} {
			if headerValue("x", v, 1<<20) != nil {
				t.Fatalf("accepted header value %q", v)
			}
		}
		total := 0
		for k, v := range obj.Metadata {
			if !metaSuffix.MatchString(k) || k != strings.ToLower(k) || headerValue("m", v, maxMetaHeader) != nil {
				t.Fatalf("accepted metadata %q: %q", k, v)
			}
			total += len("x-cos-meta-") + len(k) + len(v)
		}
		if total > maxMetaTotal || len(obj.Tags) > maxTags {
			t.Fatalf("accepted %d metadata bytes, %d tags", total, len(obj.Tags))
		}
		if plan.PartCount < 1 || plan.PartCount > storage.MaxParts || plan.PartSize < storage.MinPartSize || plan.PartSize > storage.MaxPartSize || plan.Size > p.MaxSize {
			t.Fatalf("accepted plan %+v", plan)
		}
	})
}
