// Package library keeps the appliance's virtual tape libraries: their
// configuration, cartridges and layout in DIR/vtl/libraries.json, and at
// run time each library's changer and drives, the LUN set its iSCSI
// target exposes (LUN 0 the changer, LUN 1.. the drives).
//
// # libraries.json
//
//	{"version": 1, "libraries": [{
//	  "name", "emulation", "generation", "drives", "slots", "mail_slots",
//	  "cartridge_size", "iqn", "chap": {user, secret, mutual_user, mutual_secret},
//	  "serial", "created",
//	  "cartridges": [{"barcode", "capacity", "write_protected", "worm",
//	                  "load_count", "attributes": {id: base64}, "created"}],
//	  "in_slots": [barcode or ""], "in_mail": [...], "in_drives": [...],
//	  "source": {barcode: storage element address}}]}
//
// A cartridge in no element is outside the library (the vault), where
// export puts it and import takes it from. The file is replaced
// atomically (temporary file, fsync, rename, fsync of the directory) on
// every change: a move by the host, an administrator's action, a WRITE
// ATTRIBUTE. The cartridges' data are the items of store "vtl-NAME".
//
// # Degraded libraries
//
// Each entry is decoded and checked on its own when the manager opens. A
// library whose entry does not decode, names an unknown emulation or
// generation, whose elements do not match its spec or hold cartridges it
// lacks, or whose store is missing is degraded (Manager.Degraded,
// Info.Degraded): listed with why, its target not offered, its cartridges
// refusing every action (ErrDegraded), deletable; its entry is written
// back unchanged on every save, so that it can be repaired by hand and the
// appliance restarted. It never keeps the other libraries or the appliance
// from starting; only a libraries.json that cannot be read or parsed at
// all fails Open.
package library
