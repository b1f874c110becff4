/*-------------------------------------------------------------------------
 *
 * policy_check.c
 *	  The policy check of a changelog (see policy_check.h): what `pgchange
 *	  check` prints and what stops a `pgchange deploy` before it starts.
 *
 * The SQL of every checked changeset goes to pgchange.lint() in one query,
 * with its runInTransaction, so the rules, their messages and their live
 * facts are the event triggers' own; lint executes nothing.  The rules
 * about changeset metadata (comment, rollback, context) see what only the
 * changelog has, so they run here, with the severities the database would
 * use for the project.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "lib/stringinfo.h"
#include "output.h"
#include "pgconn.h"
#include "policy_check.h"
#include "policy_settings.h"
#include "runner.h"

/* deploy --policy FILE: the file, read and validated when parsed */
static cJSON *deploy_settings = NULL;
static bool deploy_settings_pushed = false;

static const char *
body_file(const Changeset *cs)
{
	return cs->body_file ? cs->body_file : cs->file;
}

/*
 * The SQL of a changeset as lint sees it, its line 1 being the file's
 * body_line.  Goose drops its annotation lines from the body and runs the
 * statements it split; they are put back on their own file lines here
 * (each after a ';', which goose's statements end with anyway), so a
 * violation's line is the file's.
 */
static char *
lint_body(const Changeset *cs)
{
	StringInfoData buf;
	int			line = cs->body_line;

	if (cs->statements == NULL || cs->nstatements == 0)
		return runner_effective_body(cs);
	initStringInfo(&buf);
	for (int i = 0; i < cs->nstatements; i++)
	{
		if (i > 0)
		{
			appendStringInfoChar(&buf, '\n');
			line++;
		}
		while (line < cs->statement_lines[i])
		{
			appendStringInfoChar(&buf, '\n');
			line++;
		}
		if (i > 0)
			appendStringInfoString(&buf, "; ");
		appendStringInfoString(&buf, cs->statements[i]);
		for (const char *p = cs->statements[i]; *p; p++)
			line += (*p == '\n');
	}
	return buf.data;
}

/* Does the check look at this changeset? */
static bool
checked(const PlanItem *it, bool all)
{
	if (all)
		return it->action != PA_FILTERED && it->action != PA_IGNORED;
	return it->action == PA_RUN || it->action == PA_RERUN;
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? pg_strdup(s) : NULL;
}

static CheckViolation *
add_violation(CheckResult *r, int item, const Changeset *cs, const char *file,
			  int line, const char *rule, PolicySeverity severity)
{
	CheckViolation *v;

	if (r->n == r->capacity)
	{
		r->capacity = r->capacity ? r->capacity * 2 : 16;
		r->v = pg_realloc(r->v, sizeof(CheckViolation) * r->capacity);
	}
	v = &r->v[r->n];
	memset(v, 0, sizeof(*v));
	v->item = item;
	v->seq = r->n++;
	v->file = file;
	v->line = line;
	v->changeset = changeset_name(cs);
	v->rule = pg_strdup(rule);
	v->severity = severity;
	r->count[severity]++;
	return v;
}

/*
 * 1-based line of a 1-based character position in text (the server counts
 * characters, in the client encoding).
 */
static int
line_of_position(const char *text, int position, int encoding)
{
	int			line = 1;

	for (int chars = 1; *text && chars < position; chars++)
	{
		if (*text == '\n')
			line++;
		text += PQmblen(text, encoding);
	}
	return line;
}

/*
 * The lint query failed: find each changeset that does not parse (one
 * query each, only on this path) and report it at FILE:LINE.
 */
static int
report_unparsable(PGconn *conn, const char *project, const Plan *plan, bool all,
				  const char *settings)
{
	int			found = 0;

	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		const Changeset *cs = it->cs;
		char	   *body;
		const char *params[4];
		PGresult   *res;

		if (!checked(it, all))
			continue;
		body = lint_body(cs);
		params[0] = body;
		params[1] = settings;
		params[2] = project;
		params[3] = cs->run_in_transaction ? "true" : "false";
		res = PQexecParams(conn, "SELECT count(*) FROM pgchange.lint($1, $2::jsonb, $3, $4::boolean)",
						   4, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			const char *ipos = PQresultErrorField(res, PG_DIAG_INTERNAL_POSITION);
			const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
			const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
			int			line = ipos ? cs->body_line +
				line_of_position(body, atoi(ipos), PQclientEncoding(conn)) - 1 : cs->line;
			char	   *name = changeset_name(cs);

			pg_log_error("%s:%d: changeset %s does not parse: %s",
						 ipos ? body_file(cs) : cs->file, line, name,
						 msg ? msg : PQerrorMessage(conn));
			if (hint)
				pg_log_error_hint("%s", hint);
			pfree(name);
			found++;
		}
		PQclear(res);
		pfree(body);
	}
	return found;
}

/* The changelog-scope rules, on one changeset */
static void
check_changelog_rules(CheckResult *r, int item, const Changeset *cs,
					  const PolicySeverity *sev)
{
	CheckViolation *v;
	char	   *name = changeset_name(cs);

	/* goose files have no metadata: their Down section is the rollback */
	if (sev[0] != POLICY_OFF && (cs->comment == NULL || *cs->comment == '\0'))
	{
		v = add_violation(r, item, cs, cs->file, cs->line, "changeset-without-comment", sev[0]);
		v->message = psprintf("changeset %s has no comment", name);
		v->detail = pg_strdup("A comment says why the change was made; pgchange history shows it to whoever has to understand the change later.");
		v->hint = pg_strdup(cs->format == CSF_GOOSE ?
							"Switch the rule off for goose changelogs, which have no comments: \"changeset-without-comment\": \"off\"." :
							"Add a \"--comment: why\" line to the changeset.");
	}
	if (sev[1] != POLICY_OFF && cs->rollback == NULL && cs->rollback_ref_id == NULL)
	{
		v = add_violation(r, item, cs, cs->file, cs->line, "changeset-without-rollback", sev[1]);
		v->message = psprintf("changeset %s has no rollback", name);
		v->detail = pg_strdup("Without a rollback, undoing the change during an incident means writing SQL under pressure.");
		v->hint = pg_strdup(cs->format == CSF_GOOSE ?
							"Add a \"-- +goose Down\" section." :
							"Add \"--rollback\" lines with the SQL that undoes the change, or \"--rollback empty\" when nothing needs undoing.");
	}
	if (sev[2] != POLICY_OFF && cs->contexts == NULL && cs->labels == NULL)
	{
		v = add_violation(r, item, cs, cs->file, cs->line, "changeset-without-context", sev[2]);
		v->message = psprintf("changeset %s has no context or label", name);
		v->detail = pg_strdup("A changeset without a context runs in every environment, test data included.");
		v->hint = pg_strdup("Add context:NAME or labels:NAME to the changeset line, e.g. \"--changeset alice:1 context:prod\".");
	}
	pfree(name);
}

/*
 * Severities of the changelog-scope rules for the project: the database's
 * effective settings, then what the given document says.
 */
static bool
changelog_severities(PGconn *conn, const char *project, const cJSON *settings,
					 PolicySeverity *sev)
{
	static const char *const ids[3] = {
		"changeset-without-comment", "changeset-without-rollback", "changeset-without-context"
	};
	const char *params[1] = {project};
	PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
							   "SELECT rule, severity FROM pgchange.policy_rules($1) WHERE scope = 'changelog'",
							   1, params);

	if (res == NULL)
		return false;
	for (int k = 0; k < 3; k++)
	{
		sev[k] = policy_rule_find(ids[k])->default_severity;
		for (int i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), ids[k]) == 0)
				(void) policy_severity_parse(PQgetvalue(res, i, 1), &sev[k]);
		if (settings)
			(void) policy_settings_rule_severity(settings, project, ids[k], &sev[k]);
	}
	PQclear(res);
	return true;
}

static int
compare_violations(const void *a, const void *b)
{
	const CheckViolation *x = a;
	const CheckViolation *y = b;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
policy_check_plan(PGconn *conn, const char *project, const Plan *plan, bool all,
				  const cJSON *settings, CheckResult *r)
{
	StringInfoData batch;
	char	   *settings_text = settings ? cJSON_PrintUnformatted(settings) : NULL;
	const char *params[3];
	PolicySeverity sev[3];
	PGresult   *res;
	int			n = 0;
	int			rc = PGC_EXIT_OK;

	memset(r, 0, sizeof(*r));
	if (!changelog_severities(conn, project, settings, sev))
	{
		cJSON_free(settings_text);
		return PGC_EXIT_ERROR;
	}

	/* every checked body, with its index and runInTransaction */
	initStringInfo(&batch);
	appendStringInfoChar(&batch, '[');
	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		cJSON	   *o;
		char	   *body;
		char	   *entry;

		if (!checked(it, all))
			continue;
		r->nchecked++;
		check_changelog_rules(r, i, it->cs, sev);
		body = lint_body(it->cs);
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "i", i);
		cJSON_AddStringToObject(o, "sql", body);
		cJSON_AddBoolToObject(o, "tx", it->cs->run_in_transaction);
		entry = cJSON_PrintUnformatted(o);
		if (n++ > 0)
			appendStringInfoChar(&batch, ',');
		appendStringInfoString(&batch, entry);
		cJSON_free(entry);
		cJSON_Delete(o);
		pfree(body);
	}
	appendStringInfoChar(&batch, ']');

	if (n > 0)
	{
		params[0] = batch.data;
		params[1] = settings_text;
		params[2] = project;
		pg_log_debug("query: pgchange.lint() of %d changesets", n);
		res = PQexecParams(conn,
						   "SELECT c.i, l.rule, l.severity, l.message, l.detail, l.hint, "
						   "l.statement, l.object, l.line "
						   "FROM jsonb_to_recordset($1::jsonb) AS c(i int, sql text, tx boolean) "
						   "CROSS JOIN LATERAL pgchange.lint(c.sql, $2::jsonb, $3, c.tx) "
						   "WITH ORDINALITY AS l "
						   "ORDER BY c.i, l.ordinality", 3, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
		{
			for (int row = 0; row < PQntuples(res); row++)
			{
				int			i = atoi(PQgetvalue(res, row, 0));
				const Changeset *cs = plan->items[i].cs;
				PolicySeverity s = POLICY_WARN;
				int			line = PQgetisnull(res, row, 8) ? 0 : atoi(PQgetvalue(res, row, 8));
				CheckViolation *v;

				(void) policy_severity_parse(PQgetvalue(res, row, 2), &s);
				v = add_violation(r, i, cs, line > 0 ? body_file(cs) : cs->file,
								  line > 0 ? cs->body_line + line - 1 : cs->line,
								  PQgetvalue(res, row, 1), s);
				v->message = pg_strdup(PQgetvalue(res, row, 3));
				v->detail = dup_or_null(PQgetvalue(res, row, 4));
				v->hint = dup_or_null(PQgetvalue(res, row, 5));
				v->statement = dup_or_null(PQgetvalue(res, row, 6));
				v->object = dup_or_null(PQgetvalue(res, row, 7));
			}
			PQclear(res);
		}
		else if (pgc_sqlstate_is(res, "42601") ||
				 PQresultErrorField(res, PG_DIAG_INTERNAL_POSITION) != NULL)
		{
			/* a changeset does not parse: say which, where */
			PQclear(res);
			if (report_unparsable(conn, project, plan, all, settings_text) == 0)
				pg_log_error("pgchange.lint() failed, but no single changeset fails on its own");
			rc = PGC_EXIT_USAGE;
		}
		else
			rc = pgc_fail_exit(res, conn);
	}
	pfree(batch.data);
	cJSON_free(settings_text);
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(CheckViolation), compare_violations);
	return rc;
}

void
policy_check_free(CheckResult *r)
{
	for (int i = 0; i < r->n; i++)
	{
		CheckViolation *v = &r->v[i];

		pfree(v->changeset);
		pg_free(v->rule);
		pg_free(v->message);
		pg_free(v->detail);
		pg_free(v->hint);
		pg_free(v->statement);
		pg_free(v->object);
	}
	pg_free(r->v);
	memset(r, 0, sizeof(*r));
}

/*
 * FILE:LINE: changeset NAME, then one entry per violation there:
 *   error [rule] message
 *         hint: ...
 * Only violations at min_severity or above; -v adds the detail and the
 * statement; -q drops the count at the end.
 */
void
policy_check_print_text(const CheckResult *r, const GlobalOptions *g,
						PolicySeverity min_severity, FILE *out)
{
	const CheckViolation *prev = NULL;

	for (int i = 0; i < r->n; i++)
	{
		const CheckViolation *v = &r->v[i];

		if (v->severity < min_severity)
			continue;
		if (prev == NULL || prev->line != v->line || strcmp(prev->file, v->file) != 0)
			fprintf(out, "%s%s:%d: changeset %s\n", prev ? "\n" : "", v->file, v->line,
					v->changeset);
		prev = v;
		fprintf(out, "  %-5s [%s] %s\n", policy_severity_name(v->severity), v->rule, v->message);
		if (v->detail && g->verbose > 0)
			fprintf(out, "        detail: %s\n", v->detail);
		if (v->hint)
			fprintf(out, "        hint: %s\n", v->hint);
		if (v->statement && g->verbose > 0)
			fprintf(out, "        statement: %.*s%s\n", 300, v->statement,
					strlen(v->statement) > 300 ? " ..." : "");
	}
	if (!g->quiet)
		fprintf(out, "%s%d changeset(s) checked: %d error(s), %d warning(s), %d info\n",
				prev ? "\n" : "", r->nchecked, r->count[POLICY_ERROR],
				r->count[POLICY_WARN], r->count[POLICY_INFO]);
}

static void
add_string_or_null(cJSON *o, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *
policy_check_json(const CheckResult *r)
{
	cJSON	   *list = cJSON_CreateArray();

	for (int i = 0; i < r->n; i++)
	{
		const CheckViolation *v = &r->v[i];
		cJSON	   *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "file", v->file);
		cJSON_AddNumberToObject(o, "line", v->line);
		cJSON_AddStringToObject(o, "rule", v->rule);
		cJSON_AddStringToObject(o, "severity", policy_severity_name(v->severity));
		cJSON_AddStringToObject(o, "message", v->message);
		add_string_or_null(o, "detail", v->detail);
		add_string_or_null(o, "hint", v->hint);
		add_string_or_null(o, "statement", v->statement);
		add_string_or_null(o, "object", v->object);
		cJSON_AddStringToObject(o, "changeset", v->changeset);
		cJSON_AddItemToArray(list, o);
	}
	return list;
}

bool
policy_check_github_actions(void)
{
	const char *v = getenv("GITHUB_ACTIONS");

	return v != NULL && strcmp(v, "true") == 0;
}

/*
 * Escape for a workflow command as GitHub's toolkit does (escapeData /
 * escapeProperty): % CR LF always, and : , in properties.
 */
static void
append_escaped(StringInfo buf, const char *s, bool property)
{
	for (; *s; s++)
	{
		if (*s == '%')
			appendStringInfoString(buf, "%25");
		else if (*s == '\r')
			appendStringInfoString(buf, "%0D");
		else if (*s == '\n')
			appendStringInfoString(buf, "%0A");
		else if (property && *s == ':')
			appendStringInfoString(buf, "%3A");
		else if (property && *s == ',')
			appendStringInfoString(buf, "%2C");
		else
			appendStringInfoChar(buf, *s);
	}
}

/* ::error file=F,line=L,title=RULE::message (hint on the next line) */
void
policy_check_print_github(const CheckResult *r, FILE *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < r->n; i++)
	{
		const CheckViolation *v = &r->v[i];
		char	   *text = v->hint ? psprintf("%s\n%s", v->message, v->hint)
			: pg_strdup(v->message);

		resetStringInfo(&buf);
		appendStringInfo(&buf, "::%s file=", v->severity == POLICY_ERROR ? "error" :
						 v->severity == POLICY_WARN ? "warning" : "notice");
		append_escaped(&buf, v->file, true);
		appendStringInfo(&buf, ",line=%d,title=", v->line);
		append_escaped(&buf, v->rule, true);
		appendStringInfoString(&buf, "::");
		append_escaped(&buf, text, false);
		fprintf(out, "%s\n", buf.data);
		pg_free(text);
	}
	pfree(buf.data);
}

/* ---- deploy ---- */

int
policy_push_failed(PGresult *res, PGconn *conn)
{
	bool		denied = pgc_sqlstate_is(res, "42501");
	int			rc = pgc_fail_exit(res, conn);

	/* EXECUTE on policy_push is granted to pgchange_admin only */
	if (denied)
		pg_log_error_hint("Pushing policy settings takes a member of pgchange_admin.");
	return rc;
}

int
policy_deploy_parse_option(int opt, const char *arg)
{
	if (opt != OPT_POLICY_FILE)
		return 0;
	cJSON_Delete(deploy_settings);
	/* pushed as the project's own settings, which hold no "projects" */
	deploy_settings = policy_settings_load(arg, false);
	return deploy_settings ? 1 : -1;
}

int
policy_deploy_push(PGconn *conn, const GlobalOptions *g)
{
	char	   *text;
	const char *params[2];
	PGresult   *res;

	if (deploy_settings == NULL)
		return PGC_EXIT_OK;
	text = cJSON_PrintUnformatted(deploy_settings);
	params[0] = text;
	params[1] = g->project;
	res = PQexecParams(conn, "SELECT pgchange.policy_push($1::jsonb, $2)", 2, NULL,
					   params, NULL, NULL, 0);
	cJSON_free(text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return policy_push_failed(res, conn);
	PQclear(res);
	deploy_settings_pushed = true;
	pg_log_info("policy settings pushed for project \"%s\"", g->project);
	return PGC_EXIT_OK;
}

int
policy_deploy_check(PGconn *conn, const GlobalOptions *g, const Plan *plan)
{
	CheckResult r;
	int			rc;

	/* --dry-run pushes nothing: lint with the file itself */
	rc = policy_check_plan(conn, g->project, plan, false,
						   deploy_settings_pushed ? NULL : deploy_settings, &r);
	if (rc == PGC_EXIT_OK && r.n > 0)
	{
		/* what stops the deploy in full; the rest is pgchange check's job */
		if (r.count[POLICY_ERROR] > 0 || g->verbose > 0)
			policy_check_print_text(&r, g, g->verbose > 0 ? POLICY_INFO : POLICY_ERROR, stderr);
		else if (r.count[POLICY_WARN] > 0)
			pg_log_warning("the policy check found %d warning(s) in the changesets to run; \"pgchange check\" lists them",
						   r.count[POLICY_WARN]);
		if (policy_check_github_actions())
			policy_check_print_github(&r, g->json ? stderr : stdout);
		if (r.count[POLICY_ERROR] > 0)
		{
			pg_log_error("deploy stopped by policy: %d error-level violation(s); nothing was applied",
						 r.count[POLICY_ERROR]);
			pg_log_error_hint("Fix the changesets listed above, or have a pgchange_admin change the rules' severity with \"pgchange policy push\".");
			rc = PGC_EXIT_POLICY;
		}
	}
	policy_check_free(&r);
	return rc;
}

bool
policy_sqlstate_blocked(const PGresult *res)
{
	return pgc_sqlstate_is(res, "PC");
}
