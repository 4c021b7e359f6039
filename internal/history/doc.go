// Package history keeps the appliance's figures over time on disk:
// stored, logical and capacity bytes and the ingest and restore rates,
// sampled periodically and downsampled into tiers so that years fit in a
// bounded size.
//
// # Tiers
//
// Tier 0 holds every sample (one a minute by default) for two days; the
// coarser tiers hold one point per 15 minutes for three weeks, per 2
// hours for six months and per day for five years (DefaultTiers). A
// coarser point sums up the finer points of its bucket (buckets are
// aligned on UTC midnight): the levels (stored,
// logical, capacity) and the time are those of the bucket's last point,
// the rates are the mean of the bucket's rates. A tier is fed by the tier
// below it as its buckets close.
//
// # Files
//
// Each tier is one file in the directory, tier-N.hist: an 8-byte header
// "bshist01", then fixed-size records of 52 bytes, little endian:
//
//	time      int64   Unix milliseconds
//	stored    int64   bytes
//	logical   int64   bytes
//	capacity  int64   bytes
//	ingest    float64 bytes per second
//	restore   float64 bytes per second
//	crc       uint32  CRC-32C of the 48 bytes before it
//
// A point is one append and an fsync. Open keeps the records up to the
// first torn or corrupt one and truncates the rest (what a crash in the
// middle of an append leaves). When a file holds a quarter more records
// than its tier keeps, it is rewritten with the kept ones into a
// temporary file that is synced and renamed over it, so a crash leaves
// either file whole. The bucket a coarser tier is filling is not stored:
// Open rebuilds it from the finer tier's points after the coarser tier's
// last point, which the finer tier always still holds.
//
// # Bounds
//
// With the default tiers and a one-minute interval the tiers keep 2,880
// + 2,016 + 2,196 + 1,826 = 8,918 points; with the quarter of slack
// before a rewrite the files never pass 4 × 8 + 11,148 × 52 bytes, about
// 580 KB (docs/decisions.md "History on disk").
package history
