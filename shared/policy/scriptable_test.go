package policy

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/directup/directup/shared/errcode"
)

func utf16LE(s string) []byte {
	b := []byte("\xff\xfe")
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// scriptable are contents a browser may run script in that content detection alone
// (gabriel-vasile/mimetype) does not call HTML, SVG or XML, each with the type sniffing
// finds in it.
var scriptable = map[string]struct {
	content []byte
	sniffed string
}{
	// One binary byte anywhere in the first 3 KB and detection gives up on text.
	"html+nul":  {[]byte("<!DOCTYPE html><html><body><script>alert(document.domain)</script></body></html>\x00"), "text/html"},
	"xhtml+nul": {[]byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(1)</script></body></html>` + "\x00"), "application/xhtml+xml"},
	"svg+nul":   {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>` + "\x00"), "image/svg+xml"},
	"bom+html":  {[]byte("\xef\xbb\xbf<html><script>alert(1)</script></html>\x00"), "text/html"},
	"ws+html":   {[]byte("\r\n\t\f <HTML><script>alert(1)</script></HTML>\x00"), "text/html"},
	// The standard's patterns alone: an HTML tag at the start, "<?xml" at the start.
	"tag+nul":        {[]byte("<B>bold</B><img src=x onerror=alert(1)>\x00"), "text/html"},
	"xml-stylesheet": {[]byte(`<?xml-stylesheet type="text/xsl" href="x.xsl"?><x/>`), "text/xml"}, // detection: text/plain
	// Markers after binary bytes, or split by NULs (UTF-16 without its mark), or UTF-16.
	"nul+html":      {[]byte("\x00\x00<html><script>alert(1)</script></html>"), "text/html"},
	"binary+script": {append(append([]byte{}, samples["random"]...), "<script>alert(1)</script>"...), "text/html"},
	"utf16 no bom":  {utf16LE("<script>alert(1)</script>")[2:], "text/html"},
	"utf16+html":    {utf16LE("<html><body onload=alert(1)></body></html>"), "text/html"}, // detection: text/plain
}

// TestScriptableContent: content a browser may run passes only when declared as exactly
// the type sniffing finds and that type is listed by name; binary bytes, a byte order
// mark or leading whitespace do not hide it.
func TestScriptableContent(t *testing.T) {
	named := []string{"application/unknown", "unknown/unknown", "application/octet-stream", "image/png", "text/plain", "*/*"}
	for name, s := range scriptable {
		for _, declared := range []string{"application/unknown", "unknown/unknown", "*/*", "application/octet-stream", "image/png", "text/plain", ""} {
			for _, allowed := range [][]string{nil, named} {
				p := Default()
				if allowed != nil {
					p.AllowedTypes = allowed
				}
				detected, ok := p.ContentVerdict(declared, s.content)
				if ok || detected != s.sniffed {
					t.Errorf("%s declared %q (allowed %v): detected %s, ok %v; want %s, refused", name, declared, allowed, detected, ok, s.sniffed)
				}
			}
		}
		// Declared as exactly what it is: it passes when that type is listed by name only.
		for _, allowed := range [][]string{nil, {"text/*", "image/*", "application/*"}, {s.sniffed}} {
			p := Default()
			if allowed != nil {
				p.AllowedTypes = allowed
			}
			want := len(allowed) == 1 && allowed[0] == s.sniffed
			if _, ok := p.ContentVerdict(s.sniffed, s.content); ok != want {
				t.Errorf("%s declared %s (allowed %v): ok %v, want %v", name, s.sniffed, allowed, ok, want)
			}
		}
	}
}

// TestContentStillPasses: what is not scriptable passes as before, and the unknown types,
// listed by name, take any content but scriptable content.
func TestContentStillPasses(t *testing.T) {
	tests := []struct {
		allowed  []string
		declared string
		content  []byte
		ok       bool
	}{
		{nil, "image/png", samples["png"], true},
		{nil, "application/pdf", samples["pdf"], true},
		{nil, "application/zip", samples["zip"], true},
		{nil, "application/zip", samples["docx"], true},
		{nil, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", samples["docx"], true},
		{nil, "text/plain", samples["text"], true},
		{nil, "text/plain; charset=utf-8", []byte("a < b, <br/> and a <div> in prose\n"), true}, // no marker, no tag at the start
		{nil, "application/octet-stream", samples["random"], true},
		{nil, "application/octet-stream", append([]byte("\x00\x01"), samples["random"]...), true},
		{nil, "application/json", []byte(`{"body":"<html><script>alert(1)</script></html>"}`), true}, // placed by detection: not searched
		// Detection could not place it and it names <script>: held to be HTML (the cost of
		// searching the head for markers).
		{nil, "text/plain", []byte("Put this in the page: <script>alert(1)</script>\n"), false},
		// The unknown types: never through a wildcard, by name as generic declarations.
		{nil, "application/unknown", samples["random"], false},
		{nil, "unknown/unknown", samples["png"], false},
		{nil, "*/*", samples["random"], false},
		{[]string{"*/*"}, "*/*", samples["random"], false},
		{[]string{"image/png"}, "image/png; a=1; a=2", samples["png"], false}, // names no type exactly
		{[]string{"application/unknown"}, "application/unknown", samples["random"], true},
		{[]string{"application/unknown", "image/*"}, "application/unknown", samples["png"], true},
		{[]string{"unknown/unknown", "application/*"}, "unknown/unknown", samples["pdf"], true},
	}
	for _, tt := range tests {
		p := Default()
		if tt.allowed != nil {
			p.AllowedTypes = tt.allowed
		}
		if detected, ok := p.ContentVerdict(tt.declared, tt.content); ok != tt.ok {
			t.Errorf("%q declared %q (allowed %v): detected %s, ok %v, want %v", tt.content[:min(24, len(tt.content))], tt.declared, tt.allowed, detected, ok, tt.ok)
		}
	}
}

// TestScriptableTypesAtInitiate: a type a browser runs script in or sniffs is admitted
// only when listed by name — never through a wildcard or a glob — and is then stored with
// Content-Disposition: attachment unless the request names a disposition itself.
func TestScriptableTypesAtInitiate(t *testing.T) {
	tests := []struct {
		allowed     []string
		contentType string
		disposition string // asked for
		allowedWant bool
		stored      string // Content-Disposition stored
	}{
		{nil, "application/unknown", "", false, ""},
		{nil, "unknown/unknown", "", false, ""},
		{nil, "*/*", "", false, ""},
		{nil, "image/*", "", false, ""},
		{nil, "text/html", "", false, ""},
		{nil, "image/svg+xml", "", false, ""},
		{nil, "image/png", "", true, ""},
		{nil, "application/octet-stream", "", true, ""},
		{[]string{"*/*"}, "*/*", "", false, ""},
		{[]string{"image/*"}, "image/*", "", false, ""},
		{[]string{"image/*"}, "image/svg+xml", "", false, ""},
		{[]string{"*/*", "text/htm?"}, "text/html", "", false, ""},           // a glob is no name
		{[]string{"*/*", "image/svg+xm[l]"}, "image/svg+xml", "", false, ""}, // nor is a class
		{[]string{"application/unknown"}, "application/unknown", "", true, "attachment"},
		{[]string{"unknown/unknown"}, "unknown/unknown", "", true, "attachment"},
		{[]string{"text/html"}, "text/html", "", true, "attachment"},
		{[]string{"text/html"}, "Text/HTML; charset=utf-8", "", true, "attachment"},
		{[]string{"image/svg+xml"}, "image/svg+xml", "", true, "attachment"},
		{[]string{"application/xhtml+xml"}, "application/xhtml+xml", "", true, "attachment"},
		{[]string{"text/html"}, "text/html", "inline", true, "inline"}, // the request asked otherwise
	}
	for _, tt := range tests {
		p := Default()
		if tt.allowed != nil {
			p.AllowedTypes = tt.allowed
		}
		obj, _, err := p.object(&InitiateRequest{Filename: "a", ContentType: tt.contentType, ContentDisposition: tt.disposition, Size: i64(1)}, fixedKey)
		if !tt.allowedWant {
			if e := errcode.As(err); err == nil || e.Code != errcode.PolicyDenied || e.Field != "contentType" {
				t.Errorf("%q (allowed %v): err %v, want policy_denied on contentType", tt.contentType, tt.allowed, err)
			} else if !strings.Contains(e.Message, "by name") && tt.contentType != "image/png" {
				t.Errorf("%q: message %q does not say the type must be listed by name", tt.contentType, e.Message)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q (allowed %v): %v", tt.contentType, tt.allowed, err)
			continue
		}
		if obj.ContentDisposition != tt.stored {
			t.Errorf("%q (allowed %v, asked %q): Content-Disposition %q, want %q", tt.contentType, tt.allowed, tt.disposition, obj.ContentDisposition, tt.stored)
		}
	}
}
