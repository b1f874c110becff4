/*-------------------------------------------------------------------------
 *
 * checksum_bench.c
 *	  Throughput of the changeset normaliser and checksum (common/checksum.c).
 *
 * Generates about 64 MB of realistic changeset SQL (tables, indexes,
 * PL/pgSQL functions with dollar-quoted bodies, comments, literals) and
 * prints MB/s for pgc_normalize_sql alone and for pgc_checksum end to end.
 * The extension's target is >= 200 MB/s end to end.
 *
 * Not part of any Makefile.  Build and run from the top of the tree:
 *
 *	gcc -O2 -DFRONTEND -I$(pg_config --includedir-server) \
 *		-I$(pg_config --includedir)/internal -I$(pg_config --includedir) \
 *		-Icommon bench/checksum_bench.c common/checksum.c \
 *		-L$(pg_config --pkglibdir) -lpgcommon -lpgport -lssl -lcrypto -lm \
 *		-o /tmp/checksum_bench && /tmp/checksum_bench [MB]
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>

#include "checksum.h"
#include "lib/stringinfo.h"

/* one changeset's worth of SQL; %d makes every copy distinct */
static const char *const chunk =
"-- changeset alice:%d\n"
"/* Orders, with a status history.\n"
"   Reviewed in ticket OPS-%d. */\n"
"CREATE TABLE IF NOT EXISTS app.orders_%d (\n"
"    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"    customer_id bigint      NOT NULL REFERENCES app.customers (id),\n"
"    status      text        NOT NULL DEFAULT 'new'  -- new, paid, shipped\n"
"                CHECK (status IN ('new', 'paid', 'shipped', 'it''s done')),\n"
"    total       numeric(12, 2) NOT NULL DEFAULT 0.00,\n"
"    created_at  timestamptz NOT NULL DEFAULT now()\n"
");\n"
"\n"
"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_%d_customer_idx\n"
"    ON app.orders_%d (customer_id, created_at DESC);\n"
"\n"
"CREATE OR REPLACE FUNCTION app.order_total_%d(p_order bigint)\n"
"RETURNS numeric\n"
"LANGUAGE plpgsql STABLE\n"
"AS $fn$\n"
"DECLARE\n"
"    v_total numeric := 0;   -- running total\n"
"BEGIN\n"
"    SELECT coalesce(sum(l.qty * l.price), 0)\n"
"      INTO v_total\n"
"      FROM app.order_lines l\n"
"     WHERE l.order_id = p_order;\n"
"    RAISE DEBUG 'total for %% is %%', p_order, v_total;\n"
"    RETURN v_total;\n"
"END\n"
"$fn$;\n"
"\n"
"COMMENT ON TABLE app.orders_%d IS E'Customer orders.\\nOne row per order.';\n"
"UPDATE app.settings SET value = '{\"retries\": 3}'::jsonb WHERE key = 'orders';\n"
"\n";

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	size_t		target = (size_t) (argc > 1 ? atoi(argv[1]) : 64) << 20;
	StringInfoData sql;
	char		ck[PGC_CHECKSUM_LEN + 1];
	const char *err;
	double		t0,
				best_norm = 1e9,
				best_ck = 1e9;
	size_t		normlen = 0;

	initStringInfo(&sql);
	for (int i = 0; (size_t) sql.len < target; i++)
		appendStringInfo(&sql, chunk, i, i, i, i, i, i, i);

	/* best of five, so a noisy neighbour does not skew the figure */
	for (int run = 0; run < 5; run++)
	{
		char	   *norm;

		t0 = now_seconds();
		norm = pgc_normalize_sql(sql.data, sql.len, &normlen);
		best_norm = Min(best_norm, now_seconds() - t0);
		pfree(norm);

		t0 = now_seconds();
		if (!pgc_checksum(sql.data, sql.len, ck, &err))
		{
			fprintf(stderr, "checksum failed: %s\n", err);
			return 1;
		}
		best_ck = Min(best_ck, now_seconds() - t0);
	}

	printf("input:     %.1f MB, normalised to %.1f MB\n",
		   sql.len / 1048576.0, normlen / 1048576.0);
	printf("normalise: %.0f MB/s\n", sql.len / 1048576.0 / best_norm);
	printf("checksum:  %.0f MB/s end to end (%s)\n",
		   sql.len / 1048576.0 / best_ck, ck);
	return 0;
}
