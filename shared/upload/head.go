package upload

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"

	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/uploadplan"
)

// MaxHeadBytes is the most of a file's first bytes a create may send as "head".
const MaxHeadBytes = 4096

// checkHead holds the file's first bytes a create sent (req.Head, base64) to the content
// rules verification applies, before anything reaches storage: a contradiction is 422
// content_mismatch. It returns what the token keeps of it (its length and digest), so the
// stored object's first bytes are compared with it at complete.
func checkHead(rules *policy.Policy, req *policy.InitiateRequest) (n int, digest string, err error) {
	if req.Head == "" {
		return 0, "", nil
	}
	head, derr := base64.StdEncoding.DecodeString(req.Head)
	switch {
	case derr != nil:
		return 0, "", errcode.Invalid("head", "head must be base64 (standard alphabet, padded)")
	case len(head) > MaxHeadBytes:
		return 0, "", errcode.Invalid("head", "head holds at most %d bytes", MaxHeadBytes)
	case req.Size != nil && int64(len(head)) > *req.Size:
		return 0, "", errcode.Invalid("head", "head is longer than the declared size")
	case req.Size != nil && int64(len(head)) < min(*req.Size, int64(policy.HeadBytes)):
		// A short head would leave the bytes that decide the type unseen.
		return 0, "", errcode.Invalid("head", "head must hold the file's first %d bytes (or all of a smaller file)", policy.HeadBytes)
	}
	if detected, ok := rules.ContentVerdict(req.ContentType, head); !ok {
		return 0, "", &errcode.Error{Code: errcode.ContentMismatch, Field: "head",
			Message: "the file's first bytes are " + detected + ", not the declared " + policy.MediaType(req.ContentType) + " (or a type this deployment allows): nothing was uploaded"}
	}
	return len(head), headDigest(head), nil
}

func headDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// headContradicts reports how the stored object's first bytes contradict the head its
// create sent ("" when they begin with it, or none was sent): a client that lied about its
// head is caught by the verification read.
func headContradicts(c *uploadplan.Claims, stored []byte, size int64) string {
	if c.HeadLen == 0 {
		return ""
	}
	if len(stored) < c.HeadLen || headDigest(stored[:c.HeadLen]) != c.HeadDigest {
		if size < int64(c.HeadLen) {
			return "the stored object holds " + strconv.FormatInt(size, 10) + " bytes, fewer than the head sent at initiate"
		}
		return "the stored object does not begin with the head sent at initiate"
	}
	return ""
}
