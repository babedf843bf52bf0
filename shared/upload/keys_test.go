package upload

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
		{"uploads/{sub}/{date}/{random}/{filename}", "auth0|42", "uploads/auth0-42/2026/11/25/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{random}/{filename}", "", "uploads/anonymous/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
		{"uploads/{sub}/{random}/{filename}", "../../x", "uploads/x/aeaqcaibaeaqcaibaeaqcaib/a-b.txt"},
	}
	for _, tt := range tests {
		got, err := generateKey(bytes.NewReader(bytes.Repeat([]byte{1}, 15)), tt.template, "uploads/", tt.subject, "a b.txt", now)
		if err != nil || got != tt.want {
			t.Errorf("generateKey(%q, %q) = %q, %v; want %q", tt.template, tt.subject, got, err, tt.want)
		}
	}
	if _, err := generateKey(bytes.NewReader(nil), DefaultKeyTemplate, "uploads/", "", "x", now); err == nil {
		t.Fatal("a failing random source must fail key generation")
	}
}

func FuzzGenerateKey(f *testing.F) {
	f.Add("auth0|42", "My File (1).PDF")
	f.Add("", "../../etc/passwd")
	f.Add("a/b", "\u202e.exe")
	f.Fuzz(func(t *testing.T, subject, filename string) {
		key, err := generateKey(bytes.NewReader(make([]byte, 15)), "uploads/{sub}/{date}/{random}/{filename}", "uploads/", subject, filename, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if e := checkKey(key); e != nil || !strings.HasPrefix(key, "uploads/") || strings.Count(key, "/") != 6 {
			t.Fatalf("subject %q filename %q gave key %q (%v)", subject, filename, key, e)
		}
	})
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
