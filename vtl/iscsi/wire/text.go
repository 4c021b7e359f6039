package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrText is returned for malformed key=value data.
var ErrText = errors.New("iscsi: malformed text data")

// KV is one key=value pair.
type KV struct{ Key, Value string }

// Text is an ordered list of key=value pairs.
type Text []KV

// ParseText parses NUL-terminated key=value pairs. A trailing pair
// without its NUL is accepted (some initiators pad with NULs, some do
// not terminate the last pair); a pair without '=' or with an empty key
// is an error.
func ParseText(data []byte) (Text, error) {
	var t Text
	for len(data) > 0 {
		var item []byte
		if i := bytes.IndexByte(data, 0); i >= 0 {
			item, data = data[:i], data[i+1:]
		} else {
			item, data = data, nil
		}
		if len(item) == 0 {
			continue // padding
		}
		eq := bytes.IndexByte(item, '=')
		if eq <= 0 || eq > 63 {
			return nil, fmt.Errorf("%w: %q", ErrText, item)
		}
		t = append(t, KV{string(item[:eq]), string(item[eq+1:])})
	}
	return t, nil
}

// Get returns the value of key and whether it is present.
func (t Text) Get(key string) (string, bool) {
	for _, kv := range t {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Set replaces key's value or appends the pair.
func (t *Text) Set(key, value string) {
	for i := range *t {
		if (*t)[i].Key == key {
			(*t)[i].Value = value
			return
		}
	}
	*t = append(*t, KV{key, value})
}

// Encode renders the pairs, each with its NUL.
func (t Text) Encode() []byte {
	var b []byte
	for _, kv := range t {
		b = append(b, kv.Key...)
		b = append(b, '=')
		b = append(b, kv.Value...)
		b = append(b, 0)
	}
	return b
}

// ParseBinary decodes a binary value: 0x hex or 0b base64 (RFC 7143 6.1).
func ParseBinary(v string) ([]byte, error) {
	if len(v) < 3 {
		return nil, fmt.Errorf("%w: binary value %q", ErrText, v)
	}
	switch strings.ToLower(v[:2]) {
	case "0x":
		s := v[2:]
		if len(s)%2 == 1 {
			s = "0" + s
		}
		return hex.DecodeString(s)
	case "0b":
		return base64.StdEncoding.DecodeString(v[2:])
	}
	return nil, fmt.Errorf("%w: binary value %q", ErrText, v)
}

// FormatBinary renders b in hex with the 0x prefix.
func FormatBinary(b []byte) string { return "0x" + hex.EncodeToString(b) }

// ParseNumber parses a decimal or 0x-hex numerical value.
func ParseNumber(v string) (uint64, error) {
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		return strconv.ParseUint(v[2:], 16, 64)
	}
	return strconv.ParseUint(v, 10, 64)
}
