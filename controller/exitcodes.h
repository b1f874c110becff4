/*-------------------------------------------------------------------------
 *
 * exitcodes.h
 *	  The controller's exit codes: stable, documented in docs/cli.md and
 *	  printed by `pgchange help exit-codes` from the one table below.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_EXITCODES_H
#define PGCHANGE_EXITCODES_H

typedef enum PgcExit
{
	PGC_EXIT_OK = 0,			/* success */
	PGC_EXIT_ERROR = 1,			/* runtime or SQL error */
	PGC_EXIT_USAGE = 2,			/* usage error or invalid input */
	PGC_EXIT_LOCK = 3,			/* deploy lock not obtained */
	PGC_EXIT_VALIDATION = 4,	/* checksum / ordering validation failed */
	PGC_EXIT_POLICY = 5,		/* blocked by policy */
	PGC_EXIT_VERIFY = 6,		/* post-deploy verification failed */
	PGC_EXIT_PENDING = 7,		/* status --exit-code: changesets to run */
	PGC_EXIT_DRIFT = 8			/* drift --exit-code: DDL outside deployments */
} PgcExit;

typedef struct PgcExitInfo
{
	PgcExit		code;
	const char *name;			/* stable identifier, used in --json output */
	const char *meaning;
} PgcExitInfo;

extern const PgcExitInfo pgc_exit_codes[];
extern const int pgc_exit_code_count;

extern const char *pgc_exit_name(PgcExit code);

#endif							/* PGCHANGE_EXITCODES_H */
