// Command backstop is the Backstop appliance and its command-line client.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/backstop-appliance/backstop/chunkstore"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `backstop: a deduplicating backup target

Usage:
  backstop serve  [--data DIR]                       run the appliance on a data directory
  backstop put    [--data DIR] [--store S] NAME [FILE|-]   store FILE (or stdin) as item NAME
  backstop get    [--data DIR] [--store S] NAME [FILE|-]   restore item NAME to FILE (or stdout)
  backstop ls     [--data DIR] [--store S] [PREFIX]  list items
  backstop rm     [--data DIR] [--store S] NAME...   delete items
  backstop stats  [--data DIR] [--json]              logical and stored bytes, dedup ratio
  backstop verify [--data DIR] [--slice N]           read back and check every chunk (or 1/N)
  backstop housekeeping [--data DIR] [--dry-run]     reclaim the space of deleted items ("gc" too)
  backstop store create|ls|set|rm [--data DIR] [NAME]  manage stores (domain, transfer policy, immutability, clients)
  backstop replication export|import [--data DIR] [--store S] SEEDDIR   seed a replica
  backstop domain export|import|store [--data DIR] NAME ARG   share a dedup domain key
  backstop cloud init|ls [--data DIR] ...            a data directory whose containers live in a bucket
  backstop health [--url URL] [--insecure]             is the appliance up (and, with $BACKSTOP_PASSWORD, healthy)?
  backstop s3-key create|ls|rm [--url URL] [--for USER] [ACCESS_KEY]   S3 access keys (of a running appliance)
  backstop version

put, get, ls, rm and stats also work over the network with --server HOST:PORT in place of
--data (Catalyst client-side dedup; --store, --user or $BACKSTOP_USER, $BACKSTOP_PASSWORD,
--ca FILE or --insecure).

The data directory is --data, else $BACKSTOP_DATA, else ./backstop-data.
The commands other than serve open the data directory themselves and refuse
while a running server holds it; only serve, put and store create make one (in a
new or empty directory). Sizes (--capacity, --size) are bytes or a number with K,
M, G, T, P or E (powers of 1024; 1.5G is exact, 1.3K is refused). Run "backstop COMMAND --help" for its flags.
`

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	// BACKSTOP_CPUPROFILE=FILE writes a CPU profile of the command, for
	// the figures in docs/performance.md.
	if path := os.Getenv("BACKSTOP_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f) // a profiling aid: the command runs either way
			code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	commands := map[string]func(context.Context, *env, []string) error{
		"serve": cmdServe, "put": cmdPut, "get": cmdGet, "ls": cmdLs, "rm": cmdRm,
		"stats": cmdStats, "verify": cmdVerify,
		"housekeeping": cmdHousekeeping, "gc": cmdHousekeeping, // gc: its name before 0.2
		"replication": cmdReplication, "domain": cmdDomain, "store": cmdStore,
		"health": cmdHealth, "s3-key": cmdS3Key, "cloud": cmdCloud,
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "backstop", version)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "backstop: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, name: args[0]}
	err := cmd(ctx, e, args[1:])
	if e.remote.server != "" {
		err = plainRemote(err, e.remote)
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "backstop %s: %v\n", args[0], ee.err)
		}
		return ee.code
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "backstop %s: %v\n", args[0], friendly(err))
	return 1
}

// friendly turns engine errors into what a person can act on.
func friendly(err error) error {
	switch {
	case isPlain(err):
		return err
	case errors.Is(err, chunkstore.ErrFull):
		return fmt.Errorf("%w\n(the item was not stored; free space or raise the capacity, then retry)", err)
	case strings.Contains(err.Error(), "x509: certificate signed by unknown authority"):
		return fmt.Errorf("%w\n(the appliance's certificate is self-signed: pass --ca DATA/tls/cert.pem, or --insecure)", err)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted; nothing was stored or changed by this command")
	}
	return err
}
