/*-------------------------------------------------------------------------
 *
 * runner.h
 *	  Running one changeset against the database: preconditions, the
 *	  transactional path (pgchange.run_changeset, one transaction) and the
 *	  statement-by-statement path with recorded progress.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_RUNNER_H
#define PGCHANGE_RUNNER_H

#include "libpq-fe.h"
#include "plan.h"

typedef struct RunOptions
{
	const char *project;
	const char *deployment_id;	/* as text, for bound parameters */
	const char *lock_timeout;	/* e.g. "5s" */
	int			retries;		/* on lock_not_available (55P03) */
	bool		path_identity;
} RunOptions;

typedef enum RunResult
{
	RUN_OK,						/* ran and recorded */
	RUN_MARKED,					/* precondition: recorded as mark_ran */
	RUN_SKIPPED,				/* precondition: CONTINUE, or failOnError:false */
	RUN_FAILED,					/* error reported; stop */
	RUN_VALIDATION,				/* partially applied under another checksum */
	RUN_CANCELED				/* Ctrl-C */
} RunResult;

extern RunResult run_changeset(PGconn *conn, const RunOptions *o, const PlanItem *it);

/* the body as the database runs it: endDelimiter turned into ';' */
extern char *runner_effective_body(const Changeset *cs);
extern char *runner_effective_sql(const char *sql, const char *end_delimiter);

/* Run a parameterised statement, retrying while a lock is not available */
extern PGresult *runner_exec_retry(PGconn *conn, const RunOptions *o, const char *label,
								   const char *sql, int nparams, const char *const *params);

/* called after each statement of the per-statement path; false stops it */
typedef bool (*StatementDone) (PGconn *conn, int done, int total, void *arg);

/*
 * The per-statement path, shared by deploys and rollbacks: run stmts[from]
 * to stmts[n - 1] one at a time outside a transaction block, with the
 * run's lock_timeout and retries, calling done() after each so the caller
 * records progress.  When a statement fails, *failed is its index and
 * *error its result, for the caller to report and PQclear.
 */
extern RunResult runner_exec_statements(PGconn *conn, const RunOptions *o, const char *label,
										char **stmts, int n, int from,
										StatementDone done, void *arg,
										int *failed, PGresult **error);

/* set by the SIGINT handler (fe_utils/cancel.h) */
extern void runner_setup_cancel(PGconn *conn);

#endif							/* PGCHANGE_RUNNER_H */
