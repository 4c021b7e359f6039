package catalyst

import (
	"context"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/backstop-appliance/backstop/catalyst/catalystpb"
	"github.com/backstop-appliance/backstop/chunkstore"
)

// getBuf is the data carried by one Get message.
const getBuf = 1 << 20

// listBatch is how many items one List message carries.
const listBatch = 1000

// GetStore implements the call of that name.
func (s *Server) GetStore(ctx context.Context, req *catalystpb.GetStoreRequest) (*catalystpb.Store, error) {
	info, err := s.allowed(ctx, req.GetStore(), false)
	if err != nil {
		return nil, toStatus(err)
	}
	dom, err := s.eng.StoreDomain(info.Name)
	if err != nil {
		return nil, toStatus(err)
	}
	return storePB(info, &dom), nil
}

// ListStores implements the call of that name.
func (s *Server) ListStores(ctx context.Context, _ *catalystpb.ListStoresRequest) (*catalystpb.ListStoresResponse, error) {
	u := userFrom(ctx)
	out := &catalystpb.ListStoresResponse{}
	for _, info := range s.eng.Stores() {
		if s.mayUse(u, info) {
			out.Stores = append(out.Stores, storePB(info, nil))
		}
	}
	return out, nil
}

// Get implements the call of that name.
func (s *Server) Get(req *catalystpb.GetRequest, stream catalystpb.Catalyst_GetServer) error {
	s.t.active.Add(1)
	defer s.t.active.Add(-1)
	return toStatus(s.get(req, stream))
}

func (s *Server) get(req *catalystpb.GetRequest, stream catalystpb.Catalyst_GetServer) error {
	ctx := stream.Context()
	info, err := s.allowed(ctx, req.GetStore(), false)
	if err != nil {
		return err
	}
	r, err := s.eng.OpenItem(ctx, info.Name, req.GetName())
	if err != nil {
		return err
	}
	defer r.Close()
	off, end := req.GetOffset(), r.Size()
	if off < 0 || off > end || req.GetLength() < 0 {
		return fmt.Errorf("%w: range %d+%d of an item of %d bytes", chunkstore.ErrInvalid, off, req.GetLength(), end)
	}
	if req.GetLength() > 0 {
		end = min(end, off+req.GetLength())
	}
	send := func(m *catalystpb.GetResponse) error {
		s.t.out.Add(int64(proto.Size(m)))
		return stream.Send(m)
	}
	if err := send(&catalystpb.GetResponse{Item: catalystpb.ItemPB(r.Item())}); err != nil {
		return err
	}
	buf := make([]byte, getBuf)
	for off < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if n > 0 {
			if err := send(&catalystpb.GetResponse{Data: buf[:n]}); err != nil {
				return err
			}
			off += int64(n)
		}
		if err != nil && err != io.EOF {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: item ended at %d", chunkstore.ErrCorrupt, off)
		}
	}
	s.t.gets.Add(1)
	return nil
}

// List implements the call of that name.
func (s *Server) List(req *catalystpb.ListRequest, stream catalystpb.Catalyst_ListServer) error {
	ctx := stream.Context()
	info, err := s.allowed(ctx, req.GetStore(), false)
	if err != nil {
		return toStatus(err)
	}
	items, err := s.eng.ListItems(ctx, info.Name, chunkstore.ListOptions{Prefix: req.GetPrefix(), Meta: req.GetMeta()})
	if err != nil {
		return toStatus(err)
	}
	for len(items) > 0 {
		k := min(len(items), listBatch)
		m := &catalystpb.ListResponse{}
		for _, it := range items[:k] {
			m.Items = append(m.Items, catalystpb.ItemPB(it))
		}
		s.t.out.Add(int64(proto.Size(m)))
		if err := stream.Send(m); err != nil {
			return err
		}
		items = items[k:]
	}
	return nil
}

// Stat implements the call of that name.
func (s *Server) Stat(ctx context.Context, req *catalystpb.StatRequest) (*catalystpb.Item, error) {
	info, err := s.allowed(ctx, req.GetStore(), false)
	if err != nil {
		return nil, toStatus(err)
	}
	it, err := s.eng.Stat(ctx, info.Name, req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return catalystpb.ItemPB(it), nil
}

// Delete implements the call of that name.
func (s *Server) Delete(ctx context.Context, req *catalystpb.DeleteRequest) (*catalystpb.DeleteResponse, error) {
	info, err := s.allowed(ctx, req.GetStore(), true)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := s.eng.Delete(ctx, info.Name, req.GetName()); err != nil {
		return nil, toStatus(err)
	}
	s.audit(ctx, "item.delete", info.Name+"/"+req.GetName(), "deleted over catalyst")
	return &catalystpb.DeleteResponse{}, nil
}

// Copy implements the call of that name.
func (s *Server) Copy(ctx context.Context, req *catalystpb.CopyRequest) (*catalystpb.Item, error) {
	src, err := s.allowed(ctx, req.GetStore(), false)
	if err != nil {
		return nil, toStatus(err)
	}
	dst, err := s.allowed(ctx, req.GetToStore(), true)
	if err != nil {
		return nil, toStatus(err)
	}
	it, err := s.eng.CopyItem(ctx, src.Name, req.GetName(), dst.Name, req.GetToName(), req.GetReplace())
	if err != nil {
		return nil, toStatus(err)
	}
	s.audit(ctx, "item.copy", dst.Name+"/"+req.GetToName(), "copied from "+src.Name+"/"+req.GetName()+" over catalyst")
	return catalystpb.ItemPB(it), nil
}

// Stats implements the call of that name: the figures of the stores the
// user may read, and their totals. They are store-relative (a store's
// stored bytes are its items' new bytes), so they never move when
// someone writes to a store the user may not read; the pool's own
// figures (containers, capacity, chunk counters) are not sent to anyone
// (docs/security.md "Figures").
func (s *Server) Stats(ctx context.Context, _ *catalystpb.StatsRequest) (*catalystpb.StatsResponse, error) {
	u := userFrom(ctx)
	allowed := map[string]bool{}
	for _, info := range s.eng.Stores() {
		allowed[info.Name] = s.mayUse(u, info)
	}
	st := s.eng.Stats()
	out := &catalystpb.StatsResponse{}
	for _, ss := range st.Stores {
		if !allowed[ss.Name] {
			continue
		}
		out.Stores = append(out.Stores, &catalystpb.StoreStats{Name: ss.Name, Domain: ss.Domain, Items: ss.Items,
			LogicalBytes: ss.LogicalBytes, StoredBytes: ss.StoredBytes, DedupRatio: ss.DedupRatio})
		out.Items += ss.Items
		out.LogicalBytes += ss.LogicalBytes
		out.StoredBytes += ss.StoredBytes
	}
	if out.StoredBytes > 0 {
		out.DedupRatio = float64(out.LogicalBytes) / float64(out.StoredBytes)
	}
	return out, nil
}
