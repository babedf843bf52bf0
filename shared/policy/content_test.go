package policy

import (
	"archive/zip"
	"bytes"
	"math/rand/v2"
	"testing"
)

func zipWith(names ...string) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, n := range names {
		w, _ := z.Create(n)
		w.Write([]byte("<x/>"))
	}
	z.Close()
	return b.Bytes()
}

var samples = map[string][]byte{
	"png":  append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...),
	"jpeg": append([]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), make([]byte, 64)...),
	"html": []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"),
	"svg":  []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
	"exe":  append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 200)...),
	"pdf":  []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"),
	"text": []byte("hello, plain words\n"),
	"csv":  []byte("name,size\na,1\nb,2\n"),
	"json": []byte(`{"a":1,"b":[1,2]}`),
	"random": func() []byte {
		b := make([]byte, 512)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}(),
	"docx":     zipWith("[Content_Types].xml", "word/document.xml"),
	"html+nul": []byte("<html><body><script>alert(document.cookie)</script></body></html>\x00"), // detection: octet-stream
	"zip":      zipWith("a.txt"),
}

func TestContentVerdict(t *testing.T) {
	tests := []struct {
		allowed  []string
		declared string
		content  string
		ok       bool
	}{
		// What the declaration says is what is there.
		{nil, "image/png", "png", true},
		{nil, "image/jpeg", "jpeg", true},
		{nil, "application/pdf", "pdf", true},
		{nil, "application/json", "json", true},
		{nil, "text/csv", "csv", true},
		{nil, "text/plain", "text", true},
		{nil, "text/plain; charset=utf-8", "json", true}, // declared the broader kind
		{nil, "application/zip", "docx", true},           // a DOCX is a ZIP
		{nil, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", true},
		{nil, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "zip", true}, // detection stops at zip
		// Rule 1: script in disguise.
		{nil, "image/png", "html", false},
		{nil, "image/png", "svg", false},
		{nil, "text/plain", "html", false},
		{nil, "application/octet-stream", "html", false},
		{nil, "application/octet-stream", "html+nul", false}, // found by sniffScriptable, not by detection
		{nil, "application/unknown", "html+nul", false},
		{[]string{"application/unknown"}, "application/unknown", "html+nul", false},
		{[]string{"text/html"}, "text/html", "html+nul", true},
		{[]string{"image/svg+xml"}, "image/svg+xml", "svg", true}, // declared as exactly that, allowed by name
		{[]string{"text/html"}, "text/html", "html", true},
		{nil, "image/svg+xml", "svg", false}, // a wildcard (the default */*) never admits it
		{nil, "text/html", "html", false},
		// Rule 2: a declared type a browser sniffs, not listed by name.
		{nil, "application/unknown", "random", false},
		{nil, "*/*", "random", false},
		{[]string{"application/unknown"}, "application/unknown", "random", true}, // listed: a generic declaration (rule 4)
		// Rule 6: another type than declared.
		{nil, "application/pdf", "exe", false},
		{nil, "image/png", "jpeg", false},
		{nil, "image/png", "zip", false},
		// Rule 5: a signature type with no signature.
		{nil, "image/png", "random", false},
		{nil, "image/png", "text", false},
		{nil, "video/mp4", "random", false},
		{nil, "text/csv", "random", true}, // not a signature type: held only to what is found
		// Rule 4: a generic declaration passes...
		{nil, "application/octet-stream", "random", true},
		{nil, "application/octet-stream", "png", true},
		// ...unless (rule 3) the content is a type the policy does not allow.
		{[]string{"image/*", "application/octet-stream"}, "application/octet-stream", "pdf", false},
		{[]string{"image/*", "application/octet-stream"}, "application/octet-stream", "png", true},
		{[]string{"image/*"}, "image/png", "png", true},
	}
	for _, tt := range tests {
		p := Default()
		if tt.allowed != nil {
			p.AllowedTypes = tt.allowed
		}
		detected, ok := p.ContentVerdict(tt.declared, samples[tt.content])
		if ok != tt.ok {
			t.Errorf("declared %s, content %s (detected %s): ok = %v, want %v", tt.declared, tt.content, detected, ok, tt.ok)
		}
	}
}
