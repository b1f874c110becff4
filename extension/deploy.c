/*-------------------------------------------------------------------------
 *
 * deploy.c
 *	  Running a transactional changeset inside the database.
 *
 * pgchange.run_changeset() executes a changeset's body in the caller's
 * transaction, with the caller's privileges, and records it in the same
 * transaction: the change and its registry row commit or roll back
 * together, and nothing goes over the network per statement.
 *
 * The body is split with the server's own parser, so each statement runs
 * on its own and an error names the statement and its line.  SET inside
 * a changeset is undone at its end (a GUC nest level, as for a function
 * with SET clauses), so it cannot leak into the next changeset.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"
#include "utils/timestamp.h"

#include "policy.h"
#include "deploy.h"
#include "pgchange.h"

PG_FUNCTION_INFO_V1(pgchange_run_changeset);

static const char *no_transaction_reason(Node *stmt);

/* What the error context callbacks need to know */
typedef struct RunState
{
	const char *changeset;		/* "id" by "author" */
	const char *body;
	int			statement;		/* 1-based; 0 while parsing */
	int			nstatements;
	int			line;			/* line of the statement in the body */
	int			location;		/* offset of the statement in the body */
	const char *sql;			/* the statement running */
	int			sqllen;
} RunState;

/*
 * Error context: which changeset and statement failed.  The controller
 * reads "statement N of M, line L" to point at FILE:LINE.  A syntax error
 * position is moved onto the body, as SPI does for its own queries.
 */
static void
run_error_callback(void *arg)
{
	RunState   *st = (RunState *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		/* positions are relative to what was parsed: the body or a statement */
		errposition(0);
		internalerrposition(pos + (st->statement > 0 ? st->location : 0));
		internalerrquery(st->body);
	}
	if (st->statement > 0)
		errcontext("pgchange changeset %s, statement %d of %d, line %d: %.*s%s",
				   st->changeset, st->statement, st->nstatements, st->line,
				   Min(st->sqllen, 200), st->sql, st->sqllen > 200 ? " ..." : "");
	else
		errcontext("pgchange changeset %s, while parsing", st->changeset);
}

/*
 * Split a body with raw_parser(), keeping the lexer's notices and warnings
 * (an identifier truncated to NAMEDATALEN, ...) from the client: splitting
 * runs nothing, and each statement says them again when it runs, as it
 * would under psql, Liquibase or goose.  Errors still reach the client.
 */
static List *
parse_quietly(const char *body)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *stmts;

	(void) set_config_option("client_min_messages", "error", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	stmts = raw_parser(body, RAW_PARSE_DEFAULT);
	AtEOXact_GUC(true, nestlevel);
	return stmts;
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * Run parsed statements in the caller's transaction, SPI connected: first
 * refuse the whole body if a statement cannot run in a transaction block
 * (before anything runs), then each statement on its own, from its first
 * token, with st naming it in the error context.  what names the body in
 * the refusal ("changeset 3 by alice"), hint says how to run it instead.
 */
static void
exec_statements(RunState *st, List *stmts, const char *sql, const char *what,
				const char *hint)
{
	int			sqllen = (int) strlen(sql);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		const char *reason = no_transaction_reason(raw->stmt);

		if (reason)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s cannot run inside a transaction block", reason),
					 errdetail("Statement %d of %s, line %d.",
							   foreach_current_index(lc) + 1, what,
							   policy_line_of(sql, policy_skip_blank(sql, raw->stmt_location,
																	 sqllen))),
					 errhint("%s", hint)));
	}
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			loc = raw->stmt_location;
		int			len = raw->stmt_len > 0 ? raw->stmt_len : sqllen - loc;
		int			start = policy_skip_blank(sql, loc, loc + len);
		char	   *one;
		int			ret;

		/* run the statement from its first token; positions count from there */
		st->statement = foreach_current_index(lc) + 1;
		st->location = start;
		st->line = policy_line_of(sql, start);
		st->sql = sql + start;
		st->sqllen = loc + len - start;
		one = pnstrdup(st->sql, st->sqllen);
		ret = SPI_execute(one, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		pfree(one);
	}
}

/*
 * pgchange.run_changeset(project, deployment_id, changeset_id, author, path,
 *     checksum, body, exec_type, lock_timeout, description, comment,
 *     contexts, labels, rollback_sql, rollback_statements,
 *     rollback_in_transaction, tag) returns bigint (the execution order)
 */
Datum
pgchange_run_changeset(PG_FUNCTION_ARGS)
{
	char	   *project = text_arg(fcinfo, 0);
	char	   *changeset_id = text_arg(fcinfo, 2);
	char	   *author = text_arg(fcinfo, 3);
	char	   *body = text_arg(fcinfo, 6);
	char	   *exec_type = text_arg(fcinfo, 7);
	char	   *lock_timeout = text_arg(fcinfo, 8);
	RunState	st = {0};
	ErrorContextCallback errcb;
	List	   *stmts;
	int			save_nestlevel;
	TimestampTz start;
	Datum		duration;
	Datum		order;
	bool		isnull;
	Oid			argtypes[16];
	Datum		values[16];
	char		nulls[16];
	int			ret;
	PolicyRunningChangeset running;

	if (project == NULL || PG_ARGISNULL(1) || changeset_id == NULL || author == NULL ||
		PG_ARGISNULL(4) || PG_ARGISNULL(5) || body == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("project, deployment_id, changeset_id, author, path, checksum and body must not be null")));
	if (exec_type == NULL)
		exec_type = "executed";

	/* SET inside the changeset is undone when it ends */
	save_nestlevel = NewGUCNestLevel();
	if (lock_timeout)
		(void) set_config_option("lock_timeout", lock_timeout, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	st.changeset = psprintf("%s by %s", changeset_id, author);
	st.body = body;
	errcb.callback = run_error_callback;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	start = GetCurrentTimestamp();
	stmts = parse_quietly(body);
	st.nstatements = list_length(stmts);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the policy event triggers name this changeset in what they record */
	running.project = project;
	running.deployment_id = PG_GETARG_INT64(1);
	running.changeset = psprintf("%s:%s", changeset_id, author);
	running.rolling_back = false;
	policy_running_changeset = &running;
	PG_TRY();
	{
		exec_statements(&st, stmts, body, psprintf("changeset %s", st.changeset),
						"Run the changeset statement by statement (runInTransaction:false).");
	}
	PG_FINALLY();
	{
		policy_running_changeset = NULL;
	}
	PG_END_TRY();
	st.statement = 0;
	error_context_stack = errcb.previous;

	duration = DirectFunctionCall2(timestamp_mi,
								   TimestampTzGetDatum(GetCurrentTimestamp()),
								   TimestampTzGetDatum(start));

	/* the record goes into the same transaction */
	for (int i = 0; i < 16; i++)
	{
		argtypes[i] = TEXTOID;
		nulls[i] = ' ';
	}
	argtypes[1] = INT8OID;
	argtypes[7] = INTERVALOID;
	argtypes[13] = TEXTARRAYOID;	/* rollback_statements */
	argtypes[14] = BOOLOID;		/* rollback_in_transaction */
	values[0] = CStringGetTextDatum(project);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = CStringGetTextDatum(changeset_id);
	values[3] = CStringGetTextDatum(author);
	values[4] = PG_GETARG_DATUM(4);
	values[5] = PG_GETARG_DATUM(5);
	values[6] = CStringGetTextDatum(exec_type);
	values[7] = duration;
	for (int i = 8; i < 16; i++)
	{
		/*
		 * description, comment, contexts, labels, rollback_sql (args 9..13),
		 * rollback_statements, rollback_in_transaction, tag (14..16)
		 */
		if (PG_ARGISNULL(i + 1))
			nulls[i] = 'n';
		else
			values[i] = PG_GETARG_DATUM(i + 1);
	}
	ret = SPI_execute_with_args(
		"SELECT pgchange.record_changeset($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		16, argtypes, values, nulls, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "recording changeset %s failed: %s", st.changeset,
			 SPI_result_code_string(ret));
	order = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

	SPI_finish();
	/* false: undo every SET of the changeset, not only SET LOCAL */
	AtEOXact_GUC(false, save_nestlevel);

	PG_RETURN_DATUM(order);
}

/*
 * Why a statement cannot run inside a transaction block, or NULL.  Decided
 * on the parse tree, so comments and odd spacing cannot fool it.
 */
static const char *
no_transaction_reason(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			{
				ReindexStmt *r = (ReindexStmt *) stmt;
				ListCell   *lc;

				if (r->kind == REINDEX_OBJECT_SYSTEM || r->kind == REINDEX_OBJECT_DATABASE)
					return "REINDEX SYSTEM or DATABASE";
#if PG_VERSION_NUM >= 140000
				foreach(lc, r->params)
				{
					DefElem    *opt = lfirst_node(DefElem, lc);

					if (strcmp(opt->defname, "concurrently") == 0 && defGetBoolean(opt))
						return "REINDEX CONCURRENTLY";
				}
#else
				(void) lc;
				if (r->concurrent)
					return "REINDEX CONCURRENTLY";
#endif
				return NULL;
			}
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_CreateSubscriptionStmt:
			return "CREATE SUBSCRIPTION";
		case T_DropSubscriptionStmt:
			return "DROP SUBSCRIPTION";
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL ? "CLUSTER without a table" : NULL;
		case T_TransactionStmt:
			return "transaction control (BEGIN, COMMIT, ROLLBACK ...)";
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) stmt)->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

#if PG_VERSION_NUM >= 140000
					if (cmd->subtype == AT_DetachPartition &&
						((PartitionCmd *) cmd->def)->concurrent)
						return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY";
#else
					(void) cmd;
#endif
				}
				return NULL;
			}
		default:
			return NULL;
	}
}

PG_FUNCTION_INFO_V1(pgchange_split_sql);

/*
 * pgchange.split_sql(body) returns table (statement int, line int, sql
 * text, no_transaction text): the body's statements as the server's parser
 * splits them, each with its line and, if it cannot run inside a
 * transaction block, why.  Nothing is executed.
 */
Datum
pgchange_split_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *body = text_to_cstring(PG_GETARG_TEXT_PP(0));
	RunState	st = {0};
	ErrorContextCallback errcb;
	List	   *stmts;
	ListCell   *lc;

	pgchange_init_srf(fcinfo);

	st.changeset = "given to split_sql";
	st.body = body;
	errcb.callback = run_error_callback;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	stmts = parse_quietly(body);
	error_context_stack = errcb.previous;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			loc = raw->stmt_location;
		int			len = raw->stmt_len > 0 ? raw->stmt_len : (int) strlen(body) - loc;
		int			start = policy_skip_blank(body, loc, loc + len);
		const char *reason = no_transaction_reason(raw->stmt);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, reason == NULL};

		values[0] = Int32GetDatum(foreach_current_index(lc) + 1);
		values[1] = Int32GetDatum(policy_line_of(body, start));
		values[2] = PointerGetDatum(cstring_to_text_with_len(body + start, loc + len - start));
		values[3] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Run SQL in the caller's transaction the way run_changeset runs a body:
 * split with the server's parser, refused as a whole if a statement cannot
 * run in a transaction block, each statement on its own with the error
 * context naming it.  For rollback.c; call it between SPI_connect() and
 * SPI_finish().  label names what runs in messages, e.g. "rollback of 3
 * by alice".  Returns the number of statements run.
 */
int
pgchange_exec_sql(const char *label, const char *sql)
{
	RunState	st = {0};
	ErrorContextCallback errcb;
	List	   *stmts;

	st.changeset = label;
	st.body = sql;
	errcb.callback = run_error_callback;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	stmts = parse_quietly(sql);
	st.nstatements = list_length(stmts);
	exec_statements(&st, stmts, sql, psprintf("the %s", label),
					"pgchange rollback runs such a rollback statement by statement.");
	error_context_stack = errcb.previous;
	return st.nstatements;
}
