package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/chunkstore"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/replication"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/library"
	"github.com/backstop-appliance/backstop/web"
)

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := e.flags(false)
	fs.StringVar(&e.capacity, "capacity", "", "capacity limit for the volumes (e.g. 500G; default: free disk space)")
	webAddr := fs.String("web", "0.0.0.0:8443", "HTTPS address of the web UI and REST API")
	iscsiAddr := fs.String("iscsi", "0.0.0.0:3260", `iSCSI address of the virtual tape libraries ("" for none)`)
	cert := fs.String("tls-cert", "", "certificate (PEM) for the web server; default: self-signed, kept in DIR/tls")
	key := fs.String("tls-key", "", "private key (PEM) for --tls-cert")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	catalystAddr := fs.String("catalyst", catalyst.DefaultAddr, `address of the Catalyst client-side dedup service (TLS, same certificate); "off" disables it`)
	smbAddr := fs.String("smb", "0.0.0.0:445", `SMB2/3 address of the shares ("" for none)`)
	replAddr := fs.String("replication", "0.0.0.0:9389", `address of the replication service (TLS, mutual; "" for none)`)
	if _, err := e.parseArgs(fs, args, "Usage: backstop serve [--data DIR] [--web ADDR] [--tls-cert FILE --tls-key FILE] [--catalyst ADDR] [--smb ADDR] [--iscsi ADDR] [--replication ADDR] [--capacity SIZE]\n\nOn first start it creates the user admin with a random password, prints it once and\nwrites it to DIR/initial-admin-password, unless BACKSTOP_ADMIN_PASSWORD is set.", 0, 0, "takes no arguments"); err != nil {
		return err
	}
	if (*cert == "") != (*key == "") {
		return e.usageError(fs, "--tls-cert and --tls-key go together")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return e.usageError(fs, "bad --log-level: "+err.Error())
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

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

	var cat *catalyst.Server
	if *catalystAddr != "off" && *catalystAddr != "" {
		certificate, err := web.Certificate(*cert, *key, filepath.Join(eng.Dir(), "tls"))
		if err != nil {
			return err
		}
		cat = catalyst.New(eng, state, catalyst.Options{Addr: *catalystAddr, Certificate: &certificate, Logger: log, Audit: state})
		if err := cat.Start(ctx); err != nil {
			return err
		}
		defer func() {
			shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cat.Shutdown(shut)
		}()
	}
	mo := sharefs.DefaultManagerOptions()
	mo.Logger = log
	shares, err := sharefs.OpenManager(ctx, eng, eng.Dir(), mo)
	if err != nil {
		return err
	}
	defer shares.Close()
	libs, err := library.Open(ctx, filepath.Join(eng.Dir(), "vtl"), eng, library.Options{Default: true, Logger: log})
	if err != nil {
		return err
	}
	defer libs.Close(context.Background()) // commits what the drives hold

	opts := web.DefaultOptions()
	opts.Libraries = libs
	opts.Addr, opts.CertFile, opts.KeyFile = *webAddr, *cert, *key
	opts.TLSDir = filepath.Join(eng.Dir(), "tls")
	opts.Version, opts.Logger = version, log
	if cat != nil {
		opts.Catalyst = cat
	}
	opts.Shares = shares
	var replInfo string
	if *replAddr != "" {
		rsvc, addr, err := startReplication(ctx, eng, state, log, *replAddr, *cert, *key)
		if err != nil {
			return err
		}
		defer rsvc.Shutdown(context.Background())
		opts.Replication = rsvc
		replInfo = fmt.Sprintf("  replication: %s (certificate sha256 %s)\n", addr, rsvc.Identity().Fingerprint)
	}
	srv, err := web.New(eng, state, opts)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	var smbSrv *smb2.Server
	if *smbAddr != "" {
		so := smb2.DefaultOptions()
		so.Logger, so.Addr = log, *smbAddr
		smbSrv = smb2.New(shares, state, so)
		if err = smbSrv.Start(ctx); err != nil {
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shut)
			return fmt.Errorf("smb: %w", err)
		}
		defer smbSrv.Shutdown(context.Background())
	}
	var isrv *iscsi.Server
	var iaddr string
	if *iscsiAddr != "" {
		isrv = newISCSI(*iscsiAddr, libs, log)
		if err = isrv.Start(ctx); err != nil {
			srv.Shutdown(context.Background())
			return fmt.Errorf("iscsi: %w", err)
		}
		iaddr = isrv.Addr()
	}
	st := eng.Stats()
	fmt.Fprintf(e.stdout, "backstop %s serving data directory %s\n", version, eng.Dir())
	fmt.Fprintf(e.stdout, "  %d items, %s logical, %s stored (dedup %.2fx), capacity %s\n",
		st.Items, human(st.LogicalBytes), human(st.StoredBytes), st.DedupRatio, human(st.CapacityBytes))
	for _, u := range urls(srv.Addr()) {
		fmt.Fprintf(e.stdout, "  web UI and REST API: %s\n", u)
	}
	if cat != nil {
		fmt.Fprintf(e.stdout, "  catalyst (client-side dedup, TLS): %s\n", cat.Addr())
	}
	if smbSrv != nil {
		fmt.Fprintf(e.stdout, "  SMB shares: %s (users and passwords of the appliance)\n", smbSrv.Addr())
	}
	if isrv != nil {
		printISCSI(e, iaddr, libs)
	}
	fmt.Fprint(e.stdout, replInfo)
	fmt.Fprintln(e.stdout, "  the data directory is held: backstop put/get/ls on it refuse until this stops (Ctrl-C or SIGTERM)")
	state.Record(appliance.Event{Kind: appliance.KindSystem, Action: "appliance.start", Message: "backstop " + version + " started"})

	<-ctx.Done()
	fmt.Fprintln(e.stdout, "backstop: stopping")
	shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		log.Warn("web server shutdown", "err", err)
	}
	if isrv != nil {
		isrv.Shutdown(shut) // sessions end with a nexus loss before the libraries close
	}
	state.Record(appliance.Event{Kind: appliance.KindSystem, Action: "appliance.stop", Message: "backstop stopped"})
	return nil
}

// startReplication runs the replication service on addr with the
// appliance's certificate.
func startReplication(ctx context.Context, eng *chunkstore.Engine, state *appliance.State, log *slog.Logger, addr, cert, key string) (*replication.Service, string, error) {
	c, err := web.Certificate(cert, key, filepath.Join(eng.Dir(), "tls"))
	if err != nil {
		return nil, "", err
	}
	ro := replication.DefaultOptions()
	ro.Dir, ro.Certificate, ro.State, ro.Logger, ro.Addr = filepath.Join(eng.Dir(), "replication"), c, state, log, addr
	svc, err := replication.New(eng, ro)
	if err != nil {
		return nil, "", err
	}
	if err := svc.Start(ctx); err != nil {
		svc.Shutdown(context.Background())
		return nil, "", err
	}
	return svc, svc.Addr(), nil
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
