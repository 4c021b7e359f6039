package s3

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore"
)

type objectXML struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int64     `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *ownerXML `xml:"Owner,omitempty"`
}

type prefixXML struct {
	Prefix string `xml:"Prefix"`
}

type listV2XML struct {
	XMLName               xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string      `xml:"Name"`
	Prefix                string      `xml:"Prefix"`
	Delimiter             string      `xml:"Delimiter,omitempty"`
	MaxKeys               int         `xml:"MaxKeys"`
	KeyCount              int         `xml:"KeyCount"`
	IsTruncated           bool        `xml:"IsTruncated"`
	EncodingType          string      `xml:"EncodingType,omitempty"`
	ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
	StartAfter            string      `xml:"StartAfter,omitempty"`
	Contents              []objectXML `xml:"Contents"`
	CommonPrefixes        []prefixXML `xml:"CommonPrefixes"`
}

type listV1XML struct {
	XMLName        xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string      `xml:"Name"`
	Prefix         string      `xml:"Prefix"`
	Marker         string      `xml:"Marker"`
	NextMarker     string      `xml:"NextMarker,omitempty"`
	Delimiter      string      `xml:"Delimiter,omitempty"`
	MaxKeys        int         `xml:"MaxKeys"`
	IsTruncated    bool        `xml:"IsTruncated"`
	EncodingType   string      `xml:"EncodingType,omitempty"`
	Contents       []objectXML `xml:"Contents"`
	CommonPrefixes []prefixXML `xml:"CommonPrefixes"`
}

// page is one page of a listing.
type page struct {
	objects   []objectXML
	prefixes  []prefixXML
	truncated bool
	last      string // the last key or common prefix listed
}

// listPage lists the bucket's keys under prefix after marker, rolling
// keys up to their common prefix at delimiter, at most max entries.
func (s *Server) listPage(q *request, prefix, delim, marker string, max int, owner bool) (page, error) {
	var p page
	// The engine's pages, from the marker on: a listing reads the item
	// records it returns (and those its common prefixes roll up), not the
	// whole bucket.
	after := marker
	for {
		items, more, err := s.eng.ListPage(q.r.Context(), storeOf(q.bucket), prefix, after, listBatch)
		if err != nil {
			return page{}, err
		}
		if p.add(q, items, prefix, delim, marker, max, owner); p.truncated || !more || len(items) == 0 {
			return p, nil
		}
		after = items[len(items)-1].Name
	}
}

// listBatch is how many item records listPage asks the engine for at once.
const listBatch = 1000

// add lists items (in name order, after marker) into p, until it holds max
// entries.
func (p *page) add(q *request, items []chunkstore.Item, prefix, delim, marker string, max int, owner bool) {
	for _, it := range items {
		k := it.Name
		if strings.HasPrefix(k, uploadPrefix) {
			continue
		}
		if delim != "" && strings.HasSuffix(marker, delim) && strings.HasPrefix(k, marker) {
			continue // inside the common prefix the last page ended with
		}
		cp := ""
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp = k[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && cp == p.last {
			continue
		}
		if len(p.objects)+len(p.prefixes) == max {
			p.truncated = true
			return
		}
		if cp != "" {
			p.prefixes = append(p.prefixes, prefixXML{Prefix: cp})
			p.last = cp
			continue
		}
		o := objectXML{Key: k, LastModified: it.Modified.UTC().Format(time.RFC3339Nano), ETag: `"` + it.Meta[metaETag] + `"`,
			Size: it.Size, StorageClass: "STANDARD"}
		if owner {
			o.Owner = &ownerXML{ID: q.user.Name, DisplayName: q.user.Name}
		}
		p.objects = append(p.objects, o)
		p.last = k
	}
}

func maxKeys(v url.Values) (int, error) {
	if s := v.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%w: max-keys %q", errArgument, s)
		}
		return min(n, 1000), nil
	}
	return 1000, nil
}

// encodeKeys applies encoding-type=url to a page.
func encodeKeys(p *page, enc string) {
	if enc != "url" {
		return
	}
	for i := range p.objects {
		p.objects[i].Key = url.QueryEscape(p.objects[i].Key)
	}
	for i := range p.prefixes {
		p.prefixes[i].Prefix = url.QueryEscape(p.prefixes[i].Prefix)
	}
}

// listObjectsV2 is ListObjectsV2; the continuation token is the last key
// or common prefix of the previous page, base64.
func (s *Server) listObjectsV2(q *request, v url.Values) error {
	max, err := maxKeys(v)
	if err != nil {
		return err
	}
	marker := v.Get("start-after")
	if tok := v.Get("continuation-token"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return fmt.Errorf("%w: continuation-token", errArgument)
		}
		marker = string(b)
	}
	p, err := s.listPage(q, v.Get("prefix"), v.Get("delimiter"), marker, max, v.Get("fetch-owner") == "true")
	if err != nil {
		return err
	}
	out := listV2XML{Name: q.bucket, Prefix: v.Get("prefix"), Delimiter: v.Get("delimiter"), MaxKeys: max,
		KeyCount: len(p.objects) + len(p.prefixes), IsTruncated: p.truncated, EncodingType: v.Get("encoding-type"),
		ContinuationToken: v.Get("continuation-token"), StartAfter: v.Get("start-after")}
	if p.truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(p.last))
	}
	encodeKeys(&p, out.EncodingType)
	out.Contents, out.CommonPrefixes = p.objects, p.prefixes
	writeXML(q.w, http.StatusOK, out)
	return nil
}

// listObjectsV1 is the first ListObjects, with markers.
func (s *Server) listObjectsV1(q *request, v url.Values) error {
	max, err := maxKeys(v)
	if err != nil {
		return err
	}
	p, err := s.listPage(q, v.Get("prefix"), v.Get("delimiter"), v.Get("marker"), max, true)
	if err != nil {
		return err
	}
	out := listV1XML{Name: q.bucket, Prefix: v.Get("prefix"), Marker: v.Get("marker"), Delimiter: v.Get("delimiter"),
		MaxKeys: max, IsTruncated: p.truncated, EncodingType: v.Get("encoding-type")}
	if p.truncated {
		out.NextMarker = p.last
	}
	encodeKeys(&p, out.EncodingType)
	out.Contents, out.CommonPrefixes = p.objects, p.prefixes
	writeXML(q.w, http.StatusOK, out)
	return nil
}
