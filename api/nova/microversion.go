package nova

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Version is a compute API microversion.
type Version struct{ Major, Minor int }

// The microversions keyhaven serves: it answers every compute microversion
// a client may ask for, so that clients negotiating "latest" keep working,
// and changes key pair behaviour at the ones listed in the spec.
var (
	MinVersion = Version{2, 1}
	MaxVersion = Version{2, 93}
)

// Header names of microversion negotiation.
const (
	HeaderVersion       = "OpenStack-API-Version"
	HeaderLegacyVersion = "X-OpenStack-Nova-API-Version"
)

// String formats v as "2.35".
func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// splitVersion splits a version string of exactly the shape Nova's
// APIVersionRequest accepts, ^([1-9]\d*)\.([1-9]\d*|0)$, into its two
// numbers' digits; ok is false for any other string. It is the regular
// expression written out, since every request parses one.
func splitVersion(s string) (major, minor string, ok bool) {
	major, minor, found := strings.Cut(s, ".")
	number := func(d string, zeroOK bool) bool {
		if d == "" || (d[0] == '0' && !(zeroOK && d == "0")) {
			return false
		}
		for i := 0; i < len(d); i++ {
			if d[i] < '0' || d[i] > '9' {
				return false
			}
		}
		return true
	}
	return major, minor, found && number(major, false) && number(minor, true)
}

// versionError is a negotiation failure: 400 for a malformed string, 406 for
// one out of range. echo is set when the response still carries the
// requested version in its headers, as Nova's 406 does.
type versionError struct {
	status  int
	message string
	echo    *Version
}

func (e *versionError) Error() string { return e.message }

// requestedVersion returns the raw compute version string a request asks
// for, "" when it asks for none. OpenStack-API-Version wins over the legacy
// header; entries for other services are ignored.
func requestedVersion(h http.Header) string {
	for _, line := range h.Values(HeaderVersion) {
		for _, item := range strings.Split(line, ",") {
			f := strings.Fields(item)
			if len(f) == 2 && strings.EqualFold(f[0], "compute") {
				return f[1]
			}
		}
	}
	return strings.TrimSpace(h.Get(HeaderLegacyVersion))
}

// ParseVersion negotiates the microversion of a request from its headers.
func ParseVersion(h http.Header) (Version, error) {
	s := requestedVersion(h)
	switch {
	case s == "":
		return MinVersion, nil
	case strings.EqualFold(s, "latest"):
		return MaxVersion, nil
	}
	ms, mn, ok := splitVersion(s)
	if !ok {
		return Version{}, &versionError{status: http.StatusBadRequest,
			message: fmt.Sprintf("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)}
	}
	major, err1 := strconv.Atoi(ms)
	minor, err2 := strconv.Atoi(mn)
	if err1 != nil || err2 != nil {
		return Version{}, &versionError{status: http.StatusBadRequest,
			message: fmt.Sprintf("API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)}
	}
	v := Version{major, minor}
	if !v.AtLeast(MinVersion.Major, MinVersion.Minor) || v.AtLeast(MaxVersion.Major, MaxVersion.Minor+1) {
		return Version{}, &versionError{status: http.StatusNotAcceptable, echo: &v,
			message: fmt.Sprintf("Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, MinVersion, MaxVersion)}
	}
	return v, nil
}

// setVersionHeaders writes the negotiated version the way Nova does.
// The names are written as Nova spells them rather than in Go's canonical
// form; HTTP does not care, but people comparing captures do.
func setVersionHeaders(h http.Header, v Version) {
	s := v.String()
	h[HeaderVersion] = []string{"compute " + s}
	h[HeaderLegacyVersion] = []string{s}
	if len(h["Vary"]) == 0 {
		// Shared, with its capacity cut to its length: a later Add
		// copies it instead of writing into it.
		h["Vary"] = varyValues[:2:2]
		return
	}
	h["Vary"] = append(h["Vary"], HeaderVersion, HeaderLegacyVersion)
}

// varyValues is the Vary header of every versioned answer.
var varyValues = []string{HeaderVersion, HeaderLegacyVersion}
