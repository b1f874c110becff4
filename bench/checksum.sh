#!/bin/bash
# bench/checksum.sh: throughput of pgchange.checksum() in the server.
#
#   bench/checksum.sh [--bodies N] [--runs R] [--keep]
#
# Builds pgchange into a private copy of the server (tests/lib/private-install.sh),
# starts a throwaway cluster on a unix socket (as user postgres when run as
# root), fills a table with N (default 10000) realistic changeset bodies of
# about 10 kB each (tables, indexes, PL/pgSQL with dollar-quoted bodies,
# comments, literals: about 100 MB), and times, in the server, one pass of
#   pgchange.checksum(body)                 what we measure
#   sha256(convert_to(body, 'UTF8'))        the floor: hashing without normalising
#   length(body)                            the floor of reading the rows at all
# over the same rows in the same run.  Each is run R times (default 3) after
# a warm-up; the best run counts.  Prints MB/s (10^6 bytes of body per
# second, single core: parallel query is off) and the ratios.  Target:
# pgchange.checksum >= 200 MB/s.  Never part of make check.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BODIES=10000
RUNS=3
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--bodies) BODIES=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

# ------------------------------------------------------------ the cluster --
. "$SRC/bench/lib.sh"
bench_cluster "shared_buffers = '512MB'
max_parallel_workers_per_gather = 0"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# ------------------------------------------------------------- the bodies --
# One ~1.2 kB chunk of changeset SQL; %1$s makes every copy distinct, and
# eight of them make a body.  EXTERNAL storage keeps the rows uncompressed,
# so reading them costs the same for every function measured.
psql <<'EOF'
CREATE EXTENSION pgchange;
CREATE TABLE bodies (id int PRIMARY KEY, body text NOT NULL);
ALTER TABLE bodies ALTER body SET STORAGE EXTERNAL;
CREATE FUNCTION chunk(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
SELECT format($t$-- changeset alice:%1$s
/* Orders, with a status history.
   Reviewed in ticket OPS-%1$s. */
CREATE TABLE IF NOT EXISTS app.orders_%1$s (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint      NOT NULL REFERENCES app.customers (id),
    status      text        NOT NULL DEFAULT 'new'  -- new, paid, shipped
                CHECK (status IN ('new', 'paid', 'shipped', 'it''s done')),
    total       numeric(12, 2) NOT NULL DEFAULT 0.00,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS orders_%1$s_customer_idx
    ON app.orders_%1$s (customer_id, created_at DESC);

CREATE OR REPLACE FUNCTION app.order_total_%1$s(p_order bigint)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_total numeric := 0;   -- running total
BEGIN
    SELECT sum(l.qty * l.price) INTO v_total
      FROM app.order_lines l
     WHERE l.order_id = p_order;   /* lines of this order */
    RETURN coalesce(v_total, 0);
END
$fn$;

INSERT INTO app.settings (key, value) VALUES
    ('orders_%1$s.enabled', 'true'),
    ('orders_%1$s.note', E'first line\nsecond line');
COMMENT ON TABLE app.orders_%1$s IS 'orders of shard %1$s';

$t$, i)
$f$;
EOF
psql -c "INSERT INTO bodies
		 SELECT i, (SELECT string_agg(chunk(i * 8 + j), '') FROM generate_series(0, 7) AS j)
		   FROM generate_series(1, $BODIES) AS i"
psql -c 'VACUUM ANALYZE bodies'

# ------------------------------------------------------------- the timing --
# Time one pass in the server, so neither the client nor the network counts
psql <<'EOF'
CREATE FUNCTION pass(expr text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
BEGIN
	t0 := clock_timestamp();
	EXECUTE format('SELECT count(%s) FROM bodies', expr);
	RETURN extract(epoch FROM clock_timestamp() - t0);
END
$$;
EOF
mb=$(psql -At -c "SELECT sum(octet_length(body)) / 1e6 FROM bodies")
avg=$(psql -At -c "SELECT round(avg(octet_length(body))) FROM bodies")

best() {
	local expr=$1 b=""
	psql -At -c "SELECT pass(\$\$$expr\$\$)" >/dev/null	# warm-up
	for _ in $(seq "$RUNS"); do
		local t
		t=$(psql -At -c "SELECT pass(\$\$$expr\$\$)")
		b=$(echo "$t ${b:-$t}" | awk '{ print ($1 < $2) ? $1 : $2 }')
	done
	echo "$b"
}
t_len=$(best 'length(body)')
t_sha=$(best "sha256(convert_to(body, 'UTF8'))")
t_sum=$(best 'pgchange.checksum(body)')

awk -v mb="$mb" -v len="$t_len" -v sha="$t_sha" -v sum="$t_sum" -v n="$BODIES" -v avg="$avg" \
	-v runs="$RUNS" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v machine="$(bench_machine)" 'BEGIN {
	printf "checksum throughput, %s, %s\n", date, machine
	printf "%d bodies of %d bytes on average, %.1f MB; best of %d runs, one core\n\n", n, avg, mb, runs
	printf "| expression | seconds | MB/s | time vs checksum |\n|---|---:|---:|---:|\n"
	printf "| `pgchange.checksum(body)` | %.3f | %.0f | 1.00 |\n", sum, mb / sum
	printf "| `sha256(convert_to(body, %sUTF8%s))` | %.3f | %.0f | %.2f |\n", "\047", "\047", sha, mb / sha, sha / sum
	printf "| `length(body)` | %.3f | %.0f | %.2f |\n", len, mb / len, len / sum
	printf "\npgchange.checksum: %.0f MB/s, %.2fx the time of sha256 alone; target >= 200 MB/s: %s\n",
		mb / sum, sum / sha, (mb / sum >= 200) ? "met" : "NOT met"
}'
