#!/bin/sh
# Start Samba's smbd on 127.0.0.1:PORT serving DIR/share as [data] for
# the unix user "backup" with password PASS, all state under DIR.
# "backup" is an admin user of the share (Samba maps it to root there): the
# smbtorture tests open files with WRITE_OWNER and WRITE_DAC, which a plain
# unix user is refused, so without it Samba fails most lease and oplock
# tests for reasons of this set-up, not of Samba.
#   scripts/smbd.sh DIR PORT PASS      (prints the smbd pid)
set -eu
dir=$1 port=$2 pass=$3
mkdir -p "$dir/share" "$dir/private" "$dir/lock" "$dir/state" "$dir/cache" "$dir/pid" "$dir/ncalrpc"
chown backup "$dir/share" 2>/dev/null || true
chmod 0777 "$dir/share"
cat >"$dir/smb.conf" <<CONF
[global]
	workgroup = WORKGROUP
	server role = standalone server
	smb ports = $port
	interfaces = 127.0.0.1
	bind interfaces only = yes
	disable netbios = yes
	passdb backend = tdbsam:$dir/private/passdb.tdb
	private dir = $dir/private
	lock directory = $dir/lock
	state directory = $dir/state
	cache directory = $dir/cache
	pid directory = $dir/pid
	ncalrpc dir = $dir/ncalrpc
	log file = $dir/log.%m
	log level = 0
	server min protocol = SMB2_02
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
[data]
	path = $dir/share
	read only = no
	create mask = 0666
	admin users = backup
	directory mask = 0777
CONF
id backup >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin backup
printf '%s\n%s\n' "$pass" "$pass" | smbpasswd -c "$dir/smb.conf" -s -a backup >/dev/null
smbd -s "$dir/smb.conf" -F --no-process-group >"$dir/smbd.out" 2>&1 &
echo $!
