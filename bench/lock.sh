#!/bin/bash
# bench/lock.sh: latency of taking and releasing the deploy lock.
#
#   bench/lock.sh [--transactions N] [--runs R] [--keep]
#
# Builds pgchange into a private copy of the server (tests/lib/private-install.sh),
# starts a throwaway cluster on a unix socket (as user postgres when run as
# root) and runs pgbench with one client, N (default 2000) times each, R
# (default 3) runs each, the scripts
#   SELECT pgchange.lock('b'); SELECT pgchange.unlock('b');   what we measure
#   SELECT 1; SELECT 1;                                       the floor: two round trips
# each statement in its own autocommit transaction, as a DBA or the
# controller runs them.  Both are measured with synchronous_commit on (every
# lock and unlock waits for its WAL flush) and off (the CPU cost alone).
# Prints microseconds per acquire+release (the median run) and the ratio to
# the floor.  Never part of make check.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
TX=2000
RUNS=3
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--transactions) TX=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,17p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

# ------------------------------------------------------------ the cluster --
. "$SRC/bench/lib.sh"
bench_cluster
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION pgchange' \
	-c "SELECT pgchange.lock('b'), pgchange.unlock('b')" >/dev/null

printf "SELECT pgchange.lock('b');\nSELECT pgchange.unlock('b');\n" >"$WORK/lock.sql"
printf "SELECT 1;\nSELECT 1;\n" >"$WORK/floor.sql"

# median over the runs of pgbench's average latency per script, in microseconds
median_us() {
	local script=$1 sync=$2
	for _ in $(seq "$RUNS"); do
		PGOPTIONS="-c synchronous_commit=$sync" \
			"$PGBIN/pgbench" -n -c 1 -t "$TX" -f "$script" bench 2>/dev/null |
			sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p'
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] * 1000 }'
}

declare -A us
for sync in on off; do
	us[floor_$sync]=$(median_us "$WORK/floor.sql" $sync)
	us[lock_$sync]=$(median_us "$WORK/lock.sql" $sync)
done
events=$("$PGBIN/psql" -X -At -c "SELECT count(*) FROM pgchange.event_log WHERE project = 'b'")

echo "lock latency, $(date -u '+%Y-%m-%d %H:%M UTC'), $(bench_machine)"
echo "pgbench -n -c 1 -t $TX, median of $RUNS runs, unix socket; $events events recorded"
echo
echo "| synchronous_commit | lock + unlock (µs) | SELECT 1 twice (µs) | ratio |"
echo "|---|---:|---:|---:|"
for sync in on off; do
	awk -v s=$sync -v l="${us[lock_$sync]}" -v f="${us[floor_$sync]}" \
		'BEGIN { printf "| %s | %.1f | %.1f | %.1f |\n", s, l, f, l / f }'
done
