package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// errNoPassword is dial's error when there is neither BACKSTOP_PASSWORD
// nor a terminal to ask on.
var errNoPassword = errors.New("--server needs the password of --user: set BACKSTOP_PASSWORD, or run on a terminal to type it")

// password is the password of --user: $BACKSTOP_PASSWORD, else typed on
// the controlling terminal (not stdin, which may be the data put reads),
// as ssh and sudo ask.
func (e *env) password(ctx context.Context) (string, error) {
	if pw, ok := os.LookupEnv("BACKSTOP_PASSWORD"); ok {
		return pw, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoPassword
	}
	defer tty.Close()
	if !isTerminal(tty) {
		return "", errNoPassword
	}
	return readPassword(ctx, tty, fmt.Sprintf("Password for %s@%s: ", e.remote.user, e.remote.server))
}

// readPassword writes prompt to the terminal tty and reads one line from
// it with echo off; the terminal's settings are restored however it ends
// (Enter, ctx on Ctrl-C, an error).
func readPassword(ctx context.Context, tty *os.File, prompt string) (string, error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("password: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old) //nolint:errcheck // best effort, as the terminal may be gone
	fmt.Fprint(tty, prompt)
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := readLine(tty)
		got <- result{line, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(tty)
		return "", ctx.Err()
	case r := <-got:
		fmt.Fprintln(tty) // the user's Enter was not echoed
		if r.err != nil {
			return "", fmt.Errorf("password: %w", r.err)
		}
		return r.line, nil
	}
}

// readLine reads up to a newline one byte at a time, so that nothing
// after it is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) && b.Len() > 0 {
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
	}
}
