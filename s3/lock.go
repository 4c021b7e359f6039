package s3

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/backstop-appliance/backstop/internal/appliance"
)

// errNoLockConfig answers GetObjectLockConfiguration on a bucket without
// a default retention.
var errNoLockConfig = errors.New("s3: bucket has no object lock configuration")

// A bucket's default retention is its store's immutability
// (chunkstore.StoreOptions.ImmutableDays): the engine refuses to delete
// or replace an item before Modified + days, whichever front end, REST
// route or housekeeping asks, so only COMPLIANCE mode is offered (nothing
// can bypass it), and the period can be lengthened but not shortened
// while the bucket holds objects.
type lockConfigXML struct {
	XMLName           xml.Name `xml:"ObjectLockConfiguration"`
	Xmlns             string   `xml:"xmlns,attr,omitempty"`
	ObjectLockEnabled string   `xml:"ObjectLockEnabled,omitempty"`
	Rule              *struct {
		DefaultRetention struct {
			Mode  string `xml:"Mode"`
			Days  int    `xml:"Days,omitempty"`
			Years int    `xml:"Years,omitempty"`
		} `xml:"DefaultRetention"`
	} `xml:"Rule,omitempty"`
}

func (s *Server) putLockConfig(q *request) error {
	if err := s.access(q, appliance.ActionWrite); err != nil {
		return err
	}
	var c lockConfigXML
	if err := readXML(q, &c); err != nil {
		return err
	}
	days := 0
	if c.Rule != nil {
		r := c.Rule.DefaultRetention
		if r.Mode != "COMPLIANCE" {
			return fmt.Errorf("%w: retention mode %q (only COMPLIANCE, enforced by the engine)", errNotImplemented, r.Mode)
		}
		if (r.Days > 0) == (r.Years > 0) {
			return fmt.Errorf("%w: DefaultRetention needs Days or Years", errXML)
		}
		days = r.Days + 365*r.Years
	}
	store := storeOf(q.bucket)
	info, err := s.eng.Store(store)
	if err != nil {
		return err
	}
	o := info.StoreOptions
	o.ImmutableDays = days
	if _, err := s.eng.SetStoreOptions(store, o); err != nil {
		return err
	}
	s.log.Info("s3: bucket default retention", "bucket", q.bucket, "days", days, "user", q.user.Name)
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) getLockConfig(q *request) error {
	if err := s.access(q, appliance.ActionRead); err != nil {
		return err
	}
	info, err := s.eng.Store(storeOf(q.bucket))
	if err != nil {
		return err
	}
	if info.ImmutableDays == 0 {
		return errNoLockConfig
	}
	c := lockConfigXML{Xmlns: "http://s3.amazonaws.com/doc/2006-03-01/", ObjectLockEnabled: "Enabled"}
	c.Rule = &struct {
		DefaultRetention struct {
			Mode  string `xml:"Mode"`
			Days  int    `xml:"Days,omitempty"`
			Years int    `xml:"Years,omitempty"`
		} `xml:"DefaultRetention"`
	}{}
	c.Rule.DefaultRetention.Mode, c.Rule.DefaultRetention.Days = "COMPLIANCE", info.ImmutableDays
	writeXML(q.w, http.StatusOK, c)
	return nil
}
