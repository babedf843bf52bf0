// Package strictjson decodes a request body the one way every reader of it would.
// encoding/json matches member names case-insensitively ("SIZE" fills Size) and lets a
// repeated name win silently (the last "contentType" counts), so a WAF in front and the
// function could read two different requests from one body. Unmarshal refuses both
// before decoding: inside an object that fills a struct, a name must be exactly a
// field's name and may appear once (ignoring case); inside a map, a name may appear once.
// (encoding/json/v2 does this by default; it is not in the standard library without
// GOEXPERIMENT in Go 1.26, so this small check stands in for it.)
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
)

// Error names the member at fault (dotted path, "" for the body itself).
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// maxDepth bounds nesting; request bodies are flat, a deeper one is hostile.
const maxDepth = 32

// Unmarshal checks data against v's type as above, then decodes it into v with unknown
// members refused and exactly one JSON value allowed. Syntax and type errors are
// encoding/json's own (*json.SyntaxError, *json.UnmarshalTypeError, "unknown field").
func Unmarshal(data []byte, v any) error { return unmarshal(data, v, true) }

// UnmarshalAllowUnknown is Unmarshal for protocols whose clients may add members (Uppy's):
// unknown members are ignored, repeated and case-variant ones still refused.
func UnmarshalAllowUnknown(data []byte, v any) error { return unmarshal(data, v, false) }

func unmarshal(data []byte, v any, refuseUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := walk(dec, reflect.TypeOf(v), "", 0); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		// A syntax error: let the real decoder report it in its own words below.
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	if refuseUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Message: "the body must hold one JSON value"}
	}
	return nil
}

// walk reads one value, knowing the Go type it will fill (nil: any).
func walk(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return &Error{Message: "the body is nested too deeply"}
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, path, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('{'):
	default:
		return nil // a scalar
	}
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = map[string]reflect.Type{}
		structFields(t, fields)
	} else if t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		field := name
		if path != "" {
			field = path + "." + name
		}
		key := name
		if fields != nil {
			key = strings.ToLower(name) // encoding/json would fill one field from both
		}
		if seen[key] {
			return &Error{Field: field, Message: "member " + name + " appears more than once"}
		}
		seen[key] = true
		valueType := elem
		if fields != nil {
			ft, ok := fields[name]
			if !ok {
				for f := range fields {
					if strings.EqualFold(f, name) {
						return &Error{Field: field, Message: "member " + name + " must be spelled " + f}
					}
				}
			}
			valueType = ft
		}
		if err := walk(dec, valueType, field, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// structFields lists the JSON names a struct decodes, with embedded structs' promoted.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && tag == "" && ft.Kind() == reflect.Struct {
			structFields(ft, out)
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		out[tag] = f.Type
	}
}
