package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dirEntries lists dir's names.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestReadersNeverCreate: every command that reads a data directory,
// pointed at a directory of documents or at none, says it is not a data
// directory, names it and how to make one, and leaves it as it was; put
// refuses to turn a directory of documents into a data directory.
func TestReadersNeverCreate(t *testing.T) {
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "letter.txt"), []byte("dear"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "nope")
	readers := [][]string{{"ls"}, {"stats"}, {"verify"}, {"get", "x"}, {"rm", "x"}, {"housekeeping"},
		{"store", "ls"}, {"store", "rm", "s"}, {"domain", "store", "default", "s"}, {"replication", "export", t.TempDir()}}
	for _, dir := range []string{docs, missing} {
		for _, r := range readers {
			args := append(append([]string{}, r...), "--data", dir)
			code, out, errs := cli(t, nil, args...)
			if code != 1 || !strings.Contains(errs, "not a Backstop data directory: "+dir) || !strings.Contains(errs, "backstop store create --data "+dir) {
				t.Errorf("%v: exit %d, %q %q", args, code, out, errs)
			}
		}
	}
	if code, _, errs := cli(t, []byte("x"), "put", "--data", docs, "x"); code != 1 || !strings.Contains(errs, docs+" holds other files") {
		t.Errorf("put into a directory of documents: %d %q", code, errs)
	}
	if got := dirEntries(t, docs); len(got) != 1 || got[0] != "letter.txt" {
		t.Fatalf("the directory of documents changed: %v", got)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("a reader created %s: %v", missing, err)
	}
	// An empty directory (a new mount point) becomes one on put.
	empty := t.TempDir()
	if err := os.Mkdir(filepath.Join(empty, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := cli(t, []byte("x"), "put", "--data", empty, "x"); code != 0 {
		t.Fatalf("put into an empty directory: %d %q", code, errs)
	}
	if code, out, errs := cli(t, nil, "ls", "--data", empty); code != 0 || !strings.Contains(out, " x") {
		t.Fatalf("ls after put: %d %q %q", code, out, errs)
	}
}

// TestStoreCommands: store create makes a data directory and a store with
// its settings, put into it works, set changes one setting and keeps the
// others, ls lists (JSON too), rm refuses a store with items and removes
// an empty one; put into a missing store says how to create it.
func TestStoreCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errs := cli(t, []byte("x"), "put", "--data", dir, "--store", "nightly", "x"); code != 0 {
		// the data directory does not exist yet: put makes it, then finds no store
		if !strings.Contains(errs, "backstop store create --data "+dir+" nightly") {
			t.Fatalf("put into a missing store: %d %q", code, errs)
		}
	} else {
		t.Fatal("put into a missing store succeeded")
	}
	code, out, errs := cli(t, nil, "store", "create", "--data", dir, "--domain", "offsite", "--transfer", "high",
		"--immutable-days", "7", "--clients", "alice, bob", "nightly")
	if code != 0 || !strings.Contains(out, "domain offsite created") || !strings.Contains(out, "store nightly created") {
		t.Fatalf("store create: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, []byte("data"), "put", "--data", dir, "--store", "nightly", "x"); code != 0 {
		t.Fatalf("put into the new store: %d %q", code, errs)
	}
	if code, _, errs := cli(t, nil, "store", "set", "--data", dir, "--transfer", "low", "nightly"); code != 0 {
		t.Fatalf("store set: %d %q", code, errs)
	}
	if code, _, errs := cli(t, nil, "store", "set", "--data", dir, "--immutable-days", "1", "nightly"); code != 1 || !strings.Contains(errs, "cannot drop") {
		t.Fatalf("shortening the immutability of a store with items: %d %q", code, errs)
	}
	code, out, errs = cli(t, nil, "store", "ls", "--data", dir, "--json")
	var stores []struct {
		Name, Domain, Transfer string
		ImmutableDays          int `json:"immutable_days"`
		Clients                []string
	}
	if err := json.Unmarshal([]byte(out), &stores); code != 0 || err != nil {
		t.Fatalf("store ls --json: %d %q %q %v", code, out, errs, err)
	}
	if len(stores) != 2 || stores[1].Name != "nightly" || stores[1].Domain != "offsite" || stores[1].Transfer != "low" ||
		stores[1].ImmutableDays != 7 || strings.Join(stores[1].Clients, ",") != "alice,bob" {
		t.Fatalf("stores: %+v", stores)
	}
	if code, _, errs := cli(t, nil, "store", "rm", "--data", dir, "nightly"); code != 1 || !strings.Contains(errs, "holds 1 items") {
		t.Fatalf("store rm of a store with items: %d %q", code, errs)
	}
	if code, _, errs := cli(t, nil, "store", "create", "--data", dir, "empty"); code != 0 {
		t.Fatalf("store create: %d %q", code, errs)
	}
	if code, out, errs := cli(t, nil, "store", "rm", "--data", dir, "empty"); code != 0 || !strings.Contains(out, "store empty deleted") {
		t.Fatalf("store rm: %d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, nil, "store", "create", "--data", dir, "--transfer", "medium", "bad"); code != 1 || !strings.Contains(errs, "transfer policy") {
		t.Fatalf("store create with a bad policy: %d %q", code, errs)
	}
	if code, _, errs := cli(t, nil, "store", "frob"); code != 2 || !strings.Contains(errs, "want create, ls, set, rm") {
		t.Fatalf("store frob: %d %q", code, errs)
	}
}

// TestParseSize: one parser for every size flag, exact or an error.
func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "1048576": 1 << 20, "500G": 500 << 30, "2TiB": 2 << 40, "1.5G": 3 << 29,
		"1.5 GB": 3 << 29, "4k": 4096, "7B": 7, "0.5K": 512, "1E": 1 << 60}
	for s, want := range good {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	bad := map[string]string{"5Q": `unknown unit "Q"`, "1.3K": "not a whole number of bytes", "": "want a number",
		"-1": "want a number", "1e9": "unknown unit", "1..5G": "want a number", ".5G": "want a number",
		"8E": "too large", "99999999999999999999": "too large", "G": "want a number", "5GG": "unknown unit"}
	for s, want := range bad {
		if _, err := parseSize(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSize(%q): %v, want an error with %q", s, err, want)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{{"put", "--capacity", "5Q"}, {"put", "--size", "1.3K"}, {"serve", "--capacity", "1x"}} {
		code, _, errs := cli(t, nil, append(args, "--data", dir, "x")...)
		if code != 2 || !strings.Contains(errs, "bad size") {
			t.Errorf("%v: %d %q", args, code, errs)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("a refused size flag created the data directory")
	}
	if code, _, errs := cli(t, []byte("12345"), "put", "--data", dir, "--size", "0.5K", "x"); code != 1 || !strings.Contains(errs, "--size says 512") {
		t.Fatalf("--size 0.5K: %d %q", code, errs)
	}
}

// TestHelpExitsZero: --help of every command (and of every subcommand)
// prints its usage and exits 0, with no error.
func TestHelpExitsZero(t *testing.T) {
	cmds := [][]string{{"serve"}, {"put"}, {"get"}, {"ls"}, {"rm"}, {"stats"}, {"verify"}, {"housekeeping"}, {"gc"},
		{"replication"}, {"replication", "export"}, {"replication", "import"}, {"domain"}, {"domain", "export"},
		{"store"}, {"store", "create"}, {"store", "ls"}, {"store", "set"}, {"store", "rm"}, {"help"}, {"version"}}
	for _, c := range cmds {
		for _, h := range []string{"--help", "-h"} {
			code, out, errs := cli(t, nil, append(c, h)...)
			if code != 0 || !strings.Contains(out+errs, "sage") && c[0] != "version" || strings.Contains(errs, "backstop "+c[0]+":") {
				t.Errorf("%v %s: exit %d, %q %q", c, h, code, out, errs)
			}
		}
	}
}

// TestVerifyJSONHex: verify --json names a damaged chunk by its
// fingerprint in hex, not as an array of numbers.
func TestVerifyJSONHex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	data := make([]byte, 1<<20)
	rand.Read(data)
	if code, _, errs := cli(t, data, "put", "--data", dir, "--compression", "none", "x"); code != 0 {
		t.Fatal(errs)
	}
	flipInVolumes(t, dir, data[4096:4096+64])
	code, out, errs := cli(t, nil, "verify", "--data", dir, "--json")
	if code != 3 {
		t.Fatalf("verify of damaged data: %d %q %q", code, out, errs)
	}
	var rep struct {
		Damage []struct {
			Chunk json.RawMessage `json:"chunk"`
			Items []string        `json:"items"`
		} `json:"damage"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Damage) == 0 {
		t.Fatalf("verify --json: %q %v", out, err)
	}
	if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).Match(rep.Damage[0].Chunk) || !bytes.Contains([]byte(out), []byte("default/x")) {
		t.Fatalf("damage: %s", out)
	}
}
