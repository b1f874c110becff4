/*-------------------------------------------------------------------------
 *
 * policy_lint.c
 *	  pgchange.lint(): the policy rules over SQL text, nothing executed.
 *
 * The text is parsed with the server's own grammar (raw_parser), each
 * statement goes through the same rule loop the ddl_command_start trigger
 * runs, and the violations come back as rows.  Nothing is recorded, and no
 * lock is taken: facts are read as policy_facts.c explains.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "pgchange.h"
#include "policy.h"

PG_FUNCTION_INFO_V1(pgchange_lint);

#define LINT_COLUMNS 9

/*
 * A syntax error's position belongs to the linted text, not to the query
 * that called lint(): report it as an internal position with the text as
 * internal query (what SPI does), and name the line for people.
 */
static void
lint_error_callback(void *arg)
{
	const char *sql = (const char *) arg;
	int			pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
		errcontext("pgchange.lint(), line %d of the SQL text", policy_line_of(sql, pos - 1));
	}
	else
		errcontext("pgchange.lint(), while parsing the SQL text");
}

/* the lexer's notices (truncated identifiers ...) are the rules' to report */
static List *
parse_quietly(const char *sql)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *stmts;

	(void) set_config_option("client_min_messages", "error", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
#if PG_VERSION_NUM >= 140000
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
#else
	stmts = raw_parser(sql);
#endif
	AtEOXact_GUC(true, nestlevel);
	return stmts;
}

/* lint: remember the relations a statement creates, for later statements */
static void
note_creations(PolicyContext *ctx, Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			policy_note_created(ctx, ((CreateStmt *) stmt)->relation);
			break;
		case T_CreateTableAsStmt:
			policy_note_created(ctx, ((CreateTableAsStmt *) stmt)->into->rel);
			break;
		default:
			break;
	}
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/*
 * pgchange.lint(sql text, settings jsonb DEFAULT NULL, project text DEFAULT
 * NULL, transactional boolean DEFAULT true) returns table (rule, severity,
 * message, detail, hint, statement, object, location, line)
 */
Datum
pgchange_lint(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *sql;
	Jsonb	   *overrides = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	char	   *project = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	bool		transactional = PG_ARGISNULL(3) ? true : PG_GETARG_BOOL(3);
	PolicySettings *settings;
	PolicyContext *ctx;
	ErrorContextCallback errcb;
	List	   *stmts;
	ListCell   *lc;
	ListCell   *vc;
	int			seen = 0;

	pgchange_init_srf(fcinfo);
	/* settings first: an invalid settings argument is an error even for no SQL */
	settings = policy_settings_load(project, overrides);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));

	errcb.callback = lint_error_callback;
	errcb.arg = sql;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	stmts = parse_quietly(sql);
	error_context_stack = errcb.previous;

	ctx = policy_context_new(POLICY_PHASE_LINT, settings, sql);
	ctx->project = project;
	ctx->in_transaction_block = transactional;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);

		policy_evaluate_statement(ctx, raw->stmt, raw->stmt_location, raw->stmt_len);
		note_creations(ctx, raw->stmt);

		/* rows for this statement's violations */
		for_each_from(vc, ctx->violations, seen)
		{
			PolicyViolation *v = lfirst(vc);
			Datum		values[LINT_COLUMNS];
			bool		nulls[LINT_COLUMNS] = {0};

			values[0] = CStringGetTextDatum(v->rule);
			values[1] = CStringGetTextDatum(policy_severity_name(v->severity));
			values[2] = CStringGetTextDatum(v->message);
			values[3] = text_or_null(v->detail, &nulls[3]);
			values[4] = text_or_null(v->hint, &nulls[4]);
			values[5] = text_or_null(v->statement, &nulls[5]);
			values[6] = text_or_null(v->object, &nulls[6]);
			values[7] = Int32GetDatum(v->location);
			values[8] = Int32GetDatum(policy_line_of(sql, v->location));
			nulls[7] = nulls[8] = v->location < 0;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		seen = list_length(ctx->violations);
	}
	MemoryContextDelete(ctx->cxt);
	return (Datum) 0;
}
