package index

import (
	"encoding/binary"
	"fmt"
)

// pAccess keys a container's access record: 'a' + id (big endian).
const pAccess = 'a'

// Access is what the engine remembers of a container's use, for cold-data
// recompression: the day (unix days) a reader last read from it, and the
// zstd level its chunks were last recompressed at (0: as written inline).
// The engine writes it at most once per day per container.
type Access struct {
	Day   uint32
	Level uint8
}

const accessSize = 5

func (a Access) encode() []byte {
	b := make([]byte, accessSize)
	binary.LittleEndian.PutUint32(b, a.Day)
	b[4] = a.Level
	return b
}

// PutAccess records container id's access record.
func (b *Batch) PutAccess(id uint64, a Access) { b.set(key64(pAccess, id), a.encode()) }

// DeleteAccess drops container id's access record.
func (b *Batch) DeleteAccess(id uint64) { b.del(key64(pAccess, id)) }

// Accesses returns every access record, by container id.
func (d *DB) Accesses() (map[uint64]Access, error) {
	out := map[uint64]Access{}
	err := d.scan([]byte{pAccess}, func(k, v []byte) error {
		if len(k) != 9 || len(v) != accessSize {
			return fmt.Errorf("%w: access record", ErrCorrupt)
		}
		out[binary.BigEndian.Uint64(k[1:])] = Access{Day: binary.LittleEndian.Uint32(v), Level: v[4]}
		return nil
	})
	return out, err
}
