package tape

// Generation describes one LTO generation: the density code a drive
// reports for it and the native capacity of its cartridges.
type Generation struct {
	N          int
	Density    byte
	Capacity   int64 // native bytes
	Name       string
	BitsPerMM  uint32
	Tracks     uint16
	Product    string // HP product identification of its drive
	Revision   string
	MediumType string // barcode suffix, e.g. "L6"
}

// Generations are the LTO generations the drive can emulate (LTO
// Ultrium format specifications: density codes, native capacities).
func generations() []Generation {
	return []Generation{
		{N: 4, Density: 0x46, Capacity: 800e9, Name: "U-416", BitsPerMM: 13250, Tracks: 896, Product: "Ultrium 4-SCSI", Revision: "H58W", MediumType: "L4"},
		{N: 5, Density: 0x58, Capacity: 1500e9, Name: "U-516", BitsPerMM: 15142, Tracks: 1280, Product: "Ultrium 5-SCSI", Revision: "I6PW", MediumType: "L5"},
		{N: 6, Density: 0x5a, Capacity: 2500e9, Name: "U-616", BitsPerMM: 15142, Tracks: 2176, Product: "Ultrium 6-SCSI", Revision: "J5SW", MediumType: "L6"},
		{N: 7, Density: 0x5c, Capacity: 6000e9, Name: "U-732", BitsPerMM: 19107, Tracks: 3584, Product: "Ultrium 7-SCSI", Revision: "K5DW", MediumType: "L7"},
		{N: 8, Density: 0x5e, Capacity: 12000e9, Name: "U-832", BitsPerMM: 20668, Tracks: 6656, Product: "Ultrium 8-SCSI", Revision: "N5BW", MediumType: "L8"},
	}
}

// LookupGeneration returns LTO generation n.
func LookupGeneration(n int) (Generation, bool) {
	for _, g := range generations() {
		if g.N == n {
			return g, true
		}
	}
	return Generation{}, false
}

// Generations lists the generations a drive can emulate.
func Generations() []Generation { return generations() }
