package campolicy

import (
	"testing"

	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/storage"
)

// admitted is key through the default policy's key rule, as the service passes it.
func admitted(t *testing.T, key string) policy.ObjectKey {
	t.Helper()
	p := policy.Default()
	k, err := p.AdmitKey(key, storage.DefaultCapabilities())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestForUpload(t *testing.T) {
	p := ForUpload("ap-guangzhou", "examplebucket-1250000000", admitted(t, "uploads/abc/cat.png"), "image/png", 1000)
	res := RequestResource("ap-guangzhou", "examplebucket-1250000000", "uploads/abc/cat.png")
	other := RequestResource("ap-guangzhou", "examplebucket-1250000000", "uploads/abc/dog.png")
	tests := []struct {
		name string
		r    Request
		ok   bool
	}{
		{"initiate with the type", Request{"name/cos:InitiateMultipartUpload", res, map[string]string{ContentType: "image/png"}}, true},
		{"initiate with another type", Request{"name/cos:InitiateMultipartUpload", res, map[string]string{ContentType: "text/html"}}, false},
		{"initiate without a type", Request{"name/cos:InitiateMultipartUpload", res, nil}, false},
		{"a part within the size", Request{"name/cos:UploadPart", res, map[string]string{ContentLength: "1000"}}, true},
		{"a part over the size", Request{"name/cos:UploadPart", res, map[string]string{ContentLength: "1001"}}, false},
		{"a simple PUT as declared", Request{"name/cos:PutObject", res, map[string]string{ContentType: "image/png", ContentLength: "10"}}, true},
		{"a simple PUT over the size", Request{"name/cos:PutObject", res, map[string]string{ContentType: "image/png", ContentLength: "5000"}}, false},
		{"a simple PUT of another type", Request{"name/cos:PutObject", res, map[string]string{ContentType: "text/html", ContentLength: "10"}}, false},
		{"list parts", Request{"name/cos:ListParts", res, nil}, true},
		{"complete", Request{"name/cos:CompleteMultipartUpload", res, nil}, true},
		{"another key", Request{"name/cos:UploadPart", other, map[string]string{ContentLength: "1"}}, false},
		{"read the object", Request{"name/cos:GetObject", res, nil}, false},
		{"list the bucket", Request{"name/cos:GetBucket", RequestResource("ap-guangzhou", "examplebucket-1250000000", ""), nil}, false},
		{"delete it", Request{"name/cos:DeleteObject", res, nil}, false},
	}
	for _, tt := range tests {
		if got := p.Allows(tt.r); got != tt.ok {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.ok)
		}
	}
	deny := Policy{Statement: append(p.Statement, Statement{Effect: "deny", Action: []string{"name/cos:*"}, Resource: []string{"*"}})}
	if deny.Allows(Request{"name/cos:ListParts", res, nil}) {
		t.Error("a deny statement must win")
	}
}

// The local store's CAM stand-in reads resources as CAM does: a "*" anywhere matches any
// run of characters, so keys minted from a pattern would be caught granting too much.
func TestResourceWildcards(t *testing.T) {
	const bucket = "examplebucket-1250000000"
	res := func(key string) string { return RequestResource("ap-guangzhou", bucket, key) }
	tests := []struct {
		pattern, key string
		ok           bool
	}{
		{res("uploads/a.png"), "uploads/a.png", true},
		{res("uploads/a.png"), "uploads/a.pngx", false},
		{res("uploads/*"), "uploads/bob/payroll.pdf", true},
		{res("uploads/*"), "uploads/.directup/declared/x", true},
		{res("uploads/*/avatar.png"), "uploads/bob/avatar.png", true},
		{res("uploads/*/avatar.png"), "uploads/bob/x/avatar.png", true},
		{res("uploads/*/avatar.png"), "uploads/bob/avatar.jpg", false},
		{res("uploads/a*b*c"), "uploads/abc", true},
		{res("uploads/a*b*c"), "uploads/ab", false},
		{res("uploads/a*b*b"), "uploads/ab", false},
		{res("*"), "anything", true},
		{"qcs::cos:ap-guangzhou:uid/1250000000:" + bucket + "/*", "uploads/x", true},
		{res("other/*"), "uploads/x", false},
	}
	for _, tt := range tests {
		p := Policy{Version: "2.0", Statement: []Statement{{Effect: "allow", Action: []string{"name/cos:PutObject"}, Resource: []string{tt.pattern}}}}
		r := Request{Action: "name/cos:PutObject", Resource: res(tt.key)}
		if tt.pattern == "*" {
			r.Resource = tt.key
		}
		if got := p.Allows(r); got != tt.ok {
			t.Errorf("%s against %s: %v, want %v", tt.key, tt.pattern, got, tt.ok)
		}
	}
}
