#!/bin/bash
# tests/lib/private-install.sh DEST
#
# Builds pgchange and installs it, with a copy of the server PostgreSQL
# pg_config points at, into DEST (same absolute layout below DEST).  The
# server finds its share and lib directories relative to its own binary, so
# the copy runs with our extension without touching the system's
# directories: `make check` and `make demo` need no root, and tests always
# run what this checkout built.
#
# Prints the private bin directory on stdout.
set -euo pipefail

DEST=${1:?usage: private-install.sh DEST}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
MAKE=${MAKE:-make}

bindir=$("$PG_CONFIG" --bindir)
sharedir=$("$PG_CONFIG" --sharedir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)

mkdir -p "$DEST"
for dir in "$bindir" "$sharedir" "$pkglibdir"; do
	if [ ! -d "$DEST$dir" ]; then
		mkdir -p "$DEST$(dirname "$dir")"
		# pkglibdir may contain bindir (Debian: /usr/lib/postgresql/N/{bin,lib})
		cp -a "$dir" "$DEST$dir"
	fi
done

# CONTROLLER_COPT (e.g. sanitizers) applies to the controller only: the
# extension must stay loadable by the uninstrumented server.
"$MAKE" -s -C "$SRC/extension" all install DESTDIR="$DEST" >&2
"$MAKE" -s -C "$SRC/controller" all install DESTDIR="$DEST" COPT="${CONTROLLER_COPT:-}" >&2

echo "$DEST$bindir"
