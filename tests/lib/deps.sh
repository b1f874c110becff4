#!/bin/bash
# tests/lib/deps.sh: install the Debian packages pgchange needs to build,
# test and run its demo, when they are missing.  Used by .ci/run and
# `make demo`.  As root it runs apt-get; otherwise it uses sudo when that
# works without a password, or prints the command to run.
set -euo pipefail

PGVER=${PGCHANGE_PG_VERSION:-15}
PACKAGES=(
	"postgresql-$PGVER" "postgresql-server-dev-$PGVER" libpq-dev
	"postgresql-$PGVER-pgtap" libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl libjson-pp-perl
	libcjson-dev libxml2-dev libyaml-dev libssl-dev zlib1g-dev pkg-config
	make gcc perl util-linux
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif sudo -n true 2>/dev/null; then
	SUDO=(sudo)
else
	echo "missing packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
