#!/bin/bash
# bench/deploy.sh: the deploy path against the raw-psql floor.
#
#   bench/deploy.sh [--changesets N] [--large M] [--runs R] [--short-runs S] [--keep]
#
# Starts a throwaway cluster with pgchange built from this checkout (see
# bench/lib.sh) and measures, each against a floor in the same run on the
# same cluster:
#  1. deploying N (default 1000) changesets of one Liquibase formatted SQL
#     file, each a CREATE TABLE and a CREATE INDEX, every 10th also an
#     ALTER TABLE ADD COLUMN, into a fresh database: `pgchange deploy`
#     against `psql -X -q -1 -f` of the same bodies concatenated (the
#     floor), and against `psql -X -q -f` (one transaction per statement).
#     pgchange commits the changesets it runs inside the database with
#     synchronous_commit off and flushes once at the end; it is also run
#     with the session's synchronous_commit off (PGOPTIONS), which leaves
#     that last flush and the lock's out too.  R (default 3) runs,
#     a fresh database for each, interleaved, after an untimed warm-up;
#     the median counts.
#  2. a no-op `pgchange deploy` and `pgchange status` with N and with M
#     (default 10000) applied changesets (M small ones, CREATE TABLE t_n
#     (id int)), every checksum validated; floor: `psql -c 'SELECT 1'`, a
#     connection and one round trip.  Median and best of S (default 20)
#     runs.
#  3. `pgchange --version` against `psql --version`, median and best of 100
#     runs.
#  4. peak RSS (/usr/bin/time -f %M) of status and of the no-op deploy with
#     M applied, median of R runs; floor: psql's for `SELECT 1`.
# Short commands are timed with hyperfine when installed (apt-get install
# hyperfine), else with a shell loop.  Targets: deploy <= 1.2x the floor;
# no-op deploy and status <= 25 ms (N = 1000) and <= 100 ms (M = 10000);
# --version <= 5 ms; peak RSS <= 20 MB.  The load average of the machine
# is printed at the start and the end: other load only ever adds time.
# Never part of make check.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
N=1000
M=10000
RUNS=3
SHORT=20
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--changesets) N=$2; shift ;;
	--large) M=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--short-runs) SHORT=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,34p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
if [ ! -x /usr/bin/time ]; then
	echo "bench/deploy.sh needs /usr/bin/time (apt-get install time)" >&2
	exit 2
fi

. "$SRC/bench/lib.sh"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_cluster
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
pgchange() { "$PGBIN/pgchange" "$@"; }

# ------------------------------------------------------------ the changelogs --
# big.sql: N changesets; floor.sql: their bodies, concatenated
awk -v n="$N" -v cl="$WORK/big.sql" -v fl="$WORK/floor.sql" 'BEGIN {
	print "--liquibase formatted sql" > cl
	for (i = 1; i <= n; i++) {
		body = sprintf("CREATE TABLE bench_%d (id bigint NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX bench_%d_name ON bench_%d (name);\n", i, i, i)
		if (i % 10 == 0)
			body = body sprintf("ALTER TABLE bench_%d ADD COLUMN note text;\n", i)
		printf "\n--changeset bench:%d\n%s", i, body > cl
		printf "%s", body > fl
	}
}'
# small.sql: M one-statement changesets
awk -v n="$M" 'BEGIN {
	print "--liquibase formatted sql"
	for (i = 1; i <= n; i++)
		printf "\n--changeset bench:%d\nCREATE TABLE t_%d (id int);\n", i, i
}' >"$WORK/small.sql"
chmod 644 "$WORK"/*.sql

# a fresh database with the extension, and nothing dirty left to flush
fresh_db() {
	"$PGBIN/dropdb" --if-exists "$1" 2>/dev/null
	"$PGBIN/createdb" "$1"
	pgchange -q init -d "dbname=$1" >/dev/null
	psql -d "$1" -c CHECKPOINT
}

# seconds a command takes, output discarded; fails if the command does
seconds() {
	local t0 t1
	t0=$EPOCHREALTIME
	"$@" >/dev/null
	t1=$EPOCHREALTIME
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}

# fail loudly if a deploy did not apply all n changesets of the database
check_applied() {
	local db=$1 changelog=$2 n=$3 got
	got=$(pgchange --json status -c "$changelog" -d "dbname=$db" |
		perl -MJSON::PP -0777 -ne '$s = decode_json($_);
			print "$s->{applied} $s->{to_run} $s->{blocked} $s->{missing_from_files}"')
	if [ "$got" != "$n 0 0 0" ]; then
		echo "$db: expected $n applied, none pending, blocked or missing; status says $got" >&2
		exit 1
	fi
}

# ------------------------------------------------------- 1. deploying N --
variants=(floor1 floor pgc pgc_async)
declare -A label=(
	[floor1]="\`psql -X -q -1 -f\` (floor)"
	[floor]="\`psql -X -q -f\`, a transaction per statement"
	[pgc]="\`pgchange deploy\`"
	[pgc_async]="\`pgchange deploy\`, the session's synchronous_commit off"
)
# warm-up, untimed: the first deploy on a new cluster pays for cold caches
fresh_db d_warm
psql -1 -d d_warm -f "$WORK/floor.sql"
fresh_db d_warm
pgchange deploy -c "$WORK/big.sql" -d dbname=d_warm >/dev/null
"$PGBIN/dropdb" d_warm
for r in $(seq "$RUNS"); do
	for v in "${variants[@]}"; do
		fresh_db "d_$v"
		case $v in
		floor1) t=$(seconds psql -1 -d "d_$v" -f "$WORK/floor.sql") ;;
		floor) t=$(seconds psql -d "d_$v" -f "$WORK/floor.sql") ;;
		pgc) t=$(seconds pgchange deploy -c "$WORK/big.sql" -d "dbname=d_$v") ;;
		pgc_async) t=$(PGOPTIONS='-c synchronous_commit=off' \
			seconds pgchange deploy -c "$WORK/big.sql" -d "dbname=d_$v") ;;
		esac
		echo "$t" >>"$WORK/t_$v"
		echo "run $r: $v ${t}s" >&2
	done
	# the last pgc database stays for the no-op measurements
done
for v in pgc pgc_async; do check_applied "d_$v" "$WORK/big.sql" "$N"; done
tables=$(psql -At -d d_floor1 -c "SELECT count(*) FROM pg_class WHERE relname LIKE 'bench\_%' AND relkind = 'r'")
[ "$tables" -eq "$N" ] || { echo "the floor created $tables tables, not $N" >&2; exit 1; }
# Medians of the times, and the median of each round's ratio to that
# round's floor (run minutes apart, medians of times can pair a quiet floor
# with a busy deploy on a shared machine); the best run too, since other
# load only ever adds time
declare -A med best rmed
for v in "${variants[@]}"; do
	med[$v]=$(bench_median <"$WORK/t_$v")
	best[$v]=$(sort -g "$WORK/t_$v" | head -1)
	rmed[$v]=$(paste "$WORK/t_$v" "$WORK/t_floor1" | awk '{ print $1 / $2 }' | bench_median)
done
rmed_pf=$(paste "$WORK/t_pgc" "$WORK/t_floor" | awk '{ print $1 / $2 }' | bench_median)

# ------------------------------------------- 2. no-op deploy and status --
fresh_db d_large
t_large=$(PGOPTIONS='-c synchronous_commit=off' \
	seconds pgchange deploy -c "$WORK/small.sql" -d dbname=d_large)
check_applied d_large "$WORK/small.sql" "$M"

declare -A ms
ms[floor]=$(bench_ms "$SHORT" "$PGBIN/psql" -X -q -d d_pgc -c 'SELECT 1')
ms[deploy_n]=$(bench_ms "$SHORT" "$PGBIN/pgchange" deploy -c "$WORK/big.sql" -d dbname=d_pgc)
ms[status_n]=$(bench_ms "$SHORT" "$PGBIN/pgchange" status -c "$WORK/big.sql" -d dbname=d_pgc)
ms[deploy_m]=$(bench_ms "$SHORT" "$PGBIN/pgchange" deploy -c "$WORK/small.sql" -d dbname=d_large)
ms[status_m]=$(bench_ms "$SHORT" "$PGBIN/pgchange" status -c "$WORK/small.sql" -d dbname=d_large)
# still no-ops, nothing left out: every changeset applied and validated
check_applied d_pgc "$WORK/big.sql" "$N"
check_applied d_large "$WORK/small.sql" "$M"

# ----------------------------------------------------------- 3. --version --
ms[version]=$(bench_ms 100 "$PGBIN/pgchange" --version)
ms[psql_version]=$(bench_ms 100 "$PGBIN/psql" --version)

# ---------------------------------------------------------- 4. peak RSS --
# median of R runs, in kB
rss() {
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null
		cat "$WORK/rss"
	done | bench_median
}
declare -A kb
kb[floor]=$(rss "$PGBIN/psql" -X -q -d d_large -c 'SELECT 1')
kb[status_m]=$(rss "$PGBIN/pgchange" status -c "$WORK/small.sql" -d dbname=d_large)
kb[deploy_m]=$(rss "$PGBIN/pgchange" deploy -c "$WORK/small.sql" -d dbname=d_large)
kb[status_n]=$(rss "$PGBIN/pgchange" status -c "$WORK/big.sql" -d dbname=d_pgc)

# ------------------------------------------------------------ the report --
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : sprintf("NOT met (%.1fx the target)", v / t) }'; }
# "MEDIAN BEST" -> the verdict on the median, and on the best when it differs
verdict2()
{
	local m=${1% *} b=${1#* } v
	v=$(verdict "$m" "$2")
	case $v in
	met) echo "$v (median $m ms)" ;;
	*) echo "$v by the median ($m ms); best run $b ms: $(verdict "$b" "$2")" ;;
	esac
}
med() { echo "${1% *}"; }
best() { echo "${1#* }"; }
hf=$(command -v hyperfine >/dev/null && hyperfine --version || echo "a shell loop")

echo "deploy path, $(date -u '+%Y-%m-%d %H:%M UTC'), $(bench_machine)"
echo
echo "Load average (1, 5, 15 min) at the start: $load_start; at the end: $load_end (nproc $(nproc))."
echo
echo "### 1. Deploying $N changesets into an empty database"
echo
echo "$(wc -c <"$WORK/floor.sql") bytes of SQL, $(grep -c ';$' "$WORK/floor.sql") statements; median of $RUNS runs, a fresh database each."
echo
echo "| what | median (s) | best (s) | ratio to the floor (median of rounds) | best vs best |"
echo "|---|---:|---:|---:|---:|"
for v in "${variants[@]}"; do
	awk -v l="${label[$v]}" -v s="${med[$v]}" -v b="${best[$v]}" -v r="${rmed[$v]}" \
		-v fb="${best[floor1]}" \
		'BEGIN { printf "| %s | %.3f | %.3f | %.2f | %.2f |\n", l, s, b, r, b / fb }'
done
echo
r1=$(printf '%.2f' "${rmed[pgc]}")
echo "pgchange deploy: ${r1}x the \`psql -1\` floor (target <= 1.2x: $(verdict "$r1" 1.2));" \
	"$(printf '%.2f' "$rmed_pf")x \`psql\` without -1 (both medians of the rounds' ratios)."
echo
echo "### 2. No-op deploy and status"
echo
echo "Median and best of $SHORT runs ($hf); the changeset files are read and checksummed and"
echo "every applied checksum is validated by the database on each run. $M changesets were"
echo "first deployed (synchronous_commit off) in $(printf '%.1f' "$t_large") s."
echo
echo "| applied | no-op deploy (ms) | status (ms) | \`psql -c 'SELECT 1'\` (ms) | target (ms) |"
echo "|---:|---:|---:|---:|---:|"
echo "| $N | $(med "${ms[deploy_n]}") (best $(best "${ms[deploy_n]}")) | $(med "${ms[status_n]}") (best $(best "${ms[status_n]}")) | $(med "${ms[floor]}") (best $(best "${ms[floor]}")) | 25 |"
echo "| $M | $(med "${ms[deploy_m]}") (best $(best "${ms[deploy_m]}")) | $(med "${ms[status_m]}") (best $(best "${ms[status_m]}")) | $(med "${ms[floor]}") (best $(best "${ms[floor]}")) | 100 |"
echo
echo "- $N: no-op deploy $(verdict2 "${ms[deploy_n]}" 25); status $(verdict2 "${ms[status_n]}" 25)"
echo "- $M: no-op deploy $(verdict2 "${ms[deploy_m]}" 100); status $(verdict2 "${ms[status_m]}" 100)"
echo
echo "### 3. \`pgchange --version\`"
echo
echo "Median $(med "${ms[version]}") ms, best $(best "${ms[version]}") ms of 100 runs (\`psql --version\`: $(med "${ms[psql_version]}") ms, best $(best "${ms[psql_version]}") ms); target <= 5 ms: $(verdict2 "${ms[version]}" 5)"
echo
echo "### 4. Peak RSS of the controller"
echo
echo "| command | peak RSS (MB) |"
echo "|---|---:|"
for k in status_m deploy_m status_n floor; do
	case $k in
	status_m) l="\`pgchange status\`, $M applied" ;;
	deploy_m) l="no-op \`pgchange deploy\`, $M applied" ;;
	status_n) l="\`pgchange status\`, $N applied" ;;
	floor) l="\`psql -c 'SELECT 1'\` (floor)" ;;
	esac
	awk -v l="$l" -v k="${kb[$k]}" 'BEGIN { printf "| %s | %.1f |\n", l, k / 1024 }'
done
echo
for k in status_m deploy_m; do
	mb=$(awk -v k="${kb[$k]}" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "- ${k%_m} with $M applied: $mb MB, target <= 20 MB: $(verdict "$mb" 20)"
done
