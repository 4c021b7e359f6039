package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/vtl/library"
)

// Libraries is what the API needs from the virtual tape libraries.
type Libraries interface {
	Libraries() []library.Info
	Library(name string) (library.Info, error)
	Create(ctx context.Context, spec library.Spec) (library.Info, error)
	Delete(ctx context.Context, name string) error
	Cartridges(ctx context.Context, name string) ([]library.CartridgeInfo, error)
	Cartridge(ctx context.Context, name, barcode string) (library.CartridgeInfo, error)
	AddCartridges(ctx context.Context, name string, req library.NewCartridges) ([]library.CartridgeInfo, error)
	DeleteCartridge(ctx context.Context, name, barcode string) error
	Move(ctx context.Context, name, barcode string, to library.Location) error
	Import(ctx context.Context, name, barcode string) (library.Location, error)
	Export(ctx context.Context, name, barcode string) error
	Protect(ctx context.Context, name, barcode string, wp bool) error
}

// libraryView is a library as the API shows it: CHAP secrets are never
// sent back.
type libraryView struct {
	library.Info
	CHAP chapView `json:"chap"`
}

type chapView struct {
	User       string `json:"user,omitempty"`
	MutualUser string `json:"mutual_user,omitempty"`
	Required   bool   `json:"required"`
	Mutual     bool   `json:"mutual"`
}

func viewLibrary(in library.Info) libraryView {
	v := libraryView{Info: in, CHAP: chapView{User: in.CHAP.User, MutualUser: in.CHAP.MutualUser,
		Required: in.CHAP.User != "", Mutual: in.CHAP.MutualUser != ""}}
	v.Info.CHAP = library.CHAP{}
	return v
}

func cleanVTL(err error) string {
	msg := clean(err)
	for _, p := range []string{"library: ", "changer: ", "tape: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

// vtl answers 404 when the appliance runs without libraries.
func (s *Server) vtl(c *gin.Context) {
	if s.opts.Libraries == nil {
		s.fail(c, errorf(http.StatusNotFound, codeNotFound, "the virtual tape library service is not running"))
		return
	}
	c.Next()
}

func (s *Server) failVTL(c *gin.Context, err error) {
	s.fail(c, serviceError(err, library.Kinds(), cleanVTL))
}

// listEmulations handles GET /api/v1/library-emulations.
func (s *Server) listEmulations(c *gin.Context) {
	type gen struct {
		Generation int    `json:"generation"`
		Density    string `json:"density"`
		Capacity   int64  `json:"capacity"`
	}
	var gens []gen
	for _, g := range library.Generations() {
		gens = append(gens, gen{g.N, g.Name, g.Capacity})
	}
	c.JSON(http.StatusOK, gin.H{"emulations": library.Emulations(), "generations": gens})
}

// libraryStore is the store that holds the cartridges of library name.
func libraryStore(name string) string { return appliance.LibraryPrefix + name }

// listLibraries handles GET /api/v1/libraries: the libraries whose
// cartridges the caller may read (today's policy: every user, through the
// library).
func (s *Server) listLibraries(c *gin.Context) {
	out := []libraryView{}
	readable := s.readable(user(c))
	for _, in := range s.opts.Libraries.Libraries() {
		if readable(libraryStore(in.Name)) {
			out = append(out, viewLibrary(in))
		}
	}
	respondList(s, c, out, func(v libraryView) string { return v.Name })
}

// getLibrary handles GET /api/v1/libraries/:lib. A library the caller may
// not read is answered as one that does not exist.
func (s *Server) getLibrary(c *gin.Context) {
	in, err := s.opts.Libraries.Library(c.Param("lib"))
	if err == nil && !s.readable(user(c))(libraryStore(in.Name)) {
		err = fmt.Errorf("%w: library %s", library.ErrNotFound, c.Param("lib"))
	}
	if err != nil {
		s.failVTL(c, err)
		return
	}
	c.JSON(http.StatusOK, viewLibrary(in))
}

// createLibrary handles POST /api/v1/libraries (operator).
func (s *Server) createLibrary(c *gin.Context) {
	var spec library.Spec
	if err := decode(c, &spec); err != nil {
		s.fail(c, err)
		return
	}
	in, err := s.opts.Libraries.Create(c.Request.Context(), spec)
	if err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "library.create", in.Name, "created library %s (%s, %d drives, %d slots)", in.Name, in.Emulation, in.Spec.Drives, in.Spec.Slots)
	c.JSON(http.StatusCreated, viewLibrary(in))
}

// deleteLibrary handles DELETE /api/v1/libraries/:lib (admin).
func (s *Server) deleteLibrary(c *gin.Context) {
	name := c.Param("lib")
	if err := s.opts.Libraries.Delete(c.Request.Context(), name); err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "library.delete", name, "deleted library %s", name)
	c.Status(http.StatusNoContent)
}

// listCartridges handles GET /api/v1/libraries/:lib/cartridges.
func (s *Server) listCartridges(c *gin.Context) {
	out, err := s.opts.Libraries.Cartridges(c.Request.Context(), c.Param("lib"))
	if err != nil {
		s.failVTL(c, err)
		return
	}
	respondList(s, c, out, func(ci library.CartridgeInfo) string { return ci.Barcode })
}

// getCartridge handles GET /api/v1/libraries/:lib/cartridges/:barcode.
func (s *Server) getCartridge(c *gin.Context) {
	out, err := s.opts.Libraries.Cartridge(c.Request.Context(), c.Param("lib"), c.Param("barcode"))
	if err != nil {
		s.failVTL(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// addCartridges handles POST /api/v1/libraries/:lib/cartridges (operator).
func (s *Server) addCartridges(c *gin.Context) {
	var req library.NewCartridges
	if err := decode(c, &req); err != nil {
		s.fail(c, err)
		return
	}
	lib := c.Param("lib")
	out, err := s.opts.Libraries.AddCartridges(c.Request.Context(), lib, req)
	if err != nil {
		s.failVTL(c, err)
		return
	}
	for _, ct := range out {
		s.audit(c, "cartridge.create", lib+"/"+ct.Barcode, "created cartridge %s in library %s", ct.Barcode, lib)
	}
	c.JSON(http.StatusCreated, out)
}

type cartridgePatch struct {
	WriteProtected *bool `json:"write_protected"`
}

// patchCartridge handles PATCH /api/v1/libraries/:lib/cartridges/:barcode (operator).
func (s *Server) patchCartridge(c *gin.Context) {
	var p cartridgePatch
	if err := decode(c, &p); err != nil {
		s.fail(c, err)
		return
	}
	lib, bc := c.Param("lib"), c.Param("barcode")
	if p.WriteProtected != nil {
		if err := s.opts.Libraries.Protect(c.Request.Context(), lib, bc, *p.WriteProtected); err != nil {
			s.failVTL(c, err)
			return
		}
		s.audit(c, "cartridge.protect", lib+"/"+bc, "write protection of %s set to %v", bc, *p.WriteProtected)
	}
	s.getCartridge(c)
}

// deleteCartridge handles DELETE /api/v1/libraries/:lib/cartridges/:barcode (admin).
func (s *Server) deleteCartridge(c *gin.Context) {
	lib, bc := c.Param("lib"), c.Param("barcode")
	if err := s.opts.Libraries.DeleteCartridge(c.Request.Context(), lib, bc); err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "cartridge.delete", lib+"/"+bc, "deleted cartridge %s and its data", bc)
	c.Status(http.StatusNoContent)
}

// moveCartridge handles POST /api/v1/libraries/:lib/cartridges/:barcode/move (operator).
func (s *Server) moveCartridge(c *gin.Context) {
	var to library.Location
	if err := decode(c, &to); err != nil {
		s.fail(c, err)
		return
	}
	lib, bc := c.Param("lib"), c.Param("barcode")
	if err := s.opts.Libraries.Move(c.Request.Context(), lib, bc, to); err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "cartridge.move", lib+"/"+bc, "moved %s to %s %d", bc, to.Type, to.Index)
	s.getCartridge(c)
}

// importCartridge handles POST /api/v1/libraries/:lib/cartridges/:barcode/import (operator).
func (s *Server) importCartridge(c *gin.Context) {
	lib, bc := c.Param("lib"), c.Param("barcode")
	if _, err := s.opts.Libraries.Import(c.Request.Context(), lib, bc); err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "cartridge.import", lib+"/"+bc, "imported %s through a mail slot", bc)
	s.getCartridge(c)
}

// exportCartridge handles POST /api/v1/libraries/:lib/cartridges/:barcode/export (operator).
func (s *Server) exportCartridge(c *gin.Context) {
	lib, bc := c.Param("lib"), c.Param("barcode")
	if err := s.opts.Libraries.Export(c.Request.Context(), lib, bc); err != nil {
		s.failVTL(c, err)
		return
	}
	s.audit(c, "cartridge.export", lib+"/"+bc, "exported %s through a mail slot", bc)
	s.getCartridge(c)
}
