/*-------------------------------------------------------------------------
 *
 * cmd_rollback.c
 *	  pgchange rollback: undo the changesets applied after a tag, the last
 *	  N, those applied after a date or by one deployment, with the rollback
 *	  SQL stored when they were deployed (rollback.c does the work).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <limits.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "pgconn.h"
#include "plan.h"
#include "rollback.h"

enum
{
	OPT_TO_TAG = 3200,
	OPT_COUNT,
	OPT_TO_DATE,
	OPT_DEPLOYMENT,
	OPT_DRY_RUN,
	OPT_LOCK_WAIT,
	OPT_LOCK_TIMEOUT,
	OPT_RETRIES,
	OPT_REASON
};

static struct
{
	RollbackTarget target;
	int			ntargets;
	bool		dry_run;
}			opt;

static const struct option rollback_options[] = {
	CHANGELOG_LONG_OPTIONS,
	{"to-tag", required_argument, NULL, OPT_TO_TAG},
	{"count", required_argument, NULL, OPT_COUNT},
	{"to-date", required_argument, NULL, OPT_TO_DATE},
	{"deployment", required_argument, NULL, OPT_DEPLOYMENT},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"lock-wait", required_argument, NULL, OPT_LOCK_WAIT},
	{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"reason", required_argument, NULL, OPT_REASON},
	{NULL, 0, NULL, 0}
};

/* a whole number from min to INT_MAX, else -1 */
static int
parse_int(const char *arg, int min)
{
	char	   *end;
	long		v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < min || v > INT_MAX)
		return -1;
	return (int) v;
}

static bool
rollback_parse_option(int o, const char *arg)
{
	int			r = changelog_parse_option(o, arg);

	if (r != 0)
		return r > 0;
	switch (o)
	{
		case OPT_TO_TAG:
			opt.target.mode = RB_TO_TAG;
			opt.target.tag = arg;
			opt.ntargets++;
			return true;
		case OPT_COUNT:
			opt.target.mode = RB_COUNT;
			opt.target.count = parse_int(arg, 1);
			opt.ntargets++;
			return opt.target.count > 0;
		case OPT_TO_DATE:
			opt.target.mode = RB_TO_DATE;
			opt.target.to_date = arg;
			opt.ntargets++;
			return true;
		case OPT_DEPLOYMENT:
			opt.target.mode = RB_DEPLOYMENT;
			opt.target.deployment_id = arg;
			opt.ntargets++;
			return parse_int(arg, 1) > 0;
		case OPT_DRY_RUN:
			opt.dry_run = true;
			return true;
		case OPT_LOCK_WAIT:
			opt.target.lock_wait = arg;
			return true;
		case OPT_LOCK_TIMEOUT:
			opt.target.lock_timeout = arg;
			return true;
		case OPT_RETRIES:
			{
				int			n = parse_int(arg, 0);

				opt.target.retries = n == 0 ? RB_NO_RETRIES : n;
				return n >= 0;
			}
		case OPT_REASON:
			opt.target.reason = arg;
			return true;
		default:
			return false;
	}
}

static int
rollback_cmd_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	Changelog	files = {0};
	const char *root = changelog_root_option();
	int			rc;

	if (argc > 0)
		return cli_usage_error(&cmd_rollback, NULL, "unexpected argument \"%s\"", argv[0]);
	if (opt.ntargets != 1)
		return cli_usage_error(&cmd_rollback, NULL,
							   "give exactly one of --to-tag, --count, --to-date and --deployment");
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	if (!pgc_require_extension(conn))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	/* the files, when named, only to compare their rollbacks with the stored */
	if (root && *root)
	{
		if (!plan_read_changelog(conn, g, &files))
		{
			PQfinish(conn);
			return PGC_EXIT_USAGE;
		}
		opt.target.changelog = &files;
	}
	rc = rollback_run(conn, g, &opt.target, opt.dry_run);
	changelog_free(&files);
	PQfinish(conn);
	return rc;
}

const Command cmd_rollback = {
	.name = "rollback",
	.summary = "undo applied changesets with the rollback SQL stored when they ran",
	.usage =
	"Usage:\n  pgchange rollback --to-tag=TAG | --count=N | --to-date=TIMESTAMP\n"
	"                    | --deployment=ID [OPTIONS]\n\n"
	"Takes the project's deploy lock and undoes changesets, newest first, each\n"
	"in its own transaction together with its registry row; a rollback that\n"
	"cannot run in a transaction block runs statement by statement and a\n"
	"rerun resumes.  The rollback SQL is the one stored when the changeset\n"
	"was deployed, not what the files say now.  A changeset without rollback\n"
	"on the way stops the rollback before anything is undone (exit 4).\n\n"
	"Targets (exactly one):\n"
	"      --to-tag=TAG          undo what was applied after the changeset\n"
	"                            tagged TAG (that one stays)\n"
	"      --count=N             undo the last N changesets\n"
	"      --to-date=TIMESTAMP   undo what was applied after TIMESTAMP\n"
	"      --deployment=ID       undo what deployment ID applied\n\n"
	"Rollback options:\n"
	"      --dry-run             print the SQL that would run; change nothing\n"
	"      --lock-wait=INTERVAL  how long to wait for the project lock (5 min)\n"
	"      --lock-timeout=INTERVAL  lock_timeout for each changeset (5s)\n"
	"      --retries=N           retries after lock_timeout, with backoff (5)\n"
	"      --reason=TEXT         why, shown to anyone waiting for the lock\n\n"
	"With -c (or $PGCHANGE_CHANGELOG), rollbacks in the files that differ from\n"
	"the stored ones are reported, and errors name FILE:LINE.\n\n"
	CHANGELOG_OPTIONS_HELP,
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = rollback_options,
	.parse_option = rollback_parse_option,
	.run = rollback_cmd_run,
};
