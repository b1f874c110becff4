/*-------------------------------------------------------------------------
 *
 * cmd_status.c
 *	  Read commands over a changelog and a database: status (what a
 *	  deploy would do), validate (do applied changesets still match their
 *	  files), and tag (name the last applied changeset).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "fe_utils/print.h"
#include "output.h"
#include "pgconn.h"
#include "plan.h"

enum
{
	OPT_EXIT_CODE = 3100
};

static bool exit_code_flag = false;

static const struct option status_options[] = {
	CHANGELOG_LONG_OPTIONS,
	{"exit-code", no_argument, NULL, OPT_EXIT_CODE},
	{NULL, 0, NULL, 0}
};

static const struct option validate_options[] = {
	CHANGELOG_LONG_OPTIONS,
	{NULL, 0, NULL, 0}
};

static bool
status_parse_option(int opt, const char *arg)
{
	int			r = changelog_parse_option(opt, arg);

	if (r != 0)
		return r > 0;
	if (opt == OPT_EXIT_CODE)
	{
		exit_code_flag = true;
		return true;
	}
	return false;
}

static bool
validate_parse_option(int opt, const char *arg)
{
	return changelog_parse_option(opt, arg) > 0;
}

/* connect and build the plan; NULL conn on failure (rc set) */
static PGconn *
open_plan(const GlobalOptions *g, Plan *plan, int *rc)
{
	PGconn	   *conn = pgc_connect(g);
	Handshake	hs = {.project = g->project};

	*rc = PGC_EXIT_ERROR;
	if (conn == NULL)
		return NULL;
	if (!pgc_handshake(conn, &hs))
	{
		pgc_handshake_free(&hs);
		PQfinish(conn);
		return NULL;
	}
	plan_set_stored_identity(hs.identity_mode);
	pgc_handshake_free(&hs);
	/* rollbacks that differ from the stored ones are warned about */
	plan_set_compare_rollbacks(true);
	if (!plan_build(conn, g, plan))
	{
		*rc = PGC_EXIT_USAGE;
		PQfinish(conn);
		return NULL;
	}
	*rc = PGC_EXIT_OK;
	return conn;
}

/*
 * Render a plan: a psql-style table of the changesets that matter (all of
 * them with -v), or everything as JSON.  only_problems shows just what
 * validate complains about.
 */
static void
print_plan(const GlobalOptions *g, const Plan *plan, bool only_problems, const char *title)
{
	cJSON	   *list = cJSON_CreateArray();

	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		cJSON	   *o;

		if (!g->json)
		{
			if (only_problems && it->status != PS_CHANGED && it->status != PS_OUT_OF_ORDER)
				continue;
			if (!only_problems && g->verbose == 0 && it->action == PA_SKIP)
				continue;
		}
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", it->cs->id);
		cJSON_AddStringToObject(o, "author", it->cs->author);
		cJSON_AddStringToObject(o, "path", it->cs->path);
		cJSON_AddStringToObject(o, "file", it->cs->file);
		cJSON_AddNumberToObject(o, "line", it->cs->line);
		cJSON_AddStringToObject(o, "status", plan_status_name(it->status));
		cJSON_AddStringToObject(o, "action", plan_action_name(it->action));
		cJSON_AddStringToObject(o, "checksum", it->checksum);
		if (it->applied_checksum)
			cJSON_AddStringToObject(o, "applied_checksum", it->applied_checksum);
		else
			cJSON_AddNullToObject(o, "applied_checksum");
		if (it->applied_at)
			cJSON_AddStringToObject(o, "applied_at", it->applied_at);
		else
			cJSON_AddNullToObject(o, "applied_at");
		cJSON_AddItemToArray(list, o);
	}
	for (int i = 0; i < plan->nmissing; i++)
	{
		cJSON	   *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", plan->missing[i].id);
		cJSON_AddStringToObject(o, "author", plan->missing[i].author);
		cJSON_AddStringToObject(o, "path", plan->missing[i].path);
		cJSON_AddNullToObject(o, "file");
		cJSON_AddNullToObject(o, "line");
		cJSON_AddStringToObject(o, "status", "missing from files");
		cJSON_AddStringToObject(o, "action", plan->allow_missing ? "none" : "blocked");
		cJSON_AddNullToObject(o, "checksum");
		cJSON_AddNullToObject(o, "applied_checksum");
		cJSON_AddStringToObject(o, "applied_at", plan->missing[i].applied_at);
		cJSON_AddItemToArray(list, o);
	}

	if (g->json)
	{
		cJSON	   *top = cJSON_CreateObject();
		int			pending = 0,
					applied = 0;

		for (int i = 0; i < plan->nitems; i++)
		{
			pending += plan->items[i].action == PA_RUN || plan->items[i].action == PA_RERUN;
			applied += plan->items[i].status == PS_OK || plan->items[i].status == PS_CHANGED;
		}
		cJSON_AddStringToObject(top, "project", plan->project);
		cJSON_AddNumberToObject(top, "changesets", plan->nitems);
		cJSON_AddNumberToObject(top, "applied", applied);
		cJSON_AddNumberToObject(top, "to_run", pending);
		cJSON_AddNumberToObject(top, "blocked", plan->nblocked);
		cJSON_AddNumberToObject(top, "missing_from_files", plan->nmissing);
		cJSON_AddItemToObject(top, "items", list);
		out_json_print(top);
		return;
	}

	/* a table, as psql would print it */
	{
		printTableContent cont;
		printTableOpt topt = {0};
		int			rows = cJSON_GetArraySize(list);
		cJSON	   *o;

		topt.format = PRINT_ALIGNED;
		topt.border = 1;
		topt.start_table = topt.stop_table = true;
		topt.default_footer = true;
		printTableInit(&cont, &topt, title, 4, rows);
		printTableAddHeader(&cont, "changeset", false, 'l');
		printTableAddHeader(&cont, "where", false, 'l');
		printTableAddHeader(&cont, "status", false, 'l');
		printTableAddHeader(&cont, "action", false, 'l');
		cJSON_ArrayForEach(o, list)
		{
			cJSON	   *file = cJSON_GetObjectItem(o, "file");

			printTableAddCell(&cont, psprintf("%s::%s::%s",
											  cJSON_GetObjectItem(o, "path")->valuestring,
											  cJSON_GetObjectItem(o, "id")->valuestring,
											  cJSON_GetObjectItem(o, "author")->valuestring),
							  false, true);
			printTableAddCell(&cont, cJSON_IsString(file) ?
							  psprintf("%s:%d", file->valuestring,
									   (int) cJSON_GetObjectItem(o, "line")->valuedouble) :
							  pstrdup(""), false, true);
			printTableAddCell(&cont, cJSON_GetObjectItem(o, "status")->valuestring, false, false);
			printTableAddCell(&cont, cJSON_GetObjectItem(o, "action")->valuestring, false, false);
		}
		printTable(&cont, stdout, false, NULL);
		printTableCleanup(&cont);
	}
	cJSON_Delete(list);
}

static int
status_run(const GlobalOptions *g, int argc, char **argv)
{
	Plan		plan;
	int			rc;
	PGconn	   *conn;
	int			applied = 0;

	if (argc > 0)
		return cli_usage_error(&cmd_status, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = open_plan(g, &plan, &rc)) == NULL)
		return rc;
	for (int i = 0; i < plan.nitems; i++)
		applied += plan.items[i].status == PS_OK || plan.items[i].status == PS_CHANGED;
	{
		char	   *title = psprintf("project %s", g->project);

		print_plan(g, &plan, false, title);
		pfree(title);
	}
	if (!g->json && !g->quiet)
		printf("%d changesets: %d applied, %d to run, %d blocked, %d applied but missing from the files\n",
			   plan.nitems, applied, plan.nrun, plan.nblocked, plan.nmissing);
	if (plan.nblocked > 0 || (plan.nmissing > 0 && !plan.allow_missing))
		rc = exit_code_flag ? PGC_EXIT_VALIDATION : PGC_EXIT_OK;
	else if (exit_code_flag && plan.nrun > 0)
		rc = PGC_EXIT_PENDING;
	plan_free(&plan);
	PQfinish(conn);
	return rc;
}

const Command cmd_status = {
	.name = "status",
	.summary = "show what a deploy would run: pending, changed, out of order, missing",
	.usage =
	"Usage:\n  pgchange status -c CHANGELOG [--exit-code] [OPTIONS]\n\n"
	"Lists the changesets a deploy would run and those that block it (add -v\n"
	"for every changeset).  With --exit-code: exit 7 when something is to\n"
	"run, 4 when validation fails, 0 when the database is up to date.\n\n"
	CHANGELOG_OPTIONS_HELP,
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = status_options,
	.parse_option = status_parse_option,
	.run = status_run,
};

static int
validate_run(const GlobalOptions *g, int argc, char **argv)
{
	Plan		plan;
	int			rc;
	PGconn	   *conn;
	int			applied = 0;

	if (argc > 0)
		return cli_usage_error(&cmd_validate, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = open_plan(g, &plan, &rc)) == NULL)
		return rc;
	for (int i = 0; i < plan.nitems; i++)
		applied += plan.items[i].status == PS_OK || plan.items[i].status == PS_CHANGED;

	if (plan.nblocked > 0 || (plan.nmissing > 0 && !plan.allow_missing))
		rc = PGC_EXIT_VALIDATION;
	if (g->json || rc != PGC_EXIT_OK)
	{
		char	   *title = psprintf("validation of project %s failed", g->project);

		print_plan(g, &plan, true, title);
		pfree(title);
	}
	else if (!g->quiet)
		printf("project %s: the %d applied changesets match their files\n", g->project, applied);
	plan_free(&plan);
	PQfinish(conn);
	return rc;
}

const Command cmd_validate = {
	.name = "validate",
	.summary = "check that applied changesets still match their files (exit 4 if not)",
	.usage =
	"Usage:\n  pgchange validate -c CHANGELOG [OPTIONS]\n\n"
	"Compares the checksum of every applied changeset with its file, and\n"
	"reports changed, out-of-order and missing changesets.  Comments and\n"
	"whitespace do not count as changes.  Exit 4 when validation fails.\n\n"
	CHANGELOG_OPTIONS_HELP,
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = validate_options,
	.parse_option = validate_parse_option,
	.run = validate_run,
};

static int
tag_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *params[2];

	if (argc != 1)
		return cli_usage_error(&cmd_tag, NULL, "exactly one tag name is needed");
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	if (!pgc_require_extension(conn))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	params[0] = g->project;
	params[1] = argv[0];
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT changeset_id, author, path, exec_order FROM pgchange.tag($1, $2)", 2, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	{
		char	   *title = psprintf("tag %s", argv[0]);

		out_result(g, res, title);
		pfree(title);
	}
	PQclear(res);
	PQfinish(conn);
	return PGC_EXIT_OK;
}

const Command cmd_tag = {
	.name = "tag",
	.summary = "tag the last applied changeset of the project",
	.usage = "Usage:\n  pgchange tag NAME\n\nTags are unique per project.\n",
	.run = tag_run,
};
