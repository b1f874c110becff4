/*-------------------------------------------------------------------------
 *
 * lockwait.c
 *	  The one place the controller waits for a deploy lock.
 *
 * Each try is pgchange.lock(wait => 0) in its own autocommit statement and
 * the pause happens here, with no transaction open: a waiter inside the
 * database would hold a snapshot, and CREATE INDEX CONCURRENTLY in the
 * holder's deploy would wait for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "exitcodes.h"
#include "lockwait.h"
#include "pgconn.h"
#include "portability/instr_time.h"

#define WAIT_FIRST_PAUSE	0.1
#define WAIT_MAX_PAUSE		5.0

/* seconds on a monotonic clock */
static double
now_seconds(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_DOUBLE(t);
}

/*
 * Who holds the lock, from a "not available" error: the message and the
 * detail without the end of the lease, which every renewal moves.
 */
static char *
holder_key(const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *lease_part = detail ? strstr(detail, " The lease ends") : NULL;

	return psprintf("%s|%.*s", msg ? msg : "",
					detail ? (int) (lease_part ? lease_part - detail : strlen(detail)) : 0,
					detail ? detail : "");
}

int
pgc_lock_acquire(PGconn *conn, const LockRequest *req, char **result)
{
	const char *params[4] = {req->project, req->owner, req->reason, req->lease};
	double		deadline = now_seconds() + req->wait_s;
	double		pause = WAIT_FIRST_PAUSE;
	char	   *last_key = NULL;

	for (;;)
	{
		PGresult   *res;
		double		left;
		char	   *key;

		pg_log_debug("query: SELECT pgchange.lock(...)");
		res = PQexecParams(conn,
						   "SELECT pgchange.lock($1::text, $2::text, $3::text, "
						   "'0'::interval, $4::interval)", 4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			*result = pg_strdup(PQgetvalue(res, 0, 0));
			PQclear(res);
			pg_free(last_key);
			return PGC_EXIT_OK;
		}
		left = deadline - now_seconds();
		if (!pgc_sqlstate_is(res, "55P03") || left <= 0 || (req->stop && *req->stop))
		{
			pg_free(last_key);
			return pgc_fail_exit(res, conn);
		}

		/* say who is in the way, again only when that changes */
		key = holder_key(res);
		if (last_key == NULL || strcmp(key, last_key) != 0)
		{
			char	   *label = req->wait_label ? pg_strdup(req->wait_label)
				: psprintf("%.0f s more", left);

			pg_log_warning("waiting up to %s: %s", label,
						   PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
			if (PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL))
				pg_log_warning_detail("%s", PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
			pg_free(label);
		}
		pg_free(last_key);
		last_key = key;
		PQclear(res);

		pg_usleep((long) (Min(pause, left) * 1000000.0));
		pause = Min(pause * 2, WAIT_MAX_PAUSE);
	}
}
