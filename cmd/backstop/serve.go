package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/smb2"
)

// serveFlags are the flags of backstop serve.
type serveFlags struct {
	web, iscsi, catalyst, smb, replication string
	s3                                     s3Flags
	nfs                                    string
	cert, key                              string
	metricsToken                           string
	level                                  slog.Level
	smbNegotiate                           time.Duration // smb2.Options.NegotiateTimeout

	// explicit are the flags named on the command line.
	explicit map[string]bool
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	f, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: f.level}))
	skipped, err := f.checkListeners() // before anything is created
	if err != nil {
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(e.stderr, "backstop serve: %s\n", s.reason)
	}

	eng, err := e.open(ctx, true)
	if err != nil {
		return err
	}
	defer eng.Close()
	state, err := appliance.Open(filepath.Join(eng.Dir(), "appliance"), appliance.Options{Logger: log})
	if err != nil {
		return err
	}
	defer state.Close()
	if err := firstAdmin(e, state, eng.Dir()); err != nil {
		return err
	}

	a := &frontEnds{list: serviceList{log: log}}
	defer a.close() // services first, in reverse; then libraries and shares
	if err := a.build(ctx, eng, state, f, log); err != nil {
		return err
	}
	for _, s := range skipped {
		a.core.Health().Set(s.component, appliance.Failed, s.reason)
	}
	if err := a.list.start(ctx); err != nil {
		return err
	}
	a.print(e, eng)
	for _, s := range skipped {
		fmt.Fprintf(e.stdout, "  %s\n", s.reason)
	}
	state.Record(appliance.Event{Kind: appliance.KindSystem, Action: "appliance.start", Message: "backstop " + version + " started"})

	<-ctx.Done()
	fmt.Fprintln(e.stdout, "backstop: stopping")
	a.list.stop()
	state.Record(appliance.Event{Kind: appliance.KindSystem, Action: "appliance.stop", Message: "backstop stopped"})
	return nil
}

// parseServe parses serve's flags; their names and defaults are a
// contract with scripts and unit files.
func parseServe(e *env, args []string) (serveFlags, error) {
	var f serveFlags
	fs := e.flags(false)
	fs.Var(newSizeValue(&e.capacity, 0), "capacity", "capacity limit for the volumes (e.g. 500G or 1.5T, powers of 1024; default, and at most: what the file system gives)")
	fs.StringVar(&f.web, "web", "0.0.0.0:8443", "HTTPS address of the web UI and REST API")
	fs.StringVar(&f.iscsi, "iscsi", "0.0.0.0:3260", `iSCSI address of the virtual tape libraries ("" for none)`)
	fs.StringVar(&f.cert, "tls-cert", "", "certificate (PEM) for the web server; default: self-signed, kept in DIR/tls")
	fs.StringVar(&f.key, "tls-key", "", "private key (PEM) for --tls-cert")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.catalyst, "catalyst", catalyst.DefaultAddr, `address of the Catalyst client-side dedup service (TLS, same certificate); "off" disables it`)
	fs.StringVar(&f.smb, "smb", "0.0.0.0:445", `SMB2/3 address of the shares ("" for none)`)
	fs.StringVar(&f.nfs, "nfs", "", nfsFlagUsage)
	fs.DurationVar(&f.smbNegotiate, "smb-negotiate-timeout", smb2.DefaultNegotiateTimeout, "time an SMB connection has from accept to an authenticated session")
	fs.StringVar(&f.replication, "replication", "0.0.0.0:9389", `address of the replication service (TLS, mutual; "" for none)`)
	addS3Flags(fs, &f.s3)
	fs.StringVar(&f.metricsToken, "metrics-token-file", "", `file holding the bearer token /metrics requires; default DIR/metrics.token, made on first start; "off" serves /metrics to anyone`)
	if _, err := e.parseArgs(fs, args, "Usage: backstop serve [--data DIR] [--web ADDR] [--tls-cert FILE --tls-key FILE] [--catalyst ADDR] [--smb ADDR] [--nfs ADDR] [--iscsi ADDR] [--replication ADDR] [--capacity SIZE]\n\nOn first start it creates the user admin with a random password, prints it once and\nwrites it to DIR/initial-admin-password, unless BACKSTOP_ADMIN_PASSWORD is set.", 0, 0, "takes no arguments"); err != nil {
		return f, err
	}
	f.explicit = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.explicit[fl.Name] = true })
	if (f.cert == "") != (f.key == "") {
		return f, e.usageError(fs, "--tls-cert and --tls-key go together")
	}
	if err := f.level.UnmarshalText([]byte(*logLevel)); err != nil {
		return f, e.usageError(fs, "bad --log-level: "+err.Error())
	}
	if f.catalyst == "off" {
		f.catalyst = ""
	}
	return f, nil
}

// firstAdmin creates the admin user of a new appliance.
func firstAdmin(e *env, state *appliance.State, dir string) error {
	if state.HasUsers() {
		return nil
	}
	password, fromEnv := os.LookupEnv("BACKSTOP_ADMIN_PASSWORD")
	if !fromEnv {
		password = randomPassword(20)
	}
	if _, err := state.CreateUser("admin", appliance.RoleAdmin, password); err != nil {
		return fmt.Errorf("create the admin user: %w", err)
	}
	state.Record(appliance.Event{Kind: appliance.KindAudit, Actor: "backstop", Action: "user.create", Object: "admin", Message: "initial admin user created"})
	if fromEnv {
		fmt.Fprintln(e.stdout, "created user admin with the password from BACKSTOP_ADMIN_PASSWORD")
		return nil
	}
	path := filepath.Join(dir, "initial-admin-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created user admin with password %s\n  (also in %s; change it after logging in)\n", password, path)
	return nil
}

func randomPassword(n int) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// urls lists the URLs a listener on addr answers on: every address of
// this machine when it listens on all of them.
func urls(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []string{"https://" + addr + "/"}
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsUnspecified() {
		return []string{"https://" + net.JoinHostPort(host, port) + "/"}
	}
	var out []string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{"https://" + addr + "/"}
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLinkLocalUnicast() || (ip.To4() != nil && n.IP.To4() == nil) {
			continue
		}
		out = append(out, "https://"+net.JoinHostPort(n.IP.String(), port)+"/")
	}
	return out
}
