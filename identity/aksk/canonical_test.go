package aksk

import "testing"

func TestCanonicalURI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/v3/p/keypairs", "/v3/p/keypairs/"},
		{"/v3/p/keypairs/", "/v3/p/keypairs/"},
		{"/k/my%20key@home.v2", "/k/my%20key%40home.v2/"},
		{"/k/50%25+off", "/k/50%25%2Boff/"},
		{"/k/a%2Fb", "/k/a%2Fb/"},
		{"/k/a/b", "/k/a/b/"},
		{"/k/%d0%ba~_-.", "/k/%D0%BA~_-./"},
		{"//x", "//x/"},
	}
	for _, tc := range cases {
		got, err := canonicalURI(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("canonicalURI(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := canonicalURI("/k/%zz"); err == nil {
		t.Error("canonicalURI accepted a bad escape")
	}
}

func TestCanonicalQuery(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1&a=0", "a=0&a=1&b=2"},
		{"empty&x=1", "empty=&x=1"},
		{"x=1&empty", "empty=&x=1"},
		{"q=a+b", "q=a%20b"},
		{"q=a%20b~", "q=a%20b~"},
		{"q=%2B%2F%3D%26", "q=%2B%2F%3D%26"},
		{"k%5Bx%5D=1", "k%5Bx%5D=1"},
		{"B=1&a=1", "B=1&a=1"},
		{"t=b&t=a%20b&t=a", "t=a&t=a%20b&t=b"},
	}
	for _, tc := range cases {
		got, err := canonicalQuery(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"a=1;b=2", "a=%zz"} {
		if _, err := canonicalQuery(bad); err == nil {
			t.Errorf("canonicalQuery(%q) accepted", bad)
		}
	}
}
