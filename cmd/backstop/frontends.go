package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/backstop-appliance/backstop/catalyst"
	"github.com/backstop-appliance/backstop/chunkstore"
	dedupvocab "github.com/backstop-appliance/backstop/dedup"
	"github.com/backstop-appliance/backstop/internal/appliance"
	"github.com/backstop-appliance/backstop/nas/nfs"
	"github.com/backstop-appliance/backstop/nas/sharefs"
	"github.com/backstop-appliance/backstop/nas/smb2"
	"github.com/backstop-appliance/backstop/replication"
	"github.com/backstop-appliance/backstop/s3"
	"github.com/backstop-appliance/backstop/vtl/iscsi"
	"github.com/backstop-appliance/backstop/vtl/library"
	"github.com/backstop-appliance/backstop/web"
)

// frontEnds are the appliance's protocol services and what they serve
// beside the engine: the shares and the tape libraries. A nil service is
// switched off by its flag.
type frontEnds struct {
	shares  *sharefs.Manager
	libs    *library.Manager
	cat     *catalyst.Server
	repl    *replication.Service
	web     *web.Server
	smb     *smb2.Server
	nfs     *nfs.Server
	iscsi   *iscsi.Server
	s3      *s3.Server
	s3keys  *appliance.S3Keys
	s3Plain bool
	core    *appliance.Core
	// metrics says how /metrics is protected, for print.
	metrics string
	logins  *appliance.Limiter // one for every protocol's logins
	alerts  *alertService
	// failures counts every front end's failed commits; web exports it
	// (backstop_commit_failures_total).
	failures dedupvocab.CommitFailures
	list     serviceList
}

// build opens the shares and the libraries and makes the services, in
// the order they start: Catalyst, replication, web, SMB, iSCSI. Stopping
// goes the other way, so iSCSI sessions end (a nexus loss each) before
// the libraries close.
func (a *frontEnds) build(ctx context.Context, eng *chunkstore.Engine, state *appliance.State, f serveFlags, log *slog.Logger) error {
	c, err := appliance.Certificate(f.cert, f.key, filepath.Join(eng.Dir(), "tls"))
	if err != nil {
		return err
	}
	cert := &c
	// The policy asks own who owns a store; the share manager, opened
	// below with the policy, joins it before any service starts.
	own := &owners{eng: eng}
	// The namer names damaged items by share path and cartridge; its
	// managers join once open, before any service starts.
	namer := &itemNamer{}
	a.core = appliance.NewCore(eng, state, appliance.CoreOptions{Logger: log, Owners: own, Namer: namer,
		HealthDir: filepath.Join(eng.Dir(), "appliance"), TaskDir: filepath.Join(eng.Dir(), "appliance", "tasks")})
	a.logins = appliance.NewLimiter(appliance.LimiterOptions{Audit: state, Logger: log})
	a.core.Health().Set(appliance.ComponentEngine, appliance.OK, "")
	a.list.health = a.core.Health()
	// The core runs the jobs web starts; it stops after every front end.
	a.list.add("appliance core", "", "", coreService{a.core})
	// Alerts start before anything records events and stop last but one.
	a.alerts = newAlerts(eng, state, log)
	a.list.add("alerts", "", "", a.alerts)
	if f.catalyst != "" {
		a.cat = catalyst.New(eng, state, catalyst.Options{Addr: f.catalyst, Certificate: cert, Logger: log, Audit: state,
			Logins: a.logins, Policy: a.core.Policy(), Failures: &a.failures})
		a.list.add("catalyst server", "", appliance.ComponentCatalyst, a.cat)
	}
	mo := sharefs.DefaultManagerOptions()
	mo.Logger, mo.Policy = log, sharePolicy{users: state, policy: a.core.Policy()}
	if a.shares, err = sharefs.OpenManager(ctx, eng, eng.Dir(), mo); err != nil {
		return err
	}
	own.shares, namer.shares = a.shares, a.shares
	if a.libs, err = library.Open(ctx, filepath.Join(eng.Dir(), "vtl"), eng, library.Options{Default: true, Logger: log, Failures: &a.failures}); err != nil {
		return err
	}
	namer.libs = a.libs
	a.syncDegraded()
	if f.replication != "" {
		ro := replication.DefaultOptions()
		ro.Addr, ro.Dir, ro.Certificate, ro.State, ro.Logger = f.replication, filepath.Join(eng.Dir(), "replication"), *cert, state, log
		ro.Failures, ro.Tasks = &a.failures, a.core.Tasks()
		if a.repl, err = replication.New(eng, ro); err != nil {
			return err
		}
		a.list.add("replication service", "", appliance.ComponentReplication, a.repl)
	}
	a.list.add("health monitor", "", "", &healthMonitor{eng: eng, repl: a.repl, health: a.core.Health(), log: log,
		interval: healthInterval})
	if err := a.buildS3(eng, state, f.s3, cert, log); err != nil {
		return err
	}
	if a.web, err = newWeb(eng, state, f, cert, log, a); err != nil {
		return err
	}
	a.list.add("web server", "", appliance.ComponentWeb, a.web)
	if f.smb != "" {
		so := smb2.DefaultOptions()
		so.Addr, so.Logger, so.NegotiateTimeout, so.Logins = f.smb, log, f.smbNegotiate, a.logins
		so.Failures = &a.failures
		a.smb = smb2.New(a.shares, state, so)
		a.list.add("smb server", "smb", appliance.ComponentSMB, a.smb)
	}
	if f.nfs != "" {
		a.nfs = newNFS(f.nfs, a.shares, log)
		a.list.add("nfs server", "nfs", "", a.nfs)
	}
	if f.iscsi != "" {
		a.iscsi = newISCSI(f.iscsi, a.libs, a.logins, log)
		a.list.add("iscsi server", "iscsi", appliance.ComponentISCSI, a.iscsi)
	}
	return nil
}

// newWeb makes the web server over the engine, the state and the other
// front ends.
func newWeb(eng *chunkstore.Engine, state *appliance.State, f serveFlags, cert *tls.Certificate, log *slog.Logger, a *frontEnds) (*web.Server, error) {
	opts := web.DefaultOptions()
	// Deleting or changing a share or library through the API may end
	// its degraded state: the health parts follow.
	if a.libs != nil {
		opts.Libraries = healthLibraries{a.libs, a.afterDelete}
	}
	if a.shares != nil {
		opts.Shares = healthShares{a.shares, a.afterDelete}
	}
	opts.Addr, opts.Certificate, opts.Core = f.web, cert, a.core
	opts.Version, opts.Logger, opts.Logins = version, log, a.logins
	if a.alerts != nil {
		opts.Alerts = a.alerts.d
	}
	opts.CommitFailures = &a.failures
	if err := historyOptions(&opts, eng.Dir()); err != nil {
		return nil, err
	}
	var err error
	if opts.MetricsToken, err = metricsToken(f.metricsToken, eng.Dir()); err != nil {
		return nil, err
	}
	switch {
	case opts.MetricsToken == "":
		a.metrics = "open to anyone (--metrics-token-file off)"
	case f.metricsToken != "":
		a.metrics = "bearer token in " + f.metricsToken
	default:
		a.metrics = "bearer token in " + filepath.Join(eng.Dir(), "metrics.token")
	}
	if a.cat != nil {
		opts.Catalyst = a.cat
	}
	if a.repl != nil {
		opts.Replication = a.repl
	}
	if a.s3keys != nil {
		opts.S3Keys = a.s3keys
	}
	return web.New(eng, state, opts)
}

// metricsToken is the bearer token /metrics requires: the first line of
// file, or of DIR/metrics.token when file is "" (made with a random token
// on first start, mode 0600); "off" is none.
func metricsToken(file, dir string) (string, error) {
	if file == "off" {
		return "", nil
	}
	if file == "" {
		file = filepath.Join(dir, "metrics.token")
		tok := make([]byte, 32)
		rand.Read(tok)
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = fmt.Fprintf(f, "%x\n", tok)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", fmt.Errorf("metrics token: %w", err)
			}
		} else if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("metrics token: %w", err)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("metrics token: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("metrics token: %s is empty", file)
	}
	return tok, nil
}

// print tells where each service listens.
func (a *frontEnds) print(e *env, eng *chunkstore.Engine) {
	st := eng.Stats()
	fmt.Fprintf(e.stdout, "backstop %s serving data directory %s\n", version, eng.Dir())
	fmt.Fprintf(e.stdout, "  %d items, %s logical, %s stored (dedup %.2fx), capacity %s\n",
		st.Items, human(st.LogicalBytes), human(st.StoredBytes), st.DedupRatio, human(st.CapacityBytes))
	for _, u := range urls(a.web.Addr()) {
		fmt.Fprintf(e.stdout, "  web UI and REST API: %s\n", u)
	}
	fmt.Fprintf(e.stdout, "  Prometheus metrics: /metrics on the same address, %s\n", a.metrics)
	if a.cat != nil {
		fmt.Fprintf(e.stdout, "  catalyst (client-side dedup, TLS): %s\n", a.cat.Addr())
	}
	if a.smb != nil {
		fmt.Fprintf(e.stdout, "  SMB shares: %s (users and passwords of the appliance)\n", a.smb.Addr())
	}
	if a.nfs != nil {
		printNFS(e, a.nfs.Addr())
	}
	if a.iscsi != nil {
		printISCSI(e, a.iscsi.Addr(), a.libs)
	}
	a.printS3(e, a.s3Plain)
	if a.repl != nil {
		fmt.Fprintf(e.stdout, "  replication: %s (certificate sha256 %s)\n", a.repl.Addr(), a.repl.Identity().Fingerprint)
	}
	fmt.Fprintln(e.stdout, "  the data directory is held: backstop put/get/ls on it refuse until this stops (Ctrl-C or SIGTERM)")
}

// close stops the services, then commits what the drives hold and closes
// the libraries and the shares.
func (a *frontEnds) close() {
	a.list.stop()
	if a.libs != nil {
		a.libs.Close(context.Background()) // commits what the drives hold
	}
	if a.shares != nil {
		a.shares.Close()
	}
}

// coreService runs the appliance core in the service list; it listens on
// nothing.
type coreService struct{ *appliance.Core }

func (coreService) Addr() string { return "" }

// maxPartReason is how many bytes of an error a part keeps as its reason.
const maxPartReason = 512

// syncDegraded makes the health registry's share and library parts the
// shares and libraries degraded now: a degraded part for each (named
// share:NAME, library:NAME, with its error as the reason), none for the
// others. Serve calls it after opening them and after every change
// through the API that may end a degraded state (a delete).
func (a *frontEnds) syncDegraded() {
	h := a.core.Health()
	var shares, libs []appliance.ComponentHealth
	if a.shares != nil {
		for n, err := range a.shares.Degraded() {
			store := ""
			if in, gerr := a.shares.Get(context.Background(), n); gerr == nil {
				store = in.Store
			}
			shares = append(shares, appliance.ComponentHealth{Name: appliance.PartShare + n, Store: store,
				State: appliance.Degraded, Reason: shortReason(err)})
		}
	}
	if a.libs != nil {
		for n, err := range a.libs.Degraded() {
			libs = append(libs, appliance.ComponentHealth{Name: appliance.PartLibrary + n, Store: "vtl-" + n,
				State: appliance.Degraded, Reason: shortReason(err)})
		}
	}
	h.SyncPrefix(appliance.PartShare, shares)
	h.SyncPrefix(appliance.PartLibrary, libs)
}

// shortReason is err's text, cut to maxPartReason bytes.
func shortReason(err error) string {
	why := err.Error()
	if len(why) > maxPartReason {
		why = why[:maxPartReason] + "..."
	}
	return why
}

// afterDelete brings the health up to date after a share or library was
// deleted or changed through the API: its degraded part, and the damaged
// items that went with it.
func (a *frontEnds) afterDelete() {
	a.syncDegraded()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = a.core.RefreshDamage(ctx) // the periodic refresh tries again
}

// healthShares is the share manager as the API sees it: a delete or an
// update brings the health parts up to date.
type healthShares struct {
	*sharefs.Manager
	sync func()
}

func (s healthShares) Update(ctx context.Context, name string, p sharefs.Patch) (sharefs.Info, error) {
	defer s.sync()
	return s.Manager.Update(ctx, name, p)
}

func (s healthShares) Delete(ctx context.Context, name string) error {
	defer s.sync()
	return s.Manager.Delete(ctx, name)
}

// healthLibraries is the library manager as the API sees it: a delete
// brings the health parts up to date.
type healthLibraries struct {
	*library.Manager
	sync func()
}

func (l healthLibraries) Delete(ctx context.Context, name string) error {
	defer l.sync()
	return l.Manager.Delete(ctx, name)
}
