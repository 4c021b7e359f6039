package smb2

import "strings"

// reservedNames are the DOS device names no component may have.
var reservedNames = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true,
	"COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true,
	"LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// sharePath turns an SMB path (backslashes, relative to the share root)
// into a vfs path, refusing anything that could leave the share or that
// a Windows server would refuse. A "::$DATA" stream suffix is dropped;
// other streams are refused.
func sharePath(name string, wildcards bool) (string, Status) {
	if strings.HasPrefix(name, `\`) {
		return "", StatusInvalidParameter
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		stream := name[i:]
		if !strings.EqualFold(stream, "::$DATA") {
			return "", StatusObjectNameInvalid
		}
		name = name[:i]
	}
	name = strings.TrimSuffix(name, `\`)
	if name == "" {
		return "", StatusSuccess
	}
	parts := strings.Split(name, `\`)
	for i, p := range parts {
		if st := checkComponent(p, wildcards && i == len(parts)-1); st != StatusSuccess {
			return "", st
		}
	}
	return strings.Join(parts, "/"), StatusSuccess
}

func checkComponent(p string, wildcards bool) Status {
	switch p {
	case "":
		return StatusObjectNameInvalid
	case ".":
		return StatusObjectNameInvalid
	case "..":
		return StatusObjectPathSyntaxBad
	}
	if len(p) > 255 {
		return StatusObjectNameInvalid
	}
	for _, r := range p {
		switch {
		case r < 0x20, r == '/', r == '"', r == ':', r == '|':
			return StatusObjectNameInvalid
		case r == '*' || r == '?' || r == '<' || r == '>':
			if !wildcards {
				return StatusObjectNameInvalid
			}
		}
	}
	base := strings.ToUpper(p)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if reservedNames[strings.TrimRight(base, " ")] {
		return StatusObjectNameInvalid
	}
	return StatusSuccess
}

// parentOf returns the parent of a vfs path and the last component.
func parentOf(p string) (dir, name string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// matchPattern matches a name against an SMB wildcard pattern, case
// insensitively: * and ?, and the DOS forms < (DOS_STAR), > (DOS_QM)
// and " (DOS_DOT) treated as *, ? and '.'.
func matchPattern(pattern, name string) bool {
	if pattern == "" || pattern == "*" || pattern == "*.*" {
		return true
	}
	p := []rune(strings.ToUpper(pattern))
	n := []rune(strings.ToUpper(name))
	return match(p, n)
}

// match is iterative wildcard matching with one backtrack point (the
// last star), O(len(p)*len(n)) at worst.
func match(p, n []rune) bool {
	pi, ni := 0, 0
	star, mark := -1, 0
	for ni < len(n) {
		switch {
		case pi < len(p) && (p[pi] == '*' || p[pi] == '<'):
			star, mark = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == '>' || p[pi] == '"' && n[ni] == '.' || p[pi] == n[ni]):
			pi++
			ni++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	// What is left of the pattern must match the empty string.
	for pi < len(p) && (p[pi] == '*' || p[pi] == '<' || p[pi] == '>' || p[pi] == '"') {
		pi++
	}
	return pi == len(p)
}
