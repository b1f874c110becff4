/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  Post-deploy verification: the verify SQL of applied changesets and a
 *	  suite of pgTAP files, run against the target in transactions that
 *	  are always rolled back, reported for people, --json and JUnit XML.
 *	  Used by `pgchange verify` and `pgchange deploy --verify`.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_VERIFY_H
#define PGCHANGE_VERIFY_H

#include <getopt.h>

#include "cli.h"
#include "libpq-fe.h"
#include "plan.h"

struct cJSON;

/* Options of verify, also taken by deploy (where each implies --verify) */
enum
{
	OPT_VERIFY = 3800,
	OPT_VERIFY_DIR,
	OPT_JUNIT,
	OPT_ROLLBACK_ON_FAILURE
};

#define VERIFY_LONG_OPTIONS \
	{"verify-dir", required_argument, NULL, OPT_VERIFY_DIR}, \
	{"junit", required_argument, NULL, OPT_JUNIT}

#define VERIFY_DEPLOY_LONG_OPTIONS \
	VERIFY_LONG_OPTIONS, \
	{"verify", no_argument, NULL, OPT_VERIFY}, \
	{"rollback-on-failure", no_argument, NULL, OPT_ROLLBACK_ON_FAILURE}

#define VERIFY_OPTIONS_HELP \
"Verification options:\n" \
"      --verify-dir=DIR      the pgTAP files (*.sql, run in name order);\n" \
"                            default: verify/ beside the root changelog\n" \
"      --junit=FILE          also write the results as JUnit XML\n"

#define VERIFY_DEPLOY_OPTIONS_HELP \
"      --verify              after the changesets, run the verification\n" \
"                            (pgchange verify) before releasing the lock;\n" \
"                            failing: exit 6\n" \
"      --rollback-on-failure  verification failing: roll back the\n" \
"                            changesets of this deploy (implies --verify)\n" \
"      --verify-dir=DIR, --junit=FILE  as for pgchange verify (imply --verify)\n"

/* 1: a verification option; 0: not one; -1: invalid value */
extern int	verify_parse_option(int opt, const char *arg);

/* deploy: was --verify (or an option implying it) given? */
extern bool verify_requested(void);

/* ------------------------------------------------------------------ */
/* The results, as the reports (human, JSON, JUnit) see them           */
/* ------------------------------------------------------------------ */

typedef enum VerifyCaseStatus
{
	VC_PASSED,
	VC_FAILED,
	VC_SKIPPED,					/* SKIP, or a changeset recorded as mark_ran */
	VC_TODO						/* a TODO test: allowed to fail */
} VerifyCaseStatus;

/* One test: a TAP test line, or one changeset's verify SQL */
typedef struct VerifyCase
{
	char	   *name;
	VerifyCaseStatus status;
	char	   *message;		/* failed: what failed; skipped, todo: why */
	char	   *details;		/* failed: diagnostics, may be NULL */
	double		ms;				/* < 0: not measured (TAP tests) */
} VerifyCase;

/* One pgTAP file, or the changesets' verify SQL */
typedef struct VerifySuite
{
	char	   *name;			/* the file as found, or "changesets" */
	bool		is_changesets;
	VerifyCase *cases;
	int			ncases;
	int			capacity;
	char	  **errors;			/* the suite as a whole failed: plan, SQL
								 * error, bail out */
	int			nerrors;
	char	   *diagnostics;	/* TAP diagnostics not tied to a failed test */
	int			passed;
	int			failed;
	int			skipped;
	int			todo;
	double		ms;
} VerifySuite;

typedef struct VerifyReport
{
	const char *project;
	char	   *database;
	char	   *timestamp;		/* ISO 8601, when verification started */
	VerifySuite *suites;
	int			nsuites;
	int			tests;
	int			passed;
	int			failed;
	int			skipped;
	int			todo;
	int			errors;			/* suites that failed as a whole */
	double		ms;
	bool		ok;
} VerifyReport;

/* ------------------------------------------------------------------ */
/* Running it                                                          */
/* ------------------------------------------------------------------ */

/*
 * pgchange verify: run the suite against conn and report it.  plan is the
 * changelog (NULL when none was given).  Returns an exit code: ok, verify
 * (6) when a test failed, error when verification could not run.
 */
extern int	verify_command(PGconn *conn, const GlobalOptions *g, const Plan *plan);

/*
 * deploy --verify, before anything runs: the suite can be read and pgTAP
 * is there when it is needed, so a deploy never changes a database it
 * cannot verify.  Returns an exit code.
 */
extern int	verify_deploy_check(PGconn *conn, const GlobalOptions *g, const Plan *plan);

/*
 * deploy --verify, after the changesets and under the lock.  Prints the
 * report (JSON: adds "verification" to deploy_report, which the caller
 * prints); with --rollback-on-failure a failure rolls back the changesets
 * of deployment_id (NULL: the deploy applied nothing).  Returns an exit
 * code: ok, verify (6), or error.
 */
extern int	verify_after_deploy(PGconn *conn, const GlobalOptions *g, const Plan *plan,
								const char *deployment_id, struct cJSON *deploy_report);

/*
 * Store the verify SQL of the changesets that deployment_id recorded
 * (pgchange.record_verify), so verification works without the files.
 */
extern bool verify_record_deployment(PGconn *conn, const char *project,
									 const char *deployment_id, const Plan *plan);

extern void verify_report_free(VerifyReport *rep);

#endif							/* PGCHANGE_VERIFY_H */
