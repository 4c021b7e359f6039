package appliance

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// DamagedItem is an item whose data the last verify found damaged, named
// by what users know: a share's file (Share, Path), a library's cartridge
// (Library, Barcode), else its store and item. Name says it in one line.
type DamagedItem struct {
	Store   string `json:"store"`
	Item    string `json:"item"`
	Share   string `json:"share,omitempty"`
	Path    string `json:"path,omitempty"`
	Library string `json:"library,omitempty"`
	Barcode string `json:"barcode,omitempty"`
	Name    string `json:"name"`
}

// ItemName is what users know an item by: the share and path of the file
// it holds, or the library and barcode of the cartridge it is part of.
type ItemName struct {
	Share, Path      string
	Library, Barcode string
}

// Namer names the items of the stores that shares and libraries own;
// ok false: not an item it knows (cmd/backstop wires the share and
// library managers).
type Namer interface {
	NameItem(ctx context.Context, store, item string) (ItemName, bool)
}

// ItemStat tells whether an item exists: a *chunkstore.Engine.
type ItemStat interface {
	Stat(ctx context.Context, store, name string) (chunkstore.Item, error)
}

// nameDamaged names the item store/item with namer (nil: by store and
// item only).
func nameDamaged(ctx context.Context, namer Namer, store, item string) DamagedItem {
	d := DamagedItem{Store: store, Item: item, Name: fmt.Sprintf("store %s, item %s", store, item)}
	if namer == nil {
		return d
	}
	n, ok := namer.NameItem(ctx, store, item)
	switch {
	case !ok:
	case n.Share != "":
		d.Share, d.Path, d.Name = n.Share, n.Path, fmt.Sprintf("share %s: %s", n.Share, n.Path)
	case n.Library != "":
		d.Library, d.Barcode, d.Name = n.Library, n.Barcode, fmt.Sprintf("library %s: cartridge %s", n.Library, n.Barcode)
	}
	return d
}

// damagedItems names the items of a verify's damage (store/item strings),
// each once, sorted by name.
func damagedItems(ctx context.Context, namer Namer, ds []chunkstore.Damage) []DamagedItem {
	seen := map[string]bool{}
	out := []DamagedItem{}
	for _, d := range ds {
		for _, it := range d.Items {
			if seen[it] {
				continue
			}
			seen[it] = true
			store, item, _ := strings.Cut(it, "/")
			out = append(out, nameDamaged(ctx, namer, store, item))
		}
	}
	sortDamage(out)
	return out
}

func sortDamage(ds []DamagedItem) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
}

// damageReason is the verify part's reason for damage.
// regions < 0: not known any more (some items were deleted since).
func damageReason(regions int, items []DamagedItem) string {
	if len(items) == 0 {
		return fmt.Sprintf("damaged: the last verify found %s that no item uses", plural(regions, "damaged chunk or container", "damaged chunks or containers"))
	}
	names := make([]string, 0, 3)
	for i, d := range items {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(items)-3))
			break
		}
		names = append(names, d.Name)
	}
	if regions < 0 {
		return fmt.Sprintf("damaged: the last verify found damage in %s that still exist (%s)",
			plural(len(items), "item", "items"), strings.Join(names, "; "))
	}
	return fmt.Sprintf("damaged: the last verify found %s in %s (%s)",
		plural(regions, "damaged chunk or container", "damaged chunks or containers"), plural(len(items), "item", "items"),
		strings.Join(names, "; "))
}

// plural is n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// SetDamage records what a verify found: the verify part degraded with
// the damaged items, or, with no damage, ok and no items.
func (h *Health) SetDamage(regions int, items []DamagedItem) {
	st, why := OK, ""
	if regions > 0 {
		st, why = Degraded, damageReason(regions, items)
	}
	h.mu.Lock()
	h.damage = append([]DamagedItem{}, items...)
	ev, _ := h.setLocked(ComponentHealth{Name: ComponentVerify, State: st, Reason: why})
	h.saveLocked()
	h.mu.Unlock()
	h.record(ev)
}

// RefreshDamage drops from the damage the items that no longer exist
// (deleted, or rewritten: a share file's new version is a new item) and
// names the others again (a file may have moved). When the last damaged
// item is gone the verify part is ok again; damage that no item used
// stays until a verify runs clean. Serve calls it at start, after
// deletes through the API and periodically.
func (h *Health) RefreshDamage(ctx context.Context, items ItemStat, namer Namer) error {
	h.mu.Lock()
	old := append([]DamagedItem{}, h.damage...)
	h.mu.Unlock()
	if len(old) == 0 {
		return nil
	}
	kept := make([]DamagedItem, 0, len(old))
	for _, d := range old {
		_, err := items.Stat(ctx, d.Store, d.Item)
		switch {
		case errors.Is(err, chunkstore.ErrNotFound):
			continue
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			kept = append(kept, d) // cannot tell: keep it
			continue
		}
		kept = append(kept, nameDamaged(ctx, namer, d.Store, d.Item))
	}
	sortDamage(kept)
	h.mu.Lock()
	if !sameDamage(h.damage, old) || sameDamage(kept, old) {
		h.mu.Unlock() // a verify ended meanwhile (its word is newer), or nothing changed
		return nil
	}
	h.damage = kept
	var ev *Event
	if len(kept) == 0 {
		ev, _ = h.setLocked(ComponentHealth{Name: ComponentVerify, State: OK,
			Reason: "the damaged items were deleted"})
	} else if v, ok := h.parts[ComponentVerify]; ok && v.State != OK {
		v.Reason = damageReason(-1, kept)
		h.parts[ComponentVerify] = v
	}
	h.saveLocked()
	h.mu.Unlock()
	h.record(ev)
	return nil
}

func sameDamage(a, b []DamagedItem) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
