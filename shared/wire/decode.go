package wire

import (
	"encoding/json"
	"reflect"
)

// TypeMessage says what a field should have held, in JSON's words ("size must be a number,
// not a JSON string"): never a Go type's name, which would change with the code's layout.
func TypeMessage(te *json.UnmarshalTypeError) string {
	field := te.Field
	if field == "" {
		field = "the body"
	}
	return field + " must be " + JSONKind(te.Type) + ", not a JSON " + te.Value
}

// JSONKind names, in JSON's words, the value a Go type decodes from ("an object").
func JSONKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number not below 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another JSON value"
}
