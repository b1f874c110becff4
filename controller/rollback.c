/*-------------------------------------------------------------------------
 *
 * rollback.c
 *	  Undoing applied changesets with the rollback SQL the registry stored
 *	  when they were deployed (see rollback.h): pgchange rollback, deploy
 *	  --test-rollback and --rollback-on-failure.
 *
 * The database decides what to undo (pgchange.rollback_plan); this file
 * checks the plan before anything runs (a changeset without rollback
 * stops it all), then undoes one changeset at a time: inside the
 * database with pgchange.run_rollback (the undo and the registry change
 * in one transaction), or statement by statement with recorded progress
 * when the rollback cannot run in a transaction block, like a deploy.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#include "checksum.h"
#include "common/logging.h"
#include "exitcodes.h"
#include "fe_utils/cancel.h"
#include "lockwait.h"
#include "output.h"
#include "pgconn.h"
#include "portability/instr_time.h"
#include "policy_check.h"
#include "rollback.h"
#include "rollback_int.h"

#define SQLSTATE_QUERY_CANCELED "57014"

/* One row of pgchange.rollback_plan() */
typedef struct Entry
{
	char	   *exec_order;		/* NULL: partly run */
	char	   *id;
	char	   *author;
	char	   *ipath;
	char	   *path;
	char	   *exec_type;
	char	   *applied_at;
	char	   *action;			/* rollback, unrecord, blocked */
	char	   *reason;
	char	   *sql;
	char	  **statements;		/* goose's split, else NULL */
	int			nstatements;
	bool		in_transaction;
	char	   *checksum;		/* of the stored rollback */
	int			done;			/* statements of the rollback already done */
	bool		per_statement;	/* run outside a transaction block */
	const Changeset *cs;		/* in the files, when they were read */
} Entry;

#define PLAN_SQL \
	"SELECT exec_order, changeset_id, author, identity_path, path, exec_type, applied_at, " \
	"action, reason, rollback_sql, pg_catalog.to_jsonb(rollback_statements)::text, " \
	"rollback_in_transaction, rollback_checksum, statements_done " \
	"FROM pgchange.rollback_plan($1, $2, $3::int, $4::timestamptz, $5::bigint)"

static char *
dup_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : pg_strdup(PQgetvalue(res, row, col));
}

/* The plan rows, each as an Entry; NULL after logging (rc set) */
static Entry *
fetch_plan(PGconn *conn, const char *project, const RollbackTarget *t, int *n, int *rc)
{
	char		count[16];
	const char *params[5] = {project, NULL, NULL, NULL, NULL};
	PGresult   *res;
	Entry	   *e;

	switch (t->mode)
	{
		case RB_TO_TAG:
			params[1] = t->tag;
			break;
		case RB_COUNT:
			snprintf(count, sizeof(count), "%d", t->count);
			params[2] = count;
			break;
		case RB_TO_DATE:
			params[3] = t->to_date;
			break;
		case RB_DEPLOYMENT:
			params[4] = t->deployment_id;
			break;
	}
	res = PQexecParams(conn, PLAN_SQL, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		/* unknown tag, bad date or count: class 22, a usage error */
		*rc = pgc_fail_exit(res, conn);
		return NULL;
	}
	*n = PQntuples(res);
	e = pg_malloc0(sizeof(Entry) * Max(*n, 1));
	for (int r = 0; r < *n; r++)
	{
		char	   *json = dup_value(res, r, 10);

		e[r].exec_order = dup_value(res, r, 0);
		e[r].id = dup_value(res, r, 1);
		e[r].author = dup_value(res, r, 2);
		e[r].ipath = dup_value(res, r, 3);
		e[r].path = dup_value(res, r, 4);
		e[r].exec_type = dup_value(res, r, 5);
		e[r].applied_at = dup_value(res, r, 6);
		e[r].action = dup_value(res, r, 7);
		e[r].reason = dup_value(res, r, 8);
		e[r].sql = dup_value(res, r, 9);
		e[r].in_transaction = PQgetvalue(res, r, 11)[0] == 't';
		e[r].checksum = dup_value(res, r, 12);
		e[r].done = atoi(PQgetvalue(res, r, 13));
		if (json)
		{
			cJSON	   *a = cJSON_Parse(json);
			int			k = 0;
			cJSON	   *item;

			e[r].statements = pg_malloc0(sizeof(char *) * Max(cJSON_GetArraySize(a), 1));
			cJSON_ArrayForEach(item, a)
				e[r].statements[k++] = pg_strdup(cJSON_IsString(item) ? item->valuestring : "");
			e[r].nstatements = k;
			cJSON_Delete(a);
			pg_free(json);
		}
	}
	PQclear(res);
	return e;
}

static void
free_plan(Entry *e, int n)
{
	for (int r = 0; r < n; r++)
	{
		pg_free(e[r].exec_order);
		pg_free(e[r].id);
		pg_free(e[r].author);
		pg_free(e[r].ipath);
		pg_free(e[r].path);
		pg_free(e[r].exec_type);
		pg_free(e[r].applied_at);
		pg_free(e[r].action);
		pg_free(e[r].reason);
		pg_free(e[r].sql);
		pg_free(e[r].checksum);
		for (int k = 0; k < e[r].nstatements; k++)
			pg_free(e[r].statements[k]);
		pg_free(e[r].statements);
	}
	pg_free(e);
}

static char *
entry_name(const Entry *e)
{
	return psprintf("%s::%s::%s", e->path, e->id, e->author);
}

/* The changeset of the files an entry is, matched on identity */
static const Changeset *
find_in_files(const Changelog *cl, const Entry *e)
{
	for (int i = 0; cl && i < cl->count; i++)
	{
		const Changeset *cs = cl->items[i];

		if (strcmp(cs->id, e->id) == 0 && strcmp(cs->author, e->author) == 0 &&
			(e->ipath[0] == '\0' || strcmp(cs->path, e->ipath) == 0))
			return cs;
	}
	return NULL;
}

/*
 * Before anything is undone: every entry has a rollback, and the stored
 * ones parse; which must run statement by statement.  Returns an exit code.
 */
static int
check_plan(PGconn *conn, const RollbackTarget *t, Entry *e, int n)
{
	int			rc = PGC_EXIT_OK;

	for (int r = 0; r < n; r++)
	{
		char	   *name = entry_name(&e[r]);

		e[r].cs = find_in_files(t->changelog, &e[r]);
		if (strcmp(e[r].action, "blocked") == 0)
		{
			if (e[r].cs)
				pg_log_error("%s:%d: changeset %s has no rollback, and the rollback would pass through it",
							 e[r].cs->file, e[r].cs->line, name);
			else
				pg_log_error("changeset %s has no rollback, and the rollback would pass through it",
							 name);
			pg_log_error_detail("No rollback was stored when it was deployed (%s); nothing was rolled back.",
								e[r].applied_at);
			pg_log_error_hint("Roll back to a point after it, or undo it by hand and record that with SELECT pgchange.record_rollback(project, deployment, id, author).");
			rc = PGC_EXIT_VALIDATION;
		}
		else if (strcmp(e[r].action, "rollback") == 0)
		{
			/* a rollback in the files that differs from the stored one */
			if (e[r].cs && strcmp(e[r].exec_type, "mark_ran") != 0)
			{
				char		sum[PGC_CHECKSUM_LEN + 1];
				bool		in_files = rollback_file_checksum(t->changelog, e[r].cs, sum);

				if (!in_files || e[r].checksum == NULL || strcmp(sum, e[r].checksum) != 0)
					rollback_warn_drift(e[r].cs, e[r].checksum != NULL, in_files);
			}
			e[r].per_statement = !e[r].in_transaction;
			if (!e[r].per_statement && e[r].statements == NULL)
			{
				const char *params[1] = {e[r].sql};
				PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
										   "SELECT pg_catalog.bool_or(no_transaction IS NOT NULL) "
										   "FROM pgchange.split_sql($1)", 1, params);

				if (res == NULL)
				{
					pg_log_error_detail("The stored rollback of changeset %s does not parse; nothing was rolled back.",
										name);
					rc = PGC_EXIT_ERROR;
				}
				else
					e[r].per_statement = PQgetvalue(res, 0, 0)[0] == 't';
				PQclear(res);
			}
		}
		pfree(name);
	}
	return rc;
}

/* --dry-run: the SQL that would run, in order, bookkeeping included */
static void
print_dry_run(PGconn *conn, const char *project, const Entry *e, int n)
{
	printf("-- pgchange rollback --dry-run: project %s, %d changeset(s) to roll back\n",
		   project, n);
	printf("SELECT pgchange.lock(");
	pgc_print_literal(conn, project);
	printf(", ...);\nSELECT pgchange.begin_deployment(");
	pgc_print_literal(conn, project);
	printf(", 'rollback') AS deployment;\n");
	for (int r = 0; r < n; r++)
	{
		char	   *name = entry_name(&e[r]);
		bool		run = strcmp(e[r].action, "rollback") == 0;

		printf("\n-- %s changeset %s (%s%s, applied %s)%s\n",
			   run ? "roll back" : "unrecord", name,
			   e[r].exec_order ? "exec order " : "partly run", e[r].exec_order ? e[r].exec_order : "",
			   e[r].applied_at,
			   e[r].per_statement ? ", statement by statement, outside a transaction" : "");
		if (e[r].done > 0)
			printf("-- resuming after statement %d of its rollback\n", e[r].done);
		if (e[r].reason && !run)
			printf("-- %s\n", e[r].reason);
		if (run && !e[r].per_statement)
			printf("BEGIN;\n");
		if (run && e[r].statements)
		{
			for (int k = e[r].done; k < e[r].nstatements; k++)
				printf("%s\n", e[r].statements[k]);
		}
		else if (run)
			printf("%s\n", e[r].sql);
		printf("SELECT pgchange.record_rollback(");
		pgc_print_literal(conn, project);
		printf(", :deployment, ");
		pgc_print_literal(conn, e[r].id);
		printf(", ");
		pgc_print_literal(conn, e[r].author);
		if (e[r].ipath[0])
		{
			printf(", ");
			pgc_print_literal(conn, e[r].ipath);
		}
		printf(");\n");
		if (run && !e[r].per_statement)
			printf("COMMIT;\n");
		pfree(name);
	}
	printf("\nSELECT pgchange.finish_deployment(:deployment, 'succeeded');\nSELECT pgchange.unlock(");
	pgc_print_literal(conn, project);
	printf(");\n");
}

/*
 * A failed rollback: which changeset, the server's message, and the
 * statement (from the error context when the database ran it).
 */
static void
report_failure(const Entry *e, const PGresult *res, PGconn *conn, const char *stmt)
{
	const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	char	   *name = entry_name(e);
	const char *m;

	pg_log_error("rollback of changeset %s failed", name);
	if (res)
		pgc_log_result_error(res, conn);
	else
		pg_log_error("%s", PQerrorMessage(conn));
	if (stmt == NULL && ctx && (m = strstr(ctx, "pgchange changeset")) != NULL &&
		(m = strstr(m, ", statement ")) != NULL)
	{
		/* "statement N of M, line L: SQL", as the database's context says */
		m += 2;
		pg_log_error_detail("Rollback %.*s", (int) strcspn(m, "\n"), m);
	}
	else if (stmt)
		pg_log_error_detail("Statement: %.*s%s", 300, stmt, strlen(stmt) > 300 ? " ..." : "");
	pfree(name);
}

typedef struct RollbackProgress
{
	const RunOptions *o;
	const Entry *e;
} RollbackProgress;

static bool
rollback_progress(PGconn *conn, int done, int total, void *arg)
{
	RollbackProgress *p = (RollbackProgress *) arg;
	char		dbuf[16],
				tbuf[16];
	const char *params[7] = {p->o->project, p->o->deployment_id, p->e->id, p->e->author,
	p->e->ipath, dbuf, tbuf};

	snprintf(dbuf, sizeof(dbuf), "%d", done);
	snprintf(tbuf, sizeof(tbuf), "%d", total);
	return pgc_command(conn, "SELECT pgchange.record_rollback_progress($1, $2::bigint, $3, $4, $5, "
					   "$6::int, $7::int)", 7, params);
}

static bool
is_canceled(const PGresult *res)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return CancelRequested || (s && strcmp(s, SQLSTATE_QUERY_CANCELED) == 0);
}

/* Undo one entry; its failure is reported */
static RunResult
undo_entry(PGconn *conn, const RunOptions *o, const Entry *e)
{
	char	   *label = psprintf("rollback of %s", e->id);
	const char *params[6] = {o->project, o->deployment_id, e->id, e->author, e->ipath,
	o->lock_timeout};
	RunResult	result = RUN_OK;
	PGresult   *res = NULL;

	if (strcmp(e->action, "rollback") != 0)
	{
		/* nothing to run: only the bookkeeping */
		res = runner_exec_retry(conn, o, label,
								"SELECT pgchange.record_rollback($1, $2::bigint, $3, $4, $5)",
								5, params);
	}
	else if (!e->per_statement)
		res = runner_exec_retry(conn, o, label,
								"SELECT pgchange.run_rollback($1, $2::bigint, $3, $4, $5, $6)",
								6, params);
	else
	{
		/* statement by statement, resuming after what is done */
		char	  **stmts = e->statements;
		int			n = e->nstatements;
		PGresult   *split = NULL;
		RollbackProgress progress = {o, e};
		int			failed;
		instr_time	t0;
		char		duration[64];

		INSTR_TIME_SET_CURRENT(t0);
		if (stmts == NULL)
		{
			const char *p[1] = {e->sql};

			split = pgc_exec(conn, PGRES_TUPLES_OK,
							 "SELECT sql FROM pgchange.split_sql($1) ORDER BY statement", 1, p);
			if (split == NULL)
			{
				pfree(label);
				return RUN_FAILED;
			}
			n = PQntuples(split);
			stmts = pg_malloc(sizeof(char *) * Max(n, 1));
			for (int k = 0; k < n; k++)
				stmts[k] = PQgetvalue(split, k, 0);
		}
		if (e->done > 0)
			pg_log_info("%s: resuming after statement %d of %d", label, e->done, n);
		result = runner_exec_statements(conn, o, label, stmts, n, e->done, rollback_progress,
										&progress, &failed, &res);
		if (result != RUN_OK)
		{
			if (res)
			{
				report_failure(e, res, conn, stmts[failed]);
				pg_log_error_hint("Fix the cause and run pgchange rollback again: it resumes after statement %d of %d.",
								  failed, n);
			}
			PQclear(res);
			res = NULL;
		}
		else
		{
			instr_time	t1;

			INSTR_TIME_SET_CURRENT(t1);
			INSTR_TIME_SUBTRACT(t1, t0);
			snprintf(duration, sizeof(duration), "%.3f ms", INSTR_TIME_GET_MILLISEC(t1));
			params[5] = duration;
			res = runner_exec_retry(conn, o, label,
									"SELECT pgchange.record_rollback($1, $2::bigint, $3, $4, $5, $6::interval)",
									6, params);
		}
		if (split)
		{
			pg_free(stmts);
			PQclear(split);
		}
		if (result != RUN_OK)
		{
			pfree(label);
			return result;
		}
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		result = is_canceled(res) ? RUN_CANCELED :
			policy_sqlstate_blocked(res) ? RUN_POLICY : RUN_FAILED;
		report_failure(e, res, conn, NULL);
	}
	PQclear(res);
	pfree(label);
	return result;
}

/* seconds in a PostgreSQL interval, computed by the server; -1 if invalid */
static double
interval_seconds(PGconn *conn, const char *interval)
{
	const char *params[1] = {interval};
	PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
							   "SELECT extract(epoch FROM $1::interval)::float8", 1, params);
	double		s = -1;

	if (res)
		s = atof(PQgetvalue(res, 0, 0));
	PQclear(res);
	return s;
}

static cJSON *
target_json(const RollbackTarget *t)
{
	cJSON	   *o = cJSON_CreateObject();

	switch (t->mode)
	{
		case RB_TO_TAG:
			cJSON_AddStringToObject(o, "to_tag", t->tag);
			break;
		case RB_COUNT:
			cJSON_AddNumberToObject(o, "count", t->count);
			break;
		case RB_TO_DATE:
			cJSON_AddStringToObject(o, "to_date", t->to_date);
			break;
		case RB_DEPLOYMENT:
			cJSON_AddStringToObject(o, "deployment", t->deployment_id);
			break;
	}
	return o;
}

/* Open the rollback's deployment record; NULL on failure (logged) */
static char *
begin_rollback(PGconn *conn, const GlobalOptions *g, const RollbackTarget *t)
{
	cJSON	   *meta = cJSON_CreateObject();
	char	   *text;
	char		host[256] = "";
	const char *params[4];
	PGresult   *res;
	char	   *id = NULL;
	const char *env = getenv("PGCHANGE_ENVIRONMENT");

	(void) gethostname(host, sizeof(host) - 1);
	cJSON_AddItemToObject(meta, "target", target_json(t));
	if (env && *env)
		cJSON_AddStringToObject(meta, "environment", env);
	text = cJSON_PrintUnformatted(meta);
	cJSON_Delete(meta);
	params[0] = g->project;
	params[1] = text;
	params[2] = PGCHANGE_VERSION;
	params[3] = host;
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT pgchange.begin_deployment($1, 'rollback', $2::jsonb, $3, $4)", 4, params);
	cJSON_free(text);
	if (res)
		id = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return id;
}

int
rollback_run(PGconn *conn, const GlobalOptions *g, const RollbackTarget *t, bool dry_run)
{
	int			rc = PGC_EXIT_OK;
	bool		release = false;
	Entry	   *e = NULL;
	int			n = 0;
	char	   *deployment_id = NULL;
	const char *status = "succeeded";
	int			undone = 0;
	cJSON	   *report = cJSON_CreateObject();
	cJSON	   *list = cJSON_CreateArray();
	bool		tty = isatty(fileno(stdout)) && !g->json && t->report == NULL;

	if (t->report)
		*t->report = NULL;
	runner_setup_cancel(conn);
	if (!dry_run)
	{
		const char *wait = t->lock_wait ? t->lock_wait : "5 min";
		double		wait_s = interval_seconds(conn, wait);
		char	   *label = psprintf("%s for the lock", wait);
		char	   *result = NULL;
		char		host[256] = "";
		char	   *owner;

		(void) gethostname(host, sizeof(host) - 1);
		owner = psprintf("%s@%s pgchange rollback", getenv("USER") ? getenv("USER") : PQuser(conn), host);
		rc = wait_s < 0 ? PGC_EXIT_USAGE :
			pgc_lock_acquire(conn, &(LockRequest) {
			.project = g->project, .owner = owner,
				.reason = t->reason ? t->reason : "rollback",
				.lease = "10 minutes", .wait_s = wait_s, .wait_label = label,
				.stop = &CancelRequested
		}, &result);
		/* a caller that holds the lock (deploy) keeps it */
		release = rc == PGC_EXIT_OK && strcmp(result, "renewed") != 0;
		pg_free(result);
		pfree(label);
		pfree(owner);
		if (rc != PGC_EXIT_OK)
			goto done;
	}

	/* what to undo, decided under the lock */
	if ((e = fetch_plan(conn, g->project, t, &n, &rc)) == NULL)
		goto done;
	if ((rc = check_plan(conn, t, e, n)) != PGC_EXIT_OK)
		goto done;
	if (dry_run)
	{
		print_dry_run(conn, g->project, e, n);
		goto done;
	}
	if (n == 0)
	{
		status = "nothing to roll back";
		goto done;
	}
	if ((deployment_id = begin_rollback(conn, g, t)) == NULL)
	{
		rc = PGC_EXIT_ERROR;
		goto done;
	}

	{
		RunOptions o = {g->project, deployment_id,
			t->lock_timeout ? t->lock_timeout : "5s",
		t->retries == 0 ? 5 : t->retries < 0 ? 0 : t->retries, false};

		for (int r = 0; r < n; r++)
		{
			char	   *name = entry_name(&e[r]);
			instr_time	t0,
						t1;
			RunResult	res;
			const char *what;
			cJSON	   *item;

			if (tty)
			{
				printf("[%d/%d] %s ...", r + 1, n, name);
				fflush(stdout);
			}
			INSTR_TIME_SET_CURRENT(t0);
			res = undo_entry(conn, &o, &e[r]);
			INSTR_TIME_SET_CURRENT(t1);
			INSTR_TIME_SUBTRACT(t1, t0);
			what = res == RUN_OK ? (strcmp(e[r].action, "rollback") == 0 ? "rolled back" : "unrecorded")
				: res == RUN_CANCELED ? "canceled" : res == RUN_POLICY ? "blocked" : "failed";
			if (tty)
				printf("\r\033[K");
			if (!g->json && !g->quiet && t->report == NULL)
				printf("[%d/%d] %-12s %s (%.0f ms)\n", r + 1, n, what, name,
					   INSTR_TIME_GET_MILLISEC(t1));
			item = cJSON_CreateObject();
			cJSON_AddStringToObject(item, "id", e[r].id);
			cJSON_AddStringToObject(item, "author", e[r].author);
			cJSON_AddStringToObject(item, "path", e[r].path);
			cJSON_AddStringToObject(item, "result", what);
			if (e[r].reason)
				cJSON_AddStringToObject(item, "reason", e[r].reason);
			cJSON_AddNumberToObject(item, "ms", INSTR_TIME_GET_MILLISEC(t1));
			cJSON_AddItemToArray(list, item);
			pfree(name);
			if (res != RUN_OK)
			{
				status = res == RUN_CANCELED ? "aborted" : "failed";
				rc = res == RUN_POLICY ? PGC_EXIT_POLICY : PGC_EXIT_ERROR;
				break;
			}
			undone++;
		}
	}
	{
		const char *params[3] = {deployment_id, status,
		rc == PGC_EXIT_OK ? NULL : "see the rollback output"};

		ResetCancelConn();
		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			(void) pgc_command(conn, "ROLLBACK", 0, NULL);
		if (!pgc_command(conn, "SELECT pgchange.finish_deployment($1::bigint, $2, $3)", 3, params) &&
			rc == PGC_EXIT_OK)
			rc = PGC_EXIT_ERROR;
		SetCancelConn(conn);
	}

done:
	if (!dry_run && (rc == PGC_EXIT_OK || deployment_id))
	{
		cJSON_AddStringToObject(report, "project", g->project);
		if (deployment_id)
			cJSON_AddNumberToObject(report, "deployment_id", atof(deployment_id));
		else
			cJSON_AddNullToObject(report, "deployment_id");
		cJSON_AddStringToObject(report, "status", status);
		cJSON_AddItemToObject(report, "target", target_json(t));
		cJSON_AddItemToObject(report, "changesets", list);
		list = NULL;
		if (t->report)
		{
			*t->report = report;
			report = NULL;
		}
		else if (g->json)
		{
			out_json_print(report);
			report = NULL;
		}
		else if (!g->quiet && deployment_id)
			printf("rollback %s of project %s %s: %d of %d changeset(s) rolled back\n",
				   deployment_id, g->project, status, undone, n);
		else if (!g->quiet)
			printf("project %s: nothing to roll back\n", g->project);
	}
	cJSON_Delete(list);
	cJSON_Delete(report);
	if (release)
	{
		const char *params[1] = {g->project};

		(void) pgc_command(conn, "SELECT pgchange.unlock($1)", 1, params);
	}
	if (e)
		free_plan(e, n);
	pg_free(deployment_id);
	return rc;
}

RunResult
rollback_test_changeset(PGconn *conn, const RunOptions *o, const PlanItem *it)
{
	RollbackTarget t = {.mode = RB_COUNT, .count = 1};
	Entry	   *e;
	int			n = 0;
	int			rc;
	RunResult	result;
	char	   *name = changeset_name(it->cs);

	/* the changeset just deployed is the last one applied */
	if ((e = fetch_plan(conn, o->project, &t, &n, &rc)) == NULL)
	{
		pfree(name);
		return RUN_FAILED;
	}
	if (n != 1 || strcmp(e->id, it->cs->id) != 0 || strcmp(e->author, it->cs->author) != 0)
	{
		pg_log_error("--test-rollback: changeset %s is not the last one applied", name);
		result = RUN_FAILED;
	}
	else if (check_plan(conn, &t, e, n) != PGC_EXIT_OK)
		result = RUN_VALIDATION;
	else if ((result = undo_entry(conn, o, e)) != RUN_OK)
		pg_log_error_hint("--test-rollback: the rollback of changeset %s failed right after it was deployed; fix the rollback.",
						  name);
	else if ((result = run_changeset(conn, o, it)) != RUN_OK)
		pg_log_error_hint("--test-rollback: changeset %s could not be deployed again after its rollback; the rollback leaves something behind.",
						  name);
	else
		pg_log_info("changeset %s: deployed, rolled back and deployed again", name);
	free_plan(e, n);
	pfree(name);
	return result;
}
