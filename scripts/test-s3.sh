#!/usr/bin/env bash
# test-s3.sh: real S3 clients against `backstop serve --s3`: the AWS CLI
# (Debian awscli: s3 cp/sync, s3api multipart), rclone and s3cmd (Debian)
# and restic's S3 backend (backup, a second backup of nearly the same
# tree, restore, check). Prints the stored bytes each restic backup
# added. Needs /usr/bin/aws, rclone, s3cmd and restic; run from the
# repository root: scripts/test-s3.sh
set -Eeuo pipefail
AWS=${AWS:-/usr/bin/aws}
command -v "$AWS" >/dev/null || { echo "test-s3: $AWS missing (apt-get install awscli)"; exit 1; }
for t in restic rclone s3cmd; do command -v $t >/dev/null || { echo "test-s3: $t missing"; exit 1; }; done
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'echo "test-s3: failed at line $LINENO"; tail -20 "$tmp/serve.log"' ERR
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WEB=127.0.0.1:$(port); S3=127.0.0.1:$(port)
go build -o "$tmp/backstop" ./cmd/backstop
export BACKSTOP_ADMIN_PASSWORD=test-s3-password-1
"$tmp/backstop" serve --data "$tmp/data" --web "$WEB" --s3 "$S3" --s3-plain-http --smb "" --iscsi "" \
	--replication "" --catalyst off --metrics-token-file off --log-level debug >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "S3:" "$tmp/serve.log" && break; sleep 0.2; done
grep -q "S3:" "$tmp/serve.log" || { cat "$tmp/serve.log"; exit 1; }
api() { curl -skf -H "Authorization: Bearer $TOKEN" "$@"; }
TOKEN=$(curl -skf -X POST "https://$WEB/api/v1/sessions" -d "{\"username\":\"admin\",\"password\":\"$BACKSTOP_ADMIN_PASSWORD\"}" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
BACKSTOP_PASSWORD=$BACKSTOP_ADMIN_PASSWORD "$tmp/backstop" s3-key create --url "https://$WEB" --insecure >"$tmp/key"
export AWS_ACCESS_KEY_ID=$(awk '/^access key/ {print $3}' "$tmp/key")
export AWS_SECRET_ACCESS_KEY=$(awk '/^secret key/ {print $3}' "$tmp/key")
BACKSTOP_PASSWORD=$BACKSTOP_ADMIN_PASSWORD "$tmp/backstop" s3-key ls --url "https://$WEB" --insecure | grep -q "^$AWS_ACCESS_KEY_ID  admin"
spare=$(api -X POST "https://$WEB/api/v1/s3/keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_key"])')
BACKSTOP_PASSWORD=$BACKSTOP_ADMIN_PASSWORD "$tmp/backstop" s3-key rm --url "https://$WEB" --insecure "$spare"
if AWS_ACCESS_KEY_ID=$spare "$AWS" --endpoint-url "http://$S3" s3 ls 2>/dev/null; then
	echo "test-s3: a deleted key still works"
	exit 1
fi
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
s3() { "$AWS" --endpoint-url "http://$S3" "$@"; }

echo "== aws s3: buckets, cp (multipart), sync, ls, rm"
s3 s3 mb s3://cli-bucket
head -c 40000000 /dev/urandom >"$tmp/big"
s3 s3 cp "$tmp/big" s3://cli-bucket/dir/big --quiet
s3 s3 cp s3://cli-bucket/dir/big "$tmp/big.back" --quiet
cmp "$tmp/big" "$tmp/big.back"
mkdir -p "$tmp/tree/a/b"; for i in $(seq 20); do head -c $((i * 1000)) /dev/urandom >"$tmp/tree/a/b/f$i"; done
echo hello >"$tmp/tree/top.txt"
s3 s3 sync "$tmp/tree" s3://cli-bucket/tree --quiet
s3 s3 sync s3://cli-bucket/tree "$tmp/tree.back" --quiet
diff -r "$tmp/tree" "$tmp/tree.back"
test "$(s3 s3 ls s3://cli-bucket/tree/a/b/ | wc -l)" = 20
echo "== aws s3api: head, range, multipart, delete-objects"
s3 s3api head-object --bucket cli-bucket --key tree/top.txt >/dev/null
s3 s3api get-object --bucket cli-bucket --key dir/big --range bytes=1000-1999 "$tmp/range" >/dev/null
dd if="$tmp/big" of="$tmp/range.want" bs=1000 skip=1 count=1 status=none
cmp "$tmp/range" "$tmp/range.want"
up=$(s3 s3api create-multipart-upload --bucket cli-bucket --key mp --query UploadId --output text)
head -c 6000000 /dev/urandom >"$tmp/p1"; head -c 100 /dev/urandom >"$tmp/p2"
e1=$(s3 s3api upload-part --bucket cli-bucket --key mp --upload-id "$up" --part-number 1 --body "$tmp/p1" --query ETag --output text)
e2=$(s3 s3api upload-part --bucket cli-bucket --key mp --upload-id "$up" --part-number 2 --body "$tmp/p2" --query ETag --output text)
s3 s3api complete-multipart-upload --bucket cli-bucket --key mp --upload-id "$up" \
	--multipart-upload "{\"Parts\":[{\"PartNumber\":1,\"ETag\":$e1},{\"PartNumber\":2,\"ETag\":$e2}]}" >/dev/null
s3 s3 cp s3://cli-bucket/mp "$tmp/mp.back" --quiet
cat "$tmp/p1" "$tmp/p2" >"$tmp/mp.want"
cmp "$tmp/mp.back" "$tmp/mp.want"
s3 s3 rm --recursive s3://cli-bucket --quiet
s3 s3 rb s3://cli-bucket

echo "== rclone: copy, check, delete"
export RCLONE_CONFIG_BK_TYPE=s3 RCLONE_CONFIG_BK_PROVIDER=Other RCLONE_CONFIG_BK_ENDPOINT="http://$S3" \
	RCLONE_CONFIG_BK_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_BK_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
	RCLONE_CONFIG_BK_FORCE_PATH_STYLE=true RCLONE_CONFIG_BK_REGION=us-east-1
rc() { env -u AWS_CA_BUNDLE rclone "$@"; } # this plain-HTTP endpoint needs no CA bundle, and rclone cannot load one
rc mkdir bk:rclone-bucket
rc copy "$tmp/tree" bk:rclone-bucket/tree
rc check "$tmp/tree" bk:rclone-bucket/tree
rc purge bk:rclone-bucket

echo "== s3cmd: mb, put, get, ls, del, rb"
s3c() { s3cmd --no-ssl --host="$S3" --host-bucket="$S3" --access_key="$AWS_ACCESS_KEY_ID" \
	--secret_key="$AWS_SECRET_ACCESS_KEY" --region=us-east-1 -c /dev/null "$@"; }
s3c mb s3://s3cmd-bucket >/dev/null
s3c put "$tmp/big" s3://s3cmd-bucket/big >/dev/null
s3c get s3://s3cmd-bucket/big "$tmp/big.s3cmd" >/dev/null
cmp "$tmp/big" "$tmp/big.s3cmd"
test "$(s3c ls s3://s3cmd-bucket | wc -l)" = 1
s3c del s3://s3cmd-bucket/big >/dev/null
s3c rb s3://s3cmd-bucket >/dev/null

echo "== restic: backup, second backup of nearly the same tree, restore"
export RESTIC_REPOSITORY="s3:http://$S3/restic" RESTIC_PASSWORD=restic-test
mkdir -p "$tmp/src"; for i in $(seq 8); do head -c 8000000 /dev/urandom >"$tmp/src/f$i"; done
stored() { api "https://$WEB/api/v1/status" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("stored_bytes", d.get("engine",{}).get("stored_bytes",0)))'; }
restic init -q
s0=$(stored); restic backup -q "$tmp/src"; s1=$(stored)
printf 'small change' | dd of="$tmp/src/f3" bs=1 seek=4000000 conv=notrunc status=none
restic backup -q "$tmp/src"; s2=$(stored)
echo "restic: first backup of 64 MB stored $((s1 - s0)) bytes; second (one 12-byte change) stored $((s2 - s1)) bytes"
restic restore -q latest --target "$tmp/restore"
diff -r "$tmp/src" "$tmp/restore$tmp/src"
restic check -q
echo "test-s3: ok"
