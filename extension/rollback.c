/*-------------------------------------------------------------------------
 *
 * rollback.c
 *	  Undoing an applied changeset inside the database.
 *
 * pgchange.run_rollback() runs the rollback SQL the registry stored when
 * the changeset was deployed (never what the files say now), in the
 * caller's transaction and with the caller's privileges, and removes the
 * changeset from the registry in the same transaction through
 * pgchange.record_rollback(): the undo and its bookkeeping commit or roll
 * back together, as a deploy's do.  A rollback that cannot run in a
 * transaction block is refused here; the controller runs it statement by
 * statement instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "deploy.h"

PG_FUNCTION_INFO_V1(pgchange_run_rollback);

/* the stored rollback of one changeset: applied, or partly run */
#define SOURCE_SQL \
	"SELECT r.rollback_sql, r.rollback_in_transaction, r.exec_type, " \
	"       (SELECT g.statements_done FROM pgchange.progress g " \
	"         WHERE g.project = r.project AND g.changeset_id = r.changeset_id " \
	"           AND g.author = r.author AND g.identity_path = r.identity_path " \
	"           AND g.kind = 'rollback') " \
	"  FROM pgchange.registry r " \
	" WHERE r.project = $1 AND r.changeset_id = $2 AND r.author = $3 " \
	"   AND r.identity_path = $4 AND r.exec_type <> 'failed' " \
	"UNION ALL " \
	"SELECT g.rollback_sql, g.rollback_in_transaction, 'partial', " \
	"       CASE WHEN g.kind = 'rollback' THEN g.statements_done END " \
	"  FROM pgchange.progress g " \
	" WHERE g.project = $1 AND g.changeset_id = $2 AND g.author = $3 " \
	"   AND g.identity_path = $4 " \
	"   AND NOT EXISTS (SELECT FROM pgchange.registry r " \
	"                    WHERE r.project = g.project AND r.changeset_id = g.changeset_id " \
	"                      AND r.author = g.author AND r.identity_path = g.identity_path)"

/* does the session's role hold the project's lock? (as _require_lock) */
#define LOCK_SQL \
	"SELECT EXISTS (SELECT FROM pgchange.lock_lease l " \
	"                WHERE l.project = $1 AND l.holder_role = session_user " \
	"                  AND l.lease_until > pg_catalog.clock_timestamp())"

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * pgchange.run_rollback(project, deployment_id, changeset_id, author,
 *     identity_path, lock_timeout) returns int: the statements run
 */
Datum
pgchange_run_rollback(PG_FUNCTION_ARGS)
{
	char	   *project = text_arg(fcinfo, 0);
	char	   *changeset_id = text_arg(fcinfo, 2);
	char	   *author = text_arg(fcinfo, 3);
	char	   *ipath = text_arg(fcinfo, 4);
	char	   *lock_timeout = text_arg(fcinfo, 5);
	char	   *label;
	char	   *sql = NULL;
	char	   *exec_type;
	bool		in_transaction;
	bool		isnull;
	int			save_nestlevel;
	int			nrun = 0;
	int			ret;
	TimestampTz start;
	/* the key for the lock and source queries, then record_rollback's arguments */
	Oid			key_types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Oid			record_types[6] = {TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INTERVALOID};
	Datum		values[6];

	if (project == NULL || PG_ARGISNULL(1) || changeset_id == NULL || author == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("project, deployment_id, changeset_id and author must not be null")));
	if (ipath == NULL)
		ipath = "";
	label = psprintf("rollback of %s by %s", changeset_id, author);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* nothing runs without the lock (record_rollback checks it again) */
	values[0] = CStringGetTextDatum(project);
	ret = SPI_execute_with_args(LOCK_SQL, 1, key_types, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "checking the lock of project %s failed: %s", project,
			 SPI_result_code_string(ret));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("this role does not hold the deploy lock of project %s",
						quote_literal_cstr(project)),
				 errhint("Take it first: SELECT pgchange.lock(%s, 'my rollback').",
						 quote_literal_cstr(project))));

	values[1] = CStringGetTextDatum(changeset_id);
	values[2] = CStringGetTextDatum(author);
	values[3] = CStringGetTextDatum(ipath);
	ret = SPI_execute_with_args(SOURCE_SQL, 4, key_types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the rollback of %s failed: %s", label,
			 SPI_result_code_string(ret));
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("changeset %s by %s is not applied in project %s",
						changeset_id, author, quote_literal_cstr(project)),
				 errhint("See what a rollback would undo with pgchange.rollback_plan().")));
	sql = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	in_transaction = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 2, &isnull));
	exec_type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	if (!isnull)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changeset %s by %s is partly rolled back statement by statement",
						changeset_id, author),
				 errhint("Run pgchange rollback again: it resumes after the last statement done.")));

	/* a marked-ran changeset never executed: nothing to undo */
	if (strcmp(exec_type, "mark_ran") != 0)
	{
		if (sql == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("changeset %s by %s has no rollback", changeset_id, author),
					 errdetail("No rollback was recorded when it was deployed."),
					 errhint("Undo it by hand, then record that with pgchange.record_rollback().")));
		if (!in_transaction)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("the rollback of changeset %s by %s cannot run inside a transaction block",
							changeset_id, author),
					 errdetail("It was deployed outside a transaction, statement by statement."),
					 errhint("pgchange rollback runs it statement by statement.")));
	}

	/* SET inside the rollback is undone when it ends, as in run_changeset */
	save_nestlevel = NewGUCNestLevel();
	if (lock_timeout)
		(void) set_config_option("lock_timeout", lock_timeout, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	start = GetCurrentTimestamp();
	if (sql != NULL && strcmp(exec_type, "mark_ran") != 0)
		nrun = pgchange_exec_sql(label, sql);

	/* the bookkeeping goes into the same transaction */
	values[1] = PG_GETARG_DATUM(1);
	values[2] = CStringGetTextDatum(changeset_id);
	values[3] = CStringGetTextDatum(author);
	values[4] = CStringGetTextDatum(ipath);
	values[5] = DirectFunctionCall2(timestamp_mi,
									TimestampTzGetDatum(GetCurrentTimestamp()),
									TimestampTzGetDatum(start));
	ret = SPI_execute_with_args("SELECT pgchange.record_rollback($1, $2, $3, $4, $5, $6)",
								6, record_types, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "recording the %s failed: %s", label, SPI_result_code_string(ret));

	SPI_finish();
	AtEOXact_GUC(false, save_nestlevel);
	PG_RETURN_INT32(nrun);
}
