package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
)

const storeUsage = `Usage:
  backstop store create [--data DIR | --server HOST[:PORT] | --web-url URL] [--domain D] [--transfer low|high] [--immutable-days N] [--clients U,V] NAME
  backstop store ls     [--data DIR | --server HOST[:PORT] | --web-url URL] [--json]
  backstop store set    [--data DIR | --server HOST[:PORT] | --web-url URL] [--transfer low|high] [--immutable-days N] [--clients U,V] NAME
  backstop store rm     [--data DIR | --server HOST[:PORT] | --web-url URL] NAME

With --server or --web-url the commands use a running appliance's REST API: --web-url
is its web address (default: https://HOST:8443 of --server), the user --user logs in
with BACKSTOP_PASSWORD or the password asked on the terminal, or BACKSTOP_TOKEN holds an
API token (Settings, API tokens); --ca or --insecure as for put --server. Without them,
create makes the data directory too when it does not exist (or is empty). A store's
domain is its dedup domain (made when it does not exist; stores of one domain share
chunks), --transfer is its Catalyst transfer policy (low: client-side dedup, high:
every byte sent), --immutable-days forbids deleting or replacing an item for N days
(for admins too), --clients the users that may use it over the network ("" or none:
every user). rm removes an empty store.`

// storeFlags are the settings store create and store set take.
type storeFlags struct {
	domain, transfer, clients string
	days                      int
}

func (f *storeFlags) add(fs *flag.FlagSet, create bool) {
	if create {
		fs.StringVar(&f.domain, "domain", chunkstore.DefaultDomain, "dedup domain (made if it does not exist)")
	}
	fs.StringVar(&f.transfer, "transfer", chunkstore.TransferLow, "transfer policy: low (client-side dedup) or high (every byte sent)")
	fs.IntVar(&f.days, "immutable-days", 0, "days during which an item can be neither deleted nor replaced (0: off)")
	fs.StringVar(&f.clients, "clients", "", "comma-separated users that may use the store over the network (empty: every user)")
}

// apply sets on o the settings named on the command line (all of them
// when all).
func (f *storeFlags) apply(fs *flag.FlagSet, o *chunkstore.StoreOptions, all bool) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if all || set["transfer"] {
		o.Transfer = f.transfer
	}
	if all || set["immutable-days"] {
		o.ImmutableDays = f.days
	}
	if all || set["clients"] {
		o.Clients = []string{}
		for c := range strings.SplitSeq(f.clients, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.Clients = append(o.Clients, c)
			}
		}
	}
}

// cmdStore: backstop store create|ls|set|rm on a data directory.
func cmdStore(ctx context.Context, e *env, args []string) error {
	sub, err := e.subcommand(args, storeUsage, "create", "ls", "set", "rm")
	if sub == "" {
		return err
	}
	e.name = "store " + sub
	fs := e.flags(false)
	var f storeFlags
	asJSON := new(bool)
	switch sub {
	case "create", "set":
		f.add(fs, sub == "create")
	case "ls":
		fs.BoolVar(asJSON, "json", false, "print JSON")
	}
	e.remoteFlags(fs)
	webURL := fs.String("web-url", os.Getenv("BACKSTOP_WEB_URL"), "the appliance's web address (https://HOST:PORT) for the REST API; default: port 8443 of --server")
	want, n := "takes the store's NAME", 1
	if sub == "ls" {
		want, n = "takes no arguments", 0
	}
	pos, err := e.parseArgs(fs, args[1:], storeUsage, n, n, want)
	if err != nil {
		return err
	}
	if e.remote.server != "" || *webURL != "" {
		return storeRemote(ctx, e, sub, fs, f, pos, *asJSON, *webURL)
	}
	eng, err := e.open(ctx, sub == "create")
	if err != nil {
		return err
	}
	defer eng.Close()
	switch sub {
	case "ls":
		return printStores(e, eng.Stores(), *asJSON)
	case "rm":
		if err := eng.DeleteStore(pos[0]); err != nil {
			if errors.Is(err, chunkstore.ErrNotEmpty) {
				return fmt.Errorf("%w (delete its items first: backstop rm --store %s NAME...)", err, pos[0])
			}
			return err
		}
		fmt.Fprintf(e.stdout, "store %s deleted\n", pos[0])
		return nil
	case "create":
		return storeCreate(e, eng, fs, f, pos[0])
	}
	info, err := eng.Store(pos[0])
	if err != nil {
		return err
	}
	o := info.StoreOptions
	f.apply(fs, &o, false)
	if info, err = eng.SetStoreOptions(pos[0], o); err != nil {
		return err
	}
	return printStores(e, []chunkstore.StoreInfo{info}, false)
}

// storeCreate makes store name with the settings of f, and its domain
// when that does not exist.
func storeCreate(e *env, eng *chunkstore.Engine, fs *flag.FlagSet, f storeFlags, name string) error {
	var o chunkstore.StoreOptions
	f.apply(fs, &o, true)
	if err := o.Validate(); err != nil {
		return err
	}
	if _, err := eng.Domain(f.domain); errors.Is(err, chunkstore.ErrNotFound) {
		if _, err := eng.CreateDomain(f.domain, chunker.DefaultParams()); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "domain %s created\n", f.domain)
	}
	if _, err := eng.CreateStore(name, f.domain); err != nil {
		return err
	}
	info, err := eng.SetStoreOptions(name, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "store %s created\n", name)
	return printStores(e, []chunkstore.StoreInfo{info}, false)
}

// printStores prints stores as a table or JSON.
func printStores(e *env, stores []chunkstore.StoreInfo, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(stores)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE\tDOMAIN\tTRANSFER\tIMMUTABLE\tCLIENTS\tREPLICA")
	for _, s := range stores {
		days, clients := "off", "every user"
		if s.ImmutableDays > 0 {
			days = fmt.Sprintf("%d days", s.ImmutableDays)
		}
		if len(s.Clients) > 0 {
			clients = strings.Join(s.Clients, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", s.Name, s.Domain, s.Transfer, days, clients, s.Replica)
	}
	return tw.Flush()
}
