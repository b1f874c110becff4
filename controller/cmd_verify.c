/*-------------------------------------------------------------------------
 *
 * cmd_verify.c
 *	  pgchange verify: run the verify SQL of the applied changesets and the
 *	  pgTAP files of the verify directory against the database, in
 *	  transactions that are rolled back; exit 6 when anything fails.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "exitcodes.h"
#include "pgconn.h"
#include "plan.h"
#include "verify.h"

static const struct option verify_options[] = {
	CHANGELOG_LONG_OPTIONS,
	VERIFY_LONG_OPTIONS,
	{NULL, 0, NULL, 0}
};

static bool
verify_cmd_parse_option(int opt, const char *arg)
{
	int			r = changelog_parse_option(opt, arg);

	if (r == 0)
		r = verify_parse_option(opt, arg);
	return r > 0;
}

static int
verify_cmd_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	Plan		plan;
	const char *root = changelog_root_option();
	bool		have_plan = root != NULL && *root != '\0';
	int			rc;

	if (argc > 0)
		return cli_usage_error(&cmd_verify, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	if (!pgc_require_extension(conn))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	/* the changelog gives the current verify SQL and the verify directory */
	if (have_plan && !plan_build(conn, g, &plan))
	{
		PQfinish(conn);
		return PGC_EXIT_USAGE;
	}
	rc = verify_command(conn, g, have_plan ? &plan : NULL);
	if (have_plan)
		plan_free(&plan);
	PQfinish(conn);
	return rc;
}

const Command cmd_verify = {
	.name = "verify",
	.summary = "run the verify SQL of applied changesets and the pgTAP files, rolled back",
	.usage =
	"Usage:\n  pgchange verify [-c CHANGELOG] [OPTIONS]\n\n"
	"Runs the verify SQL of every applied changeset (--verify lines and\n"
	"/* pgchange verify */ blocks: it passes when it runs without error),\n"
	"then every *.sql pgTAP file of the verify directory, in name order.\n"
	"Each runs in its own transaction, which is rolled back: verifying\n"
	"changes nothing.  Exits 6 when a test fails; 1 when pgTAP is missing\n"
	"on the database and there are pgTAP files to run.\n\n"
	CHANGELOG_OPTIONS_HELP
	"\n"
	VERIFY_OPTIONS_HELP,
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = verify_options,
	.parse_option = verify_cmd_parse_option,
	.run = verify_cmd_run,
};
