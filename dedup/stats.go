package dedup

// Stats are the figures of a data directory (or, from the Catalyst client,
// of the stores its user may use).
type Stats struct {
	// LogicalBytes is the size of all items together, as written.
	LogicalBytes int64 `json:"logical_bytes"`
	// StoredBytes is what the volumes hold: every container with its
	// header and footer, including chunks of deleted items that
	// housekeeping has not reclaimed yet.
	StoredBytes int64 `json:"stored_bytes"`
	// DedupRatio is LogicalBytes / StoredBytes (compression included).
	DedupRatio    float64      `json:"dedup_ratio"`
	CapacityBytes int64        `json:"capacity_bytes"`
	Items         int64        `json:"items"`
	Containers    int          `json:"containers"`
	Volumes       int          `json:"volumes"`
	Stores        []StoreStats `json:"stores"`
}

// StoreStats are the figures of one store.
type StoreStats struct {
	Name         string `json:"name"`
	Domain       string `json:"domain"`
	Items        int64  `json:"items"`
	LogicalBytes int64  `json:"logical_bytes"`
	// StoredBytes is what the store's items added to the volumes when they
	// were written: data they share with items written before them in the
	// same domain counts for those.
	StoredBytes int64   `json:"stored_bytes"`
	DedupRatio  float64 `json:"dedup_ratio"`
}
