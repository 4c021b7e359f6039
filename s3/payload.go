package s3

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxChunkLine bounds an aws-chunked chunk header or trailer line.
const maxChunkLine = 4096

// checksums are the x-amz-checksum-* algorithms verified on upload.
var checksumNames = []string{"crc32", "crc32c", "sha1", "sha256"}

func newChecksum(name string) hash.Hash {
	switch name {
	case "crc32":
		return crc32.NewIEEE()
	case "crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	}
	return nil
}

// payload reads a request body as the client signed it: the plain bytes,
// or aws-chunked frames whose signatures it checks; on EOF it checks the
// payload hash, Content-MD5 and the x-amz-checksum-* values (headers or
// trailers). A reader that returned io.EOF has verified everything: a
// mismatch is an error instead of EOF, so the caller never commits bad
// data.
type payload struct {
	cred    credential
	src     *bufio.Reader
	chunked bool
	signed  bool // chunk signatures to check
	left    int64
	prev    string
	chunk   hash.Hash // sha256 of the current chunk (signed)
	whole   hash.Hash // sha256 of the payload (hash given)
	md5     hash.Hash
	sums    map[string]hash.Hash
	want    map[string]string // checksum name -> base64 value
	wantMD5 string
	done    bool
	err     error
}

// newPayload wraps r's body for cred's x-amz-content-sha256.
func newPayload(r *http.Request, cred credential) (*payload, error) {
	p := &payload{cred: cred, src: bufio.NewReaderSize(r.Body, 64<<10), md5: md5.New(), prev: cred.seed,
		sums: map[string]hash.Hash{}, want: map[string]string{}, wantMD5: r.Header.Get("Content-Md5")}
	switch cred.payload {
	case unsignedPayload:
	case streamingSigned, streamingSignedTrail:
		p.chunked, p.signed, p.chunk = true, true, sha256.New()
	case streamingUnsignedTrai:
		p.chunked = true
	default:
		if len(cred.payload) != 64 {
			return nil, fmt.Errorf("%w: x-amz-content-sha256 %q", errAuthHeader, cred.payload)
		}
		p.whole = sha256.New()
	}
	for _, n := range checksumNames {
		if v := r.Header.Get("X-Amz-Checksum-" + n); v != "" {
			p.want[n] = v
		}
		if v := r.Header.Get("X-Amz-Checksum-" + n); v != "" || strings.Contains(strings.ToLower(r.Header.Get("X-Amz-Trailer")), "x-amz-checksum-"+n) {
			p.sums[n] = newChecksum(n)
		}
	}
	if !p.chunked {
		p.left = -1
	}
	return p, nil
}

// MD5 is the hex MD5 of what was read: the object's ETag.
func (p *payload) MD5() string { return hex.EncodeToString(p.md5.Sum(nil)) }

func (p *payload) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.done {
		return 0, io.EOF
	}
	if p.chunked && p.left == 0 {
		if err := p.nextChunk(); err != nil {
			p.err = err
			return 0, err
		}
		if p.done {
			if err := p.finish(); err != io.EOF {
				p.err = err
				return 0, err
			}
			return 0, io.EOF
		}
	}
	if p.left > 0 && int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.src.Read(b)
	p.account(b[:n])
	if p.chunked {
		p.left -= int64(n)
		if err == io.EOF && p.left > 0 {
			err = io.ErrUnexpectedEOF
		} else if err == io.EOF {
			err = nil
		}
		if err == nil && p.left == 0 {
			err = p.endChunk()
		}
	} else if err == io.EOF {
		p.done = true
		err = p.finish()
	}
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

func (p *payload) account(b []byte) {
	p.md5.Write(b)
	for _, h := range p.sums {
		h.Write(b)
	}
	if p.whole != nil {
		p.whole.Write(b)
	}
	if p.chunk != nil {
		p.chunk.Write(b)
	}
}

func (p *payload) line() (string, error) {
	l, err := p.src.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(l) > maxChunkLine {
		return "", fmt.Errorf("%w: chunk line too long", errChunk)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", errChunk, io.ErrUnexpectedEOF)
	}
	return strings.TrimRight(string(l), "\r\n"), nil
}

// nextChunk reads a chunk header; a zero-length one ends the payload.
func (p *payload) nextChunk() error {
	l, err := p.line()
	if err != nil {
		return err
	}
	size, ext, _ := strings.Cut(l, ";")
	n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: chunk size %q", errChunk, size)
	}
	if p.signed {
		sig, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			return fmt.Errorf("%w: chunk without a signature", errChunk)
		}
		p.prev, p.chunk = p.prev+"\x00"+sig, sha256.New() // checked at its end
	}
	p.left = n
	if n == 0 {
		if err := p.checkSig(); err != nil {
			return err
		}
		p.done = true
		return p.trailers()
	}
	return nil
}

// endChunk reads the CRLF after a chunk's data and checks its signature.
func (p *payload) endChunk() error {
	if l, err := p.line(); err != nil || l != "" {
		return fmt.Errorf("%w: chunk data longer than its size", errChunk)
	}
	return p.checkSig()
}

func (p *payload) checkSig() error {
	if !p.signed {
		return nil
	}
	prev, sig, _ := strings.Cut(p.prev, "\x00")
	want := p.cred.chunkSignature(prev, hex.EncodeToString(p.chunk.Sum(nil)))
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return errSignature
	}
	p.prev = sig
	return nil
}

// trailers reads the trailing headers after the last chunk.
func (p *payload) trailers() error {
	for {
		l, err := p.line()
		if err != nil {
			if p.cred.payload == streamingSigned {
				return nil // no trailer section
			}
			return err
		}
		if l == "" {
			return nil
		}
		k, v, _ := strings.Cut(l, ":")
		if n, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(k)), "x-amz-checksum-"); ok {
			p.want[n] = strings.TrimSpace(v)
		}
	}
}

// finish checks what the whole payload must match.
func (p *payload) finish() error {
	if p.whole != nil && hex.EncodeToString(p.whole.Sum(nil)) != p.cred.payload {
		return errContentSHA256
	}
	if p.wantMD5 != "" && base64.StdEncoding.EncodeToString(p.md5.Sum(nil)) != p.wantMD5 {
		return errBadDigest
	}
	for n, v := range p.want {
		h := p.sums[n]
		if h == nil {
			continue // an algorithm not verified here (docs/s3.md)
		}
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) != v {
			return errBadChecksum
		}
	}
	return io.EOF
}
