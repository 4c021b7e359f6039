package dedup

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestFingerprintString(t *testing.T) {
	var f Fingerprint
	f[0], f[31] = 0xab, 0x01
	want := "ab" + strings.Repeat("00", 30) + "01"
	if got := f.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// TestDomainJSON pins the JSON of a domain: it is the index's on-disk
// record ('d' keys), written before the type moved here.
func TestDomainJSON(t *testing.T) {
	d := Domain{ID: 3, Name: "tenant", Key: []byte{1, 2, 3},
		Chunker: ChunkerParams{Algorithm: Gear, Min: 16384, Avg: 65536, Max: 262144, Seed: 7},
		Created: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	const want = `{"id":3,"name":"tenant","key":"AQID","chunker":{"algorithm":"gear-v1","min":16384,"avg":65536,"max":262144,"seed":7},"created":"2024-05-06T07:08:09Z"}`
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("Marshal = %s\nwant      %s", b, want)
	}
	var back Domain
	if err := json.Unmarshal([]byte(want), &back); err != nil {
		t.Fatal(err)
	}
	if back.Chunker != d.Chunker || back.Name != d.Name || !back.Created.Equal(d.Created) {
		t.Fatalf("Unmarshal = %+v, want %+v", back, d)
	}
}

// TestItemJSON pins what the REST API and `backstop ls --json` print.
func TestItemJSON(t *testing.T) {
	it := Item{Store: "s", Name: "n", Size: 10, Chunks: 1, NewBytes: 5,
		Created: time.Unix(0, 0).UTC(), Modified: time.Unix(1, 0).UTC()}
	const want = `{"store":"s","name":"n","size":10,"chunks":1,"new_bytes":5,"created":"1970-01-01T00:00:00Z","modified":"1970-01-01T00:00:01Z"}`
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("Marshal = %s\nwant      %s", b, want)
	}
}

func TestChunkerParamsValidate(t *testing.T) {
	ok := ChunkerParams{Algorithm: Gear, Min: 16 << 10, Avg: 64 << 10, Max: 256 << 10}
	tests := []struct {
		name string
		edit func(*ChunkerParams)
		ok   bool
	}{
		{"default", func(*ChunkerParams) {}, true},
		{"rabin default seed", func(p *ChunkerParams) { p.Algorithm = Rabin }, true},
		{"rabin restic default polynomial", func(p *ChunkerParams) { p.Algorithm, p.Seed = Rabin, 0x3DA3358B4DC173 }, true},
		{"rabin reducible seed", func(p *ChunkerParams) { p.Algorithm, p.Seed = Rabin, 0x3DA3358B4DC172 }, false},
		{"rabin seed of wrong degree", func(p *ChunkerParams) { p.Algorithm, p.Seed = Rabin, 0x3 }, false},
		{"gear ignores seed shape", func(p *ChunkerParams) { p.Seed = 0x3 }, true},
		{"unknown algorithm", func(p *ChunkerParams) { p.Algorithm = "fastcdc" }, false},
		{"avg not a power of two", func(p *ChunkerParams) { p.Avg = 60 << 10 }, false},
		{"min too small", func(p *ChunkerParams) { p.Min = 63 }, false},
		{"max equals avg", func(p *ChunkerParams) { p.Max = p.Avg }, false},
		{"max too large", func(p *ChunkerParams) { p.Max = 64<<20 + 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := p.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok %v", p, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrChunkerParams) {
				t.Fatalf("Validate error %v does not wrap ErrChunkerParams", err)
			}
		})
	}
}

func TestPolyIrreducible(t *testing.T) {
	tests := []struct {
		f    uint64
		want bool
	}{
		{0b10, true},     // x
		{0b11, true},     // x+1
		{0b111, true},    // x^2+x+1
		{0b101, false},   // x^2+1 = (x+1)^2
		{0b1011, true},   // x^3+x+1
		{0b10011, true},  // x^4+x+1
		{0b10101, false}, // x^4+x^2+1 = (x^2+x+1)^2
		{0b11111, true},  // x^4+x^3+x^2+x+1
		{0x3DA3358B4DC173, true},
		{0x3DA3358B4DC172, false}, // divisible by x
		{0, false},
	}
	for _, tt := range tests {
		if got := polyIrreducible(tt.f); got != tt.want {
			t.Errorf("polyIrreducible(%#b) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestStoreOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    StoreOptions
		ok   bool
	}{
		{"zero", StoreOptions{}, true},
		{"high", StoreOptions{Transfer: TransferHigh, ImmutableDays: 30, Clients: []string{"a"}}, true},
		{"bad transfer", StoreOptions{Transfer: "medium"}, false},
		{"negative days", StoreOptions{ImmutableDays: -1}, false},
		{"too many days", StoreOptions{ImmutableDays: MaxImmutableDays + 1}, false},
		{"empty client", StoreOptions{Clients: []string{""}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Fatalf("Validate() = %v, want ok %v (errors wrapping ErrInvalid)", err, tt.ok)
			}
		})
	}
	if o := (StoreOptions{Clients: []string{"a"}}); o.Allows("b") || !o.Allows("a") {
		t.Fatal("Allows ignores Clients")
	}
	if !(StoreOptions{}).Allows("anyone") {
		t.Fatal("Allows refuses a user though Clients is empty")
	}
}

// TestStandardLibraryOnly enforces the package's one rule: it imports
// nothing but the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/backstop-appliance/backstop/dedup" {
			t.Errorf("dedup depends on %s; it must import only the standard library", p)
		}
	}
}
