// Package uploadplan is an upload's plan and the token that carries it: how a declared
// size is cut into parts within a store's limits, and the stateless, HMAC-signed upload
// token (Claims) every follow-up call presents instead of a database row.
package uploadplan

import (
	"github.com/directup/directup/shared/errcode"
	"github.com/directup/directup/shared/storage"
)

// Plan fixes how an object of Size bytes is cut: PartCount parts of PartSize bytes,
// the last one holding the remainder. The plan travels in the upload token, so every
// part URL signs its exact size and nobody can store more than declared.
type Plan struct {
	Size      int64
	PartSize  int64
	PartCount int
}

// NewPlan cuts size into parts. With partSize 0 it picks the smallest size that fits
// 10,000 parts, no smaller than defaultPartSize and rounded up to whole MiB. An explicit
// partSize that cannot fit is refused, never silently changed.
func New(size, partSize, defaultPartSize int64) (Plan, error) {
	return NewWithin(size, partSize, defaultPartSize, storage.DefaultCapabilities())
}

// newPlan is NewPlan within a store's limits (S3's smallest part but the last is 5 MiB).
func NewWithin(size, partSize, defaultPartSize int64, caps storage.Capabilities) (Plan, error) {
	minPart, maxPart, maxParts := caps.MinPartSize, caps.MaxPartSize, int64(caps.MaxParts)
	if size < 0 {
		return Plan{}, errcode.Invalid("size", "size must not be negative")
	}
	if size > maxPart*maxParts {
		return Plan{}, errcode.New(errcode.SizeTooLarge, "size",
			"size %d exceeds the multipart maximum of %d bytes (%d parts of %d)", size, maxPart*maxParts, maxParts, maxPart)
	}
	if partSize == 0 {
		partSize = max(defaultPartSize, ceilDiv(size, maxParts))
		partSize = min(ceilDiv(max(partSize, minPart), storage.MinPartSize)*storage.MinPartSize, maxPart) // whole MiB
	} else {
		if partSize < minPart || partSize > maxPart {
			return Plan{}, errcode.Invalid("partSize", "partSize must be between %d (%d MiB) and %d bytes", minPart, minPart>>20, maxPart)
		}
		if ceilDiv(size, partSize) > maxParts {
			return Plan{}, errcode.Invalid("partSize", "partSize %d would need %d parts; at most %d are allowed (use at least %d)",
				partSize, ceilDiv(size, partSize), maxParts, ceilDiv(size, maxParts))
		}
	}
	count := int(max(1, ceilDiv(size, partSize))) // an empty object is one empty part
	return Plan{Size: size, PartSize: partSize, PartCount: count}, nil
}

// SizeOf returns the exact size of part n (1-based), or -1 outside the plan.
func (p Plan) SizeOf(n int) int64 {
	if n < 1 || n > p.PartCount {
		return -1
	}
	if n < p.PartCount {
		return p.PartSize
	}
	return p.Size - int64(p.PartCount-1)*p.PartSize
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
