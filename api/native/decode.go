package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// decode reads a JSON body strictly into v: a media type other than JSON,
// unknown fields, wrong types, trailing data and over-limit bodies are
// refused with a 4xx.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/merge-patch+json") {
			return fail(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "The request body must be application/json, not %q.", ct)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, CodeTooLarge, "The request body is larger than %d bytes.", mbe.Limit)
		}
		return invalid("The request body could not be read.")
	}
	return decodeBody(body, v)
}

// decodeBody decodes body strictly into v (see decode); the fuzz target
// calls it directly.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("The request body is empty; it must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			if te.Field == "" {
				return invalid("The request body must be a JSON object.")
			}
			return invalid("The field %s must be %s.", te.Field, jsonType(te.Type.String()))
		case errors.As(err, &se):
			return invalid("The request body is not valid JSON (at byte %d).", se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return invalid("The field %s is not allowed.", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		var fe *fieldError
		if errors.As(err, &fe) {
			return invalid("%s", fe.msg)
		}
		return invalid("The request body is not valid JSON.")
	}
	if dec.More() {
		return invalid("The request body holds data after its JSON value.")
	}
	return duplicateKeys(body)
}

// duplicateKeys refuses an object that names a member twice, which
// encoding/json would silently read as its last value (a tag given twice,
// a name given twice). body is valid JSON by now.
func duplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys   map[string]bool
		object bool
		expect bool // the next string token of an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalid("The request body is not valid JSON.")
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return invalid("The member %q is given twice in one object.", k)
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, object: true, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the parent object expects its next key.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true
		}
	}
}

// fieldError is a value a field's own UnmarshalJSON refused.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// jsonType names a Go type as the JSON type a client would recognise.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object of strings"
	case strings.Contains(goType, "string"), strings.Contains(goType, "Time"):
		return "a string"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "an integer"
	}
	return "an object"
}
