package chunkstore

import (
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/chunkstore/index"
)

// hkBuilders fill the new containers of a sweep batch, one per domain at
// a time; sealed holds every container the batch made, in the order they
// were started.
type hkBuilders struct {
	e      *Engine
	cur    map[uint32]*hkBuilder
	sealed []index.ContainerRec
	vols   map[uint32]bool
	// levels: per slot of sealed, the lowest recompression level of its
	// chunks (0: some were copied as stored).
	levels []int
}

type hkBuilder struct {
	b    *container.Builder
	slot int // its place in sealed
}

func newHousekeepingBuilders(e *Engine) *hkBuilders {
	return &hkBuilders{e: e, cur: map[uint32]*hkBuilder{}, vols: map[uint32]bool{}}
}

// add copies a chunk, as stored, into the domain's container; it returns
// the slot of that container in sealed and the chunk's place in it (the
// container id is known once sealed).
//
// level is the zstd level stored was recompressed at (0: as written).
func (nb *hkBuilders) add(domain uint32, en container.Entry, stored []byte, level int) (int, index.Loc, error) {
	gb := nb.cur[domain]
	if gb == nil {
		b, err := nb.e.newBuilder(domain)
		if err != nil {
			return 0, index.Loc{}, err
		}
		gb = &hkBuilder{b: b, slot: len(nb.sealed)}
		nb.sealed = append(nb.sealed, index.ContainerRec{Domain: domain})
		nb.levels = append(nb.levels, level)
		nb.cur[domain] = gb
	}
	nb.levels[gb.slot] = min(nb.levels[gb.slot], level)
	off := gb.b.Add(en.FP, stored, int(en.Raw), en.Codec)
	slot := gb.slot
	added := gb.b.Entries()[gb.b.Count()-1] // sealing adds a tag to stored
	loc := index.Loc{Offset: off, Stored: added.Stored, Raw: en.Raw, Codec: en.Codec}
	if gb.b.Full() {
		if err := nb.seal(domain, gb); err != nil {
			return 0, loc, err
		}
		delete(nb.cur, domain)
	}
	return slot, loc, nil
}

func (nb *hkBuilders) seal(domain uint32, gb *hkBuilder) error {
	e := nb.e
	id, err := e.idx.NextContainerID()
	if err != nil {
		return e.translate(err)
	}
	data := gb.b.Seal(id, domain)
	vol, off, err := e.vols.Append(data)
	if err != nil {
		return e.translate(err)
	}
	nb.vols[vol] = true
	nb.sealed[gb.slot] = index.ContainerRec{ID: id, Volume: vol, Offset: off, Size: int64(len(data)),
		Body: uint32(gb.b.Len()), Count: uint32(gb.b.Count()), Domain: domain, Created: e.opts.Now().UnixNano()}
	return nil
}

func (nb *hkBuilders) sealAll() error {
	for domain, gb := range nb.cur {
		if err := nb.seal(domain, gb); err != nil {
			return err
		}
		delete(nb.cur, domain)
	}
	return nil
}

func (nb *hkBuilders) sync() error {
	for vol := range nb.vols {
		if err := nb.e.vols.Sync(vol); err != nil {
			return nb.e.translate(err)
		}
	}
	return nil
}
