// Package appliance is the appliance core: what the appliance does, as
// opposed to how a protocol carries it. Front ends (web, catalyst, nas,
// vtl, replication) are mappings from their protocols onto it; it imports
// none of them.
//
// It owns:
//
//   - State: the appliance's own configuration and records in the data
//     directory beside the engine (which owns DIR/index and DIR/volumes):
//     users and their roles, password hashes, settings (blackout windows,
//     automatic housekeeping), and the event and audit log.
//   - Certificate: the TLS certificate the web server, Catalyst and
//     replication share (cert.go).
//   - Core: the background jobs (job.go: one verify and one housekeeping
//     run at a time, never both; pause, resume, cancel; blackout windows
//     hold a run and refuse a start with ErrBlackout; a system event when a
//     run starts, waits, goes on and ends), automatic housekeeping, and the
//     health registry (health.go). Start runs automatic housekeeping,
//     Shutdown stops it and any run. It needs of the engine only Housekeep,
//     PlanHousekeeping and Verify (Engine).
//   - Policy: the one decision of what a user may do (policy.go), which web,
//     Catalyst and the share manager (SMB) ask. A store's items go by the
//     store's owner (owner.go: a Catalyst store, a share, a tape library, a
//     replica), which an Owners resolver names, and by the door they are
//     reached through (Via); see docs/security.md, "Access policy".
//   - Limiter: the one login throttle of every protocol and the audit of
//     failed logins (limiter.go, loginaudit.go; docs/security.md "Login
//     throttling").
//   - Kind: errors of the engine and the core sorted into a few kinds
//     (kind.go), which each front end maps to its protocol's answers.
//
// # Jobs
//
// A job's state is idle, running, paused, blackout (running, but waiting
// for a blackout window to end), done, failed or cancelled. Pause and
// blackout windows hold the engine inside its progress callback (verify)
// or its Wait callback between sweep batches (housekeeping); a job waiting
// out a window looks at the clock again every CoreOptions.MaintenanceTick.
// Automatic housekeeping (Settings.Housekeeping, on and hourly by default):
// every MaintenanceTick the core looks whether interval_minutes have passed
// on its clock since its last dry run; if so, outside blackout windows and
// while neither job runs, it runs a dry run and starts housekeeping when
// the dry run found space to reclaim.
//
// # Health
//
// Each part (engine, web, catalyst, smb, iscsi, replication, capacity,
// verify, and "share:NAME", "library:NAME", "replication:NAME" for each
// share, library and replication mapping) is ok, warning, degraded or
// failed, with a reason and the time it entered that state; the
// appliance's state is the worst of them. Whoever knows sets a part:
// serve when a service starts or fails, the verify job "degraded,
// damaged" when a verify finds damage and ok after a clean one, serve's
// health monitor for capacity and replication. Every change of a part's
// state is a system event with action health.change (warning for
// warning, error for degraded and failed, info for ok again); a part
// that appears ok is not.
//
// The registry is kept in DIR/appliance/health.json (written like
// config.json: temporary file, fsync, rename, directory fsync): the
// parts' last states, and the damaged items of the last verify, named by
// share and path, library and barcode (through the Namer serve wires),
// else store and item. After a restart the verify part and its damage are
// reported as they were; the other parts are reported once set again,
// and a part set again in the state it had is no news. The damage stays
// until a verify runs clean or its items are gone: RefreshDamage, at
// Start and every HealthTick, drops the items that no longer exist.
//
// A State is opened on DIR/appliance, which it creates (mode 0700) and locks
// with flock on DIR/appliance/lock, so one process at a time has it. It keeps
// everything in memory and is safe for concurrent use. State only stores
// events: its callers, who know who acted, Record an audit event for every
// change they make through it.
//
// # Users and passwords
//
// User names match ^[a-z][a-z0-9._-]{0,31}$; passwords have 8 to 256 bytes.
// Roles are ordered admin > operator > read-only, and the last admin can be
// neither deleted nor demoted. Passwords are hashed with argon2id (RFC 9106)
// with a 16-byte random salt and a 32-byte key. DefaultHashParams (64 MiB,
// t=2, p=2) take 66 to 100 ms per hash on a 2-core AMD EPYC VM with
// GOMAXPROCS=2, and up to 280 ms while benchmarks load the same machine
// (BenchmarkHashDefault, measured with x/crypto v0.40.0 and Go 1.26).
// At most Options.HashConcurrency (4) hashes run at once, which bounds their
// memory to 256 MiB however many logins arrive. Authenticate checks an
// unknown user's password against a dummy hash of the same cost, so timing
// does not tell which user names exist, and redoes a hash made with other
// parameters than the configured ones when its user logs in.
//
// # Files
//
// config.json holds the users and the settings as one indented JSON object,
// replaced as a whole on every change: written to a temporary file
// (config.json.tmp-*, removed on open if a crash left one) in the same
// directory with mode 0600, fsynced, renamed over config.json, and the
// directory fsynced. A config.json that does not parse, holds unknown fields
// or has another version is refused by Open with an error naming the file;
// it is never reset.
//
//	{
//	  "version": 1,
//	  "users": [                              // sorted by name
//	    {
//	      "name": "admin",
//	      "role": "admin",                    // "admin", "operator" or "read-only"
//	      "created": "2025-03-14T09:26:53Z",  // RFC 3339
//	      "modified": "2025-03-14T09:26:53Z",
//	      "password_hash": "$argon2id$v=19$m=65536,t=2,p=2$<salt>$<key>",
//	      "nt_hash": "a4f49c406510bdcab6824ee7c30fd852"  // MD4(UTF-16LE password), for SMB
//	    }
//	  ],
//	  "settings": {
//	    "blackout": [                         // housekeeping and verify do not run
//	      {"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00"},
//	      {"days": [], "start": "22:00", "end": "02:00"}
//	    ],
//	    "housekeeping": {"auto": true, "interval_minutes": 60},
//	    "alerts": {                           // left out when there are none
//	      "login_threshold": 5,               // failed logins of a user in 15 min that alert
//	      "targets": [
//	        {"name": "ops-hook", "type": "webhook", "min_level": "warning",
//	         "webhook": {"url": "https://hooks.example.net/backstop", "ca_pem": "", "timeout_seconds": 10, "attempts": 5}},
//	        {"name": "ops-mail", "type": "email", "actions": ["verify.*", "health.change"],
//	         "email": {"host": "smtp.example.net", "port": 587, "from": "backstop@example.net",
//	                   "to": ["ops@example.net"], "username": "backstop", "password": "...", "starttls": "auto"}},
//	        {"name": "siem", "type": "syslog", "kinds": ["audit"], "min_level": "info",
//	         "syslog": {"network": "tcp", "address": "10.0.0.5:514", "facility": "local0"}}
//	      ]
//	    }
//	  }
//	}
//
// Alert targets (internal/alert, docs/alerts.md) hold secrets such as an
// SMTP password in the clear, another reason for mode 0600; the web API
// never shows them (GET /api/v1/alerts blanks passwords, GET
// /api/v1/settings leaves alerts out). State.Subscribe hands every
// recorded event to the alert dispatcher.
//
// The NT hash (hex) is what NTLM authentication needs and an argon2id hash
// cannot give; it is password-equivalent for NTLM, which is why the file
// is mode 0600 (docs/smb.md). Users whose password predates it have none
// until the password is set again. The password hash is in the PHC string format: m is the memory in KiB, t
// the passes, p the lanes, then the salt and the key in unpadded standard
// base64. A blackout window's days are 0 (Sunday) to 6 (Saturday), empty
// for every day, and name the day on which the window starts; start and end
// are "HH:MM" in the appliance's local time, end may be "24:00", and an end
// before the start runs past midnight into the next day. housekeeping is
// automatic space reclamation: when auto is on, a dry run every
// interval_minutes (1 to 10080) and a run if it finds space to reclaim. A
// file without it, or with both fields zero, means the defaults: on, every
// 60 minutes.
//
// events.jsonl is the event log, one JSON object per line, appended and
// fsynced per event:
//
//	{"id":7,"time":"2025-03-14T09:30:00Z","level":"info","kind":"audit","actor":"admin","action":"store.create","object":"backups","message":"store backups created"}
//
// id counts up from 1 across restarts; level is "info", "warning" or
// "error"; kind is "audit" (a change a user made; actor names them) or
// "system". On open the file is replayed into memory (the last
// Options.MaxEvents events are kept for Events); a last line that is
// incomplete or lacks its newline is a torn write and is cut off, and
// unreadable lines before it are skipped. When the file would grow past
// Options.MaxEventsFileBytes (64 MiB) it is renamed to events.jsonl.1,
// replacing the previous one, and a new events.jsonl begins; both are
// replayed, oldest first.
//
// lock is flock'ed by the process that has the directory open and holds its
// pid.
//
// DIR/tls (beside DIR/appliance) holds the self-signed certificate when the
// admin gives none: cert.pem (PEM) and key.pem (the ECDSA P-256 private key,
// PKCS#8 PEM, mode 0600), generated on first start and valid for 10 years,
// for this host, localhost and the loopback addresses. The key is written
// first; a key without a certificate is reported, never replaced.
package appliance
