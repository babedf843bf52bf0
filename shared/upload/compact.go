package upload

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
)

// CompactParts are part URLs in their compact form: what every URL of a batch shares, once
// — a URL template with {partNumber} and {signature} in it, the method, the headers — and
// per part only its number, size and signature. 10,000 parts take about 600 KB instead of
// 8 MB (each full URL repeats the session token, key and upload id), so a whole upload's
// URLs fit one answer; a client builds each URL with two string replacements.
type CompactParts struct {
	URL               string            `json:"url"`
	Method            string            `json:"method"`
	Headers           map[string]string `json:"headers"`
	CustomerKeyHeader string            `json:"customerKeyHeader,omitempty"`
	CRC64Header       string            `json:"crc64Header,omitempty"`
	Parts             CompactPartList   `json:"parts"`
}

// CompactPart is [partNumber, size, signature] on the wire.
type CompactPart struct {
	Number    int
	Size      int64
	Signature string
}

// CompactPartList is the parts of a compact answer. It has its own JSON codec: 10,000
// three-element arrays through encoding/json's reflection (and a MarshalJSON per element)
// cost more than presigning them (scripts/wire measures the whole path).
type CompactPartList []CompactPart

// MarshalJSON writes [[n, size, "signature"], ...].
func (l CompactPartList) MarshalJSON() ([]byte, error) {
	if l == nil {
		return []byte("[]"), nil
	}
	b := make([]byte, 0, len(l)*(len(l[0].Signature)+24)+2)
	b = append(b, '[')
	for i, p := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendInt(append(b, '['), int64(p.Number), 10), ',')
		b = append(strconv.AppendInt(b, p.Size, 10), ',')
		if plain(p.Signature) { // signatures are hex: no escaping
			b = append(append(append(b, '"'), p.Signature...), '"')
		} else {
			q, _ := json.Marshal(p.Signature)
			b = append(b, q...)
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// plain reports a string JSON carries as it is.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// UnmarshalJSON reads [[n, size, "signature"], ...]: a direct scan of the shape
// MarshalJSON writes, and encoding/json for anything else (spaces, escapes).
func (l *CompactPartList) UnmarshalJSON(b []byte) error {
	if out, ok := scanParts(b); ok {
		*l = out
		return nil
	}
	var raw [][3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(CompactPartList, len(raw))
	for i, a := range raw {
		if err := errors.Join(json.Unmarshal(a[0], &out[i].Number), json.Unmarshal(a[1], &out[i].Size),
			json.Unmarshal(a[2], &out[i].Signature)); err != nil {
			return err
		}
	}
	*l = out
	return nil
}

// scanParts parses the compact shape exactly; ok is false at anything else.
func scanParts(b []byte) (CompactPartList, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	b = b[1 : len(b)-1]
	out := make(CompactPartList, 0, bytes.Count(b, []byte{'['}))
	for len(b) > 0 {
		if len(out) > 0 {
			if b[0] != ',' {
				return nil, false
			}
			b = b[1:]
		}
		end := bytes.IndexByte(b, ']')
		if end < 0 || b[0] != '[' {
			return nil, false
		}
		num, rest, ok := bytes.Cut(b[1:end], []byte{','})
		size, sig, ok2 := bytes.Cut(rest, []byte{','})
		if !ok || !ok2 || len(sig) < 2 || sig[0] != '"' || sig[len(sig)-1] != '"' || bytes.ContainsAny(sig[1:len(sig)-1], "\\\"") {
			return nil, false
		}
		n, err1 := strconv.Atoi(string(num))
		sz, err2 := strconv.ParseInt(string(size), 10, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		out = append(out, CompactPart{Number: n, Size: sz, Signature: string(sig[1 : len(sig)-1])})
		b = b[end+1:]
	}
	return out, true
}

// Template placeholders.
const (
	PartNumberPlaceholder = "{partNumber}"
	SignaturePlaceholder  = "{signature}"
)

// signatureParams are the query parameters stores put a URL's signature in.
var signatureParams = []string{"q-signature=", "X-Amz-Signature="}

// Compact turns full part URLs into the compact form; ok is false when they do not share
// one template (then the full form is answered). The template comes from the first URL;
// every other URL is checked against it in place, without building its own.
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
		CRC64Header: first.CRC64Header, Parts: make(CompactPartList, len(parts))}
	out.Parts[0] = CompactPart{Number: first.PartNumber, Size: first.Size, Signature: sig}
	var num [20]byte
	for i, p := range parts[1:] {
		if p.Method != out.Method || p.CustomerKeyHeader != out.CustomerKeyHeader || p.CRC64Header != out.CRC64Header || !maps.Equal(p.Headers, out.Headers) {
			return nil, false
		}
		u, n := p.URL, strconv.AppendInt(num[:0], int64(p.PartNumber), 10)
		if len(u) < len(pre)+len(n)+len(mid)+len(post) || u[:len(pre)] != pre || u[len(pre):len(pre)+len(n)] != string(n) ||
			u[len(pre)+len(n):len(pre)+len(n)+len(mid)] != mid || u[len(u)-len(post):] != post {
			return nil, false
		}
		sig := u[len(pre)+len(n)+len(mid) : len(u)-len(post)]
		if sig == "" || strings.IndexByte(sig, '&') >= 0 {
			return nil, false
		}
		out.Parts[i+1] = CompactPart{Number: p.PartNumber, Size: p.Size, Signature: sig}
	}
	return &out, true
}

// splitTemplate cuts a template at its placeholders, which are in the query, the part
// number first (ok is false otherwise).
func splitTemplate(tpl string) (pre, mid, post string, ok bool) {
	s := strings.LastIndex(tpl, SignaturePlaceholder)
	n := strings.LastIndex(tpl, PartNumberPlaceholder)
	if s < 0 || n < 0 || n > s {
		return "", "", "", false
	}
	return tpl[:n], tpl[n+len(PartNumberPlaceholder) : s], tpl[s+len(SignaturePlaceholder):], true
}

// Expand rebuilds the full part requests. The template is cut once and every URL is a
// slice of one string: 10,000 URLs are one allocation, not 10,000.
func (c *CompactParts) Expand() []PresignedPart {
	out := make([]PresignedPart, len(c.Parts))
	pre, mid, post, ok := splitTemplate(c.URL)
	if !ok {
		for i, p := range c.Parts {
			out[i] = c.part(p, c.PartURL(p))
		}
		return out
	}
	total := 0
	for _, p := range c.Parts {
		total += len(pre) + len(mid) + len(post) + len(p.Signature) + 20
	}
	var b strings.Builder // its String does not copy
	b.Grow(total)
	ends := make([]int, len(c.Parts))
	var num [20]byte
	for i, p := range c.Parts {
		b.WriteString(pre)
		b.Write(strconv.AppendInt(num[:0], int64(p.Number), 10))
		b.WriteString(mid)
		b.WriteString(p.Signature)
		b.WriteString(post)
		ends[i] = b.Len()
	}
	all, start := b.String(), 0
	for i, p := range c.Parts {
		out[i], start = c.part(p, all[start:ends[i]]), ends[i]
	}
	return out
}

func (c *CompactParts) part(p CompactPart, url string) PresignedPart {
	return PresignedPart{PartNumber: p.Number, Method: c.Method, URL: url, Headers: c.Headers, Size: p.Size,
		CustomerKeyHeader: c.CustomerKeyHeader, CRC64Header: c.CRC64Header}
}

// PartURL builds one part's URL from the template: the two replacements any client makes
// (the placeholders occur once: keys and query values are percent-encoded).
func (c *CompactParts) PartURL(p CompactPart) string {
	return strings.Replace(strings.Replace(c.URL, PartNumberPlaceholder, strconv.Itoa(p.Number), 1), SignaturePlaceholder, p.Signature, 1)
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
