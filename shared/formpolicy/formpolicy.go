// Package formpolicy writes and checks the policy document of a browser form upload (COS
// POST Object, S3 POST Object): when the form stops working and the conditions its fields
// and its file must meet. Stores sign the document (each its own way); the local store
// parses and enforces it as storage does.
//
// The document is COS's and S3's alike:
//
//	{"expiration":"2026-12-03T12:00:00.000Z","conditions":[{"key":"a/b"},
//	 ["eq","$Content-Type","image/png"],["starts-with","$key","a/"],["content-length-range",0,1048576]]}
package formpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Condition ops.
const (
	Equals      = "eq"
	StartsWith  = "starts-with"
	LengthRange = "content-length-range"
)

// Condition is one rule of a policy: a field equal to Value, or starting with it, or the
// file's length within Min..Max bytes.
type Condition struct {
	Op    string
	Field string // as written, without "$"; matched without regard to case
	Value string
	Min   int64
	Max   int64
}

// Eq is the condition that field equals value.
func Eq(field, value string) Condition { return Condition{Op: Equals, Field: field, Value: value} }

// Length is the condition that the file holds min..max bytes.
func Length(min, max int64) Condition { return Condition{Op: LengthRange, Min: min, Max: max} }

// Document is a policy: an expiry and the conditions.
type Document struct {
	Expiration time.Time
	Conditions []Condition
}

// expirationLayout is ISO 8601 in UTC with milliseconds, as both clouds' examples write it.
const expirationLayout = "2006-01-02T15:04:05.000Z"

// JSON renders the document; the bytes are what is base64-encoded into the form and signed.
// Equality conditions are written as {"field":"value"}, the form every store takes.
func (d *Document) JSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"expiration":`)
	writeString(&b, d.Expiration.UTC().Format(expirationLayout))
	b.WriteString(`,"conditions":[`)
	for i, c := range d.Conditions {
		if i > 0 {
			b.WriteByte(',')
		}
		switch c.Op {
		case Equals:
			b.WriteByte('{')
			writeString(&b, c.Field)
			b.WriteByte(':')
			writeString(&b, c.Value)
			b.WriteByte('}')
		case StartsWith:
			b.WriteString(`["starts-with",`)
			writeString(&b, "$"+c.Field)
			b.WriteByte(',')
			writeString(&b, c.Value)
			b.WriteByte(']')
		case LengthRange:
			fmt.Fprintf(&b, `["content-length-range",%d,%d]`, c.Min, c.Max)
		}
	}
	b.WriteString("]}")
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	js, _ := json.Marshal(s) // a string always encodes
	b.Write(js)
}

// Parse reads a policy document in any of the forms COS and S3 accept: {"field":"value"},
// ["eq","$field","value"], ["starts-with","$field","prefix"], ["content-length-range",min,max].
func Parse(b []byte) (*Document, error) {
	var raw struct {
		Expiration string            `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("the policy is not a JSON object: %w", err)
	}
	exp, err := time.Parse(time.RFC3339Nano, raw.Expiration)
	if err != nil {
		return nil, errors.New("the policy's expiration is not an ISO 8601 time")
	}
	d := &Document{Expiration: exp}
	for _, c := range raw.Conditions {
		cond, err := parseCondition(c)
		if err != nil {
			return nil, err
		}
		d.Conditions = append(d.Conditions, cond...)
	}
	return d, nil
}

func parseCondition(raw json.RawMessage) ([]Condition, error) {
	var obj map[string]string
	if json.Unmarshal(raw, &obj) == nil {
		if len(obj) != 1 {
			return nil, errors.New("an equality condition names exactly one field")
		}
		var out []Condition
		for k, v := range obj {
			out = append(out, Eq(k, v))
		}
		return out, nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil || len(arr) != 3 {
		return nil, errors.New("a condition is an object or an array of three")
	}
	var op string
	if err := json.Unmarshal(arr[0], &op); err != nil {
		return nil, errors.New("a condition's first element is its operator")
	}
	op = strings.ToLower(op)
	if op == LengthRange {
		var min, max int64
		if json.Unmarshal(arr[1], &min) != nil || json.Unmarshal(arr[2], &max) != nil || min < 0 || max < min {
			return nil, errors.New("content-length-range takes two whole numbers, min <= max")
		}
		return []Condition{Length(min, max)}, nil
	}
	var field, value string
	if json.Unmarshal(arr[1], &field) != nil || json.Unmarshal(arr[2], &value) != nil || !strings.HasPrefix(field, "$") {
		return nil, errors.New(`a condition's field is a string starting with "$"`)
	}
	if op != Equals && op != StartsWith {
		return nil, errors.New("unknown condition " + strconv.Quote(op))
	}
	return []Condition{{Op: op, Field: field[1:], Value: value}}, nil
}

// Field returns the value of the equality condition on field ("" and false if none).
func (d *Document) Field(field string) (string, bool) {
	for _, c := range d.Conditions {
		if c.Op == Equals && strings.EqualFold(c.Field, field) {
			return c.Value, true
		}
	}
	return "", false
}

// Range returns the length the document allows (the narrowest, if several): ok false when
// it sets none.
func (d *Document) Range() (min, max int64, ok bool) {
	for _, c := range d.Conditions {
		if c.Op != LengthRange {
			continue
		}
		if !ok {
			min, max, ok = c.Min, c.Max, true
			continue
		}
		min, max = maxOf(min, c.Min), minOf(max, c.Max)
	}
	return min, max, ok
}

func maxOf(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func minOf(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// Check holds a form's fields (names lowercased) to the document at now: not expired,
// every condition met, and — S3's rule, which the local store keeps for COS too — every
// field covered by a condition, except those exempt names. The file's length is checked
// apart (Range), as it is known only once the file is read. implied holds fields a
// condition may name without the form carrying them (bucket, the URL's own).
func (d *Document) Check(fields map[string]string, now time.Time, exempt func(string) bool, implied map[string]string) error {
	if !now.Before(d.Expiration) {
		return errors.New("the policy has expired")
	}
	covered := map[string]bool{}
	for _, c := range d.Conditions {
		if c.Op == LengthRange {
			continue
		}
		name := strings.ToLower(c.Field)
		v, ok := fields[name]
		if !ok {
			v, ok = implied[name]
		}
		if !ok {
			return fmt.Errorf("the policy names %s, which the form does not carry", c.Field)
		}
		covered[name] = true
		if c.Op == Equals && v != c.Value || c.Op == StartsWith && !strings.HasPrefix(v, c.Value) {
			return fmt.Errorf("the form's %s does not meet the policy", c.Field)
		}
	}
	for name := range fields {
		if !covered[name] && !exempt(name) {
			return fmt.Errorf("the form's %s is not covered by the policy", name)
		}
	}
	return nil
}
