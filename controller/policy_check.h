/*-------------------------------------------------------------------------
 *
 * policy_check.h
 *	  Checking a changelog against the policies before it runs: the
 *	  changesets' SQL through pgchange.lint() (one query for all of them),
 *	  the changelog-scope rules here, violations mapped to FILE:LINE.
 *	  Used by `pgchange check` and by `pgchange deploy`, which runs the
 *	  same check on what it is about to run.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_POLICY_CHECK_H
#define PGCHANGE_POLICY_CHECK_H

#include <stdio.h>

#include "cli.h"
#include "libpq-fe.h"
#include "plan.h"
#include "policy_catalog.h"

struct cJSON;

typedef struct CheckViolation
{
	int			item;			/* index in the plan, for ordering */
	int			seq;			/* report order within the item */
	const char *file;			/* the plan's strings: valid while it is */
	int			line;
	char	   *changeset;		/* path::id::author */
	char	   *rule;
	PolicySeverity severity;
	char	   *message;
	char	   *detail;			/* NULL if none */
	char	   *hint;			/* NULL if none */
	char	   *statement;		/* NULL for changelog-scope rules */
	char	   *object;			/* NULL if none */
} CheckViolation;

typedef struct CheckResult
{
	CheckViolation *v;			/* sorted by changeset order, then line */
	int			n;
	int			capacity;
	int			nchecked;		/* changesets checked */
	int			count[POLICY_ERROR + 1];	/* violations by severity */
} CheckResult;

/*
 * Check the changesets a deploy would run (every selected one with all):
 * settings is a validated checks-settings document to lint with instead of
 * adding to what is stored, or NULL.  Changes nothing in the database.
 * Returns an exit code: ok (whatever was found), usage (a changeset does
 * not parse; FILE:LINE logged) or error.
 */
extern int	policy_check_plan(PGconn *conn, const char *project, const Plan *plan,
							  bool all, const struct cJSON *settings,
							  CheckResult *result);
extern void policy_check_free(CheckResult *result);

/* Renderings: text grouped by FILE:LINE, JSON, GitHub Actions annotations */
extern void policy_check_print_text(const CheckResult *r, const GlobalOptions *g,
									PolicySeverity min_severity, FILE *out);
extern struct cJSON *policy_check_json(const CheckResult *r);
extern void policy_check_print_github(const CheckResult *r, FILE *out);
/* GITHUB_ACTIONS=true */
extern bool policy_check_github_actions(void);

/* ---- deploy's use (cmd_deploy.c) ---- */

#define OPT_POLICY_FILE 3500
#define POLICY_DEPLOY_LONG_OPTIONS \
	{"policy", required_argument, NULL, OPT_POLICY_FILE}
#define POLICY_DEPLOY_OPTIONS_HELP \
"      --policy=FILE         push this checks-settings file for the project\n" \
"                            (pgchange_admin) before deploying\n"

/* 1: the option was --policy (file read and valid); 0: not it; -1: invalid */
extern int	policy_deploy_parse_option(int opt, const char *arg);

/* push the --policy file, if one was given; an exit code */
extern int	policy_deploy_push(PGconn *conn, const GlobalOptions *g);

/*
 * The check before a deploy, on the changesets it will run: prints the
 * error-level violations (all of them with -v, a count of warnings
 * otherwise) on standard error; exit code policy when an error-level
 * violation means the deploy must not start.
 */
extern int	policy_deploy_check(PGconn *conn, const GlobalOptions *g,
								const Plan *plan);

/* Report a failed pgchange.policy_push() call; its exit code */
extern int	policy_push_failed(PGresult *res, PGconn *conn);

/* Did a failed statement break a policy (SQLSTATE class PC)? */
extern bool policy_sqlstate_blocked(const PGresult *res);

#endif							/* PGCHANGE_POLICY_CHECK_H */
