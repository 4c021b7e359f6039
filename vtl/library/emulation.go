package library

import (
	"fmt"

	"github.com/backstop-appliance/backstop/vtl/tape"
)

// Emulation is a library model: the identity its changer and its drives
// report, so that backup software recognises them.
type Emulation struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	ChangerVendor  string `json:"changer_vendor"`
	ChangerProduct string `json:"changer_product"`
	ChangerRev     string `json:"changer_revision"`
	// DriveVendor is the drives' vendor; their product string depends on
	// the LTO generation.
	DriveVendor string `json:"drive_vendor"`
	MaxDrives   int    `json:"max_drives"`
	MaxSlots    int    `json:"max_slots"`
}

// Emulations lists the library models Backstop emulates.
func Emulations() []Emulation {
	return []Emulation{
		{Name: "hp-msl", Description: "HPE StoreEver MSL G3 series library with HP Ultrium drives",
			ChangerVendor: "HP", ChangerProduct: "MSL G3 Series", ChangerRev: "9.20", DriveVendor: "HP",
			MaxDrives: 16, MaxSlots: 400},
		{Name: "ibm-ts3100", Description: "IBM TS3100/TS3200 (3573) library with IBM ULT3580 drives",
			ChangerVendor: "IBM", ChangerProduct: "3573-TL", ChangerRev: "F.11", DriveVendor: "IBM",
			MaxDrives: 4, MaxSlots: 48},
	}
}

// LookupEmulation returns the emulation called name.
func LookupEmulation(name string) (Emulation, bool) {
	for _, e := range Emulations() {
		if e.Name == name {
			return e, true
		}
	}
	return Emulation{}, false
}

// driveIdentity is the vendor, product and revision of the emulation's
// drive of LTO generation g.
func (e Emulation) driveIdentity(g tape.Generation) (vendor, product, revision string) {
	if e.DriveVendor == "IBM" {
		return "IBM", fmt.Sprintf("ULT3580-TD%d", g.N), "G350"
	}
	return "HP", g.Product, g.Revision
}
