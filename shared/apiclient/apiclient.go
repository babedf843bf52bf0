// Package apiclient is a Go client of directup's HTTP API: it initiates an upload (with
// the file's head and fingerprint), PUTs the parts straight to storage through the
// presigned URLs (in parallel, asking for more URLs as it goes), and completes or aborts;
// it lists the caller's open uploads and continues one. The upload script and the tests
// use it.
package apiclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/directup/directup/shared/checksum"
	"github.com/directup/directup/shared/policy"
	"github.com/directup/directup/shared/upload"
	"github.com/directup/directup/shared/wire"
)

// Client calls one API.
type Client struct {
	API         string // base URL, no trailing slash
	HTTP        *http.Client
	Concurrency int         // parallel part uploads (default 4)
	Header      http.Header // sent with every API call (Authorization), never to storage
}

// Error is an API error answer.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s (field %q)", e.Status, e.Code, e.Message, e.Field)
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Call sends one API request with a JSON body (nil for none) and decodes the answer into out.
func (c *Client) Call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		js, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.API+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("X-Upload-Token", token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := readAll(resp)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error Error `json:"error"`
		}
		json.Unmarshal(data, &e)
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Initiate starts an upload.
func (c *Client) Initiate(ctx context.Context, req *policy.InitiateRequest) (*upload.Initiated, error) {
	var out upload.Initiated
	return &out, c.Call(ctx, http.MethodPost, "/uploads", "", req, &out)
}

// InitiateAll starts an upload with the URL of every part, in the compact form
// (up.CompactParts; about 40 bytes a part): Resume builds each URL as it sends the part.
// From a store whose URLs share no template, up.Parts holds the first batch in full instead.
func (c *Client) InitiateAll(ctx context.Context, req *policy.InitiateRequest) (*upload.Initiated, error) {
	var out upload.Initiated
	if err := c.Call(ctx, http.MethodPost, "/uploads?parts=compact", "", req, &out); err != nil {
		return nil, err
	}
	return &out, check(out.CompactParts)
}

// PresignAll asks for URLs of the given parts, or of every part when numbers is empty, in
// one request in the compact form (CompactParts.Expand builds them all).
func (c *Client) PresignAll(ctx context.Context, up *upload.Initiated, numbers []int) (*upload.PartURLs, error) {
	var out upload.PartURLs
	body := map[string]any{}
	if len(numbers) > 0 {
		body["partNumbers"] = numbers
	}
	if err := c.Call(ctx, http.MethodPost, "/uploads/"+up.UploadID+"/parts?parts=compact", up.Token, body, &out); err != nil {
		return nil, err
	}
	return &out, check(out.CompactParts)
}

// check refuses a compact answer a client could not build URLs from (a full-form answer,
// without one, passes).
func check(c *wire.CompactParts) error {
	if c == nil {
		return nil
	}
	return c.Check()
}

// Presign asks for URLs of more parts.
func (c *Client) Presign(ctx context.Context, up *upload.Initiated, numbers []int) (*upload.PartURLs, error) {
	var out upload.PartURLs
	return &out, c.Call(ctx, http.MethodPost, "/uploads/"+up.UploadID+"/parts", up.Token, map[string]any{"partNumbers": numbers}, &out)
}

// ListParts returns the parts stored so far.
func (c *Client) ListParts(ctx context.Context, up *upload.Initiated) ([]wire.StoredPart, error) {
	var out struct {
		Parts []wire.StoredPart `json:"parts"`
	}
	return out.Parts, c.Call(ctx, http.MethodGet, "/uploads/"+up.UploadID+"/parts", up.Token, nil, &out)
}

// Complete assembles the object.
func (c *Client) Complete(ctx context.Context, up *upload.Initiated, parts []wire.CompletedPart) (*wire.Completed, error) {
	return c.CompleteWith(ctx, up, &wire.CompleteRequest{Parts: parts})
}

// CompleteWith assembles the object and has the function hold the store's checksum of it
// to req.Checksum, when set.
func (c *Client) CompleteWith(ctx context.Context, up *upload.Initiated, req *wire.CompleteRequest) (*wire.Completed, error) {
	var out wire.Completed
	return &out, c.Call(ctx, http.MethodPost, "/uploads/"+up.UploadID+"/complete", up.Token, req, &out)
}

// Abort discards the upload.
func (c *Client) Abort(ctx context.Context, up *upload.Initiated) error {
	return c.Call(ctx, http.MethodDelete, "/uploads/"+up.UploadID, up.Token, nil, nil)
}

// PutPart uploads one part's bytes to its presigned URL and returns the ETag.
// extra holds headers the caller must add itself (the SSE-C customer key).
func (c *Client) PutPart(ctx context.Context, p wire.PresignedPart, data []byte, extra http.Header) (string, error) {
	return wire.PutPart(ctx, c.http(), p, data, extra)
}

// Upload sends a whole object: initiate (with every part's URL, in the compact form), all
// parts (Concurrency at a time), complete. On failure it aborts the upload. req goes as
// given: tests of what the API checks at complete send no head; Start fills it in.
func (c *Client) Upload(ctx context.Context, req *policy.InitiateRequest, r io.ReaderAt, extra http.Header) (*upload.Initiated, *wire.Completed, error) {
	up, err := c.InitiateAll(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	done, err := c.Resume(ctx, up, r, extra, nil)
	if err != nil {
		c.Abort(context.WithoutCancel(ctx), up)
		return up, nil, err
	}
	return up, done, nil
}

// Start is InitiateAll with the file's head and fingerprint filled in from r (the size
// and filename name it), so the API refuses a file contradicting its type before any part
// is sent, and another device of the caller can find the upload (List).
// The caller's request is left as it is (it may be sent again for another file).
func (c *Client) Start(ctx context.Context, in *policy.InitiateRequest, r io.ReaderAt) (*upload.Initiated, error) {
	if in.Size == nil {
		return nil, errors.New("apiclient: Start needs the size")
	}
	req := *in
	var err error
	if req.Head == "" {
		if req.Head, err = Head(r, *req.Size); err != nil {
			return nil, err
		}
	}
	if req.Fingerprint == "" {
		if req.Fingerprint, err = Fingerprint(req.Filename, *req.Size, r); err != nil {
			return nil, err
		}
	}
	return c.InitiateAll(ctx, &req)
}

// List returns the authenticated caller's open uploads (GET /uploads), each with a fresh
// token and its stored parts. An API without callers (AUTH_MODE=none) answers 501
// not_available.
func (c *Client) List(ctx context.Context) ([]upload.OpenUpload, error) {
	var out struct {
		Uploads []upload.OpenUpload `json:"uploads"`
	}
	return out.Uploads, c.Call(ctx, http.MethodGet, "/uploads", "", nil, &out)
}

// Find is the open upload of the named file (name, size and fingerprint alike), the most
// recent if several, or nil.
func Find(open []upload.OpenUpload, name string, size int64, fingerprint string) *upload.OpenUpload {
	var found *upload.OpenUpload
	for i, u := range open {
		if u.Filename == name && u.Size == size && u.Fingerprint == fingerprint && (found == nil || u.Initiated.After(found.Initiated)) {
			found = &open[i]
		}
	}
	return found
}

// Continue finishes an open upload (from List, maybe started on another device): URLs
// of the parts it lacks in one request, those parts, complete. The complete carries no
// whole-object checksum: the listing does not name the store's algorithm.
func (c *Client) Continue(ctx context.Context, open *upload.OpenUpload, r io.ReaderAt, extra http.Header) (*upload.Initiated, *wire.Completed, error) {
	up := &upload.Initiated{Key: open.Key, UploadID: open.UploadID, Size: open.Size, PartSize: open.PartSize,
		PartCount: open.PartCount, Token: open.Token, Profile: open.Profile}
	stored := map[int]bool{}
	for _, p := range open.Parts {
		stored[p.PartNumber] = true
	}
	var missing []int
	for n := 1; n <= up.PartCount; n++ {
		if !stored[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		urls, err := c.PresignAll(ctx, up, missing)
		if err != nil {
			return up, nil, err
		}
		up.Parts, up.CompactParts = urls.Parts, urls.CompactParts
	}
	done, err := c.Resume(ctx, up, r, extra, open.Parts)
	return up, done, err
}

// headBytes is how much of the file the initiate's head carries (the API reads at least
// the first 3072 bytes).
const headBytes = 4096

// Head is the initiate's head: the first 4096 bytes of the file (all of a smaller one), base64.
func Head(r io.ReaderAt, size int64) (string, error) {
	b, err := readAt(r, 0, min(size, headBytes))
	return base64.StdEncoding.EncodeToString(b), err
}

// edgeBytes is how much of each end of the file the fingerprint hashes.
const edgeBytes = 64 << 10

// Fingerprint tells a file apart from others of its name and size without reading it
// all, as directup.js's fingerprintOf does (so either client finds the other's uploads):
// "v1:" and the hex SHA-256 of the name, a NUL, the size in decimal, a NUL, the first
// 64 KiB and the last 64 KiB (no byte twice).
func Fingerprint(name string, size int64, r io.ReaderAt) (string, error) {
	if name == "" {
		name = "blob"
	}
	head, err := readAt(r, 0, min(size, edgeBytes))
	if err != nil {
		return "", err
	}
	from := max(edgeBytes, size-edgeBytes)
	tail, err := readAt(r, from, max(0, size-from))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(name + "\x00" + strconv.FormatInt(size, 10) + "\x00"))
	h.Write(head)
	h.Write(tail)
	return "v1:" + hex.EncodeToString(h.Sum(nil)), nil
}

// readAt reads n bytes at off; the end of the file after all n is no error.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); err != nil && !(err == io.EOF && k == len(b)) {
		return nil, err
	}
	return b, nil
}

// Resume uploads the parts of up not in stored, then completes — with the whole object's
// checksum in the store's algorithm (up.ChecksumAlgorithm), combined from each part's CRC
// as it is sent (parts stored before are read once for theirs).
func (c *Client) Resume(ctx context.Context, up *upload.Initiated, r io.ReaderAt, extra http.Header, stored []wire.StoredPart) (*wire.Completed, error) {
	etags := make([]string, up.PartCount+1)
	sums := &partSums{crc: make([]uint64, up.PartCount+1), known: make([]bool, up.PartCount+1)}
	for _, p := range stored {
		if p.PartNumber >= 1 && p.PartNumber <= up.PartCount {
			etags[p.PartNumber] = p.ETag
		}
	}
	var todo []int
	for n := 1; n <= up.PartCount; n++ {
		if etags[n] == "" {
			todo = append(todo, n)
		}
	}
	known := map[int]wire.PresignedPart{}
	for _, p := range up.Parts {
		known[p.PartNumber] = p
	}
	compact := func(int) (wire.PresignedPart, bool) { return wire.PresignedPart{}, false }
	if up.CompactParts != nil {
		compact = up.CompactParts.Lookup()
	}
	part := func(n int) (wire.PresignedPart, bool) {
		if p, ok := known[n]; ok {
			return p, true
		}
		return compact(n)
	}
	batch := max(1, len(up.Parts))
	if up.CompactParts != nil {
		batch = up.PartCount
	}
	for start := 0; start < len(todo); start += batch {
		nums := todo[start:min(start+batch, len(todo))]
		var missing []int
		for _, n := range nums {
			if _, ok := part(n); !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			more, err := c.Presign(ctx, up, missing)
			if err != nil {
				return nil, err
			}
			for _, p := range more.Parts {
				known[p.PartNumber] = p
			}
		}
		if err := c.putAll(ctx, up.PartSize, nums, part, r, extra, etags, checksum.Of(up.ChecksumAlgorithm), sums); err != nil {
			return nil, err
		}
	}
	req, err := completion(up, r, etags, sums)
	if err != nil {
		return nil, err
	}
	return c.CompleteWith(ctx, up, req)
}

// partSums are the parts' CRCs, by part number, as they were sent.
type partSums struct {
	crc   []uint64
	known []bool
}

// completion names every part, with its checksum where the store takes one, and the whole
// object's checksum combined from the parts' CRCs (parts stored before, whose CRCs
// are not known, are read for theirs).
func completion(up *upload.Initiated, r io.ReaderAt, etags []string, sums *partSums) (*wire.CompleteRequest, error) {
	algo := checksum.Of(up.ChecksumAlgorithm)
	req := &wire.CompleteRequest{Parts: make([]wire.CompletedPart, up.PartCount)}
	var whole uint64
	for n := 1; n <= up.PartCount; n++ {
		req.Parts[n-1] = wire.CompletedPart{PartNumber: n, ETag: etags[n]}
		if algo == nil {
			continue
		}
		size := min(up.PartSize, up.Size-int64(n-1)*up.PartSize)
		if !sums.known[n] {
			data := make([]byte, size)
			if _, err := r.ReadAt(data, int64(n-1)*up.PartSize); err != nil && !(err == io.EOF && len(data) == int(size)) {
				return nil, err
			}
			sums.crc[n] = algo.Checksum(data)
		}
		if algo == checksum.NVME {
			req.Parts[n-1].Checksum = algo.Format(sums.crc[n])
		}
		whole = algo.Combine(whole, sums.crc[n], size)
	}
	if algo == checksum.NVME {
		req.Checksum = &wire.Checksum{CRC64NVME: algo.Format(whole)}
	} else if algo != nil {
		req.Checksum = &wire.Checksum{CRC64ECMA: algo.Format(whole)}
	}
	return req, nil
}

func (c *Client) putAll(ctx context.Context, partSize int64, nums []int, part func(int) (wire.PresignedPart, bool), r io.ReaderAt, extra http.Header, etags []string, algo *checksum.Algo, sums *partSums) error {
	workers := c.Concurrency
	if workers <= 0 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				p, _ := part(n)
				data := make([]byte, p.Size)
				_, err := r.ReadAt(data, int64(n-1)*partSize)
				if err == io.EOF && int64(len(data)) == p.Size {
					err = nil
				}
				var etag string
				if err == nil {
					etag, err = c.PutPart(ctx, p, data, extra)
				}
				if err == nil && algo != nil {
					sums.crc[n], sums.known[n] = algo.Checksum(data), true
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				etags[n] = etag
				mu.Unlock()
			}
		}()
	}
	for _, n := range nums {
		select {
		case work <- n:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return first
}

// readAll reads an answer into one buffer of its declared length (a compact answer is
// 400 KB; io.ReadAll would grow and copy its buffer a dozen times).
func readAll(resp *http.Response) ([]byte, error) {
	if resp.ContentLength <= 0 || resp.ContentLength > 64<<20 {
		return io.ReadAll(resp.Body)
	}
	b := make([]byte, resp.ContentLength)
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return nil, err
	}
	return b, nil
}
