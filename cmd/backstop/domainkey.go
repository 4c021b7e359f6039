package main

import (
	"context"
	"fmt"
	"os"

	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/chunkstore/chunker"
	"github.com/backstop-appliance/backstop/internal/appliance"
)

const domainKeyUsage = `  backstop domain create [--data DIR] [--encrypt [--key-file PATH]] NAME
                                                  create domain NAME; --encrypt seals its containers
                                                  (key in the data directory, or PATH outside it)
  backstop domain export-key [--data DIR] NAME FILE  write encrypted domain NAME's key to FILE ("-": stdout)
  backstop domain import-key [--data DIR] NAME FILE  put back the key of NAME from FILE (disaster recovery)`

// cmdDomainKey: backstop domain create|export-key|import-key, the domains
// with encryption at rest.
func cmdDomainKey(ctx context.Context, e *env, sub string, args []string, usage string) error {
	e.name = "domain " + sub
	fs := e.flags(false)
	encrypt := fs.Bool("encrypt", false, "seal the domain's containers (AES-256-GCM)")
	keyFile := fs.String("key-file", "", "absolute path of the key file, outside the data directory (default: in it)")
	n, want := 2, "takes a domain name and a file"
	if sub == "create" {
		n, want = 1, "takes a domain name"
	}
	pos, err := e.parseArgs(fs, args, usage, n, n, want)
	if err != nil {
		return err
	}
	eng, err := e.open(ctx, sub == "create")
	if err != nil {
		return err
	}
	defer eng.Close()
	switch sub {
	case "create":
		d, err := eng.CreateDomainWith(pos[0], chunker.DefaultParams(), chunkstore.DomainOptions{Encrypt: *encrypt, KeyFile: *keyFile})
		if err != nil {
			return err
		}
		if d.Encryption == nil {
			fmt.Fprintf(e.stdout, "domain %s created\n", d.Name)
			return nil
		}
		where := d.Encryption.KeyFile
		if where == "" {
			where = "the data directory"
		}
		fmt.Fprintf(e.stdout, "domain %s created, encrypted with key %s (in %s)\n"+
			"export it for disaster recovery: backstop domain export-key %s FILE\n", d.Name, d.Encryption.KeyID, where, d.Name)
	case "export-key":
		key, err := eng.ExportDomainKey(pos[0])
		if err != nil {
			return err
		}
		if pos[1] == "-" {
			_, err = e.stdout.Write(chunkstore.FormatKey(key))
			return err
		}
		if err := os.WriteFile(pos[1], chunkstore.FormatKey(key), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "key of domain %s written to %s (keep it secret, and apart from the data)\n", pos[0], pos[1])
	case "import-key":
		b, err := os.ReadFile(pos[1])
		if err != nil {
			return err
		}
		key, err := chunkstore.ParseKey(b)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[1], err)
		}
		if err := eng.ImportDomainKey(pos[0], key); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "key of domain %s restored\n", pos[0])
	}
	return nil
}

// partDomainKey prefixes the health part of each encrypted domain.
const partDomainKey = "domain-key:"

// domainKeyHealth is one health part per encrypted domain: failed while
// its key is missing or wrong (its stores can be neither read nor
// written), OK otherwise.
func domainKeyHealth(eng *chunkstore.Engine) []appliance.ComponentHealth {
	var parts []appliance.ComponentHealth
	for _, d := range eng.Domains() {
		if d.Encryption == nil {
			continue
		}
		p := appliance.ComponentHealth{Name: partDomainKey + d.Name, State: appliance.OK}
		if err := eng.DomainKeyError(d.Name); err != nil {
			p.State, p.Reason = appliance.Failed, err.Error()
		}
		parts = append(parts, p)
	}
	return parts
}
