package identity

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLength is the longest name of a user, project or domain, in
// characters, as in Keystone.
const MaxNameLength = 255

// ErrInvalid is matched (errors.Is) by every *InvalidError: input the
// identity service refuses, answered 400 by the dialects.
var ErrInvalid = errors.New("identity: invalid input")

// InvalidError is a refused field of a request, with a reason safe to show
// the caller.
type InvalidError struct {
	// Field is the request field, e.g. "name" or "password".
	Field string
	// Reason says what is wrong with it, as a sentence.
	Reason string
}

// Error returns the field and the reason.
func (e *InvalidError) Error() string { return "identity: invalid " + e.Field + ": " + e.Reason }

// Is makes every InvalidError match ErrInvalid.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns an *InvalidError for field.
func Invalid(field, reason string) error { return &InvalidError{Field: field, Reason: reason} }

// ValidateName checks the name of a user, project or domain (kind says
// which, for the message): 1 to MaxNameLength characters of valid UTF-8,
// not all white space, and no control (Cc), format (Cf, which holds the
// bidirectional overrides such as U+202E) or line and paragraph separator
// characters, which would let a name hide or reorder what an operator
// reads in a list, a log or a terminal. Every path that creates or renames
// one of them calls it.
func ValidateName(kind, name string) error {
	if !utf8.ValidString(name) {
		return Invalid("name", fmt.Sprintf("a %s name must be valid UTF-8.", kind))
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameLength {
		return Invalid("name", fmt.Sprintf("a %s name must be 1 to %d characters long.", kind, MaxNameLength))
	}
	if strings.TrimSpace(name) == "" {
		return Invalid("name", fmt.Sprintf("a %s name must not be only white space.", kind))
	}
	for i, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return Invalid("name", fmt.Sprintf("a %s name must not contain control or formatting characters (%U at byte %d).", kind, r, i))
		}
	}
	return nil
}

// ValidateDescription checks a free-text description: any valid UTF-8
// but NUL, which PostgreSQL's text type cannot store (so it would fail the
// write on one store and not the other).
func ValidateDescription(description string) error {
	if !utf8.ValidString(description) {
		return Invalid("description", "a description must be valid UTF-8.")
	}
	if i := strings.IndexByte(description, 0); i >= 0 {
		return Invalid("description", fmt.Sprintf("a description must not contain NUL (U+0000 at byte %d).", i))
	}
	return nil
}
