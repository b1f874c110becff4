/*-------------------------------------------------------------------------
 *
 * cmd_history.c
 *	  pgchange history: the changesets applied to a database, newest first,
 *	  or (--deployments) the deploy runs, from the extension's views.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "exitcodes.h"
#include "output.h"
#include "pgconn.h"

#define HISTORY_DEFAULT_LIMIT "50"

enum
{
	OPT_LIMIT = 3000,
	OPT_ALL,
	OPT_DEPLOYMENTS
};

static struct
{
	char		limit[32];		/* validated positive integer, as text */
	const char *bad_limit;		/* an invalid --limit, reported by run */
	bool		all;
	bool		deployments;
} history_opts = {HISTORY_DEFAULT_LIMIT, NULL, false, false};

/*
 * Only $1 (the project, NULL for all) and $2 (the limit) vary; which
 * columns a person sees is chosen among these constant texts.  People get
 * the columns that matter at a glance, timestamps to the second; --json
 * gets every column at full precision.
 */
#define HISTORY_COLUMNS \
	"exec_order, changeset_id, author, path, exec_type, " \
	"pg_catalog.date_trunc('second', applied_at) AS applied_at, applied_by, " \
	"pg_catalog.date_trunc('milliseconds', duration) AS duration, deployment_id, tag "
#define HISTORY_FROM \
	"FROM pgchange.history WHERE $1::text IS NULL OR project = $1::text " \
	"ORDER BY exec_order DESC LIMIT $2::bigint"

static const char *const history_sql = "SELECT " HISTORY_COLUMNS HISTORY_FROM;
static const char *const history_all_sql = "SELECT project, " HISTORY_COLUMNS HISTORY_FROM;
static const char *const history_json_sql = "SELECT * " HISTORY_FROM;

#define DEPLOYMENT_COLUMNS \
	"kind, status, pg_catalog.date_trunc('second', started_at) AS started, " \
	"pg_catalog.date_trunc('milliseconds', duration) AS duration, deployed_by AS by, " \
	"client_host AS \"client host\", changesets, metadata "
#define DEPLOYMENT_FROM \
	"FROM pgchange.deployments WHERE $1::text IS NULL OR project = $1::text " \
	"ORDER BY deployment_id DESC LIMIT $2::bigint"

static const char *const deployments_sql =
"SELECT deployment_id AS id, " DEPLOYMENT_COLUMNS DEPLOYMENT_FROM;
static const char *const deployments_all_sql =
"SELECT deployment_id AS id, project, " DEPLOYMENT_COLUMNS DEPLOYMENT_FROM;
static const char *const deployments_json_sql = "SELECT * " DEPLOYMENT_FROM;

/*
 * --limit takes a positive integer only; a bad one is kept for history_run
 * to report as a usage error naming the option (cli.c's generic message
 * would name only the value).
 */
static bool
history_parse_option(int opt, const char *arg)
{
	switch (opt)
	{
		case OPT_LIMIT:
			{
				char	   *end;
				long long	n;

				errno = 0;
				n = strtoll(arg, &end, 10);
				if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 ||
					n <= 0 || strlen(arg) >= sizeof(history_opts.limit))
				{
					history_opts.bad_limit = arg;
					return true;
				}
				snprintf(history_opts.limit, sizeof(history_opts.limit), "%lld", n);
				return true;
			}
		case OPT_ALL:
			history_opts.all = true;
			return true;
		case OPT_DEPLOYMENTS:
			history_opts.deployments = true;
			return true;
		default:
			return false;
	}
}

static int
history_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *params[2] = {history_opts.all ? NULL : g->project, history_opts.limit};
	const char *sql;
	char	   *title;

	if (argc > 0)
		return cli_usage_error(&cmd_history, NULL, "too many arguments: \"%s\"", argv[0]);
	if (history_opts.bad_limit)
		return cli_usage_error(&cmd_history, NULL, "--limit must be a positive integer, not \"%s\"",
							   history_opts.bad_limit);
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	if (!pgc_require_extension(conn))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}

	if (history_opts.deployments)
		sql = g->json ? deployments_json_sql :
			history_opts.all ? deployments_all_sql : deployments_sql;
	else
		sql = g->json ? history_json_sql :
			history_opts.all ? history_all_sql : history_sql;
	res = pgc_exec(conn, PGRES_TUPLES_OK, sql, 2, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}

	if (history_opts.all)
		title = psprintf("%s of all projects, newest first",
						 history_opts.deployments ? "Deployments" : "Changesets");
	else
		title = psprintf("%s of project \"%s\", newest first",
						 history_opts.deployments ? "Deployments" : "Changesets", g->project);
	out_result(g, res, title);
	pfree(title);
	PQclear(res);
	PQfinish(conn);
	return PGC_EXIT_OK;
}

static const struct option history_options[] = {
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"all", no_argument, NULL, OPT_ALL},
	{"deployments", no_argument, NULL, OPT_DEPLOYMENTS},
	{NULL, 0, NULL, 0}
};

const Command cmd_history = {
	.name = "history",
	.summary = "list the changesets applied (or --deployments), newest first",
	.usage =
	"Usage:\n  pgchange history [-p PROJECT | --all] [--limit N] [--deployments] [--json]\n\n"
	"Lists the changesets applied to the project (pgchange.history): order of\n"
	"execution, id, author, path, how it ran, when and by whom, how long, in\n"
	"which deployment, tag.  --json gives every column of the view.\n\n"
	"Options:\n"
	"      --limit=N           at most N rows (a positive integer, default "
	HISTORY_DEFAULT_LIMIT ")\n"
	"      --all               every project, not only -p's\n"
	"      --deployments       the deploy runs instead (pgchange.deployments):\n"
	"                          kind, status, start, duration, who, from where,\n"
	"                          how many changesets, metadata\n",
	.long_options = history_options,
	.parse_option = history_parse_option,
	.run = history_run,
};
