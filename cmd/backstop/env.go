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
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	data, store    string
	capacity       int64 // bytes; 0: what the file system gives
	compression    string
	remote         remote
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

// errNotDataDir is the error of a command pointed at a directory that is
// not a data directory.
var errNotDataDir = errors.New("not a Backstop data directory")

// open opens the data directory. Only create (put, serve, store create)
// makes one, and only in a directory that does not exist or is empty: a
// directory of documents never becomes a data directory.
func (e *env) open(ctx context.Context, create bool) (*chunkstore.Engine, error) {
	opts := chunkstore.DefaultOptions()
	opts.Create = create
	opts.Capacity = e.capacity
	if e.compression != "" {
		opts.Compression = e.compression
	}
	if err := e.cloudContainers(&opts); err != nil {
		return nil, err
	}
	if create {
		fresh, err := freshDir(e.data)
		if err != nil {
			return nil, err
		}
		if fresh {
			fmt.Fprintf(e.stderr, "backstop: creating data directory %s\n", e.data)
		}
	}
	eng, err := chunkstore.Open(ctx, e.data, opts)
	if errors.Is(err, chunkstore.ErrNoDataDir) {
		return nil, e.notDataDir()
	}
	return eng, err
}

// notDataDir is the error for --data naming no data directory.
func (e *env) notDataDir() error {
	what := e.data
	if _, err := os.Stat(e.data); errors.Is(err, os.ErrNotExist) {
		what += " (it does not exist)"
	}
	return fmt.Errorf("%w: %s\n(run \"backstop serve --data %s\" or \"backstop store create --data %s NAME\" to make one; --data DIR or BACKSTOP_DATA names another)",
		errNotDataDir, what, e.data, e.data)
}

// freshDir says whether dir is to become a new data directory (it does
// not exist, or is empty but for a file system's lost+found); an existing
// data directory is not fresh, and anything else is errNotDataDir.
func freshDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("data directory: %w", err)
	}
	fresh := true
	for _, d := range ents {
		switch d.Name() {
		case "index":
			return false, nil
		case "lost+found":
		default:
			fresh = false
		}
	}
	if !fresh {
		return false, fmt.Errorf("%w: %s holds other files\n(name an empty or new directory with --data to make a data directory there)", errNotDataDir, dir)
	}
	return true, nil
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

// subcommand picks the subcommand of a command with several (store,
// domain, replication) from args[0]. It returns "" with the error to
// return when there is none to run: help (usage on stdout, exit 0) or a
// missing or unknown one (usage on stderr, exit 2).
func (e *env) subcommand(args []string, usage string, subs ...string) (string, error) {
	if len(args) > 0 {
		switch args[0] {
		case "help", "-h", "-help", "--help":
			fmt.Fprintln(e.stdout, usage)
			return "", nil
		}
		for _, s := range subs {
			if args[0] == s {
				return s, nil
			}
		}
	}
	fmt.Fprintln(e.stderr, usage)
	return "", exitError{code: 2, err: fmt.Errorf("%s: want %s", e.name, strings.Join(subs, ", "))}
}
