#!/bin/bash
# bench/lib.sh: what the benchmarks share.  Sourced, never run.
#
#   . "$SRC/bench/lib.sh"
#   bench_cluster [CONF]      private install and a throwaway cluster
#   bench_median              median of the numbers on stdin, one a line
#   bench_ms RUNS CMD ARGS..  median and best wall time of a command in ms
#   bench_machine             "nproc x CPU, RAM, server" of this run
#
# bench_cluster builds pgchange into a private copy of the server
# (tests/lib/private-install.sh), so the benchmark runs what this checkout
# built without touching the system's directories, and starts a cluster on
# a unix socket in a temporary directory, as user postgres when run as root
# (the server refuses root).  CONF is appended to postgresql.conf.  It sets
# WORK, PGBIN and AS (the prefix that runs a command as the server's user)
# and exports PGHOST, PGPORT, PGUSER and PGDATABASE=bench.  Everything is
# stopped and removed on exit unless KEEP=1.

SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KEEP=${KEEP:-0}
AS=()

bench_stop()
{
	if [ -n "${PGBIN:-}" ] && [ -f "$WORK/data/postmaster.pid" ]; then
		"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ "$KEEP" -eq 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}

bench_cluster()
{
	local conf=${1:-} port

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgchange-bench.XXXXXX")
	chmod 755 "$WORK"
	trap bench_stop EXIT
	PGBIN=$("$SRC/tests/lib/private-install.sh" "$WORK/install")
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres "$WORK"
		AS=(runuser -u postgres --)
	fi
	# never the default port: a real server may be listening there
	port=$((20000 + RANDOM % 20000))
	export PGHOST="$WORK/sock" PGPORT=$port PGUSER=postgres PGDATABASE=bench
	"${AS[@]}" mkdir -p "$WORK/sock"
	"${AS[@]}" "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
	"${AS[@]}" tee -a "$WORK/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = ''
unix_socket_directories = '$WORK/sock'
port = $port
$conf
EOF
	"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
	"$PGBIN/createdb" bench
}

bench_median()
{
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# Median and best wall time in ms ("MEDIAN BEST") of RUNS runs of a
# command, output discarded, after warm-up runs.  hyperfine when installed
# (it also subtracts its own spawn cost), else a loop timed with
# EPOCHREALTIME.  On a shared machine other load only ever adds time: the
# best run is what the command costs, the median what it costs today.
bench_ms()
{
	local runs=$1 csv t0 t1
	shift
	if command -v hyperfine >/dev/null; then
		csv=$(mktemp)
		hyperfine -N --style none --warmup 3 --runs "$runs" --export-csv "$csv" \
			-- "$(printf '%q ' "$@")" >/dev/null 2>&1 ||
			{ echo "hyperfine failed: $*" >&2; rm -f "$csv"; return 1; }
		# command,mean,stddev,median,user,system,min,max: in seconds
		awk -F, 'NR == 2 { printf "%.2f %.2f\n", $4 * 1000, $7 * 1000 }' "$csv"
		rm -f "$csv"
		return
	fi
	for _ in 1 2 3; do "$@" >/dev/null 2>&1; done
	for _ in $(seq "$runs"); do
		t0=$EPOCHREALTIME
		"$@" >/dev/null 2>&1
		t1=$EPOCHREALTIME
		echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }'
	done | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1] }'
}

bench_machine()
{
	local cpu ram
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	ram=$(awk '/^MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)
	echo "$(nproc) x $cpu (nproc $(nproc), $ram), $("$PGBIN/postgres" --version)"
}
