/*-------------------------------------------------------------------------
 *
 * policy_trigger.c
 *	  The policy event triggers: rules at ddl_command_start, creations and
 *	  pgchange.ddl_log at ddl_command_end, CASCADE at sql_drop, rewrites
 *	  at table_rewrite; guard mode and break-glass.
 *
 * One DDL statement fires ddl_command_start, then possibly sql_drop and
 * table_rewrite, then ddl_command_end.  What the later events need (the
 * settings, the deployment, what was already reported, objects dropped)
 * is kept in a StmtState pushed at ddl_command_start and popped at
 * ddl_command_end; a DDL statement run inside another one (a function
 * called by CREATE TABLE AS ...) pushes its own.  An error anywhere drops
 * the states of the (sub)transaction it aborts.
 *
 * Violations that do not block are recorded in the current transaction;
 * the ones that block are recorded by a background worker first, since
 * the ERROR rolls the transaction back (policy_record.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "policy.h"

#define ERRCODE_POLICY_VIOLATION	MAKE_SQLSTATE('P','C','0','0','1')
#define ERRCODE_POLICY_GUARD		MAKE_SQLSTATE('P','C','0','0','2')

PG_FUNCTION_INFO_V1(pgchange_policy_ddl_start);
PG_FUNCTION_INFO_V1(pgchange_policy_ddl_end);
PG_FUNCTION_INFO_V1(pgchange_policy_sql_drop);
PG_FUNCTION_INFO_V1(pgchange_policy_table_rewrite);

/* the triggers' own work never fires them again */
static bool in_policy_trigger = false;

/* State of one DDL statement between its start and its end */
typedef struct StmtState
{
	Node	   *parsetree;		/* identifies the statement at later events */
	SubTransactionId subid;
	MemoryContext cxt;
	const char *command_tag;
	const char *query;			/* query string (valid while it runs) */
	int			query_location; /* the statement in it */
	int			query_len;
	char	   *statement;		/* text from its first token */
	int			location;		/* offset of that token in the query */
	PolicySettings *settings;
	bool		in_deployment;
	char	   *project;
	char	   *changeset;
	int64		deployment_id;
	char	   *break_glass;	/* honoured reason, or NULL */
	bool		rolling_back;	/* the deployment is a pgchange rollback */
	bool		guard_log;		/* record in ddl_log at ddl_command_end */
	List	   *reported;		/* PolicyViolation *, for sql_drop/rewrite */
	StringInfoData dropped;		/* JSON objects from sql_drop */
} StmtState;

static List *stmt_stack = NIL;	/* of StmtState *, innermost last */

/*
 * A (sub)transaction ends: forget the statements it ran (their states live
 * in TopTransactionContext).  subid: the aborted subtransaction, or
 * InvalidSubTransactionId for the end of the transaction.
 */
void
policy_trigger_forget(SubTransactionId subid)
{
	if (subid == InvalidSubTransactionId)
		stmt_stack = NIL;
	while (stmt_stack != NIL &&
		   ((StmtState *) llast(stmt_stack))->subid >= subid)
		stmt_stack = list_delete_last(stmt_stack);
	in_policy_trigger = false;
}

/* ------------------------------------------------------------------ */
/* Deployment, break-glass                                             */
/* ------------------------------------------------------------------ */

/*
 * In a deployment: this backend holds a project's deploy lock (the lease
 * names this pid and backend start, and the session's role) and the
 * project has a running deployment.  Nothing a user can SET.  The
 * changeset: the one pgchange.run_changeset() runs, else the one whose
 * statements the controller is running one by one (its progress row).
 * One query per DDL statement finds that and the settings documents.
 */
static void
load_context(StmtState *st)
{
	static SPIPlanPtr plan = NULL;
	PolicyAsOwner as;
	Oid			argtypes[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(MyStartTimestamp)};
	HeapTuple	tup;
	TupleDesc	desc;
	MemoryContext old;
	bool		isnull;
	Datum		d;
	Jsonb	   *global = NULL;
	Jsonb	   *own = NULL;

	policy_as_owner_begin(&as);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	(void) policy_spi_execute(&plan,
		"SELECT dep.project, dep.deployment_id, dep.progress[1], "
		"  (SELECT s.settings FROM pgchange.policy_settings s WHERE s.scope = ''), "
		"  (SELECT s.settings FROM pgchange.policy_settings s WHERE s.scope = dep.project), "
		"  dep.kind = 'rollback' OR coalesce(dep.progress[2] = 'rollback', false) "
		"FROM (SELECT) AS one LEFT JOIN LATERAL ("
		"  SELECT l.project, d.deployment_id, d.kind, "
		"    (SELECT ARRAY[g.changeset_id || ':' || g.author, g.kind] FROM pgchange.progress g "
		"      WHERE g.deployment_id = d.deployment_id AND g.statements_done < g.statements_total "
		"      ORDER BY g.updated_at DESC LIMIT 1) AS progress "
		"  FROM pgchange.lock_lease l "
		"  JOIN pgchange.deployment_log d ON d.project = l.project AND d.status = 'running' "
		"  WHERE l.holder_pid = pg_backend_pid() AND l.holder_backend_start = $1 "
		"    AND l.holder_role = session_user "
		"  ORDER BY d.started_at DESC LIMIT 1) AS dep ON true",
		1, argtypes, values, NULL, true);
	if (SPI_processed != 1)
		elog(ERROR, "looking up the deployment and the policy settings returned " UINT64_FORMAT " rows",
			 SPI_processed);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(st->cxt);
	d = SPI_getbinval(tup, desc, 2, &isnull);
	if (!isnull)
	{
		char	   *changeset = SPI_getvalue(tup, desc, 3);

		st->in_deployment = true;
		st->project = pstrdup(SPI_getvalue(tup, desc, 1));
		st->deployment_id = DatumGetInt64(d);
		st->changeset = changeset ? pstrdup(changeset) : NULL;
		st->rolling_back = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		if (policy_running_changeset &&
			strcmp(policy_running_changeset->project, st->project) == 0)
		{
			st->changeset = pstrdup(policy_running_changeset->changeset);
			st->rolling_back |= policy_running_changeset->rolling_back;
		}
	}
	d = SPI_getbinval(tup, desc, 4, &isnull);
	if (!isnull)
		global = DatumGetJsonbPCopy(d);
	d = SPI_getbinval(tup, desc, 5, &isnull);
	if (!isnull)
		own = DatumGetJsonbPCopy(d);
	st->settings = policy_settings_build(global, own, NULL, st->project);
	MemoryContextSwitchTo(old);
	SPI_finish();
	policy_as_owner_end(&as);
}

/* lock-timeout-missing: DDL on an existing table with lock_timeout = 0 */
static void
check_lock_timeout(PolicyContext *ctx, Node *stmt)
{
	RangeVar   *rv;
	PolicyRelFacts facts;

	if (LockTimeout != 0 || policy_severity(ctx, "lock-timeout-missing") == POLICY_OFF)
		return;
	rv = policy_statement_target(stmt);
	if (rv == NULL)
		return;
	policy_relation_facts(ctx, rv, &facts);
	if (!facts.exists || facts.created_here)
		return;
	policy_report(ctx, "lock-timeout-missing", facts.identity,
				  "Without lock_timeout the statement waits for its lock as long as it takes, and every query on the table queues behind it meanwhile.",
				  "SET lock_timeout = '5s' before the DDL (pgchange deploy does with --lock-timeout) and retry when it expires.",
				  "%s on %s in a session without lock_timeout",
				  GetCommandTagName(CreateCommandTag(stmt)), facts.identity);
}

/* ------------------------------------------------------------------ */
/* Conclusion of an event: record, block                               */
/* ------------------------------------------------------------------ */

static PolicyContext *
event_context(StmtState *st, PolicyPhase phase)
{
	PolicyContext *ctx = policy_context_new(phase, st->settings, NULL);
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);

	ctx->project = st->project;
	ctx->changeset = st->changeset;
	ctx->deployment_id = st->deployment_id;
	ctx->in_transaction_block = IsTransactionBlock() || policy_running_changeset != NULL;
	ctx->violations = list_copy(st->reported);
	MemoryContextSwitchTo(old);
	return ctx;
}

static void
violation_defaults(PolicyViolation *v, StmtState *st)
{
	if (v->statement == NULL)
	{
		v->statement = st->statement;
		v->location = st->location;
	}
}

/*
 * Record the violations reported since index from, and the guard's row;
 * then raise if one blocks: an error-level violation (PC001) or guard
 * mode (PC002), unless glass is broken.
 */
/*
 * Does this violation stop the statement?  Error level does, unless an
 * admin broke the glass.  In a pgchange rollback only the rules about
 * locking and rewriting tables block: a rollback returns the database to a
 * state it was in (dropping what a changeset created, renaming back,
 * restoring a grant), was asked for explicitly and shown by rollback
 * --dry-run, but must not take production down while it runs.  Everything
 * is recorded either way.
 */
static bool
violation_blocks(const StmtState *st, const PolicyViolation *v)
{
	const PolicyRuleInfo *info;

	if (v->severity != POLICY_ERROR || st->break_glass != NULL)
		return false;
	if (!st->rolling_back)
		return true;
	info = policy_rule_find(v->rule);
	return info != NULL && info->family == POLICY_FAMILY_LOCKING;
}

static void
conclude(StmtState *st, PolicyContext *ctx, int from, PolicyPhase phase,
		 bool guard_block, const char *refused_setting)
{
	PolicyRecord rec;
	PolicyViolation *first_error = NULL;
	StringInfoData others;
	ListCell   *lc;
	bool		block;
	MemoryContext old;

	policy_record_who(&rec);
	rec.project = st->project;
	rec.changeset = st->changeset;
	rec.deployment_id = st->deployment_id;
	rec.break_glass = st->break_glass;
	initStringInfo(&others);

	for_each_from(lc, ctx->violations, from)
	{
		PolicyViolation *v = lfirst(lc);

		violation_defaults(v, st);
		if (violation_blocks(st, v))
		{
			if (first_error == NULL)
				first_error = v;
			else
				appendStringInfo(&others, "%s%s", others.len ? ", " : "", v->rule);
		}
	}
	block = first_error != NULL || guard_block;
	for_each_from(lc, ctx->violations, from)
	{
		PolicyViolation *v = lfirst(lc);

		policy_record_violation(&rec, v, phase, violation_blocks(st, v));
	}
	if (refused_setting)
	{
		PolicyViolation v = {0};

		v.rule = "break-glass-refused";
		v.severity = POLICY_WARN;
		v.message = psprintf("pgchange.break_glass set to \"%s\" by a role that is not a pgchange_admin is ignored",
							 refused_setting);
		v.statement = st->statement;
		v.location = st->location;
		policy_record_violation(&rec, &v, phase, false);
	}
	if (guard_block)
	{
		PolicyViolation v = {0};

		v.rule = "ddl-outside-deployment";
		v.severity = POLICY_ERROR;
		v.message = psprintf("%s outside a pgchange deployment", st->command_tag);
		v.statement = st->statement;
		v.location = st->location;
		policy_record_violation(&rec, &v, phase, true);
		policy_record_ddl(&rec, st->command_tag, st->statement, NULL, true);
	}

	if (block)
		policy_record_store_autonomous(&rec);
	else
		policy_record_store(&rec);

	if (first_error)
		ereport(ERROR,
				(errcode(ERRCODE_POLICY_VIOLATION),
				 errmsg("[%s] %s", first_error->rule, first_error->message),
				 first_error->detail ? errdetail("%s%s%s%s", first_error->detail,
												 others.len ? " The statement also violates: " : "",
												 others.data, others.len ? "." : "") : 0,
				 first_error->hint ? errhint("%s", first_error->hint) : 0));
	if (guard_block)
		ereport(ERROR,
				(errcode(ERRCODE_POLICY_GUARD),
				 errmsg("[ddl-outside-deployment] %s outside a pgchange deployment is refused",
						st->command_tag),
				 errdetail("The policy setting outside_deployment is \"block\": schema changes go through the changelog, so that every database gets the same ones."),
				 errhint("Add a changeset to the changelog and run pgchange deploy; in an emergency a pgchange_admin can SET pgchange.break_glass = 'reason' first.")));

	/* later events of the statement do not report these again */
	old = MemoryContextSwitchTo(st->cxt);
	for_each_from(lc, ctx->violations, from)
	{
		PolicyViolation *v = lfirst(lc);
		PolicyViolation *copy = palloc0(sizeof(PolicyViolation));

		copy->rule = pstrdup(v->rule);
		copy->object = v->object ? pstrdup(v->object) : NULL;
		copy->severity = v->severity;
		st->reported = lappend(st->reported, copy);
	}
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------------ */
/* The events                                                          */
/* ------------------------------------------------------------------ */

static StmtState *
new_state(EventTriggerData *trigdata)
{
	MemoryContext cxt = AllocSetContextCreate(TopTransactionContext,
											  "pgchange policy statement",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	StmtState  *st = palloc0(sizeof(StmtState));

	st->cxt = cxt;
	st->parsetree = trigdata->parsetree;
	st->subid = GetCurrentSubTransactionId();
	st->command_tag = GetCommandTagName(trigdata->tag);
	policy_statement_source(trigdata->parsetree, &st->query, &st->query_location, &st->query_len);
	st->statement = policy_statement_text(st->query, st->query_location, st->query_len,
										  &st->location);
	initStringInfo(&st->dropped);
	load_context(st);
	MemoryContextSwitchTo(old);
	return st;
}

/* the state pushed at this statement's ddl_command_start */
static StmtState *
current_state(EventTriggerData *trigdata)
{
	StmtState  *st;

	if (stmt_stack == NIL)
		return NULL;
	st = llast(stmt_stack);
	if (st->parsetree == trigdata->parsetree ||
		nodeTag(st->parsetree) == nodeTag(trigdata->parsetree))
		return st;
	return NULL;
}

static void
ddl_start(EventTriggerData *trigdata)
{
	StmtState  *st = new_state(trigdata);
	Node	   *stmt = trigdata->parsetree;
	PolicyContext *ctx;
	const char *reason = policy_break_glass;
	const char *refused = NULL;
	bool		guard_block = false;

	if (reason && reason[0] != '\0')
	{
		if (policy_session_is_admin())
			st->break_glass = MemoryContextStrdup(st->cxt, reason);
		else
		{
			refused = reason;
			ereport(WARNING,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("pgchange.break_glass is ignored: role \"%s\" is not a member of pgchange_admin",
							GetUserNameFromId(GetSessionUserId(), false)),
					 errdetail("Policies apply as if it were not set; the attempt is recorded in pgchange.violations."),
					 errhint("Ask a member of pgchange_admin.")));
		}
	}

	if (!st->in_deployment && !policy_statement_is_temp_only(stmt) &&
		policy_severity_of(st->settings, "ddl-outside-deployment") != POLICY_OFF)
	{
		if (st->settings->outside_deployment == POLICY_OUTSIDE_BLOCK && st->break_glass == NULL)
			guard_block = true;
		else if (st->settings->outside_deployment != POLICY_OUTSIDE_OFF || st->break_glass)
			st->guard_log = true;
	}

	/* the same text and offsets lint() gives the rules */
	ctx = event_context(st, POLICY_PHASE_DDL_START);
	ctx->source_text = st->query;
	policy_evaluate_statement(ctx, stmt, st->query_location, st->query_len);
	check_lock_timeout(ctx, stmt);
	conclude(st, ctx, 0, POLICY_PHASE_DDL_START, guard_block, refused);
	MemoryContextDelete(ctx->cxt);

	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		stmt_stack = lappend(stmt_stack, st);
		MemoryContextSwitchTo(old);
	}
}

/* run a query of pg_event_trigger_*() as the owner, pinned search_path */
static int
event_query(SPIPlanPtr *plan, const char *sql, PolicyAsOwner *as)
{
	int			ret;

	policy_as_owner_begin(as);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = policy_spi_execute(plan, sql, 0, NULL, NULL, NULL, true);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "event trigger query failed: %s", SPI_result_code_string(ret));
	return ret;
}

static void
event_query_end(PolicyAsOwner *as)
{
	SPI_finish();
	policy_as_owner_end(as);
}

static bool
schema_is_temp(const char *schema)
{
	return schema && (strncmp(schema, "pg_temp", 7) == 0 || strncmp(schema, "pg_toast_temp", 13) == 0);
}

static void
append_object(StringInfo buf, const char *type, const char *identity, bool dropped)
{
	if (buf->len > 0)
		appendStringInfoString(buf, ", ");
	appendStringInfoString(buf, "{\"type\": ");
	escape_json(buf, type ? type : "");
	appendStringInfoString(buf, ", \"identity\": ");
	if (identity)
		escape_json(buf, identity);
	else
		appendStringInfoString(buf, "null");
	if (dropped)
		appendStringInfoString(buf, ", \"dropped\": true");
	appendStringInfoChar(buf, '}');
}

static void
ddl_end(EventTriggerData *trigdata)
{
	static SPIPlanPtr plan = NULL;
	StmtState  *st = current_state(trigdata);
	Node	   *stmt = trigdata->parsetree;
	bool		creates = IsA(stmt, CreateStmt) || IsA(stmt, CreateTableAsStmt);
	StringInfoData objects;
	bool		any_permanent = false;
	bool		any_temp = false;
	PolicyAsOwner as;

	if (st == NULL)
		return;					/* its start was skipped (extension script) */
	stmt_stack = list_delete_last(stmt_stack);
	if (!st->guard_log && !creates)
		return;

	initStringInfo(&objects);
	event_query(&plan, "SELECT c.classid, c.objid, c.object_type, c.schema_name, c.object_identity "
				"FROM pg_catalog.pg_event_trigger_ddl_commands() c", &as);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			classid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		Oid			objid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		char	   *type = SPI_getvalue(tup, desc, 3);
		char	   *schema = SPI_getvalue(tup, desc, 4);

		/* locks and rewrites of a relation created here are harmless */
		if (creates && classid == RelationRelationId)
			policy_track_created(objid, st->deployment_id);
		if (schema_is_temp(schema))
			any_temp = true;
		else
		{
			any_permanent = true;
			append_object(&objects, type, SPI_getvalue(tup, desc, 5), false);
		}
	}
	event_query_end(&as);

	if (st->dropped.len > 0)
	{
		any_permanent = true;
		if (objects.len > 0)
			appendStringInfoString(&objects, ", ");
		appendStringInfoString(&objects, st->dropped.data);
	}
	/* a command without objects (GRANT on ...) is logged as it is */
	if (st->guard_log && (any_permanent || !any_temp))
	{
		PolicyRecord rec;

		policy_record_who(&rec);
		rec.break_glass = st->break_glass;
		policy_record_ddl(&rec, st->command_tag, st->statement,
						  psprintf("[%s]", objects.data), false);
		policy_record_store(&rec);
	}
}

/* tables and columns dropped by CASCADE, which the statement did not name */
static void
sql_drop(EventTriggerData *trigdata)
{
	static SPIPlanPtr plan = NULL;
	StmtState  *st = current_state(trigdata);
	PolicyContext *ctx;
	PolicyAsOwner as;
	MemoryContext old;
	bool		drop_owned;

	if (st == NULL)
		return;
	drop_owned = IsA(trigdata->parsetree, DropOwnedStmt);
	ctx = event_context(st, POLICY_PHASE_SQL_DROP);
	event_query(&plan, "SELECT d.object_type, d.object_identity, d.original, d.normal, d.is_temporary "
				"FROM pg_catalog.pg_event_trigger_dropped_objects() d", &as);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *type = SPI_getvalue(tup, desc, 1);
		char	   *identity = SPI_getvalue(tup, desc, 2);
		bool		original = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		bool		normal = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		bool		temporary = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		const char *rule = NULL;

		if (temporary)
			continue;
		/* what was named or cascaded to; not row types, indexes ... going along */
		if (original || normal)
		{
			old = MemoryContextSwitchTo(st->cxt);
			append_object(&st->dropped, type, identity, true);
			MemoryContextSwitchTo(old);
		}

		/*
		 * Only what the statement's own rules could not see: what a CASCADE
		 * took along (a normal dependency), and everything DROP OWNED drops.
		 */
		if (!(original ? drop_owned : normal) || type == NULL || identity == NULL)
			continue;
		if (strcmp(type, "table") == 0)
			rule = "drop-table";
		else if (strcmp(type, "table column") == 0)
			rule = "drop-column";
		if (rule == NULL || policy_reported(ctx, rule, identity))
			continue;
		if (drop_owned)
			policy_report(ctx, rule, identity,
						  "DROP OWNED drops every object of the role, and its data, without naming any.",
						  "Drop the role's objects one by one, or REASSIGN OWNED to another role first.",
						  "%s %s is dropped by DROP OWNED", type, identity);
		else if (strcmp(rule, "drop-table") == 0)
			policy_report(ctx, rule, identity,
						  "CASCADE dropped this table, and its data, although the statement did not name it.",
						  "Drop dependent objects explicitly, each after making sure its data is no longer needed.",
						  "table %s is dropped by CASCADE", identity);
		else
			policy_report(ctx, rule, identity,
						  "CASCADE dropped this column, and its data, although the statement did not name it.",
						  "Drop dependent objects explicitly, each after making sure its data is no longer needed.",
						  "column %s is dropped by CASCADE", identity);
	}
	event_query_end(&as);
	conclude(st, ctx, list_length(st->reported), POLICY_PHASE_SQL_DROP, false, NULL);
	MemoryContextDelete(ctx->cxt);
}

static const char *
rewrite_reason(int reason)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (reason & AT_REWRITE_ALTER_PERSISTENCE)
		appendStringInfoString(&buf, "a change of persistence");
	if (reason & AT_REWRITE_DEFAULT_VAL)
		appendStringInfo(&buf, "%sa new column's default", buf.len ? ", " : "");
	if (reason & AT_REWRITE_COLUMN_REWRITE)
		appendStringInfo(&buf, "%sa column type change", buf.len ? ", " : "");
#ifdef AT_REWRITE_ACCESS_METHOD
	if (reason & AT_REWRITE_ACCESS_METHOD)
		appendStringInfo(&buf, "%sa new access method", buf.len ? ", " : "");
#endif
	return buf.len ? buf.data : "the statement";
}

/* table-rewrite: any rewrite of a large table not created here */
static void
table_rewrite(EventTriggerData *trigdata)
{
	static SPIPlanPtr plan = NULL;
	StmtState  *st = current_state(trigdata);
	PolicyContext *ctx;
	PolicyRelFacts facts;
	PolicyAsOwner as;
	Oid			relid;
	int			reason;
	bool		isnull;

	if (st == NULL || policy_severity_of(st->settings, "table-rewrite") == POLICY_OFF)
		return;
	event_query(&plan, "SELECT pg_catalog.pg_event_trigger_table_rewrite_oid(), "
				"pg_catalog.pg_event_trigger_table_rewrite_reason()", &as);
	relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	reason = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	event_query_end(&as);

	ctx = event_context(st, POLICY_PHASE_TABLE_REWRITE);
	policy_relation_facts_oid(ctx, relid, &facts);
	/* a statement rule (alter-column-type ...) already said it for this table */
	if (policy_relation_is_large(ctx, "table-rewrite", &facts) &&
		!policy_reported(ctx, NULL, facts.identity))
		policy_report(ctx, "table-rewrite", facts.identity,
					  psprintf("A rewrite copies all of %s (about %.0f rows, " INT64_FORMAT " bytes) while holding an ACCESS EXCLUSIVE lock: every read and write of the table waits until it ends.",
							   facts.identity, facts.rows, facts.bytes),
					  "Avoid the rewrite: add columns without a volatile default, change types only to binary-coercible ones, or add a new column and fill it in batches.",
					  "%s rewrites table %s (cause: %s)",
					  st->command_tag, facts.identity, rewrite_reason(reason));
	conclude(st, ctx, list_length(st->reported), POLICY_PHASE_TABLE_REWRITE, false, NULL);
	MemoryContextDelete(ctx->cxt);
}

/*
 * Common entry: skip extension scripts (their own install and upgrade,
 * and any other extension's) and the triggers' own work; a per-event
 * memory context; the recursion flag cleared whatever happens.
 */
static Datum
run_event(FunctionCallInfo fcinfo, void (*handler) (EventTriggerData *))
{
	EventTriggerData *trigdata;
	MemoryContext cxt;
	MemoryContext old;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function can only be called as an event trigger")));
	if (creating_extension || in_policy_trigger || !policy_schema_exists())
		PG_RETURN_VOID();
	trigdata = (EventTriggerData *) fcinfo->context;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pgchange policy event",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	in_policy_trigger = true;
	PG_TRY();
	{
		handler(trigdata);
	}
	PG_FINALLY();
	{
		in_policy_trigger = false;
		MemoryContextSwitchTo(old);
	}
	PG_END_TRY();
	MemoryContextDelete(cxt);
	PG_RETURN_VOID();
}

Datum
pgchange_policy_ddl_start(PG_FUNCTION_ARGS)
{
	return run_event(fcinfo, ddl_start);
}

Datum
pgchange_policy_ddl_end(PG_FUNCTION_ARGS)
{
	return run_event(fcinfo, ddl_end);
}

Datum
pgchange_policy_sql_drop(PG_FUNCTION_ARGS)
{
	return run_event(fcinfo, sql_drop);
}

Datum
pgchange_policy_table_rewrite(PG_FUNCTION_ARGS)
{
	return run_event(fcinfo, table_rewrite);
}
