/*-------------------------------------------------------------------------
 *
 * cmd_policy.c
 *	  The policy commands: check (lint a changelog against the policies,
 *	  changing nothing), policy push / show (the checks-settings stored in
 *	  the database) and drift (DDL run outside deployments).
 *
 * Rules, settings and violations live in the database (pgchange.lint,
 * policy_push, policy_show, policy_rules, drift); these commands read
 * files, call those functions and report.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "output.h"
#include "pgconn.h"
#include "plan.h"
#include "policy_check.h"
#include "policy_settings.h"

enum
{
	OPT_CHECK_ALL = 3600,
	OPT_DRIFT_EXIT_CODE
};

static struct
{
	const char *policy_file;
	bool		all;
	bool		drift_exit_code;
}			opt;

static const struct option check_options[] = {
	CHANGELOG_LONG_OPTIONS,
	{"policy", required_argument, NULL, OPT_POLICY_FILE},
	{"all", no_argument, NULL, OPT_CHECK_ALL},
	{NULL, 0, NULL, 0}
};

static const struct option drift_options[] = {
	{"exit-code", no_argument, NULL, OPT_DRIFT_EXIT_CODE},
	{NULL, 0, NULL, 0}
};

static bool
check_parse_option(int o, const char *arg)
{
	int			r = changelog_parse_option(o, arg);

	if (r != 0)
		return r > 0;
	switch (o)
	{
		case OPT_POLICY_FILE:
			opt.policy_file = arg;
			return true;
		case OPT_CHECK_ALL:
			opt.all = true;
			return true;
		default:
			return false;
	}
}

static bool
drift_parse_option(int o, const char *arg)
{
	if (o != OPT_DRIFT_EXIT_CODE)
		return false;
	opt.drift_exit_code = true;
	return true;
}

/* Connect to a database where pgchange speaks our version; NULL if not */
static PGconn *
connect_checked(const GlobalOptions *g)
{
	PGconn	   *conn = pgc_connect(g);

	if (conn && !pgc_require_extension(conn))
	{
		PQfinish(conn);
		conn = NULL;
	}
	return conn;
}

/* The scope policy and drift commands work on: -p's project, else global */
static const char *
scope_project(const GlobalOptions *g)
{
	return g->project_set ? g->project : NULL;
}

/* ---- pgchange check ---- */

static int
check_run(const GlobalOptions *g, int argc, char **argv)
{
	cJSON	   *settings = NULL;
	PGconn	   *conn;
	Plan		plan;
	CheckResult r;
	int			rc;

	if (argc > 0)
		return cli_usage_error(&cmd_check, NULL, "unexpected argument \"%s\"", argv[0]);
	if (opt.policy_file && (settings = policy_settings_load(opt.policy_file, true)) == NULL)
		return PGC_EXIT_USAGE;
	if ((conn = connect_checked(g)) == NULL)
	{
		cJSON_Delete(settings);
		return PGC_EXIT_ERROR;
	}
	/* a check changes nothing: make the session say so too */
	if (!pgc_command(conn, "SET default_transaction_read_only = on", 0, NULL))
		rc = PGC_EXIT_ERROR;
	else if (!plan_build(conn, g, &plan))
		rc = PGC_EXIT_USAGE;
	else
	{
		rc = policy_check_plan(conn, g->project, &plan, opt.all, settings, &r);
		if (rc == PGC_EXIT_OK)
		{
			if (g->json)
				out_json_print(policy_check_json(&r));
			else
				policy_check_print_text(&r, g, g->quiet ? POLICY_ERROR : POLICY_INFO, stdout);
			/* annotations go where the runner reads them, JSON stays clean */
			if (policy_check_github_actions())
				policy_check_print_github(&r, g->json ? stderr : stdout);
			if (r.count[POLICY_ERROR] > 0)
				rc = PGC_EXIT_POLICY;
		}
		policy_check_free(&r);
		plan_free(&plan);
	}
	cJSON_Delete(settings);
	PQfinish(conn);
	return rc;
}

const Command cmd_check = {
	.name = "check",
	.summary = "check a changelog against the policies before deploying (exit 5 on errors)",
	.usage =
	"Usage:\n  pgchange check -c CHANGELOG [--policy FILE] [--all] [OPTIONS]\n\n"
	"Lints the changesets a deploy would run (every selected one with --all)\n"
	"with the database's own rules (pgchange.lint), and checks their comment,\n"
	"rollback and context; changes nothing.  Violations are listed by\n"
	"FILE:LINE; under GitHub Actions they are also annotations.  Exit 5 when\n"
	"one is at level error, 0 otherwise.\n\n"
	CHANGELOG_OPTIONS_HELP
	"\nCheck options:\n"
	"      --policy=FILE         lint with this checks-settings file (over the\n"
	"                            stored settings) without pushing it\n"
	"      --all                 check applied changesets too\n",
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = check_options,
	.parse_option = check_parse_option,
	.run = check_run,
};

/* ---- pgchange policy push / show ---- */

static int
policy_push_run(const GlobalOptions *g, int argc, char **argv)
{
	cJSON	   *settings;
	PGconn	   *conn;
	char	   *text;
	const char *params[2];
	PGresult   *res;
	OutRecord  *rec;

	if (argc != 1)
		return cli_usage_error(&cmd_policy, NULL, "policy push needs exactly one settings file");
	if ((settings = policy_settings_load(argv[0], scope_project(g) == NULL)) == NULL)
		return PGC_EXIT_USAGE;
	if ((conn = connect_checked(g)) == NULL)
	{
		cJSON_Delete(settings);
		return PGC_EXIT_ERROR;
	}
	text = cJSON_PrintUnformatted(settings);
	cJSON_Delete(settings);
	params[0] = text;
	params[1] = scope_project(g);
	res = PQexecParams(conn, "SELECT pgchange.policy_push($1::jsonb, $2)", 2, NULL,
					   params, NULL, NULL, 0);
	cJSON_free(text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		int			rc = policy_push_failed(res, conn);

		PQfinish(conn);
		return rc;
	}
	PQclear(res);
	rec = out_record_new();
	out_record_str(rec, "file", "pushed", argv[0]);
	out_record_str(rec, "project", "project", scope_project(g));
	out_record_str(rec, "scope", "scope", scope_project(g) ? "project" : "global");
	out_record_emit(g, rec);
	PQfinish(conn);
	return PGC_EXIT_OK;
}

/* A JSON value as compact text, for table cells */
static char *
json_text(const cJSON *v)
{
	char	   *s;
	char	   *result;

	if (v == NULL)
		return pg_strdup("");
	s = cJSON_PrintUnformatted(v);
	result = pg_strdup(s ? s : "");
	cJSON_free(s);
	return result;
}

static int
policy_show_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	const char *params[1];
	PGresult   *res;
	cJSON	   *doc;

	if (argc > 0)
		return cli_usage_error(&cmd_policy, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = connect_checked(g)) == NULL)
		return PGC_EXIT_ERROR;
	params[0] = scope_project(g);
	res = pgc_exec(conn, PGRES_TUPLES_OK, "SELECT pgchange.policy_show($1)", 1, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	doc = cJSON_Parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (doc == NULL)
	{
		pg_log_error("pgchange.policy_show() returned something that is not JSON");
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	if (g->json)
		out_json_print(doc);
	else
	{
		char	   *title = params[0] ? psprintf("policy of project %s", params[0])
			: pstrdup("policy (global)");

		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT rule, severity, scope, params FROM pgchange.policy_rules($1)",
					   1, params);
		if (res == NULL)
		{
			cJSON_Delete(doc);
			pfree(title);
			PQfinish(conn);
			return PGC_EXIT_ERROR;
		}
		out_result(g, res, title);
		PQclear(res);
		{
			char	   *rows = json_text(cJSON_GetObjectItem(doc, POLICY_KEY_LARGE_TABLE_ROWS));
			char	   *bytes = json_text(cJSON_GetObjectItem(doc, POLICY_KEY_LARGE_TABLE_BYTES));
			const cJSON *outside = cJSON_GetObjectItem(doc, POLICY_KEY_OUTSIDE_DEPLOYMENT);

			printf("large table: from %s rows or %s bytes\n", rows, bytes);
			printf("DDL outside deployments: %s\n",
				   cJSON_IsString(outside) ? outside->valuestring : "?");
			pfree(rows);
			pfree(bytes);
		}
		cJSON_Delete(doc);
		pfree(title);
	}
	PQfinish(conn);
	return PGC_EXIT_OK;
}

static const Command cmd_policy_push = {
	.name = "push",
	.summary = "validate a checks-settings file and store it in the database",
	.usage =
	"Usage:\n  pgchange policy push FILE [-p PROJECT]\n\n"
	"Validates FILE (JSON; // and /* */ comments allowed) against the rule\n"
	"catalogue, then stores it with pgchange.policy_push: as the global\n"
	"settings, or the project's own with -p (or $PGCHANGE_PROJECT).  Needs\n"
	"pgchange_admin; recorded in the event history.  Errors name the JSON\n"
	"path (exit 2).\n",
	.run = policy_push_run,
};

static const Command cmd_policy_show = {
	.name = "show",
	.summary = "show the effective settings: every rule, its severity and parameters",
	.usage =
	"Usage:\n  pgchange policy show [-p PROJECT] [--json]\n\n"
	"The settings in effect globally, or for the project with -p (or\n"
	"$PGCHANGE_PROJECT): defaults, overlaid by what was pushed.  --json\n"
	"prints the document pgchange.policy_show returns.\n",
	.run = policy_show_run,
};

static const Command *const policy_subcommands[] = {
	&cmd_policy_push,
	&cmd_policy_show,
	NULL
};

const Command cmd_policy = {
	.name = "policy",
	.summary = "push or show the policy settings (checks-settings file)",
	.usage = "Usage:\n  pgchange policy push FILE [-p PROJECT]\n  pgchange policy show [-p PROJECT] [--json]\n",
	.subcommands = policy_subcommands,
};

/* ---- pgchange drift ---- */

static int
drift_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	const char *params[1];
	PGresult   *res;
	int			rc = PGC_EXIT_OK;

	if (argc > 0)
		return cli_usage_error(&cmd_drift, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = connect_checked(g)) == NULL)
		return PGC_EXIT_ERROR;
	params[0] = scope_project(g);
	/* people get the columns that fit a terminal, machines all of them */
	res = pgc_exec(conn, PGRES_TUPLES_OK, g->json ?
				   "SELECT * FROM pgchange.drift($1)" :
				   "SELECT at, username, command_tag, objects, statement, break_glass "
				   "FROM pgchange.drift($1)", 1, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	if (!g->quiet || g->json)
	{
		char	   *title = params[0] ?
			psprintf("DDL outside deployments since the last deploy of project %s", params[0]) :
			pstrdup("DDL outside deployments since the last deploy");

		out_result(g, res, title);
		pfree(title);
	}
	if (opt.drift_exit_code && PQntuples(res) > 0)
		rc = PGC_EXIT_DRIFT;
	PQclear(res);
	PQfinish(conn);
	return rc;
}

const Command cmd_drift = {
	.name = "drift",
	.summary = "list DDL run outside deployments since the last deploy",
	.usage =
	"Usage:\n  pgchange drift [-p PROJECT] [--exit-code] [--json]\n\n"
	"Lists what pgchange.ddl_log recorded since the last finished deployment\n"
	"(of the project with -p or $PGCHANGE_PROJECT, else of any): who ran which\n"
	"DDL outside a deployment, and whether it was blocked.  Exit 0; with\n"
	"--exit-code, exit 8 when there is drift.\n",
	.short_options = NULL,
	.long_options = drift_options,
	.parse_option = drift_parse_option,
	.run = drift_run,
};
