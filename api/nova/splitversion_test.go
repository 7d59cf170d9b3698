package nova

import (
	"regexp"
	"testing"
)

// TestSplitVersionMatchesNovasPattern checks the hand-written parser
// against the regular expression it replaces, Nova's own.
func TestSplitVersionMatchesNovasPattern(t *testing.T) {
	re := regexp.MustCompile(`^([1-9]\d*)\.([1-9]\d*|0)$`)
	for _, s := range []string{"2.1", "2.93", "2.0", "10.10", "1.0", "0.1", "2.01", "2.00", "02.1", "2.", ".1", "2", "",
		"2.1.1", "a.1", "2.a", " 2.1", "2.1 ", "2..1", "-2.1", "2.-1", "2.１", "99999999999999999999.1", "2.1\n"} {
		major, minor, ok := splitVersion(s)
		m := re.FindStringSubmatch(s)
		if ok != (m != nil) || (ok && (major != m[1] || minor != m[2])) {
			t.Errorf("%q: %q %q %v; the pattern says %q", s, major, minor, ok, m)
		}
	}
}
