package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/backstop-appliance/backstop/chunkstore"
)

var errUsage = errors.New("usage")

// env is what a command talks to.
type env struct {
	name                  string
	stdin                 io.Reader
	stdout, stderr        io.Writer
	data, store           string
	capacity, compression string
	remote                remote
}

// flags returns a flag set for the command with the flags all commands
// that open a data directory share.
func (e *env) flags(withStore bool) *flag.FlagSet {
	fs := flag.NewFlagSet("backstop "+e.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	def := os.Getenv("BACKSTOP_DATA")
	if def == "" {
		def = "backstop-data"
	}
	fs.StringVar(&e.data, "data", def, "data directory")
	if withStore {
		fs.StringVar(&e.store, "store", chunkstore.DefaultStore, "store")
	}
	return fs
}

// parse parses flags wherever they appear among the arguments, as in
// "backstop put NAME FILE --data DIR"; "--" ends the flags.
func (e *env) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitError{code: 0}
			}
			return nil, errUsage
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// open opens the data directory; create says whether a missing one is
// made.
func (e *env) open(ctx context.Context, create bool) (*chunkstore.Engine, error) {
	opts := chunkstore.DefaultOptions()
	opts.Create = create
	if e.capacity != "" {
		n, err := parseSize(e.capacity)
		if err != nil {
			return nil, err
		}
		opts.Capacity = n
	}
	if e.compression != "" {
		opts.Compression = e.compression
	}
	if create {
		if _, err := os.Stat(e.data); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(e.stderr, "backstop: creating data directory %s\n", e.data)
		}
	}
	eng, err := chunkstore.Open(ctx, e.data, opts)
	if errors.Is(err, chunkstore.ErrNoDataDir) {
		return nil, fmt.Errorf("%w\n(use --data DIR or BACKSTOP_DATA to name an existing data directory; put and serve create one)", err)
	}
	return eng, err
}

// parseArgs sets the command's usage line, parses its arguments and checks
// that there are min to max positional ones (max < 0: no limit); want says
// what they should be.
func (e *env) parseArgs(fs *flag.FlagSet, args []string, usage string, min, max int, want string) ([]string, error) {
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, usage)
		fs.PrintDefaults()
	}
	pos, err := e.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < min || max >= 0 && len(pos) > max {
		return nil, e.usageError(fs, want)
	}
	return pos, nil
}

func (e *env) usageError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintf(e.stderr, "backstop %s: %s\n", e.name, msg)
	fs.Usage()
	return errUsage
}

var sizeUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}

// human formats a byte count for people.
func human(n int64) string {
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(sizeUnits)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, sizeUnits[i])
}

// parseSize reads "500G", "2TiB", "1048576".
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if t != "" {
		if k := strings.IndexByte("KMGTP", t[len(t)-1]); k >= 0 {
			mult = int64(1) << (10 * (k + 1))
			t = t[:len(t)-1]
		}
	}
	var n int64
	if _, err := fmt.Sscan(t, &n); err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want bytes, or a number with K, M, G, T or P)", s)
	}
	return n * mult, nil
}
