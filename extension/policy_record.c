/*-------------------------------------------------------------------------
 *
 * policy_record.c
 *	  Recording in pgchange.violations and pgchange.ddl_log.
 *
 * Rows are built as one JSON document {"violations": [...], "ddl_log":
 * [...]} and inserted by one function, either in the current transaction
 * (what did not block: it commits or rolls back with the DDL), or by a
 * dynamic background worker that commits on its own (what blocked: the
 * ERROR that follows rolls the current transaction back).  A dynamic
 * worker needs no shared_preload_libraries; when none can be started the
 * rows go to the server log instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>

#include "access/xact.h"
#include "common/ip.h"
#include "executor/spi.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "policy.h"

PGDLLEXPORT void pgchange_policy_record_worker(Datum main_arg);

/* what the worker finds in its DSM segment */
typedef struct RecordShared
{
	volatile bool done;			/* set by the worker after its commit */
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} RecordShared;

static const char *const phase_names[] = {
	"lint", "ddl_command_start", "ddl_command_end", "sql_drop", "table_rewrite"
};

/* ------------------------------------------------------------------ */
/* Building rows                                                       */
/* ------------------------------------------------------------------ */

static void
json_member(StringInfo buf, const char *key, const char *value, bool first)
{
	if (!first)
		appendStringInfoString(buf, ", ");
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

static char *
client_addr(void)
{
	char		host[NI_MAXHOST];

	if (MyProcPort == NULL ||
		(MyProcPort->raddr.addr.ss_family != AF_INET &&
		 MyProcPort->raddr.addr.ss_family != AF_INET6))
		return NULL;
	if (pg_getnameinfo_all(&MyProcPort->raddr.addr, MyProcPort->raddr.salen,
						   host, sizeof(host), NULL, 0, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return NULL;
	return pstrdup(host);
}

/* who and where: the columns violations and ddl_log share */
void
policy_record_who(PolicyRecord *rec)
{
	/* ISO 8601 whatever the DateStyle: the worker reads it with its own */
	rec->at = JsonEncodeDateTime(NULL, TimestampTzGetDatum(GetCurrentTimestamp()),
								 TIMESTAMPTZOID, NULL);
	rec->username = GetUserNameFromId(GetSessionUserId(), false);
	rec->effective_user = GetUserNameFromId(GetUserId(), false);
	rec->application_name = application_name ? pstrdup(application_name) : NULL;
	rec->pid = MyProcPid;
	rec->client_addr = client_addr();
	initStringInfo(&rec->violations);
	initStringInfo(&rec->ddl_log);
}

static void
append_who(StringInfo buf, const PolicyRecord *rec)
{
	json_member(buf, "at", rec->at, true);
	json_member(buf, "username", rec->username, false);
	json_member(buf, "effective_user", rec->effective_user, false);
	json_member(buf, "application_name", rec->application_name, false);
	appendStringInfo(buf, ", \"pid\": %d", rec->pid);
	json_member(buf, "break_glass", rec->break_glass, false);
}

void
policy_record_violation(PolicyRecord *rec, const PolicyViolation *v,
						PolicyPhase phase, bool blocked)
{
	StringInfo	buf = &rec->violations;

	appendStringInfoString(buf, buf->len == 0 ? "{" : ", {");
	append_who(buf, rec);
	json_member(buf, "rule", v->rule, false);
	json_member(buf, "severity", policy_severity_name(v->severity), false);
	json_member(buf, "message", v->message, false);
	json_member(buf, "detail", v->detail, false);
	json_member(buf, "hint", v->hint, false);
	json_member(buf, "statement", v->statement, false);
	json_member(buf, "object", v->object, false);
	if (v->location >= 0)
		appendStringInfo(buf, ", \"location\": %d", v->location);
	json_member(buf, "phase", phase_names[phase], false);
	appendStringInfo(buf, ", \"blocked\": %s", blocked ? "true" : "false");
	json_member(buf, "project", rec->project, false);
	json_member(buf, "changeset", rec->changeset, false);
	if (rec->deployment_id)
		appendStringInfo(buf, ", \"deployment_id\": " INT64_FORMAT, rec->deployment_id);
	appendStringInfoChar(buf, '}');
}

void
policy_record_ddl(PolicyRecord *rec, const char *command_tag, const char *statement,
				  const char *objects_json, bool blocked)
{
	StringInfo	buf = &rec->ddl_log;

	appendStringInfoString(buf, buf->len == 0 ? "{" : ", {");
	append_who(buf, rec);
	json_member(buf, "client_addr", rec->client_addr, false);
	json_member(buf, "command_tag", command_tag, false);
	json_member(buf, "statement", statement, false);
	appendStringInfo(buf, ", \"objects\": %s", objects_json ? objects_json : "null");
	appendStringInfo(buf, ", \"blocked\": %s}", blocked ? "true" : "false");
}

static char *
payload_of(const PolicyRecord *rec)
{
	return psprintf("{\"violations\": [%s], \"ddl_log\": [%s]}",
					rec->violations.data, rec->ddl_log.data);
}

/* ------------------------------------------------------------------ */
/* Storing                                                             */
/* ------------------------------------------------------------------ */

/* insert the rows of a payload; the caller runs as the extension's owner */
static void
store_payload(const char *payload, bool keep_plans)
{
	static SPIPlanPtr kept[2] = {NULL, NULL};
	SPIPlanPtr	once[2] = {NULL, NULL};
	SPIPlanPtr *plans = keep_plans ? kept : once;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int			ret;

	values[0] = CStringGetTextDatum(payload);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = policy_spi_execute(&plans[0],
		"INSERT INTO pgchange.violations (at, rule, severity, message, detail, hint, "
		"  statement, object, location, phase, blocked, project, changeset, deployment_id, "
		"  username, effective_user, application_name, pid, break_glass) "
		"SELECT r.at, r.rule, r.severity, r.message, r.detail, r.hint, r.statement, "
		"  r.object, r.location, r.phase, r.blocked, r.project, r.changeset, r.deployment_id, "
		"  r.username, r.effective_user, r.application_name, r.pid, r.break_glass "
		"FROM pg_catalog.jsonb_populate_recordset(NULL::pgchange.violations, "
		"  pg_catalog.jsonb_extract_path($1::pg_catalog.jsonb, 'violations')) r",
		1, argtypes, values, NULL, false);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "recording policy violations failed: %s", SPI_result_code_string(ret));
	ret = policy_spi_execute(&plans[1],
		"INSERT INTO pgchange.ddl_log (at, username, effective_user, application_name, pid, "
		"  client_addr, command_tag, statement, objects, blocked, break_glass) "
		"SELECT r.at, r.username, r.effective_user, r.application_name, r.pid, "
		"  r.client_addr, r.command_tag, r.statement, r.objects, r.blocked, r.break_glass "
		"FROM pg_catalog.jsonb_populate_recordset(NULL::pgchange.ddl_log, "
		"  pg_catalog.jsonb_extract_path($1::pg_catalog.jsonb, 'ddl_log')) r",
		1, argtypes, values, NULL, false);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "recording in pgchange.ddl_log failed: %s", SPI_result_code_string(ret));
	SPI_finish();
}

bool
policy_record_empty(const PolicyRecord *rec)
{
	return rec->violations.len == 0 && rec->ddl_log.len == 0;
}

/* in the current transaction: gone if it rolls back */
void
policy_record_store(PolicyRecord *rec)
{
	PolicyAsOwner as;

	if (policy_record_empty(rec))
		return;
	policy_as_owner_begin(&as);
	store_payload(payload_of(rec), true);
	policy_as_owner_end(&as);
}

/*
 * In a transaction of its own, through a background worker, because the
 * caller is about to raise an ERROR.  Waits for the worker; without one
 * (no free worker slot, or it failed) the rows go to the server log.
 */
void
policy_record_store_autonomous(PolicyRecord *rec)
{
	char	   *payload;
	Size		size;
	dsm_segment *seg;
	RecordShared *shared;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	Oid			owner;
	bool		done = false;

	if (policy_record_empty(rec))
		return;
	payload = payload_of(rec);
	size = offsetof(RecordShared, payload) + strlen(payload) + 1;
	owner = policy_owner();

	seg = dsm_create(size, 0);
	shared = dsm_segment_address(seg);
	shared->done = false;
	strcpy(shared->payload, payload);

	memset(&worker, 0, sizeof(worker));
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgchange policy recorder for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgchange policy recorder");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "$libdir/pgchange");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgchange_policy_record_worker");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	memcpy(worker.bgw_extra, &MyDatabaseId, sizeof(Oid));
	memcpy(worker.bgw_extra + sizeof(Oid), &owner, sizeof(Oid));
	worker.bgw_notify_pid = MyProcPid;

	if (RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		if (WaitForBackgroundWorkerShutdown(handle) == BGWH_STOPPED)
			done = shared->done;
	}
	dsm_detach(seg);

	if (!done)
		ereport(LOG,
				(errmsg("pgchange could not record a blocked policy violation in its tables: %s",
						payload),
				 errdetail("No background worker could be started to record it (see max_worker_processes), or it failed.")));
}

/*
 * The worker: connect to the database as the extension's owner, insert the
 * rows in one transaction, say so in shared memory.  A short lock_timeout
 * keeps it from waiting forever on a lock its waiting backend holds.
 */
void
pgchange_policy_record_worker(Datum main_arg)
{
	dsm_handle	handle = DatumGetUInt32(main_arg);
	Oid			dbid;
	Oid			owner;
	dsm_segment *seg;
	RecordShared *shared;

	memcpy(&dbid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	memcpy(&owner, MyBgworkerEntry->bgw_extra + sizeof(Oid), sizeof(Oid));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dbid, owner, 0);

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "pgchange policy recorder");
	seg = dsm_attach(handle);
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgchange policy recorder: the backend that started it is gone")));
	shared = dsm_segment_address(seg);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SetConfigOption("lock_timeout", "5s", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "recording blocked policy violations");
	store_payload(shared->payload, false);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	shared->done = true;
	dsm_detach(seg);
	proc_exit(0);
}
