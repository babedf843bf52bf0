package upload

import (
	"context"
	"net/http"
	"slices"

	"github.com/gabriel-vasile/mimetype"
)

// headBytes is how much of an object content detection reads (mimetype's own limit).
const headBytes = 3072

// CodeContentMismatch: the stored bytes are not of the declared type (or of a type the
// policy does not allow); the object was deleted.
const CodeContentMismatch = "content_mismatch"

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

// generic declarations say nothing about the content.
var genericTypes = []string{"application/octet-stream", "binary/octet-stream", "application/binary"}

// ContentVerdict compares an object's first bytes with its declared type under policy p:
// it returns the detected media type and whether the content is acceptable. The rules,
// in order (each is a row of TestContentVerdict):
//  1. content a browser runs script in (HTML, SVG, XML, JavaScript) passes only when declared
//     as exactly that type;
//  2. a detected type the policy does not allow fails (wildcards never admit scriptable types);
//  3. a generic declaration (application/octet-stream) passes;
//  4. content detection could not place (unknown binary, or plain text) fails only a
//     declaration of a signature type (PNG, JPEG, PDF, MP4, ...);
//  5. otherwise the detected type must be the declared one, an alias, or one of them an
//     ancestor of the other in detection's tree (a DOCX is a ZIP; an XLS is OLE storage).
func (p *Policy) ContentVerdict(declared string, head []byte) (detected string, ok bool) {
	d := mediaType(declared)
	m := mimetype.Detect(head)
	detected = mediaType(m.String())
	unplaced := detected == "application/octet-stream" || detected == "text/plain"
	switch {
	case Scriptable(detected):
		return detected, d == detected
	case !unplaced && !p.typeAllowed(detected):
		return detected, false
	case slices.Contains(genericTypes, d):
		return detected, true
	case unplaced:
		return detected, !slices.Contains(signatureTypes, d)
	}
	return detected, related(m, d)
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

// verifyContent reads the completed object's first bytes and deletes it when they
// contradict its declared type (422 content_mismatch, told as upload.rejected); it
// returns the detected type. SSE-C objects cannot be read without their key, which the
// function does not keep: they are not checked (nor are uploads whose token predates the
// declared type being kept in it).
func (s *Service) verifyContent(ctx context.Context, c *Claims, done *Completed) (string, error) {
	if !s.policy.VerifyContent || c.CustomerKeyMD5 != "" || c.ContentType == "" {
		return "", nil
	}
	head, err := s.store.ReadHead(ctx, c.Key, headBytes)
	if err != nil {
		return "", err
	}
	detected, ok := s.policy.ContentVerdict(c.ContentType, head)
	if ok {
		return detected, nil
	}
	if err := s.store.Delete(context.WithoutCancel(ctx), c.Key); err != nil {
		return "", err
	}
	e := &Error{Status: http.StatusUnprocessableEntity, Code: CodeContentMismatch, Field: "contentType",
		Message: "the stored content is " + detected + ", not the declared " + mediaType(c.ContentType) + " (or a type this deployment allows); the object was deleted"}
	s.publish(ctx, &Event{Type: EventRejected, Bucket: done.Bucket, Key: done.Key, UploadID: c.UploadID, Size: done.Size,
		ETag: done.ETag, CRC64: done.CRC64, ContentType: c.ContentType, DetectedType: detected, Reason: CodeContentMismatch + ": " + e.Message})
	return detected, e
}
