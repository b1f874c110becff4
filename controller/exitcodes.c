/*-------------------------------------------------------------------------
 *
 * exitcodes.c
 *	  The one table of exit codes; docs/cli.md is checked against it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "exitcodes.h"

const PgcExitInfo pgc_exit_codes[] = {
	{PGC_EXIT_OK, "ok", "success"},
	{PGC_EXIT_ERROR, "error", "runtime or SQL error"},
	{PGC_EXIT_USAGE, "usage", "usage error or invalid input"},
	{PGC_EXIT_LOCK, "lock", "the deploy lock was not obtained"},
	{PGC_EXIT_VALIDATION, "validation", "validation failed (changed checksum, missing or out-of-order changesets)"},
	{PGC_EXIT_POLICY, "policy", "blocked by policy"},
	{PGC_EXIT_VERIFY, "verify", "post-deploy verification failed"},
	{PGC_EXIT_PENDING, "pending", "status --exit-code: changesets are waiting to be deployed"},
	{PGC_EXIT_DRIFT, "drift", "drift --exit-code: DDL ran outside deployments since the last deploy"},
};

const int	pgc_exit_code_count = lengthof(pgc_exit_codes);

const char *
pgc_exit_name(PgcExit code)
{
	for (int i = 0; i < pgc_exit_code_count; i++)
		if (pgc_exit_codes[i].code == code)
			return pgc_exit_codes[i].name;
	return "unknown";
}
