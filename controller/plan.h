/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  From a changelog and a database to a plan: what is applied, pending,
 *	  changed, out of order or missing, and what a deploy would do.
 *
 * The statuses come from the database (pgchange.validate), so the CLI and
 * a DBA in psql get the same answers; the controller adds only what
 * depends on the run (contexts, labels, dbms, runOnChange, runAlways).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_PLAN_H
#define PGCHANGE_PLAN_H

#include "changelog.h"
#include "checksum.h"
#include "cli.h"
#include "libpq-fe.h"

/* Options every changelog-reading command takes, declared once */
enum
{
	OPT_SEARCH_PATH = 2000,
	OPT_DEFAULTS_FILE,
	OPT_CONTEXTS,
	OPT_LABELS,
	OPT_IDENTITY,
	OPT_ALLOW_MISSING,
	OPT_ALLOW_OUT_OF_ORDER
};

#define CHANGELOG_SHORT_OPTIONS "c:D:"
#define CHANGELOG_LONG_OPTIONS \
	{"changelog", required_argument, NULL, 'c'}, \
	{"search-path", required_argument, NULL, OPT_SEARCH_PATH}, \
	{"define", required_argument, NULL, 'D'}, \
	{"defaults-file", required_argument, NULL, OPT_DEFAULTS_FILE}, \
	{"contexts", required_argument, NULL, OPT_CONTEXTS}, \
	{"labels", required_argument, NULL, OPT_LABELS}, \
	{"identity", required_argument, NULL, OPT_IDENTITY}, \
	{"allow-missing", no_argument, NULL, OPT_ALLOW_MISSING}, \
	{"allow-out-of-order", no_argument, NULL, OPT_ALLOW_OUT_OF_ORDER}

#define CHANGELOG_OPTIONS_HELP \
"Changelog options:\n" \
"  -c, --changelog=PATH      root changelog: a formatted SQL or goose file, a\n" \
"                            directory, or an XML/YAML/JSON master\n" \
"                            (default $PGCHANGE_CHANGELOG)\n" \
"      --search-path=DIR     where include paths are looked up (repeatable;\n" \
"                            default: the current directory, then the root's)\n" \
"  -D, --define=NAME=VALUE   a changelog property for ${NAME}\n" \
"      --defaults-file=FILE  Liquibase defaults file (parameter.NAME=VALUE)\n" \
"      --contexts=EXPR       run only changesets whose contexts match\n" \
"      --labels=EXPR         run only changesets whose labels match EXPR\n" \
"      --identity=MODE       id_author (default) or path, for changelogs that\n" \
"                            reuse author:id in several files\n" \
"      --allow-missing       applied changesets missing from the files are\n" \
"                            not an error\n" \
"      --allow-out-of-order  run pending changesets that sort before\n" \
"                            applied ones\n"

/* 1: the option was a changelog option; 0: not one; -1: invalid value */
extern int	changelog_parse_option(int opt, const char *arg);

typedef enum PlanStatus
{
	PS_OK,						/* applied, checksum matches */
	PS_CHANGED,					/* applied with another checksum */
	PS_PENDING,					/* not applied */
	PS_OUT_OF_ORDER,			/* not applied, but later ones are */
	PS_NOT_CHECKED				/* not sent to the database (ignore:true) */
} PlanStatus;

typedef enum PlanAction
{
	PA_SKIP,					/* applied and unchanged */
	PA_RUN,						/* pending: run it */
	PA_RERUN,					/* runOnChange / runAlways */
	PA_FILTERED,				/* contexts, labels or dbms exclude it */
	PA_IGNORED,					/* ignore:true */
	PA_BLOCKED					/* changed or out of order: validation fails */
} PlanAction;

/* How the rollback stored for an applied changeset differs from the files' */
typedef enum RollbackDrift
{
	RD_NONE,					/* the same, not applied, or not asked */
	RD_CHANGED,					/* both have one, and they differ */
	RD_ADDED,					/* none was stored; the files have one */
	RD_REMOVED					/* one was stored; the files have none */
} RollbackDrift;

typedef struct PlanItem
{
	Changeset  *cs;
	char		checksum[PGC_CHECKSUM_LEN + 1];
	PlanStatus	status;
	PlanAction	action;
	char	   *applied_checksum;	/* NULL if not applied; checksum if the same */
	char	   *applied_at;

	/*
	 * The rollback this changeset stores when it runs, resolved by
	 * rollback_resolve_plan() (references followed, goose Down split as
	 * goose splits it); rollback_resolved is false for items not about to
	 * run, unless status or validate resolved every item to compare the
	 * rollbacks (rollback_error: its reference names no changeset, which
	 * was reported).  rollback_sql NULL: none; "": nothing to undo.
	 */
	bool		rollback_resolved;
	bool		rollback_error;
	RollbackDrift rollback_drift;	/* from pgchange.validate() */
	char	   *rollback_sql;
	char	  **rollback_statements;	/* not owned; NULL: the server splits */
	int			nrollback_statements;
	bool		rollback_in_transaction;
} PlanItem;

typedef struct MissingItem
{
	char	   *id;
	char	   *author;
	char	   *path;
	char	   *applied_at;
} MissingItem;

typedef struct Plan
{
	const char *project;
	Changelog	changelog;
	PlanItem   *items;
	int			nitems;
	MissingItem *missing;
	int			nmissing;
	int			nrun;			/* PA_RUN + PA_RERUN */
	int			nblocked;		/* PA_BLOCKED */
	bool		allow_missing;
	bool		path_identity;
} Plan;

/* Connect-side work: read the changelog, ask the database, decide */
extern bool plan_build(PGconn *conn, const GlobalOptions *g, Plan *plan);

/*
 * The project's identity mode as the handshake read it (NULL: a new
 * project), so plan_build need not ask for it again; the mode validate()
 * then sees must be the same, or plan_build fails.  Without this call
 * plan_build reads the mode itself.
 */
extern void plan_set_stored_identity(const char *mode);

/*
 * status, validate: send the checksum of each changeset's rollback in the
 * files with the manifest, and warn (once plan_build succeeds) about the
 * applied ones whose stored rollback differs, as pgchange.validate()
 * answers in its rollback_drift column.
 */
extern void plan_set_compare_rollbacks(bool on);
extern void plan_free(Plan *plan);

/* Only read the changelog the options name (rollback compares with it) */
extern bool plan_read_changelog(PGconn *conn, const GlobalOptions *g, Changelog *out);
extern const char *plan_status_name(PlanStatus s);
extern const char *plan_action_name(PlanAction a);

/* "path::id::author", as Liquibase names a changeset */
extern char *changeset_name(const Changeset *cs);

/* the root changelog given with -c, else $PGCHANGE_CHANGELOG */
extern const char *changelog_root_option(void);

/* the identity mode the project uses, to be set when --identity asks */
extern const char *changelog_identity_option(void);

#endif							/* PGCHANGE_PLAN_H */
