/*-------------------------------------------------------------------------
 *
 * cmd_lock.c
 *	  The deploy lock from the command line: lock status, acquire (once, as
 *	  a check, or held until a signal), release, freeze and unfreeze.
 *
 * The lock lives in the database (pgchange.lock() and friends) and is bound
 * to the backend of the connection that took it, so it ends with this
 * process.  Waiting happens here, between short autocommit statements, and
 * never inside SQL: a session sleeping in an open transaction holds a
 * snapshot, which CREATE INDEX CONCURRENTLY elsewhere would wait for.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <signal.h>
#include <sys/select.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "output.h"
#include "lockwait.h"
#include "pgconn.h"
#include "portability/instr_time.h"

/* client-side backoff between attempts while waiting for the lock */

/* how often a held lock checks for signals and a dead connection */
#define HOLD_TICK			0.2

enum
{
	OPT_REASON = 2000,
	OPT_OWNER,
	OPT_WAIT,
	OPT_LEASE,
	OPT_HOLD,
	OPT_FORCE,
	OPT_UNTIL,
	OPT_ONLY
};

/* options of the lock subcommands; each subcommand reads its own */
static struct
{
	const char *reason;
	const char *owner;
	const char *wait;
	const char *lease;
	const char *until;
	bool		hold;
	bool		force;
	bool		only;
} lock_opts;

/* the subcommands, defined below their run functions */
static const Command lock_status_cmd;
static const Command lock_acquire_cmd;
static const Command lock_release_cmd;
static const Command lock_freeze_cmd;
static const Command lock_unfreeze_cmd;

/* set by SIGINT/SIGTERM while `acquire --hold` holds the lock */
static volatile sig_atomic_t hold_interrupted = 0;

static bool
lock_parse_option(int opt, const char *arg)
{
	switch (opt)
	{
		case OPT_REASON:
			lock_opts.reason = arg;
			return true;
		case OPT_OWNER:
			lock_opts.owner = arg;
			return true;
		case OPT_WAIT:
			lock_opts.wait = arg;
			return true;
		case OPT_LEASE:
			lock_opts.lease = arg;
			return true;
		case OPT_UNTIL:
			lock_opts.until = arg;
			return true;
		case OPT_HOLD:
			lock_opts.hold = true;
			return true;
		case OPT_FORCE:
			lock_opts.force = true;
			return true;
		case OPT_ONLY:
			lock_opts.only = true;
			return true;
		default:
			return false;
	}
}

/*
 * Connect and check that the extension speaks our version; NULL (error
 * logged) otherwise.
 */
static PGconn *
lock_connect(const GlobalOptions *g)
{
	PGconn	   *conn = pgc_connect(g);

	if (conn != NULL && !pgc_require_extension(conn))
	{
		PQfinish(conn);
		conn = NULL;
	}
	return conn;
}

/*
 * Send one parameterised statement and return its result whatever its
 * status: unlike pgc_exec, the caller needs the SQLSTATE of a failure.
 */
static PGresult *
lock_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	pg_log_debug("query: %s", sql);
	return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

static bool
result_ok(const PGresult *res)
{
	return res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
}

/* seconds on a monotonic clock */
static double
now_seconds(void)
{
	instr_time	t;

	INSTR_TIME_SET_CURRENT(t);
	return INSTR_TIME_GET_DOUBLE(t);
}

/* ----------------------------------------------------------------------
 * lock status
 * ----------------------------------------------------------------------
 */

/*
 * The project of -p is always listed (free if never used) and marked; a
 * person sees the columns that matter, --json gets all of them.
 */
#define STATUS_FROM \
	"FROM pgchange.lock_status() AS s " \
	"FULL JOIN (VALUES ($1::text)) AS c(project) USING (project) " \
	"WHERE project = $1::text OR NOT $2::boolean ORDER BY project"

static const char *const status_human_sql =
"SELECT CASE WHEN project = $1::text THEN '*' ELSE '' END AS \" \", project, "
"coalesce(s.state, 'free') AS state, s.owner, s.reason, s.holder_role AS role, s.pid, "
"pg_catalog.date_trunc('second', s.since) AS since, "
"pg_catalog.date_trunc('second', s.lease_until) AS \"lease until\", "
"s.holder_alive AS alive, "
"CASE WHEN s.frozen_by IS NOT NULL THEN pg_catalog.format('by %s until %s: %s', s.frozen_by, "
"coalesce(pg_catalog.date_trunc('second', s.frozen_until)::text, 'unfreeze'), "
"s.freeze_reason) END AS freeze "
STATUS_FROM;

static const char *const status_json_sql =
"SELECT project, coalesce(s.state, 'free') AS state, s.owner, s.reason, s.holder_role, "
"s.pid, s.client_addr, s.application_name, s.since, s.lease_until, s.holder_alive, "
"s.frozen_until, s.frozen_by, s.freeze_reason, project = $1::text AS current "
STATUS_FROM;

static int
status_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *params[2] = {g->project, lock_opts.only ? "true" : "false"};
	int			rc;

	if (argc > 0)
		return cli_usage_error(&lock_status_cmd, "lock", "too many arguments: \"%s\"", argv[0]);
	if ((conn = lock_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	res = lock_exec(conn, g->json ? status_json_sql : status_human_sql, 2, params);
	if (result_ok(res))
	{
		out_result(g, res, g->json ? NULL : "Deploy locks (* = this project)");
		PQclear(res);
		rc = PGC_EXIT_OK;
	}
	else
		rc = pgc_fail_exit(res, conn);
	PQfinish(conn);
	return rc;
}

static const struct option status_options[] = {
	{"only", no_argument, NULL, OPT_ONLY},
	{NULL, 0, NULL, 0}
};

static const Command lock_status_cmd = {
	.name = "status",
	.summary = "show who holds the lock of each project, and why; and freezes",
	.usage =
	"Usage:\n  pgchange lock status [--only] [-p PROJECT] [--json]\n\n"
	"Lists the deploy lock of every project in the database: state (free,\n"
	"locked, frozen, stale), owner, reason, role, backend pid, since, end of the\n"
	"lease, whether the holder's backend is alive, and any freeze.  The project\n"
	"of -p is marked with * (and listed even if never used).\n\n"
	"Options:\n"
	"      --only              list only the project of -p\n",
	.long_options = status_options,
	.parse_option = lock_parse_option,
	.run = status_run,
};

/* ----------------------------------------------------------------------
 * lock acquire
 * ----------------------------------------------------------------------
 */

/*
 * Check --wait and --lease with the server's own interval parser; store
 * their lengths in seconds.  Returns an exit code.
 */
static int
parse_durations(PGconn *conn, const char *wait, const char *lease,
				double *wait_s, double *lease_s)
{
	const char *params[2] = {wait, lease};
	PGresult   *res;

	/* whole milliseconds: a float's text would depend on LC_NUMERIC here */
	res = lock_exec(conn,
					"SELECT (EXTRACT(epoch FROM $1::interval) * 1000)::bigint, "
					"(EXTRACT(epoch FROM $2::interval) * 1000)::bigint", 2, params);
	if (!result_ok(res))
	{
		int			rc = pgc_fail_exit(res, conn);

		pg_log_error_hint("--wait and --lease take a PostgreSQL interval, such as \"30s\", \"5 min\" or \"1 hour\".");
		return rc;
	}
	*wait_s = strtoll(PQgetvalue(res, 0, 0), NULL, 10) / 1000.0;
	*lease_s = strtoll(PQgetvalue(res, 0, 1), NULL, 10) / 1000.0;
	PQclear(res);
	if (*wait_s < 0)
	{
		pg_log_error("--wait must not be negative: \"%s\"", wait);
		return PGC_EXIT_USAGE;
	}
	return PGC_EXIT_OK;
}

/*
 * Describe the lock as this session now holds it, from lock_status();
 * people get times to the second, and no lease for a mere check.
 */
static OutRecord *
held_record(const GlobalOptions *g, PGconn *conn, const char *result, bool held)
{
	const char *params[1] = {g->project};
	OutRecord  *rec = out_record_new();
	PGresult   *res;
	int			t = g->json ? 4 : 6;	/* first column of since, lease_until */

	out_record_str(rec, "project", "project", g->project);
	out_record_str(rec, "result", "result", result);
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT owner, reason, holder_role, pid, since, lease_until, "
				   "pg_catalog.date_trunc('second', since), "
				   "pg_catalog.date_trunc('second', lease_until) "
				   "FROM pgchange.lock_status() WHERE project = $1::text", 1, params);
	if (res != NULL && PQntuples(res) == 1)
	{
		out_record_str(rec, "owner", "owner", PQgetvalue(res, 0, 0));
		out_record_str(rec, "reason", "reason",
					   PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1));
		out_record_str(rec, "role", "role", PQgetvalue(res, 0, 2));
		out_record_int(rec, "pid", "backend pid", atoll(PQgetvalue(res, 0, 3)));
		if (held || g->json)
		{
			out_record_str(rec, "since", "since", PQgetvalue(res, 0, t));
			out_record_str(rec, "lease_until", "lease until", PQgetvalue(res, 0, t + 1));
		}
	}
	PQclear(res);
	out_record_bool(rec, "held", "held", held);
	return rec;
}

/* release this session's lock; false (logged) when that failed */
static bool
release_own(const GlobalOptions *g, PGconn *conn, int *rc)
{
	const char *params[1] = {g->project};
	PGresult   *res = lock_exec(conn, "SELECT pgchange.unlock($1::text)", 1, params);

	if (!result_ok(res))
	{
		*rc = pgc_fail_exit(res, conn);
		return false;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		pg_log_warning("the lock of project \"%s\" was no longer held", g->project);
	PQclear(res);
	return true;
}

static void
hold_signal(SIGNAL_ARGS)
{
	hold_interrupted = 1;
}

/*
 * Sleep up to seconds, waking early for a signal or for anything the
 * server sends; false when the connection is gone.
 */
static bool
hold_sleep(PGconn *conn, double seconds)
{
	int			sock = PQsocket(conn);
	fd_set		rfds;
	struct timeval tv;

	if (sock < 0)
		return false;
	FD_ZERO(&rfds);
	FD_SET(sock, &rfds);
	tv.tv_sec = (time_t) seconds;
	tv.tv_usec = (suseconds_t) ((seconds - (double) tv.tv_sec) * 1000000.0);
	if (select(sock + 1, &rfds, NULL, NULL, &tv) > 0 && !PQconsumeInput(conn))
		return false;
	return PQstatus(conn) != CONNECTION_BAD;
}

/*
 * Keep the lock until SIGINT or SIGTERM, renewing its lease every third
 * of it, then release it.  Losing the lock (broken by an admin, lease
 * lapsed) or the connection ends the hold with an error.
 */
static int
hold_lock(const GlobalOptions *g, PGconn *conn, const char *lease, double lease_s)
{
	const char *params[2] = {g->project, lease};
	double		every = lease_s / 3;
	double		next = now_seconds() + every;
	int			rc = PGC_EXIT_OK;

	if (!g->quiet && !g->json)
		printf("Holding the lock until interrupted (Ctrl-C or SIGTERM); renewing the lease every %.0f s.\n",
			   every);
	fflush(stdout);

	while (!hold_interrupted)
	{
		double		left = next - now_seconds();

		if (left > 0)
		{
			if (!hold_sleep(conn, Min(left, HOLD_TICK)))
			{
				pg_log_error("lost the connection while holding the lock: %s",
							 PQerrorMessage(conn));
				return PGC_EXIT_ERROR;
			}
			continue;
		}

		{
			PGresult   *res = lock_exec(conn,
										"SELECT pgchange.lock_heartbeat($1::text, $2::interval)",
										2, params);

			if (!result_ok(res))
			{
				pg_log_error("could not renew the lease of project \"%s\"", g->project);
				return pgc_fail_exit(res, conn);
			}
			pg_log_info("lease of project \"%s\" renewed until %s", g->project,
						PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		next = now_seconds() + every;
	}

	if (release_own(g, conn, &rc) && !g->quiet && !g->json)
		printf("Released the lock of project \"%s\".\n", g->project);
	return rc;
}

static int
acquire_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	const char *wait = lock_opts.wait ? lock_opts.wait : "0";
	const char *lease = lock_opts.lease ? lock_opts.lease : "5 minutes";
	double		wait_s = 0,
				lease_s = 0;
	char	   *result = NULL;
	OutRecord  *rec;
	int			rc;

	if (argc > 0)
		return cli_usage_error(&lock_acquire_cmd, "lock", "too many arguments: \"%s\"", argv[0]);
	if ((conn = lock_connect(g)) == NULL)
		return PGC_EXIT_ERROR;

	/*
	 * Catch SIGINT/SIGTERM before the lock is taken: a signal that arrives
	 * between taking it and holding it must still release it and exit 0,
	 * and one that arrives while waiting stops the wait.
	 */
	if (lock_opts.hold)
	{
		pqsignal(SIGINT, hold_signal);
		pqsignal(SIGTERM, hold_signal);
	}
	if ((rc = parse_durations(conn, wait, lease, &wait_s, &lease_s)) != PGC_EXIT_OK ||
		(rc = pgc_lock_acquire(conn, &(LockRequest) {
			.project = g->project, .owner = lock_opts.owner, .reason = lock_opts.reason,
			.lease = lease, .wait_s = wait_s, .stop = &hold_interrupted
		}, &result)) != PGC_EXIT_OK)
	{
		PQfinish(conn);
		return rc;
	}

	rec = held_record(g, conn, result, lock_opts.hold);
	pg_free(result);
	if (!lock_opts.hold)
	{
		/* a check: release now so status shows it free, not stale */
		if (!release_own(g, conn, &rc))
		{
			out_record_free(rec);
			PQfinish(conn);
			return rc;
		}
		out_record_emit(g, rec);
		PQfinish(conn);
		return PGC_EXIT_OK;
	}

	out_record_emit(g, rec);
	rc = hold_lock(g, conn, lease, lease_s);
	PQfinish(conn);
	return rc;
}

static const struct option acquire_options[] = {
	{"reason", required_argument, NULL, OPT_REASON},
	{"owner", required_argument, NULL, OPT_OWNER},
	{"wait", required_argument, NULL, OPT_WAIT},
	{"lease", required_argument, NULL, OPT_LEASE},
	{"hold", no_argument, NULL, OPT_HOLD},
	{NULL, 0, NULL, 0}
};

static const Command lock_acquire_cmd = {
	.name = "acquire",
	.summary = "take the deploy lock: as a check, or held until interrupted (--hold)",
	.usage =
	"Usage:\n  pgchange lock acquire [-p PROJECT] [--reason TEXT] [--owner TEXT]\n"
	"                        [--wait DURATION] [--lease DURATION] [--hold]\n\n"
	"The lock is bound to this command's database session and ends with it.\n"
	"Without --hold, acquire takes the lock and releases it at once: a check\n"
	"that it can be taken now (or within --wait).  With --hold it keeps the lock,\n"
	"renewing the lease, until SIGINT (Ctrl-C) or SIGTERM, then releases it and\n"
	"exits 0: deploys are blocked meanwhile, e.g. during manual work.\n\n"
	"Exits 3 when the lock is held by someone else or deployments are frozen.\n\n"
	"Options:\n"
	"      --reason=TEXT       why, shown to everyone who finds the lock taken\n"
	"      --owner=TEXT        who holds it (default: the database role)\n"
	"      --wait=DURATION     wait this long for the lock, e.g. \"30s\", \"5 min\"\n"
	"                          (default 0: fail at once)\n"
	"      --lease=DURATION    the lease (1 second to 7 days, default 5 minutes);\n"
	"                          --hold renews it every third of it\n"
	"      --hold              keep the lock until interrupted\n",
	.long_options = acquire_options,
	.parse_option = lock_parse_option,
	.run = acquire_run,
};

/* ----------------------------------------------------------------------
 * lock release
 * ----------------------------------------------------------------------
 */

/*
 * Run one lock function that answers true or false, and report that answer
 * as KEY (release: was a lock held; unfreeze: was there a freeze).
 */
static int
run_boolean_call(const GlobalOptions *g, const Command *cmd, int argc, char **argv,
				 const char *sql, int nparams, const char *const *params, const char *key)
{
	PGconn	   *conn;
	PGresult   *res;
	OutRecord  *rec;

	if (argc > 0)
		return cli_usage_error(cmd, "lock", "too many arguments: \"%s\"", argv[0]);
	if ((conn = lock_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	res = lock_exec(conn, sql, nparams, params);
	if (!result_ok(res))
	{
		int			rc = pgc_fail_exit(res, conn);

		PQfinish(conn);
		return rc;
	}
	rec = out_record_new();
	out_record_str(rec, "project", "project", g->project);
	out_record_bool(rec, key, key, strcmp(PQgetvalue(res, 0, 0), "t") == 0);
	PQclear(res);
	out_record_emit(g, rec);
	PQfinish(conn);
	return PGC_EXIT_OK;
}

static int
release_run(const GlobalOptions *g, int argc, char **argv)
{
	const char *params[2] = {g->project, lock_opts.force ? "true" : "false"};

	return run_boolean_call(g, &lock_release_cmd, argc, argv,
							"SELECT pgchange.unlock($1::text, $2::boolean)", 2, params, "released");
}

static const struct option release_options[] = {
	{"force", no_argument, NULL, OPT_FORCE},
	{NULL, 0, NULL, 0}
};

static const Command lock_release_cmd = {
	.name = "release",
	.summary = "release the deploy lock (--force: break another role's)",
	.usage =
	"Usage:\n  pgchange lock release [-p PROJECT] [--force]\n\n"
	"Releases the lock of the project; \"released: no\" when nobody held it.\n"
	"A lock held by a live session of another role is refused (exit 3) unless\n"
	"--force is given by a pgchange_admin (otherwise exit 1).  A lock whose\n"
	"holder is gone or whose lease expired is released by anyone.\n\n"
	"Options:\n"
	"      --force             break another role's live lock (pgchange_admin)\n",
	.long_options = release_options,
	.parse_option = lock_parse_option,
	.run = release_run,
};

/* ----------------------------------------------------------------------
 * lock freeze / unfreeze
 * ----------------------------------------------------------------------
 */

static int
freeze_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *params[3] = {g->project, lock_opts.reason, lock_opts.until};
	OutRecord  *rec;

	if (argc > 0)
		return cli_usage_error(&lock_freeze_cmd, "lock", "too many arguments: \"%s\"", argv[0]);
	if (lock_opts.reason == NULL || lock_opts.reason[0] == '\0')
		return cli_usage_error(&lock_freeze_cmd, "lock", "a freeze needs a reason: --reason TEXT");
	if ((conn = lock_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	res = lock_exec(conn,
					"SELECT pgchange.freeze($1::text, $2::text, $3::timestamptz)",
					3, params);
	if (result_ok(res))
	{
		PQclear(res);
		res = lock_exec(conn,
						"SELECT frozen_until, frozen_by FROM pgchange.lock_status() "
						"WHERE project = $1::text", 1, params);
	}
	if (!result_ok(res) || PQntuples(res) != 1)
	{
		int			rc = pgc_fail_exit(res, conn);

		PQfinish(conn);
		return rc;
	}
	rec = out_record_new();
	out_record_str(rec, "project", "project", g->project);
	out_record_bool(rec, "frozen", "frozen", true);
	out_record_str(rec, "reason", "reason", lock_opts.reason);
	out_record_str(rec, "until", "until",
				   PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0));
	out_record_str(rec, "frozen_by", "frozen by", PQgetvalue(res, 0, 1));
	PQclear(res);
	out_record_emit(g, rec);
	PQfinish(conn);
	return PGC_EXIT_OK;
}

static const struct option freeze_options[] = {
	{"reason", required_argument, NULL, OPT_REASON},
	{"until", required_argument, NULL, OPT_UNTIL},
	{NULL, 0, NULL, 0}
};

static const Command lock_freeze_cmd = {
	.name = "freeze",
	.summary = "block deployments of a project, with a reason (pgchange_admin)",
	.usage =
	"Usage:\n  pgchange lock freeze [-p PROJECT] --reason TEXT [--until TIMESTAMP]\n\n"
	"While the freeze lasts nobody but its author can take the lock; everyone\n"
	"else gets exit 3 and the reason.  Without --until it lasts until\n"
	"\"pgchange lock unfreeze\".  Needs pgchange_admin (exit 1 otherwise).\n\n"
	"Options:\n"
	"      --reason=TEXT       why (required)\n"
	"      --until=TIMESTAMP   when it ends, e.g. \"2025-01-06 08:00 Europe/Paris\"\n",
	.long_options = freeze_options,
	.parse_option = lock_parse_option,
	.run = freeze_run,
};

static int
unfreeze_run(const GlobalOptions *g, int argc, char **argv)
{
	const char *params[1] = {g->project};

	return run_boolean_call(g, &lock_unfreeze_cmd, argc, argv,
							"SELECT pgchange.unfreeze($1::text)", 1, params, "unfrozen");
}

static const Command lock_unfreeze_cmd = {
	.name = "unfreeze",
	.summary = "end the freeze of a project (pgchange_admin)",
	.usage =
	"Usage:\n  pgchange lock unfreeze [-p PROJECT]\n\n"
	"Ends the project's freeze; \"unfrozen: no\" when it was not frozen.\n"
	"Needs pgchange_admin (exit 1 otherwise).\n",
	.run = unfreeze_run,
};

static const Command *const lock_subcommands[] = {
	&lock_status_cmd,
	&lock_acquire_cmd,
	&lock_release_cmd,
	&lock_freeze_cmd,
	&lock_unfreeze_cmd,
	NULL
};

const Command cmd_lock = {
	.name = "lock",
	.summary = "inspect, take, hold, release or freeze the deploy lock",
	.usage =
	"Usage:\n  pgchange lock SUBCOMMAND [OPTIONS]\n\n"
	"The deploy lock of the project (-p) serialises deploys.  It is bound to\n"
	"the database session of its holder: it ends when the holder's backend\n"
	"does, or when its lease expires.  \"pgchange help lock SUBCOMMAND\" shows\n"
	"a subcommand's options.\n",
	.subcommands = lock_subcommands,
};
