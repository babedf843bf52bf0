package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/directup/directup/shared/wire"
)

// partPresigner makes SigV4 query-signed UploadPart URLs for one upload, byte-identical
// to aws-sdk-go-v2's v4 signer (PresignHTTP with DisableHeaderHoisting and
// DisableURIPathEscaping, as the store used it; tests compare them on thousands of random
// inputs). Per part only the part number and size change, so the rest of the URL, the
// canonical request and the string to sign is built once, the signing key is derived once
// per credential and day (derivedKeys), and one HMAC is reset between parts — where
// PresignHTTP clones the request and rebuilds every canonical string for each URL.
type partPresigner struct {
	withLen, noLen variant // parts whose size is signed; the empty part, or unpinned uploads
	signLength     bool
	stsHead        string // the string to sign up to the digest
	mac            hash.Hash
	digest         hash.Hash // the canonical request's, restored to a variant's headState
	sum            [sha256.Size]byte
	buf, sts       []byte
}

// variant is one layout: the URL is urlHead + n + urlMid + signature; the canonical
// request is canonHead + n + canonMid + [size + canonLen] + canonTail.
//
// SigV4 sorts the query, so the part number comes after the session token: the canonical
// request's first several hundred bytes are the same for every part. Their whole 64-byte
// blocks are hashed once; each part restores that SHA-256 state (the standard library's
// own, through its BinaryMarshaler, as crypto/hmac keeps its pads) and hashes only the rest.
type variant struct {
	urlHead, urlMid                          string
	canonHead, canonMid, canonLen, canonTail string
	headState                                []byte // SHA-256 state after canonHead[:headHashed]
	headHashed                               int
}

// presignOptions are the upload-wide inputs.
type presignOptions struct {
	base, path, host   string // scheme://host, the escaped path, the Host signed
	region, uploadID   string
	headers            map[string]string // lowercase name -> value, signed (SSE-C)
	signLength         bool              // pinned sizes: content-length is signed
	now                time.Time
	expires            time.Duration
	accessKeyID, token string
	signingKey         []byte // derived for the day and region
}

func newPartPresigner(o presignOptions) *partPresigner {
	amzDate := o.now.UTC().Format("20060102T150405Z")
	scope := amzDate[:8] + "/" + o.region + "/s3/aws4_request"
	layout := func(withLen bool) variant {
		names := []string{"host"}
		for k := range o.headers {
			names = append(names, k)
		}
		if withLen {
			names = append(names, "content-length")
		}
		sort.Strings(names)
		signed := strings.Join(names, ";")
		var lines strings.Builder
		for _, n := range names {
			lines.WriteString(n + ":")
			switch n {
			case "host":
				lines.WriteString(o.host)
			case "content-length":
				lines.WriteString("\x00") // the size goes here
			default:
				lines.WriteString(strings.Join(strings.Fields(o.headers[n]), " "))
			}
			lines.WriteByte('\n')
		}
		q := url.Values{"X-Amz-Algorithm": {"AWS4-HMAC-SHA256"}, "X-Amz-Credential": {o.accessKeyID + "/" + scope},
			"X-Amz-Date": {amzDate}, "X-Amz-Expires": {strconv.FormatInt(int64(o.expires/time.Second), 10)},
			"X-Amz-SignedHeaders": {signed}, "partNumber": {"\x00"}, "uploadId": {o.uploadID}}
		if o.token != "" {
			q.Set("X-Amz-Security-Token", o.token)
		}
		query := strings.ReplaceAll(q.Encode(), "+", "%20") // the signer's query escaping
		at := strings.Index(query, "partNumber=%00")
		head, rest := query[:at+len("partNumber=")], query[at+len("partNumber=%00"):]
		v := variant{urlHead: o.base + o.path + "?" + head, urlMid: rest + "&X-Amz-Signature=",
			canonHead: "PUT\n" + o.path + "\n" + head, canonTail: "\n" + signed + "\nUNSIGNED-PAYLOAD"}
		h := lines.String()
		if cl := strings.IndexByte(h, 0); cl >= 0 {
			v.canonMid, v.canonLen = rest+"\n"+h[:cl], h[cl+1:]
		} else {
			v.canonMid = rest + "\n" + h
		}
		return v
	}
	p := &partPresigner{signLength: o.signLength, stsHead: "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n",
		mac: hmac.New(sha256.New, o.signingKey), noLen: layout(false), digest: sha256.New()}
	p.noLen.hashHead()
	if o.signLength {
		p.withLen = layout(true)
		p.withLen.hashHead()
	}
	return p
}

// hashHead hashes the whole blocks of canonHead once.
func (v *variant) hashHead() {
	h := sha256.New()
	v.headHashed = len(v.canonHead) / sha256.BlockSize * sha256.BlockSize
	h.Write([]byte(v.canonHead[:v.headHashed]))
	v.headState, _ = h.(encoding.BinaryMarshaler).MarshalBinary()
}

// variantOf is the layout of a part of the given size.
func (p *partPresigner) variantOf(size int64) *variant {
	if p.signLength && size > 0 { // the signer signs no content-length of 0
		return &p.withLen
	}
	return &p.noLen
}

// sign writes the hex signature of one part into sig.
func (p *partPresigner) sign(n int, size int64, sig *[2 * sha256.Size]byte) {
	v := p.variantOf(size)
	b := strconv.AppendInt(append(p.buf[:0], v.canonHead[v.headHashed:]...), int64(n), 10)
	b = append(b, v.canonMid...)
	if v == &p.withLen {
		b = append(strconv.AppendInt(b, size, 10), v.canonLen...)
	}
	b = append(b, v.canonTail...)
	p.buf = b
	if err := p.digest.(encoding.BinaryUnmarshaler).UnmarshalBinary(v.headState); err != nil {
		panic(err) // a state the same package marshalled
	}
	p.digest.Write(b)
	p.sts = hex.AppendEncode(append(p.sts[:0], p.stsHead...), p.digest.Sum(p.sum[:0]))
	p.mac.Reset()
	p.mac.Write(p.sts)
	hex.Encode(sig[:], p.mac.Sum(p.sum[:0])) // the digest in p.sum was used above
}

// url signs one part of the given size.
func (p *partPresigner) url(n int, size int64) string {
	v := p.variantOf(size)
	var sig [2 * sha256.Size]byte
	p.sign(n, size, &sig)
	var num [20]byte
	digits := strconv.AppendInt(num[:0], int64(n), 10)
	var u strings.Builder // the URL text in one allocation
	u.Grow(len(v.urlHead) + len(digits) + len(v.urlMid) + len(sig))
	u.WriteString(v.urlHead)
	u.Write(digits)
	u.WriteString(v.urlMid)
	u.Write(sig[:])
	return u.String()
}

// template is the URL of every part of the given size with numberAt and signatureAt where
// a part's number and signature go.
func (p *partPresigner) template(size int64, numberAt, signatureAt string) string {
	v := p.variantOf(size)
	return v.urlHead + numberAt + v.urlMid + signatureAt
}

// signatures returns the hex signatures of parts one after the other; ok is false when
// the parts do not share one layout (an empty part among others: no template fits all).
func (p *partPresigner) signatures(parts []wire.PartSpec) (string, bool) {
	var b strings.Builder
	b.Grow(len(parts) * 2 * sha256.Size)
	var sig [2 * sha256.Size]byte
	for _, part := range parts {
		if p.variantOf(part.Size) != p.variantOf(parts[0].Size) {
			return "", false
		}
		p.sign(part.Number, part.Size, &sig)
		b.Write(sig[:])
	}
	return b.String(), true
}

// derivedKeys caches the SigV4 signing key per credential, day and region: deriving one
// is four HMACs, and temporary credentials change far less often than URLs are signed.
type derivedKeys struct {
	mu                      sync.Mutex
	id, secret, day, region string
	key                     []byte
}

func (d *derivedKeys) get(id, secret, day, region string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key == nil || d.id != id || d.secret != secret || d.day != day || d.region != region {
		k := hmacSum([]byte("AWS4"+secret), day)
		k = hmacSum(k, region)
		k = hmacSum(k, "s3")
		d.key, d.id, d.secret, d.day, d.region = hmacSum(k, "aws4_request"), id, secret, day, region
	}
	return d.key
}

func hmacSum(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
