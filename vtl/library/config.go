package library

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// fileName is the libraries' file in the VTL directory (DIR/vtl).
const fileName = "libraries.json"

// CHAP is the iSCSI authentication of a library's target. Empty User: none.
type CHAP struct {
	User         string `json:"user,omitempty"`
	Secret       string `json:"secret,omitempty"`
	MutualUser   string `json:"mutual_user,omitempty"`
	MutualSecret string `json:"mutual_secret,omitempty"`
}

// Spec is what an administrator chooses for a library.
type Spec struct {
	Name          string `json:"name"`
	Emulation     string `json:"emulation"`
	Generation    int    `json:"generation"`
	Drives        int    `json:"drives"`
	Slots         int    `json:"slots"`
	MailSlots     int    `json:"mail_slots"`
	CartridgeSize int64  `json:"cartridge_size"` // bytes; 0: the generation's native capacity
	IQN           string `json:"iqn"`
	CHAP          CHAP   `json:"chap"`
}

// cartridgeRecord is one cartridge as persisted.
type cartridgeRecord struct {
	Barcode        string            `json:"barcode"`
	Capacity       int64             `json:"capacity"`
	WriteProtected bool              `json:"write_protected,omitempty"`
	WORM           bool              `json:"worm,omitempty"`
	LoadCount      uint64            `json:"load_count,omitempty"`
	Attributes     map[uint16][]byte `json:"attributes,omitempty"`
	Created        time.Time         `json:"created"`
}

// libraryRecord is one library as persisted: its spec, identity serials,
// cartridges and what each element holds (a cartridge in no element is
// outside the library, in the vault).
type libraryRecord struct {
	Spec
	Serial     string            `json:"serial"`
	Created    time.Time         `json:"created"`
	Cartridges []cartridgeRecord `json:"cartridges"`
	InSlots    []string          `json:"in_slots"`
	InMail     []string          `json:"in_mail"`
	InDrives   []string          `json:"in_drives"`
	Source     map[string]uint16 `json:"source,omitempty"`

	// raw is the entry as read when it did not decode, and bad why: the
	// library is degraded, and the entry is saved back unchanged so that
	// nothing an administrator could repair is lost.
	raw json.RawMessage
	bad error
}

type fileFormat struct {
	Version   int             `json:"version"`
	Libraries []libraryRecord `json:"libraries"`
}

// diskFormat is the file as read and written: each library's entry is
// decoded on its own, so one bad entry degrades one library.
type diskFormat struct {
	Version   int               `json:"version"`
	Libraries []json.RawMessage `json:"libraries"`
}

// load reads the file. Only a file that cannot be read or parsed at all
// is an error; an entry that does not decode is a record with raw and bad
// set (named by its "name" when that can be read, else "entry-N").
func load(dir string) (fileFormat, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, fileName))
	if os.IsNotExist(err) {
		return fileFormat{Version: 1}, false, nil
	}
	if err != nil {
		return fileFormat{}, false, fmt.Errorf("library: %s: %w", fileName, err)
	}
	var d diskFormat
	if err := json.Unmarshal(b, &d); err != nil {
		return fileFormat{}, false, fmt.Errorf("library: %s: %w", fileName, err)
	}
	f := fileFormat{Version: d.Version, Libraries: make([]libraryRecord, 0, len(d.Libraries))}
	for i, raw := range d.Libraries {
		var rec libraryRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			var named struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &named) != nil || named.Name == "" {
				named.Name = fmt.Sprintf("entry-%d", i+1)
			}
			rec = libraryRecord{Spec: Spec{Name: named.Name}, raw: raw,
				bad: fmt.Errorf("%w: its entry in %s does not decode: %v", ErrInvalid, fileName, err)}
		}
		f.Libraries = append(f.Libraries, rec)
	}
	return f, true, nil
}

// save writes the file atomically: a temporary file, fsync, rename,
// fsync of the directory.
func save(dir string, f fileFormat) error {
	d := diskFormat{Version: f.Version, Libraries: make([]json.RawMessage, 0, len(f.Libraries))}
	for _, rec := range f.Libraries {
		if rec.raw != nil {
			d.Libraries = append(d.Libraries, rec.raw)
			continue
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		d.Libraries = append(d.Libraries, b)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, fileName+".tmp-*")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, fileName)); err != nil {
		return err
	}
	ok = true
	dh, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer dh.Close()
	return dh.Sync()
}
