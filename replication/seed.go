package replication

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zeebo/blake3"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/chunkstore/container"
	"github.com/backstop-appliance/backstop/dedup"
)

// seedFileMax is the size at which a seed's chunk file is closed.
const seedFileMax = 1 << 30

// Seed is what seed.json holds.
type Seed struct {
	Version     int            `json:"version"`
	Store       string         `json:"store"`
	DomainName  string         `json:"domain_name"`
	DomainKey   []byte         `json:"domain_key"`
	Chunker     chunker.Params `json:"chunker"`
	Items       []SeedItem     `json:"items"`
	Chunks      int64          `json:"chunks"`
	StoredBytes int64          `json:"stored_bytes"`
	Files       int            `json:"files"`
}

// SeedItem is one item of a seed.
type SeedItem struct {
	Name    string            `json:"name"`
	Size    int64             `json:"size"`
	Meta    map[string]string `json:"meta,omitempty"`
	Entries int64             `json:"entries"`
}

// replicaDomainName names the domain a replica of a domain with key gets.
func replicaDomainName(key []byte) string {
	sum := blake3.Sum256(key)
	return "replica-" + hex.EncodeToString(sum[:6])
}

// Export writes into dir (new or empty) a seed of store: the items whose
// names start with filter, their recipes, and every chunk they use once,
// as stored. Carried to the target and given to ImportSeed, it spares the
// first replication from sending those chunks.
func Export(ctx context.Context, eng *chunkstore.Engine, store, filter, dir string) (Seed, error) {
	dom, err := eng.StoreDomain(store)
	if err != nil {
		return Seed{}, err
	}
	items, err := eng.ListItems(ctx, store, chunkstore.ListOptions{Prefix: filter})
	if err != nil {
		return Seed{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Seed{}, fmt.Errorf("replication: seed: %w", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) > 0 {
		return Seed{}, fmt.Errorf("%w: seed directory %s is not empty", ErrInvalid, dir)
	}
	sd := Seed{Version: 1, Store: store, DomainName: dom.Name, DomainKey: dom.Key, Chunker: dom.Chunker}
	rf, err := os.Create(filepath.Join(dir, "recipes.bin"))
	if err != nil {
		return Seed{}, err
	}
	defer rf.Close()
	rw := bufio.NewWriterSize(rf, 1<<20)
	cw := &seedChunks{dir: dir}
	defer cw.close()
	seen := map[dedup.Fingerprint]bool{}
	var buf []byte
	for _, it := range items {
		rr, err := eng.OpenRecipe(ctx, store, it.Name)
		if errors.Is(err, chunkstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return Seed{}, err
		}
		si := SeedItem{Name: it.Name, Size: rr.Item().Size, Meta: rr.Item().Meta}
		err = rr.Segments(ctx, func(entries []dedup.RecipeEntry) error {
			for _, en := range entries {
				si.Entries++
				// bufio.Writer keeps its first error; rw.Flush below returns it.
				_, _ = rw.Write(en.FP[:])
				_, _ = rw.Write(binary.BigEndian.AppendUint32(nil, en.Len))
				if seen[en.FP] {
					continue
				}
				seen[en.FP] = true
				st, err := rr.Chunk(en.FP, en.Len)
				if err != nil {
					return err
				}
				buf = appendChunk(buf[:0], en.FP, st.Codec, st.Raw, st.Data)
				if err := cw.write(buf); err != nil {
					return err
				}
				sd.Chunks++
				sd.StoredBytes += int64(len(st.Data))
			}
			return nil
		})
		rr.Close()
		if err != nil {
			return Seed{}, err
		}
		sd.Items = append(sd.Items, si)
	}
	if err := rw.Flush(); err != nil {
		return Seed{}, err
	}
	if err := rf.Sync(); err != nil {
		return Seed{}, err
	}
	if err := cw.close(); err != nil {
		return Seed{}, err
	}
	sd.Files = cw.n
	return sd, saveJSON(filepath.Join(dir, "seed.json"), sd)
}

// seedChunks writes chunks-NNNN.bin files.
type seedChunks struct {
	dir  string
	n    int
	f    *os.File
	w    *bufio.Writer
	size int64
}

func (c *seedChunks) write(b []byte) error {
	if c.f == nil || c.size+int64(len(b)) > seedFileMax {
		if err := c.close(); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("chunks-%04d.bin", c.n)))
		if err != nil {
			return err
		}
		c.n++
		c.f, c.w, c.size = f, bufio.NewWriterSize(f, 1<<20), 0
	}
	c.size += int64(len(b))
	_, err := c.w.Write(b)
	return err
}

func (c *seedChunks) close() error {
	if c.f == nil {
		return nil
	}
	err := c.w.Flush()
	if err == nil {
		err = c.f.Sync()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	c.f = nil
	return err
}

type seedLoc struct {
	file     int
	off      int64
	codec    container.Codec
	raw, len int
}

// ImportSeed loads a seed into store of this appliance: a replica store in
// the domain with the seed's key (made if need be), which a source's
// mapping then finds mostly complete. It returns the seed and the number
// of items committed.
func ImportSeed(ctx context.Context, eng *chunkstore.Engine, dir, store string) (Seed, int, error) {
	var sd Seed
	if err := loadJSON(filepath.Join(dir, "seed.json"), &sd); err != nil {
		return Seed{}, 0, err
	}
	if sd.Version != 1 {
		return Seed{}, 0, fmt.Errorf("%w: %s holds no seed (version %d)", ErrInvalid, dir, sd.Version)
	}
	if err := replicaStore(eng, store, sd.DomainKey, sd.Chunker); err != nil {
		return sd, 0, err
	}
	files := make([]*os.File, sd.Files)
	locs := map[dedup.Fingerprint]seedLoc{}
	for i := range files {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("chunks-%04d.bin", i)))
		if err != nil {
			return sd, 0, err
		}
		defer f.Close()
		files[i] = f
		if err := indexSeedFile(f, i, locs); err != nil {
			return sd, 0, fmt.Errorf("replication: seed %s: %w", f.Name(), err)
		}
	}
	rf, err := os.Open(filepath.Join(dir, "recipes.bin"))
	if err != nil {
		return sd, 0, err
	}
	defer rf.Close()
	rr := bufio.NewReaderSize(rf, 1<<20)
	var done int
	for _, si := range sd.Items {
		if err := importSeedItem(ctx, eng, store, si, rr, files, locs); err != nil {
			return sd, done, fmt.Errorf("item %q: %w", si.Name, err)
		}
		done++
	}
	return sd, done, nil
}

func indexSeedFile(f *os.File, file int, locs map[dedup.Fingerprint]seedLoc) error {
	r := bufio.NewReaderSize(f, 1<<20)
	var hdr [41]byte
	var off int64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		var fp dedup.Fingerprint
		copy(fp[:], hdr[:32])
		n := int(binary.BigEndian.Uint32(hdr[37:]))
		locs[fp] = seedLoc{file: file, off: off + 41, codec: container.Codec(hdr[32]), raw: int(binary.BigEndian.Uint32(hdr[33:])), len: n}
		if _, err := r.Discard(n); err != nil {
			return err
		}
		off += 41 + int64(n)
	}
}

func importSeedItem(ctx context.Context, eng *chunkstore.Engine, store string, si SeedItem, rr io.Reader,
	files []*os.File, locs map[dedup.Fingerprint]seedLoc) error {
	im, err := eng.ImportReplica(ctx, store, si.Name, chunkstore.WriteOptions{Replace: true, Meta: si.Meta})
	if err != nil {
		return err
	}
	defer im.Abort()
	var buf [36]byte
	var data []byte
	batch := make([]dedup.RecipeEntry, 0, chunkstore.SegmentLen)
	flush := func() error {
		missing, err := im.Append(batch)
		if err != nil {
			return err
		}
		for _, k := range missing {
			l, ok := locs[batch[k].FP]
			if !ok {
				return fmt.Errorf("%w: chunk %s is not in the seed", chunkstore.ErrMissingChunk, batch[k].FP)
			}
			if cap(data) < l.len {
				data = make([]byte, l.len)
			}
			if _, err := files[l.file].ReadAt(data[:l.len], l.off); err != nil {
				return err
			}
			if err := im.Put(batch[k].FP, l.codec, data[:l.len], l.raw); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for i := int64(0); i < si.Entries; i++ {
		if _, err := io.ReadFull(rr, buf[:]); err != nil {
			return fmt.Errorf("recipes.bin: %w", err)
		}
		var en dedup.RecipeEntry
		copy(en.FP[:], buf[:32])
		en.Len = binary.BigEndian.Uint32(buf[32:])
		if batch = append(batch, en); len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	_, err = im.Commit(ctx)
	return err
}

// replicaStore makes store a replica store in the domain of key, or
// checks that it is one.
func replicaStore(eng *chunkstore.Engine, store string, key []byte, params chunker.Params) error {
	info, err := eng.Store(store)
	if errors.Is(err, chunkstore.ErrNotFound) {
		d, _, err := eng.ImportDomain(replicaDomainName(key), key, params)
		if err != nil {
			return err
		}
		if _, err := eng.CreateStore(store, d.Name); err != nil {
			return err
		}
		_, err = eng.SetReplica(store, true)
		return err
	}
	if err != nil {
		return err
	}
	if !info.Replica {
		return fmt.Errorf("%w: store %q is not a replica (an ordinary or promoted store)", ErrState, store)
	}
	dom, err := eng.StoreDomain(store)
	if err != nil {
		return err
	}
	if !bytes.Equal(dom.Key, key) || dom.Chunker != params {
		return fmt.Errorf("%w: store %q is in domain %s, which has another key", ErrState, store, dom.Name)
	}
	return nil
}
