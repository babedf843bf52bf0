package wire

import (
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
)

// CompactParts are part URLs in their compact form: what every URL shares once — a URL
// template with {partNumber} and {signature} in it, the method, the headers — then the
// part numbers and sizes as runs, and every signature in one string. 10,000 parts take
// about 400 KB (their signatures) instead of 8 MB (each full URL repeats the session
// token, key and upload id), so a whole upload's URLs fit one answer, which a JSON decoder
// reads as one long string rather than 10,000 objects; a client builds each URL with two
// string replacements.
type CompactParts struct {
	URL               string            `json:"url"`
	Method            string            `json:"method"`
	Headers           map[string]string `json:"headers"`
	CustomerKeyHeader string            `json:"customerKeyHeader,omitempty"`
	CRC64Header       string            `json:"crc64Header,omitempty"`
	// Parts are the parts, in order, as runs of consecutive numbers of one size.
	Parts []PartRun `json:"parts"`
	// Signatures are the parts' signatures in the order of Parts, SignatureLength
	// characters each, one after the other.
	Signatures      Signatures `json:"signatures"`
	SignatureLength int        `json:"signatureLength"`
}

// Signatures are signatures one after the other. Its JSON decoder takes a string with no
// escapes and nothing outside printable ASCII as it is (signatures are hex): encoding/json's
// own would look at each of 400,000 characters for escapes and UTF-8 again after checking
// the answer, a third of a client's decoding (scripts/wire measures it).
type Signatures string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Signatures) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && plain(b[1:len(b)-1]) {
		*s = Signatures(b[1 : len(b)-1])
		return nil
	}
	var str string
	err := json.Unmarshal(b, &str)
	*s = Signatures(str)
	return err
}

// plain reports bytes JSON carries as they are: printable ASCII, no quote, no backslash.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// PartRun is Count parts numbered From, From+1, ..., each Size bytes (0: not pinned).
type PartRun struct {
	From  int   `json:"from"`
	Count int   `json:"count"`
	Size  int64 `json:"size"`
}

// MaxPartNumber is the highest part number multipart uploads have (COS and S3: 10,000).
const MaxPartNumber = 10000

// Template placeholders.
const (
	PartNumberPlaceholder = "{partNumber}"
	SignaturePlaceholder  = "{signature}"
)

// RunsOf groups parts, in their order, into runs.
func RunsOf(parts []PartSpec) []PartRun {
	var out []PartRun
	for _, p := range parts {
		if n := len(out); n > 0 {
			if last := &out[n-1]; last.From+last.Count == p.Number && last.Size == p.Size {
				last.Count++
				continue
			}
		}
		out = append(out, PartRun{From: p.Number, Count: 1, Size: p.Size})
	}
	return out
}

// Len is how many parts there are.
func (c *CompactParts) Len() int {
	n := 0
	for _, r := range c.Parts {
		n += r.Count
	}
	return n
}

// Check verifies what a client relies on to build URLs: each placeholder once in the
// template's query, the part number first, a signature for every part, runs that count up
// from 1 or more. A client checks an answer before it slices it.
func (c *CompactParts) Check() error {
	if _, _, _, ok := splitTemplate(c.URL); !ok {
		return errors.New("upload: compact parts: the url template lacks its placeholders")
	}
	n := 0
	for _, r := range c.Parts {
		if r.From < 1 || r.From > MaxPartNumber || r.Count < 1 || r.Count > MaxPartNumber || r.From+r.Count-1 > MaxPartNumber || r.Size < 0 {
			return errors.New("upload: compact parts: a run outside parts 1..10000")
		}
		if n += r.Count; n > MaxPartNumber {
			return errors.New("upload: compact parts: more than 10000 parts")
		}
	}
	if c.SignatureLength < 1 || len(c.Signatures) != n*c.SignatureLength {
		return errors.New("upload: compact parts: " + strconv.Itoa(len(c.Signatures)) + " signature characters for " +
			strconv.Itoa(n) + " parts of " + strconv.Itoa(c.SignatureLength))
	}
	return nil
}

// splitTemplate cuts a template at its placeholders, which must be in the query, once
// each, the part number first (ok is false otherwise).
func splitTemplate(tpl string) (pre, mid, post string, ok bool) {
	q := strings.IndexByte(tpl, '?')
	n := strings.Index(tpl, PartNumberPlaceholder)
	s := strings.Index(tpl, SignaturePlaceholder)
	if q < 0 || n < q || s < n || strings.Count(tpl, PartNumberPlaceholder) != 1 || strings.Count(tpl, SignaturePlaceholder) != 1 {
		return "", "", "", false
	}
	return tpl[:n], tpl[n+len(PartNumberPlaceholder) : s], tpl[s+len(SignaturePlaceholder):], true
}

// Expand rebuilds the full part requests. Every URL is a slice of one string: 10,000 URLs
// are one allocation, not 10,000.
func (c *CompactParts) Expand() ([]PresignedPart, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	pre, mid, post, _ := splitTemplate(c.URL)
	count, width := c.Len(), c.SignatureLength
	var b strings.Builder // its String does not copy
	b.Grow(count * (len(pre) + len(mid) + len(post) + width + 5))
	ends := make([]int, count)
	var num [20]byte
	i := 0
	for _, r := range c.Parts {
		for n := r.From; n < r.From+r.Count; n++ {
			b.WriteString(pre)
			b.Write(strconv.AppendInt(num[:0], int64(n), 10))
			b.WriteString(mid)
			b.WriteString(string(c.Signatures[i*width : (i+1)*width]))
			b.WriteString(post)
			ends[i] = b.Len()
			i++
		}
	}
	all, start := b.String(), 0
	out := make([]PresignedPart, 0, count)
	i = 0
	for _, r := range c.Parts {
		for n := r.From; n < r.From+r.Count; n++ {
			out = append(out, PresignedPart{PartNumber: n, Method: c.Method, URL: all[start:ends[i]], Headers: c.Headers,
				Size: r.Size, CustomerKeyHeader: c.CustomerKeyHeader, CRC64Header: c.CRC64Header})
			start = ends[i]
			i++
		}
	}
	return out, nil
}

// PartURL builds the URL of the i-th part (counted from 0 across the runs), numbered n:
// the two replacements any client makes (the placeholders occur once: keys and query
// values are percent-encoded).
func (c *CompactParts) PartURL(i, n int) string {
	sig := string(c.Signatures[i*c.SignatureLength : (i+1)*c.SignatureLength])
	return strings.Replace(strings.Replace(c.URL, PartNumberPlaceholder, strconv.Itoa(n), 1), SignaturePlaceholder, sig, 1)
}

// Lookup indexes c for a client that builds each URL when it sends the part: part(n)
// builds part n's request (ok false when c has no part n). c must have passed Check.
func (c *CompactParts) Lookup() (part func(n int) (PresignedPart, bool)) {
	type place struct {
		i    int
		size int64
	}
	at := map[int]place{}
	i := 0
	for _, r := range c.Parts {
		for n := r.From; n < r.From+r.Count; n++ {
			at[n] = place{i, r.Size}
			i++
		}
	}
	return func(n int) (PresignedPart, bool) {
		p, ok := at[n]
		if !ok {
			return PresignedPart{}, false
		}
		return PresignedPart{PartNumber: n, Method: c.Method, URL: c.PartURL(p.i, n), Headers: c.Headers, Size: p.size,
			CustomerKeyHeader: c.CustomerKeyHeader, CRC64Header: c.CRC64Header}, true
	}
}

// signatureParams are the query parameters stores put a URL's signature in.
var signatureParams = []string{"q-signature=", "X-Amz-Signature="}

// Compact turns full part URLs into the compact form, for stores that make only full
// URLs; ok is false when they do not share one template or their signatures differ in
// length (then the full form is answered). The template comes from the first URL; every
// other URL is checked against it in place, without building its own.
func Compact(parts []PresignedPart) (*CompactParts, bool) {
	if len(parts) == 0 {
		return nil, false
	}
	first := parts[0]
	tpl, sig, err := template(first.URL, first.PartNumber)
	if err != nil {
		return nil, false
	}
	pre, mid, post, ok := splitTemplate(tpl)
	if !ok {
		return nil, false
	}
	out := CompactParts{URL: tpl, Method: first.Method, Headers: first.Headers, CustomerKeyHeader: first.CustomerKeyHeader,
		CRC64Header: first.CRC64Header, SignatureLength: len(sig)}
	specs := make([]PartSpec, len(parts))
	var sigs strings.Builder
	sigs.Grow(len(parts) * len(sig))
	var num [20]byte
	for i, p := range parts {
		if p.Method != out.Method || p.CustomerKeyHeader != out.CustomerKeyHeader || p.CRC64Header != out.CRC64Header || !maps.Equal(p.Headers, out.Headers) {
			return nil, false
		}
		u, n := p.URL, strconv.AppendInt(num[:0], int64(p.PartNumber), 10)
		if len(u) != len(pre)+len(n)+len(mid)+len(sig)+len(post) || u[:len(pre)] != pre || u[len(pre):len(pre)+len(n)] != string(n) ||
			u[len(pre)+len(n):len(pre)+len(n)+len(mid)] != mid || u[len(u)-len(post):] != post {
			return nil, false
		}
		s := u[len(pre)+len(n)+len(mid) : len(u)-len(post)]
		if strings.IndexByte(s, '&') >= 0 {
			return nil, false
		}
		sigs.WriteString(s)
		specs[i] = PartSpec{Number: p.PartNumber, Size: p.Size}
	}
	out.Parts, out.Signatures = RunsOf(specs), Signatures(sigs.String())
	return &out, true
}

var errNoTemplate = errors.New("upload: the URL has no part number or signature to template")

// template replaces the part number and the signature in u by placeholders.
func template(u string, n int) (string, string, error) {
	num := "partNumber=" + strconv.Itoa(n)
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return "", "", errNoTemplate
	}
	i := strings.Index(u[q:], num)
	if i < 0 {
		return "", "", errNoTemplate
	}
	i += q // only the query is searched: a key may hold anything
	if (i+len(num) < len(u) && u[i+len(num)] != '&') || (u[i-1] != '?' && u[i-1] != '&') {
		return "", "", errNoTemplate
	}
	u = u[:i] + "partNumber=" + PartNumberPlaceholder + u[i+len(num):]
	for _, param := range signatureParams {
		j := strings.Index(u[q:], param)
		if j < 0 {
			continue
		}
		j += q
		if u[j-1] != '?' && u[j-1] != '&' {
			continue
		}
		start := j + len(param)
		end := strings.IndexByte(u[start:], '&')
		if end < 0 {
			end = len(u) - start
		}
		sig := u[start : start+end]
		if sig == "" || strings.Contains(u[start+end:], param) {
			return "", "", errNoTemplate
		}
		return u[:start] + SignaturePlaceholder + u[start+end:], sig, nil
	}
	return "", "", errNoTemplate
}
