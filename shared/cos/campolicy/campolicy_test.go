package campolicy

import (
	"testing"

	"github.com/directup/directup/shared/upload"
)

// admitted is key through the default policy's key rule, as the service passes it.
func admitted(t *testing.T, key string) upload.ObjectKey {
	t.Helper()
	p := upload.DefaultPolicy()
	k, err := p.AdmitKey(key, upload.DefaultCapabilities())
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
