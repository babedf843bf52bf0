package wire

// PartSpec is one part to presign: its number and exact size.
type PartSpec struct {
	Number int
	Size   int64
}

// PresignedPart is one part request: the client sends Method to URL with Headers (and
// the part's exact Size as body; browsers set Content-Length themselves).
type PresignedPart struct {
	PartNumber int               `json:"partNumber"`
	Method     string            `json:"method"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	Size       int64             `json:"size"`
	// CustomerKeyHeader names the header the client sends its SSE-C key in (the function
	// never holds the key): clients need no storage's header names of their own.
	CustomerKeyHeader string `json:"customerKeyHeader,omitempty"`
	// CRC64Header names the answer header carrying the stored part's CRC-64/ECMA-182, for
	// stores that report one (COS), so clients can check what was stored.
	CRC64Header string `json:"crc64Header,omitempty"`
}

// StoredPart is a part the store already holds.
type StoredPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
	Size       int64  `json:"size"`
	// Checksum is the part's checksum where the store keeps one per part (S3's crc64nvme
	// for uploads created with it).
	Checksum string `json:"checksum,omitempty"`
}

// CompletedPart names a part to assemble.
type CompletedPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
	// Checksum is the part's own checksum in the store's algorithm (S3's crc64nvme, base64),
	// for stores whose complete takes each part's (S3, for uploads with a checksum); the
	// store checks it against the part it holds.
	Checksum string `json:"checksum,omitempty"`
}

// CompleteRequest is the complete call's body.
type CompleteRequest struct {
	Parts    []CompletedPart `json:"parts"`
	Checksum *Checksum       `json:"checksum,omitempty"`
}

// Checksum is a whole object's checksum in the algorithm of the store that keeps it: one
// field is set.
type Checksum struct {
	CRC64ECMA string `json:"crc64ecma,omitempty"` // COS: decimal
	CRC64NVME string `json:"crc64nvme,omitempty"` // S3: base64 of the 8 bytes, big-endian
}

// Completed describes the assembled object.
type Completed struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Location string `json:"location"`
	ETag     string `json:"etag"`
	Size     int64  `json:"size"`
	CRC64    string `json:"crc64,omitempty"` // COS: CRC-64/ECMA-182, decimal
	// CRC64NVME is S3's full-object CRC-64/NVME of the object (base64), for uploads
	// created with it.
	CRC64NVME string `json:"crc64nvme,omitempty"`
}
