package catalystpb

import (
	"time"

	"github.com/backstop-appliance/backstop/dedup"
)

// ParamsPB converts chunker parameters to the wire.
func ParamsPB(p dedup.ChunkerParams) *ChunkerParams {
	return &ChunkerParams{Algorithm: string(p.Algorithm), Min: uint32(p.Min), Avg: uint32(p.Avg), Max: uint32(p.Max), Seed: p.Seed}
}

// ParamsFromPB is the inverse of ParamsPB.
func ParamsFromPB(p *ChunkerParams) dedup.ChunkerParams {
	return dedup.ChunkerParams{Algorithm: dedup.ChunkerAlgorithm(p.GetAlgorithm()), Min: int(p.GetMin()), Avg: int(p.GetAvg()), Max: int(p.GetMax()), Seed: p.GetSeed()}
}

// ItemPB converts an item to the wire.
func ItemPB(it dedup.Item) *Item {
	return &Item{Store: it.Store, Name: it.Name, Size: it.Size, Chunks: it.Chunks, NewBytes: it.NewBytes,
		CreatedUnixNano: it.Created.UnixNano(), ModifiedUnixNano: it.Modified.UnixNano(), Meta: it.Meta}
}

// ItemFromPB converts an item of the wire.
func ItemFromPB(p *Item) dedup.Item {
	return dedup.Item{Store: p.GetStore(), Name: p.GetName(), Size: p.GetSize(), Chunks: p.GetChunks(), NewBytes: p.GetNewBytes(),
		Created: time.Unix(0, p.GetCreatedUnixNano()).UTC(), Modified: time.Unix(0, p.GetModifiedUnixNano()).UTC(), Meta: p.GetMeta()}
}

// TransferPB converts a store's transfer policy (dedup.TransferLow or
// TransferHigh; anything else is low) to the wire.
func TransferPB(policy string) Transfer {
	if policy == dedup.TransferHigh {
		return Transfer_TRANSFER_HIGH
	}
	return Transfer_TRANSFER_LOW
}

// TransferFromPB is the inverse of TransferPB.
func TransferFromPB(t Transfer) string {
	if t == Transfer_TRANSFER_HIGH {
		return dedup.TransferHigh
	}
	return dedup.TransferLow
}

// StoreInfoFromPB converts a store of the wire to what a client sees of
// it; the domain key and chunker parameters are the caller's to read.
func StoreInfoFromPB(pb *Store) dedup.StoreInfo {
	return dedup.StoreInfo{Name: pb.GetName(), Domain: pb.GetDomain(), StoreOptions: dedup.StoreOptions{
		Transfer: TransferFromPB(pb.GetTransfer()), ImmutableDays: int(pb.GetImmutableDays()), Clients: pb.GetClients()}}
}
