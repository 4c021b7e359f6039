package main

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// errBadSize is the error of every size flag that cannot be read.
var errBadSize = errors.New("bad size")

// sizeUnits name the powers of 1024, for human and parseSize.
var sizeUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// human formats a byte count for people.
func human(n int64) string {
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(sizeUnits)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, sizeUnits[i])
}

// parseSize reads a byte count: a number, optionally with a decimal
// fraction, and an optional unit K, M, G, T, P or E (KiB, KB, k, ...: all
// powers of 1024, as human prints them). A fraction is taken exactly: 1.5G
// is 1610612736 bytes, and a size that is not a whole number of bytes
// (1.3K) is refused rather than rounded. Anything else (5Q, -1, 1e9, an
// empty string) is an error that says what is wanted.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	end := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(t)
	}
	num := t[:end]
	if num == "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, fmt.Errorf("%w %q: want a number such as 500G, 1.5T or 1048576", errBadSize, s)
	}
	unit := strings.ToUpper(strings.TrimSpace(t[len(num):]))
	shift := -1
	switch unit {
	case "", "B":
		shift = 0
	default:
		u := strings.TrimSuffix(strings.TrimSuffix(unit, "B"), "I")
		if len(u) == 1 {
			if k := strings.IndexByte("KMGTPE", u[0]); k >= 0 && (unit == u || unit == u+"B" || unit == u+"IB") {
				shift = 10 * (k + 1)
			}
		}
	}
	if shift < 0 {
		return 0, fmt.Errorf("%w %q: unknown unit %q (want bytes, or a number with K, M, G, T, P or E, powers of 1024)", errBadSize, s, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, fmt.Errorf("%w %q: want a number such as 500G, 1.5T or 1048576", errBadSize, s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(shift))))
	if !r.IsInt() {
		return 0, fmt.Errorf("%w %q: not a whole number of bytes (%s)", errBadSize, s, r.FloatString(1))
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("%w %q: too large", errBadSize, s)
	}
	return r.Num().Int64(), nil
}

// sizeValue is a size flag: every flag that takes a byte count reads it
// with parseSize, so that they all accept and refuse the same sizes.
type sizeValue struct {
	n   *int64
	set bool
}

func newSizeValue(n *int64, def int64) *sizeValue {
	*n = def
	return &sizeValue{n: n}
}

func (v *sizeValue) String() string {
	if v == nil || v.n == nil || !v.set {
		return ""
	}
	return fmt.Sprint(*v.n)
}

func (v *sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.n, v.set = n, true
	return nil
}
