package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/replication"
)

// cmdReplication: backstop replication export|import, the seeding of a
// replica through a removable disk.
func cmdReplication(ctx context.Context, e *env, args []string) error {
	const usage = "Usage:\n  backstop replication export [--data DIR] [--store S] [--filter PREFIX] SEEDDIR\n" +
		"  backstop replication import [--data DIR] --store TARGETSTORE SEEDDIR\n\n" +
		"export writes the items of a store, their recipes and every chunk they use once (as stored)\n" +
		"into SEEDDIR; import, on the target appliance, loads it into a read-only replica store that a\n" +
		"mapping then completes, sending only what the seed lacks."
	sub, err := e.subcommand(args, usage, "export", "import")
	if sub == "" {
		return err
	}
	fs := e.flags(true)
	filter := fs.String("filter", "", "export the items whose names start with PREFIX")
	rest, err := e.parseArgs(fs, args[1:], usage, 1, 1, "takes the seed directory")
	if err != nil {
		return err
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	start := time.Now()
	if sub == "export" {
		sd, err := replication.Export(ctx, eng, e.store, *filter, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "exported %d items of store %s: %d chunks, %s as stored, in %s\n",
			len(sd.Items), sd.Store, sd.Chunks, human(sd.StoredBytes), time.Since(start).Round(time.Millisecond))
		return nil
	}
	sd, n, err := replication.ImportSeed(ctx, eng, rest[0], e.store)
	if err != nil {
		return fmt.Errorf("%w (%d of %d items imported)", err, n, len(sd.Items))
	}
	fmt.Fprintf(e.stdout, "imported %d items into replica store %s (%s as stored) in %s\n", n, e.store, human(sd.StoredBytes), time.Since(start).Round(time.Millisecond))
	return nil
}

// domainFile is what domain export writes and import reads.
type domainFile struct {
	Name    string         `json:"name"`
	Key     []byte         `json:"key"`
	Chunker chunker.Params `json:"chunker"`
}

// cmdDomain: backstop domain export|import, sharing a dedup domain key
// between appliances so that they fingerprint alike (fan-in replication).
func cmdDomain(ctx context.Context, e *env, args []string) error {
	const usage = "Usage:\n  backstop domain export [--data DIR] NAME FILE    write domain NAME with its key (keep FILE secret)\n" +
		"  backstop domain import [--data DIR] NAME FILE    create domain NAME with the key in FILE\n" +
		"  backstop domain store  [--data DIR] NAME STORE   create STORE in domain NAME\n" + domainKeyUsage
	sub, err := e.subcommand(args, usage, "export", "import", "store", "create", "export-key", "import-key")
	if sub == "" {
		return err
	}
	if sub == "create" || sub == "export-key" || sub == "import-key" {
		return cmdDomainKey(ctx, e, sub, args[1:], usage)
	}
	fs := e.flags(false)
	rest, err := e.parseArgs(fs, args[1:], usage, 2, 2, "takes a domain name and a file (or store)")
	if err != nil {
		return err
	}
	eng, err := e.open(ctx, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	switch sub {
	case "export":
		d, err := eng.Domain(rest[0])
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(domainFile{Name: d.Name, Key: d.Key, Chunker: d.Chunker}, "", "  ")
		if err := os.WriteFile(rest[1], append(b, '\n'), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "domain %s exported to %s\n", d.Name, rest[1])
	case "import":
		var df domainFile
		b, err := os.ReadFile(rest[1])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &df); err != nil {
			return fmt.Errorf("%s: %w", rest[1], err)
		}
		d, created, err := eng.ImportDomain(rest[0], df.Key, df.Chunker)
		if err != nil {
			return err
		}
		if !created {
			fmt.Fprintf(e.stdout, "domain %s already holds this key\n", d.Name)
			return nil
		}
		fmt.Fprintf(e.stdout, "domain %s created with the key of %s\n", d.Name, df.Name)
	case "store":
		if _, err := eng.CreateStore(rest[1], rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "store %s created in domain %s\n", rest[1], rest[0])
	}
	return nil
}
