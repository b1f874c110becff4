/*-------------------------------------------------------------------------
 *
 * runner.c
 *	  Running one changeset: preconditions, then either one call of
 *	  pgchange.run_changeset() (the changeset and its registry row in one
 *	  transaction, executed inside the database) or, for changesets that
 *	  cannot run in a transaction, one statement at a time with progress
 *	  recorded after each, so a rerun resumes after the last one done.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#include "common/logging.h"
#include "fe_utils/cancel.h"
#include "lib/stringinfo.h"
#include "pgconn.h"
#include "portability/instr_time.h"
#include "runner.h"

#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"
#define SQLSTATE_QUERY_CANCELED "57014"

void
runner_setup_cancel(PGconn *conn)
{
	static bool done = false;

	if (!done)
	{
		setup_cancel_handler(NULL);
		done = true;
	}
	SetCancelConn(conn);
}

/* the file a changeset's body lines belong to, and its first line */
static const char *
body_file(const Changeset *cs)
{
	return cs->body_file ? cs->body_file : cs->file;
}

/* 1-based line of offset in text */
static int
line_at(const char *text, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

char *
runner_effective_body(const Changeset *cs)
{
	return runner_effective_sql(cs->body, cs->end_delimiter);
}

char *
runner_effective_sql(const char *sql, const char *delim)
{
	size_t		dlen;
	StringInfoData out;
	const char *p;

	if (delim == NULL || *delim == '\0' || strcmp(delim, ";") == 0)
		return pg_strdup(sql);

	/* a statement ends where the delimiter closes a line (Liquibase) */
	dlen = strlen(delim);
	initStringInfo(&out);
	p = sql;
	while (*p)
	{
		const char *hit = strstr(p, delim);
		const char *after;

		if (hit == NULL)
		{
			appendStringInfoString(&out, p);
			break;
		}
		after = hit + dlen;
		while (*after == ' ' || *after == '\t' || *after == '\r')
			after++;
		if (*after == '\n' || *after == '\0')
		{
			appendBinaryStringInfo(&out, p, hit - p);
			appendStringInfoChar(&out, ';');
			p = after;
		}
		else
		{
			appendBinaryStringInfo(&out, p, after - p);
			p = after;
		}
	}
	return out.data;
}

static bool
is_sqlstate(const PGresult *res, const char *state)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s && strcmp(s, state) == 0;
}

/*
 * The level a changeset's failure is reported at: a failOnError:false one
 * does not fail the deploy (Liquibase only logs it), so it is a warning.
 */
static enum pg_log_level
failure_level(const Changeset *cs)
{
	return cs->fail_on_error ? PG_LOG_ERROR : PG_LOG_WARNING;
}

/*
 * Report a failed statement of a changeset: where it is (FILE:LINE), the
 * statement, and the server's message, detail and hint.
 */
static void
report_failure(const Changeset *cs, const PGresult *res, PGconn *conn,
			   const char *body, int stmt_line, const char *stmt)
{
	const char *ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	const char *ipos = res ? PQresultErrorField(res, PG_DIAG_INTERNAL_POSITION) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	enum pg_log_level level = failure_level(cs);
	const char *m;
	int			line = stmt_line;
	char	   *name = changeset_name(cs);

	/* the server says which statement of the body failed, and where */
	if (line == 0 && ctx && (m = strstr(ctx, "pgchange changeset")) != NULL)
	{
		const char *l = strstr(m, ", line ");

		if (l)
		{
			const char *colon = strchr(l + 7, ':');

			line = atoi(l + 7);
			if (stmt == NULL && colon)
				stmt = colon + 2;
		}
	}
	if (ipos && body)
		line = line_at(body, atoi(ipos) - 1);
	if (line < 1)
		line = 1;

	pg_log_generic(level, PG_LOG_PRIMARY, "%s:%d: changeset %s failed",
				   body_file(cs), cs->body_line + line - 1, name);
	/* the server's message, as pgc_log_result_error() has it, at our level */
	pg_log_generic(level, PG_LOG_PRIMARY, "%s", msg ? msg : PQerrorMessage(conn));
	if (detail)
		pg_log_generic(level, PG_LOG_DETAIL, "%s", detail);
	if (hint)
		pg_log_generic(level, PG_LOG_HINT, "%s", hint);
	if (stmt)
		pg_log_generic(level, PG_LOG_DETAIL, "Statement: %.*s%s", 300, stmt,
					   strlen(stmt) > 300 ? " ..." : "");
	pfree(name);
}

/*
 * A failed CREATE/REINDEX ... CONCURRENTLY leaves an INVALID index behind:
 * name it and say how to clean it up before the rerun.
 */
static void
report_invalid_indexes(PGconn *conn, const Changeset *cs, const char *stmt)
{
	PGresult   *res;

	if (stmt == NULL || strcasestr(stmt, "concurrently") == NULL)
		return;
	res = PQexec(conn,
				 "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), c.relname "
				 "FROM pg_catalog.pg_index i "
				 "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
				 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
				 "WHERE NOT i.indisvalid ORDER BY 1");
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		for (int r = 0; r < PQntuples(res); r++)
		{
			const char *relname = PQgetvalue(res, r, 1);

			if (strcasestr(stmt, relname) == NULL && PQntuples(res) > 1)
				continue;
			pg_log_generic(failure_level(cs), PG_LOG_PRIMARY,
						   "index %s was left INVALID by the failed concurrent build",
						   PQgetvalue(res, r, 0));
			pg_log_generic(failure_level(cs), PG_LOG_HINT,
						   "Fix the cause, run DROP INDEX CONCURRENTLY %s; then run pgchange deploy again.",
						   PQgetvalue(res, r, 0));
		}
	}
	PQclear(res);
}

PGresult *
runner_exec_retry(PGconn *conn, const RunOptions *o, const char *label,
				  const char *sql, int nparams, const char *const *params)
{
	int			pause_ms = 200;

	for (int attempt = 0;; attempt++)
	{
		PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

		if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
			is_sqlstate(res, SQLSTATE_LOCK_NOT_AVAILABLE) && attempt < o->retries &&
			!CancelRequested)
		{
			pg_log_warning("%s: %s; retry %d of %d in %d ms",
						   label, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
						   attempt + 1, o->retries, pause_ms);
			PQclear(res);
			pg_usleep(pause_ms * 1000L);
			pause_ms = Min(pause_ms * 2, 10000);
			continue;
		}
		return res;
	}
}

/* Check the changeset's preconditions; *holds is false if one fails */
static bool
check_preconditions(PGconn *conn, const Changeset *cs, bool *holds)
{
	*holds = true;
	for (int i = 0; i < cs->npreconditions && *holds; i++)
	{
		const Precondition *pc = &cs->preconditions[i];
		PGresult   *res;
		const char *params[3];

		if (pc->kind == PRECOND_SQL_CHECK)
		{
			res = PQexec(conn, pc->sql);
			if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) < 1 || PQnfields(res) < 1)
			{
				pg_log_error("%s:%d: precondition of changeset %s could not be checked",
							 cs->file, pc->line, cs->id);
				pgc_log_result_error(res, conn);
				PQclear(res);
				return false;
			}
			*holds = strcmp(PQgetvalue(res, 0, 0), pc->expected ? pc->expected : "") == 0;
			PQclear(res);
			continue;
		}
		params[0] = pc->schema;
		params[1] = pc->name;
		params[2] = pc->kind == PRECOND_TABLE_EXISTS ? "rp" : "vm";
		/* unquoted names fold to lower case, as they would in SQL */
		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT EXISTS (SELECT FROM pg_catalog.pg_class c "
					   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					   "WHERE c.relname::text IN ($2::text, lower($2::text)) "
					   "AND strpos($3::text, c.relkind::text) > 0 "
					   "AND CASE WHEN $1::text IS NULL THEN pg_catalog.pg_table_is_visible(c.oid) "
					   "ELSE n.nspname::text IN ($1::text, lower($1::text)) END)", 3, params);
		if (res == NULL)
			return false;
		*holds = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
	}
	return true;
}

/* a JSON array of strings, bound as one parameter, as text[] */
#define RUNNER_TEXT_ARRAY(param) \
	"(SELECT pg_catalog.array_agg(e ORDER BY o) " \
	"FROM pg_catalog.jsonb_array_elements_text(" param "::jsonb) WITH ORDINALITY AS t(e, o))"

/* The rollback a changeset stores, as bound parameters */
typedef struct RollbackParams
{
	const char *sql;
	char	   *statements;		/* JSON array (cJSON's), or NULL */
	const char *in_transaction; /* "true" or "false" */
} RollbackParams;

static void
rollback_params(const PlanItem *it, RollbackParams *rb)
{
	rb->statements = NULL;
	if (!it->rollback_resolved)
	{
		/* not resolved by rollback_resolve_plan(): the changeset's own */
		rb->sql = it->cs->rollback;
		rb->in_transaction = it->cs->run_in_transaction ? "true" : "false";
		return;
	}
	rb->sql = it->rollback_sql;
	rb->in_transaction = it->rollback_in_transaction ? "true" : "false";
	if (it->rollback_statements)
	{
		cJSON	   *a = cJSON_CreateArray();

		for (int i = 0; i < it->nrollback_statements; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(it->rollback_statements[i]));
		rb->statements = cJSON_PrintUnformatted(a);
		cJSON_Delete(a);
	}
}

static void
rollback_params_free(RollbackParams *rb)
{
	if (rb->statements)
		cJSON_free(rb->statements);
}

/*
 * Record a changeset without running it through run_changeset: mark_ran
 * (duration NULL) and the statement-by-statement path (its duration).
 */
static bool
record(PGconn *conn, const RunOptions *o, const PlanItem *it, const char *exec_type,
	   const char *duration)
{
	const Changeset *cs = it->cs;
	RollbackParams rb;
	bool		ok;
	const char *params[16] = {
		o->project, o->deployment_id, cs->id, cs->author, cs->path, it->checksum,
		exec_type, duration, cs->comment, cs->comment, cs->contexts, cs->labels
	};

	rollback_params(it, &rb);
	params[12] = rb.sql;
	params[13] = rb.statements;
	params[14] = rb.in_transaction;
	params[15] = cs->tag;
	ok = pgc_command(conn,
					 "SELECT pgchange.record_changeset($1, $2::bigint, $3, $4, $5, $6, $7, "
					 "$8::interval, $9, $10, $11, $12, $13, " RUNNER_TEXT_ARRAY("$14")
					 ", $15::boolean, $16)", 16, params);
	rollback_params_free(&rb);
	return ok;
}

RunResult
runner_exec_statements(PGconn *conn, const RunOptions *o, const char *label,
					   char **stmts, int n, int from, StatementDone done, void *arg,
					   int *failed, PGresult **error)
{
	RunResult	result = RUN_OK;

	*failed = -1;
	*error = NULL;
	if (o->lock_timeout)
	{
		const char *params[1] = {o->lock_timeout};

		if (!pgc_command(conn, "SELECT pg_catalog.set_config('lock_timeout', $1, false)", 1, params))
			return RUN_FAILED;
	}
	for (int i = from; i < n; i++)
	{
		PGresult   *res = runner_exec_retry(conn, o, label, stmts[i], 0, NULL);

		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			result = (CancelRequested || is_sqlstate(res, SQLSTATE_QUERY_CANCELED))
				? RUN_CANCELED : RUN_FAILED;
			*failed = i;
			*error = res;
			break;
		}
		PQclear(res);
		if (!done(conn, i + 1, n, arg))
		{
			result = RUN_FAILED;
			break;
		}
	}
	if (o->lock_timeout)
		(void) pgc_command(conn, "RESET lock_timeout", 0, NULL);
	return result;
}

/* What a deploy's progress records after each statement */
typedef struct DeployProgress
{
	const RunOptions *o;
	const PlanItem *it;
	RollbackParams rb;
} DeployProgress;

static bool
deploy_progress(PGconn *conn, int done, int total, void *arg)
{
	DeployProgress *p = (DeployProgress *) arg;
	const Changeset *cs = p->it->cs;
	char		ibuf[16],
				nbuf[16];
	const char *params[11];

	snprintf(ibuf, sizeof(ibuf), "%d", done);
	snprintf(nbuf, sizeof(nbuf), "%d", total);
	params[0] = p->o->project;
	params[1] = p->o->deployment_id;
	params[2] = cs->id;
	params[3] = cs->author;
	params[4] = cs->path;
	params[5] = p->it->checksum;
	params[6] = ibuf;
	params[7] = nbuf;
	params[8] = p->rb.sql;
	params[9] = p->rb.statements;
	params[10] = p->rb.in_transaction;
	return pgc_command(conn, "SELECT pgchange.record_progress($1, $2::bigint, $3, $4, $5, $6, "
					   "$7::int, $8::int, $9, " RUNNER_TEXT_ARRAY("$10") ", $11::boolean)",
					   11, params);
}

/* The statement-by-statement path, resuming after recorded progress */
static RunResult
run_statements(PGconn *conn, const RunOptions *o, const PlanItem *it, const char *body)
{
	const Changeset *cs = it->cs;
	char	  **stmts;
	int		   *lines;
	int			n = 0;
	int			done = 0;
	int			failed;
	PGresult   *res = NULL;
	const char *params[4];
	RunResult	result = RUN_OK;
	instr_time	started;
	DeployProgress progress = {o, it};

	INSTR_TIME_SET_CURRENT(started);

	if (cs->statements)
	{
		/* goose splits its own way, and that is what goose users expect */
		stmts = cs->statements;
		lines = cs->statement_lines;
		n = cs->nstatements;
	}
	else
	{
		params[0] = body;
		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT line, sql FROM pgchange.split_sql($1) ORDER BY statement", 1, params);
		if (res == NULL)
		{
			report_failure(cs, NULL, conn, body, 0, NULL);
			return RUN_FAILED;
		}
		n = PQntuples(res);
		stmts = pg_malloc(sizeof(char *) * Max(n, 1));
		lines = pg_malloc(sizeof(int) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			lines[i] = cs->body_line + atoi(PQgetvalue(res, i, 0)) - 1;
			stmts[i] = pg_strdup(PQgetvalue(res, i, 1));
		}
		PQclear(res);
	}

	/* resume after what a previous run completed, if it ran this text */
	params[0] = o->project;
	params[1] = cs->id;
	params[2] = cs->author;
	params[3] = o->path_identity ? cs->path : "";
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT statements_done, checksum, kind FROM pgchange.progress "
				   "WHERE project = $1 AND changeset_id = $2 AND author = $3 AND identity_path = $4",
				   4, params);
	if (res == NULL)
		result = RUN_FAILED;
	else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "rollback") == 0)
	{
		/* a rollback of it stopped half way: finish that first */
		pg_log_error("%s:%d: changeset %s is partly rolled back (%s statements of its rollback done)",
					 cs->file, cs->line, cs->id, PQgetvalue(res, 0, 0));
		pg_log_error_hint("Finish the rollback first: run pgchange rollback again, it resumes.");
		result = RUN_VALIDATION;
	}
	else if (PQntuples(res) == 1)
	{
		done = atoi(PQgetvalue(res, 0, 0));
		if (strcmp(PQgetvalue(res, 0, 1), it->checksum) != 0)
		{
			pg_log_error("%s:%d: changeset %s was partly applied (%d statements) with another text",
						 cs->file, cs->line, cs->id, done);
			pg_log_error_detail("Recorded checksum %s, the file's is %s.",
								PQgetvalue(res, 0, 1), it->checksum);
			pg_log_error_hint("Finish or undo the applied statements by hand, then record the progress under the new text with pgchange.record_progress(), or restore the old text.");
			result = RUN_VALIDATION;
		}
		else
			pg_log_info("changeset %s: resuming after statement %d of %d", cs->id, done, n);
	}
	PQclear(res);

	if (result == RUN_OK)
	{
		rollback_params(it, &progress.rb);
		result = runner_exec_statements(conn, o, cs->id, stmts, n, done, deploy_progress,
										&progress, &failed, &res);
		rollback_params_free(&progress.rb);
		if (res)
		{
			report_failure(cs, res, conn, NULL, lines[failed] - cs->body_line + 1, stmts[failed]);
			report_invalid_indexes(conn, cs, stmts[failed]);
			PQclear(res);
		}
	}
	if (!cs->statements)
	{
		for (int i = 0; i < n; i++)
			pg_free(stmts[i]);
		pg_free(stmts);
		pg_free(lines);
	}
	if (result == RUN_OK)
	{
		instr_time	elapsed;
		char		duration[64];

		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, started);
		snprintf(duration, sizeof(duration), "%.3f ms", INSTR_TIME_GET_MILLISEC(elapsed));
		if (!record(conn, o, it, it->action == PA_RERUN ? "reran" : "executed", duration))
			result = RUN_FAILED;
	}
	return result;
}

RunResult
run_changeset(PGconn *conn, const RunOptions *o, const PlanItem *it)
{
	const Changeset *cs = it->cs;
	bool		holds;
	char	   *body;
	PGresult   *res;
	RunResult	result;

	if (!check_preconditions(conn, cs, &holds))
	{
		/* the check itself failed: onError decides, as in Liquibase */
		switch (cs->on_error)
		{
			case PRECOND_HALT:
				return RUN_FAILED;
			case PRECOND_CONTINUE:
				return RUN_SKIPPED;
			case PRECOND_MARK_RAN:
				return record(conn, o, it, "mark_ran", NULL) ? RUN_MARKED : RUN_FAILED;
			case PRECOND_WARN:
				pg_log_warning("%s:%d: the precondition of changeset %s could not be checked; running it anyway",
							   cs->file, cs->line, cs->id);
				holds = true;
				break;
		}
	}
	if (!holds)
	{
		switch (cs->on_fail)
		{
			case PRECOND_HALT:
				pg_log_error("%s:%d: a precondition of changeset %s failed",
							 cs->file, cs->line, cs->id);
				pg_log_error_hint("The precondition says onFail:HALT; fix the database or the changeset.");
				return RUN_FAILED;
			case PRECOND_CONTINUE:
				pg_log_info("changeset %s: precondition failed, skipped for now", cs->id);
				return RUN_SKIPPED;
			case PRECOND_MARK_RAN:
				return record(conn, o, it, "mark_ran", NULL) ? RUN_MARKED : RUN_FAILED;
			case PRECOND_WARN:
				pg_log_warning("%s:%d: a precondition of changeset %s failed; running it anyway",
							   cs->file, cs->line, cs->id);
				break;
		}
	}

	body = runner_effective_body(cs);
	if (!cs->run_in_transaction)
	{
		result = run_statements(conn, o, it, body);
		pg_free(body);
	}
	else
	{
		RollbackParams rb;
		const char *params[17] = {
			o->project, o->deployment_id, cs->id, cs->author, cs->path, it->checksum, body,
			it->action == PA_RERUN ? "reran" : "executed", o->lock_timeout,
			cs->comment, cs->comment, cs->contexts, cs->labels
		};

		rollback_params(it, &rb);
		params[13] = rb.sql;
		params[14] = rb.statements;
		params[15] = rb.in_transaction;
		params[16] = cs->tag;
		res = runner_exec_retry(conn, o, cs->id,
								"SELECT pgchange.run_changeset($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9, "
								"$10, $11, $12, $13, $14, " RUNNER_TEXT_ARRAY("$15")
								", $16::boolean, $17)", 17, params);
		rollback_params_free(&rb);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			result = RUN_OK;
		else
		{
			result = (CancelRequested || is_sqlstate(res, SQLSTATE_QUERY_CANCELED))
				? RUN_CANCELED : RUN_FAILED;
			report_failure(cs, res, conn, body, 0, NULL);
		}
		PQclear(res);
		pg_free(body);
	}

	if (result == RUN_FAILED && !cs->fail_on_error)
	{
		/* Liquibase goes on and records nothing */
		pg_log_warning("changeset %s failed; failOnError:false, so the deploy goes on and it stays pending",
					   cs->id);
		return RUN_SKIPPED;
	}
	return result;
}
