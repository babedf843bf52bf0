package policy

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/directup/directup/shared/storage"
)

func TestSanitizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"My Holiday (1).JPG", "My-Holiday-1-.JPG"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\me\report.pdf`, "report.pdf"},
		{"报告 2026.docx", "报告-2026.docx"},
		{"evil\u202egpj.exe", "evil-gpj.exe"},
		{"a\r\nb", "a-b"},
		{"...", "file"},
		{"", "file"},
		{"-._", "_"},
		{strings.Repeat("a", 300) + ".tar.gz", strings.Repeat("a", 117) + ".gz"},
	}
	for _, tt := range tests {
		if got := SanitizeFilename(tt.in); got != tt.want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := SanitizeFilename(tt.in); checkKey("p/"+got) != nil {
			t.Errorf("SanitizeFilename(%q) = %q is not a valid key segment", tt.in, got)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	now := time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC)
	tests := []struct{ template, subject, want string }{
		{DefaultKeyTemplate, "", "uploads/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{date}/{random}/{filename}", "auth0|42", "uploads/auth0~7C42/2026/11/25/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{random}/{filename}", "", "uploads/anonymous/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{random}/{filename}", "../../x", "uploads/~2E.~2F..~2Fx/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{random}/{filename}", "anonymous", "uploads/~61nonymous/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
	}
	for _, tt := range tests {
		got, err := GenerateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 15)), tt.template, "uploads/", tt.subject, "a b.txt", now)
		if err != nil || got != tt.want {
			t.Errorf("generateKey(%q, %q) = %q, %v; want %q", tt.template, tt.subject, got, err, tt.want)
		}
	}
	if _, err := GenerateKey(bytes.NewReader(nil), DefaultKeyTemplate, "uploads/", "", "x", now); err == nil {
		t.Fatal("a failing random source must fail key generation")
	}
}

func FuzzGenerateKey(f *testing.F) {
	f.Add("auth0|42", "My File (1).PDF")
	f.Add("", "../../etc/passwd")
	f.Add("a/b", "\u202e.exe")
	f.Fuzz(func(t *testing.T, subject, filename string) {
		key, err := GenerateKey(bytes.NewReader(make([]byte, 15)), "uploads/{sub}/{date}/{random}/{filename}", "uploads/", subject, filename, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if e := checkKey(key); e != nil || !strings.HasPrefix(key, "uploads/") || strings.Count(key, "/") != 6 || IsReserved("uploads/", key) {
			t.Fatalf("subject %q filename %q gave key %q (%v)", subject, filename, key, e)
		}
	})
}

// decodeSegment inverts SubjectSegment's escapes: that it exists is what makes the
// segment injective (the hashed form aside, which no escape can spell).
func decodeSegment(seg string) (string, bool) {
	switch {
	case seg == "anonymous":
		return "", true
	case strings.HasPrefix(seg, "~h"):
		return "", false
	}
	var b []byte
	for i := 0; i < len(seg); i++ {
		if seg[i] != '~' {
			b = append(b, seg[i])
			continue
		}
		v, err := strconv.ParseUint(seg[i+1:i+3], 16, 8)
		if err != nil {
			panic(seg)
		}
		b = append(b, byte(v))
		i += 2
	}
	return string(b), true
}

func TestSubjectSegment(t *testing.T) {
	// The subjects that shared one folder before, and ordinary ids.
	subjects := []string{"alice", "x/alice", "alice.", "alice!", `..\alice`, ".alice", "Alice", "alice~2E", "alice~",
		"anonymous", "", "auth0|42", "google-oauth2|1234", "user@example.com", "张三", "a.b", ".", "..", ".directup", "~h",
		strings.Repeat("a", 128), strings.Repeat("a", 129), strings.Repeat("/", 200), "\xff\xfe", "a\u202eb"}
	seen := map[string]string{}
	for _, s := range subjects {
		seg := SubjectSegment(s)
		if prev, dup := seen[seg]; dup {
			t.Errorf("subjects %q and %q share the segment %q", prev, s, seg)
		}
		seen[seg] = s
		if err := checkKey("uploads/" + seg + "/f"); err != nil || IsReserved("uploads/", "uploads/"+seg+"/f") || len(seg) > 130 {
			t.Errorf("SubjectSegment(%q) = %q is not a usable key segment: %v", s, seg, err)
		}
		if got, ok := decodeSegment(seg); ok && got != s {
			t.Errorf("SubjectSegment(%q) = %q decodes to %q", s, seg, got)
		}
	}
	for s, want := range map[string]string{"alice": "alice", "user@example.com": "user~40example.com", "张三": "张三", "a.b": "a.b"} {
		if got := SubjectSegment(s); got != want {
			t.Errorf("SubjectSegment(%q) = %q, want %q (readable)", s, got, want)
		}
	}
}

func FuzzSubjectSegment(f *testing.F) {
	f.Add("x/alice", "alice.")
	f.Add("alice!", `..\alice`)
	f.Fuzz(func(t *testing.T, a, b string) {
		sa, sb := SubjectSegment(a), SubjectSegment(b)
		if a != b && sa == sb {
			t.Fatalf("subjects %q and %q share the segment %q", a, b, sa)
		}
		if got, ok := decodeSegment(sa); ok && got != a {
			t.Fatalf("SubjectSegment(%q) = %q decodes to %q", a, sa, got)
		}
		if err := checkKey("p/" + sa + "/f"); err != nil || IsReserved("p/", "p/"+sa+"/f") {
			t.Fatalf("SubjectSegment(%q) = %q: %v", a, sa, err)
		}
	})
}

func TestReservedKeys(t *testing.T) {
	tests := []struct {
		prefix, key string
		reserved    bool
	}{
		{"uploads/", "uploads/.directup/requests/abc", true},
		{"uploads/", "uploads/.directup", true},
		{"", ".directup/requests/abc", true},
		{"", "uploads/.directup/requests/abc", true}, // another deployment's records on the same bucket
		{"uploads", "uploads.directup/requests/abc", true},
		{"uploads/", "uploads/a/.directup/b", true},
		{"uploads/", "uploads/.directupx/b", false},
		{"uploads/", "uploads/x.directup/b", false},
		{"uploads/", "uploads/directup/b", false},
	}
	for _, tt := range tests {
		if got := IsReserved(tt.prefix, tt.key); got != tt.reserved {
			t.Errorf("reserved(%q, %q) = %v, want %v", tt.prefix, tt.key, got, tt.reserved)
		}
	}
	p := Default()
	p.KeyPrefix = "uploads/.directup/"
	if err := p.Validate(); err == nil {
		t.Error("a prefix inside the records folder must be refused")
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"uploads/a/b.txt", true},
		{"uploads/文件 1+2%.txt", true},
		{"", false},
		{"/uploads/a", false},
		{"uploads/a/", false},
		{"uploads//a", false},
		{"uploads/../secret", false},
		{"uploads/./a", false},
		{"uploads/a\\b", false},
		{"uploads/a\x00b", false},
		{"uploads/a\nb", false},
		{"uploads/\u202eexe.txt", false},
		{"uploads/\xff", false},
		{"uploads/" + strings.Repeat("a", storage.MaxKeyLength), false},
	}
	for _, tt := range tests {
		if err := checkKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("checkKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}
