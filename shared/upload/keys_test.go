package upload

import (
	"bytes"
	"strings"
	"testing"
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
	a, err := generateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 15)), "uploads/", "a b.txt")
	if err != nil || a != "uploads/aeaqcaibaeaqcaibaeaqcaib/a-b.txt" {
		t.Fatalf("generateKey = %q, %v", a, err)
	}
	if _, err := generateKey(bytes.NewReader(nil), "uploads/", "x"); err == nil {
		t.Fatal("a failing random source must fail key generation")
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
		{"uploads/" + strings.Repeat("a", MaxKeyLength), false},
	}
	for _, tt := range tests {
		if err := checkKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("checkKey(%q) = %v, want ok=%v", tt.key, err, tt.ok)
		}
	}
}
