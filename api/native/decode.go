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
	return nil
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
