/*-------------------------------------------------------------------------
 *
 * rollback.c
 *	  Undoing applied changesets with their stored rollback SQL (see
 *	  rollback.h).  Work in progress: the interface is final, the bodies
 *	  follow.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "exitcodes.h"
#include "rollback.h"

int
rollback_run(PGconn *conn, const GlobalOptions *g, const RollbackTarget *target,
			 bool dry_run)
{
	pg_log_error("rollback is not implemented yet");
	return PGC_EXIT_ERROR;
}

bool
rollback_resolve_plan(Plan *plan)
{
	return true;
}

int
rollback_limit_to_tag(Plan *plan, const char *tag)
{
	pg_log_error("deploy --to-tag is not implemented yet");
	return PGC_EXIT_USAGE;
}

bool
rollback_check_testable(const Plan *plan)
{
	return false;
}

RunResult
rollback_test_changeset(PGconn *conn, const RunOptions *o, const PlanItem *it)
{
	return RUN_FAILED;
}

void
rollback_report_drift(PGconn *conn, const Plan *plan)
{
}
