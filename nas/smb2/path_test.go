package smb2

import (
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "anything", true},
		{"*.*", "noext", true},
		{"*.txt", "a.TXT", true},
		{"*.txt", "a.txt.bak", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"t*-1?.txt", "t017-17.txt", true},
		{"<.txt", "x.txt", true},
		{"abc", "ABC", true},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 60), false},
	} {
		if got := matchPattern(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestSharePath(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		st   Status
	}{
		{"", "", StatusSuccess},
		{`a\b\c.txt`, "a/b/c.txt", StatusSuccess},
		{`a\b\`, "a/b", StatusSuccess},
		{`file.txt::$DATA`, "file.txt", StatusSuccess},
		{`file.txt:stream`, "", StatusObjectNameInvalid},
		{`\abs`, "", StatusInvalidParameter},
		{`..\x`, "", StatusObjectPathSyntaxBad},
		{`a\..\..\x`, "", StatusObjectPathSyntaxBad},
		{`a\.\x`, "", StatusObjectNameInvalid},
		{`a\\x`, "", StatusObjectNameInvalid},
		{`CON`, "", StatusObjectNameInvalid},
		{`dir\nul.txt`, "", StatusObjectNameInvalid},
		{`a/b`, "", StatusObjectNameInvalid},
		{`a*`, "", StatusObjectNameInvalid},
		{"a\x00b", "", StatusObjectNameInvalid},
		{strings.Repeat("x", 256), "", StatusObjectNameInvalid},
	} {
		got, st := sharePath(tc.in, false)
		if got != tc.want || st != tc.st {
			t.Errorf("sharePath(%q) = %q, %v; want %q, %v", tc.in, got, st, tc.want, tc.st)
		}
	}
}

func TestShortName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"README.TXT", "README.TXT"},
		{"f.bin", "F.BIN"},
		{"Makefile", "MAKEFILE"},
	} {
		if got := shortName(tc.in); got != tc.want {
			t.Errorf("shortName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := shortName("torture_search.txt")
	if len(long) > 12 || !strings.Contains(long, "~") || !strings.HasSuffix(long, ".TXT") || long != shortName("torture_search.txt") {
		t.Errorf("shortName of a long name = %q", long)
	}
}
