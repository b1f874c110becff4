/*-------------------------------------------------------------------------
 *
 * rollback.h
 *	  Undoing applied changesets with the rollback SQL the registry stored
 *	  when they were deployed: pgchange rollback, deploy --to-tag,
 *	  deploy --test-rollback, and deploy --rollback-on-failure (cmd_deploy
 *	  calls rollback_run with the deployment to undo).
 *
 * What a rollback undoes is decided in the database by
 * pgchange.rollback_plan(), so a DBA in psql sees the same plan.  Each
 * changeset is undone in its own transaction together with the removal of
 * its registry row (pgchange.run_rollback, inside the database); a
 * rollback that cannot run in a transaction block goes statement by
 * statement with recorded progress, like a deploy, and a rerun resumes.
 * A changeset on the way that has no rollback stops the whole rollback
 * before anything is undone (exit 4, PGC_EXIT_VALIDATION).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_ROLLBACK_H
#define PGCHANGE_ROLLBACK_H

#include "changelog.h"
#include "cli.h"
#include "libpq-fe.h"
#include "plan.h"
#include "runner.h"

typedef enum RollbackMode
{
	RB_TO_TAG,					/* everything applied after the changeset
								 * tagged tag (that one stays) */
	RB_COUNT,					/* the last count changesets */
	RB_TO_DATE,					/* everything applied after to_date */
	RB_DEPLOYMENT				/* the changesets deployment_id applied */
} RollbackMode;

#define RB_NO_RETRIES (-1)

typedef struct RollbackTarget
{
	RollbackMode mode;
	const char *tag;			/* RB_TO_TAG */
	int			count;			/* RB_COUNT, at least 1 */
	const char *to_date;		/* RB_TO_DATE: timestamptz text */
	const char *deployment_id;	/* RB_DEPLOYMENT: as text */

	/* how to run it; zero values mean pgchange rollback's defaults */
	const char *lock_wait;		/* NULL: "5 min" */
	const char *lock_timeout;	/* NULL: "5s", for each changeset */
	int			retries;		/* after lock_timeout; 0: 5, RB_NO_RETRIES: none */
	const char *reason;			/* shown to lock waiters; NULL: "rollback" */

	/*
	 * The changelog as the files have it now, or NULL: rollbacks in the
	 * files that differ from the stored ones are reported as warnings, and
	 * errors name FILE:LINE.  Rolling back always uses the stored SQL.
	 */
	const Changelog *changelog;

	/*
	 * Not NULL: the JSON report ({"deployment_id", "status", "changesets":
	 * [...]}) is handed to the caller here instead of being printed, and no
	 * human summary line is printed either (deploy --rollback-on-failure
	 * puts it into its own report).
	 */
	struct cJSON **report;
} RollbackTarget;

/*
 * Roll back.  Takes the project lock unless this session already holds it
 * (deploy --rollback-on-failure), and then leaves it held; records a
 * deployment of kind rollback.  dry_run prints the SQL that would run, in
 * order, and changes nothing.  Returns a PgcExit code: 0 also when there
 * is nothing to roll back; 2 unknown tag or bad target; 3 lock; 4 a
 * changeset without rollback is in the way (nothing undone); 1 a rollback
 * failed (the ones before it stay undone, the deployment is "failed").
 */
extern int	rollback_run(PGconn *conn, const GlobalOptions *g,
						 const RollbackTarget *target, bool dry_run);

/* ---- used by deploy (cmd_deploy.c) ---- */

/*
 * Resolve the rollback each changeset about to run will store: its own,
 * a referenced changeset's body, goose Down.  Reports an unresolvable
 * reference as FILE:LINE; false then (exit 2, nothing applied).
 */
extern bool rollback_resolve_plan(Plan *plan);

/*
 * deploy --to-tag: keep only what runs up to and including the changeset
 * that declares tag (tagDatabase, --tag).  Returns a PgcExit code: 2 when
 * no changeset of the changelog declares it.
 */
extern int	rollback_limit_to_tag(Plan *plan, const char *tag);

/*
 * deploy --test-rollback: before anything runs, every changeset that will
 * run must have a rollback (errors name each one; false then, exit 4).
 */
extern bool rollback_check_testable(const Plan *plan);

/*
 * deploy --test-rollback, after it ran: undo the changeset just deployed
 * with its stored rollback (recorded under the same deployment), then
 * deploy it again.  RUN_OK when all three steps worked.
 */
extern RunResult rollback_test_changeset(PGconn *conn, const RunOptions *o,
										 const PlanItem *it);

/* ---- used by status and validate (plan.c) ---- */

/*
 * Resolve the rollback of it now, as rollback_resolve_plan() would (which then
 * keeps the result), and put its checksum as pgchange.checksum() computes
 * it into sum: plan_build() sends it with the manifest, and
 * pgchange.validate() compares it with the stored one.  False when it has
 * no rollback, or after reporting a bad reference (it->rollback_error).
 */
extern bool rollback_resolve_item(const Changelog *cl, PlanItem *it, char *sum);

/*
 * Warn that the rollback stored when cs was deployed and the one in the
 * files differ (status, validate, rollback -c): stored / in_files say
 * which of them exist.
 */
extern void rollback_warn_drift(const Changeset *cs, bool stored, bool in_files);

#endif							/* PGCHANGE_ROLLBACK_H */
