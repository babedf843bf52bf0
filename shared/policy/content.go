package policy

import (
	"bytes"
	"slices"

	"github.com/gabriel-vasile/mimetype"
)

// headBytes is how much of an object content detection reads (mimetype's own limit).
const HeadBytes = 3072

// signatureTypes are declared types whose files always begin with a signature that
// content detection recognises: bytes detection cannot place, or places as plain text,
// contradict them. (Types outside this table — CSV, most text, many container formats —
// are only held to what detection positively finds.)
var signatureTypes = []string{
	"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/tiff", "image/avif", "image/heic",
	"application/pdf", "application/zip", "application/gzip", "application/x-7z-compressed", "application/x-rar-compressed",
	"video/mp4", "video/webm", "video/quicktime", "audio/mpeg", "audio/ogg", "audio/wav", "audio/flac",
	"application/vnd.microsoft.portable-executable", "application/x-elf",
}

// generic declarations say nothing about the content (the unknown types are admitted only
// when listed by name, and then stored as attachments).
var genericTypes = []string{"application/octet-stream", "binary/octet-stream", "application/binary",
	"application/unknown", "unknown/unknown"}

// ContentVerdict compares an object's first bytes with its declared type under policy p:
// it returns the detected media type and whether the content is acceptable. The rules,
// in order (each is a row of TestContentVerdict):
//  1. content a browser may run script in — what detection finds to be HTML, SVG, XML or
//     JavaScript, or what sniffScriptable finds (a browser's sniffing patterns, binary bytes
//     or not; markers anywhere in content detection could not place) — passes only when
//     declared as exactly that type and that type is allowed (by name: see typeAllowed);
//  2. a declared type a browser sniffs or runs script in (scriptableType) that the policy
//     does not allow by name fails;
//  3. a detected type the policy does not allow fails (wildcards never admit scriptable types);
//  4. a generic declaration (application/octet-stream, application/unknown) passes;
//  5. content detection could not place (unknown binary, or plain text) fails only a
//     declaration of a signature type (PNG, JPEG, PDF, MP4, ...);
//  6. otherwise the detected type must be the declared one, an alias, or one of them an
//     ancestor of the other in detection's tree (a DOCX is a ZIP; an XLS is OLE storage).
func (p *Policy) ContentVerdict(declared string, head []byte) (detected string, ok bool) {
	d := MediaType(declared)
	m := mimetype.Detect(head)
	detected = MediaType(m.String())
	unplaced := detected == "application/octet-stream" || detected == "text/plain"
	if !Scriptable(detected) {
		if s := sniffScriptable(head, unplaced); s != "" {
			detected = s
		}
	}
	switch {
	case Scriptable(detected):
		return detected, d == detected && p.typeAllowed(declared)
	case scriptableType(declared) && !p.typeAllowed(declared):
		return detected, false
	case !unplaced && !p.typeAllowed(detected):
		return detected, false
	case slices.Contains(genericTypes, d):
		return detected, true
	case unplaced:
		return detected, !slices.Contains(signatureTypes, d)
	}
	return detected, related(m, d)
}

// htmlTags are the tags of the WHATWG MIME Sniffing standard's scriptable patterns for
// HTML ("identifying a resource with an unknown MIME type"): after leading whitespace,
// "<" and the tag, ASCII case-insensitive, then a tag-terminating byte (space or ">").
var htmlTags = []string{"!doctype html", "html", "head", "script", "iframe", "h1", "div", "font",
	"table", "a", "style", "title", "b", "body", "br", "p", "!--"}

// markers, found anywhere in the head, make content detection could not place scriptable.
var markers = []struct{ marker, mediaType string }{
	{"<svg", "image/svg+xml"},
	{"<html", "text/html"},
	{"<script", "text/html"},
	{"http://www.w3.org/1999/xhtml", "application/xhtml+xml"},
}

// sniffScriptable returns the scriptable media type a browser may find in head, or "".
// After a byte order mark (UTF-8, or UTF-16 decoded), the standard's patterns: an HTML tag
// pattern gives text/html, "<?xml" an XML type (image/svg+xml or application/xhtml+xml
// when an SVG or XHTML marker follows, else text/xml). Unlike the standard (and content
// detection), binary bytes later in the head do not matter. With anywhere set (content
// detection could not place the bytes) the head is also searched for markers — <svg,
// <html, <script, the XHTML namespace — at any offset, with and without its NUL bytes.
func sniffScriptable(head []byte, anywhere bool) string {
	text := lowerASCII(withoutBOM(head))
	s := bytes.TrimLeft(text, "\t\n\f\r ")
	for _, tag := range htmlTags {
		if len(s) > len(tag)+1 && s[0] == '<' && bytes.HasPrefix(s[1:], []byte(tag)) && (s[len(tag)+1] == ' ' || s[len(tag)+1] == '>') {
			return "text/html"
		}
	}
	if bytes.HasPrefix(s, []byte("<?xml")) {
		if t := firstMarker(s, markers[0], markers[3]); t != "" {
			return t
		}
		return "text/xml"
	}
	if !anywhere {
		return ""
	}
	for _, h := range [][]byte{text, bytes.ReplaceAll(text, []byte{0}, nil)} {
		if t := firstMarker(h, markers...); t != "" {
			return t
		}
	}
	return ""
}

// firstMarker returns the media type of the marker found first in s, or "".
func firstMarker(s []byte, of ...struct{ marker, mediaType string }) string {
	at, t := -1, ""
	for _, m := range of {
		if i := bytes.Index(s, []byte(m.marker)); i >= 0 && (at < 0 || i < at) {
			at, t = i, m.mediaType
		}
	}
	return t
}

// withoutBOM strips a UTF-8 byte order mark, or decodes UTF-16 after its mark (code units
// beyond ASCII become 0xFF, which no pattern holds).
func withoutBOM(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return b[3:]
	case bytes.HasPrefix(b, []byte("\xff\xfe")), bytes.HasPrefix(b, []byte("\xfe\xff")):
		le := b[0] == 0xff
		out := make([]byte, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u := uint16(b[i])<<8 | uint16(b[i+1])
			if le {
				u = uint16(b[i+1])<<8 | uint16(b[i])
			}
			if u >= 0x80 {
				u = 0xff
			}
			out = append(out, byte(u))
		}
		return out
	}
	return b
}

// lowerASCII is a copy of b with ASCII letters lowercased, every other byte kept.
func lowerASCII(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// related reports whether the detected type m and the declared type d are the same, an
// alias, or one an ancestor of the other in mimetype's tree.
func related(m *mimetype.MIME, d string) bool {
	if m.Is(d) { // m itself, its aliases
		return true
	}
	for p := m.Parent(); p != nil && p.Parent() != nil; p = p.Parent() { // below the root
		if p.Is(d) {
			return true // declared the broader kind (a .docx declared as application/zip)
		}
	}
	if dm := mimetype.Lookup(d); dm != nil {
		for p := dm.Parent(); p != nil && p.Parent() != nil; p = p.Parent() {
			if m.Is(p.String()) {
				return true // detected the broader kind (detection stopped at zip)
			}
		}
	}
	return false
}
