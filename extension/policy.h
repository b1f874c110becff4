/*-------------------------------------------------------------------------
 *
 * policy.h
 *	  The policy engine: rules over PostgreSQL parse trees, evaluated by
 *	  pgchange.lint() and by the event triggers with the same result.
 *
 * Files:
 *	  policy.c			the rule loop, reporting, parameters, the
 *						statement-regex rule, policy_show/policy_rules
 *	  policy_settings.c	settings (jsonb -> PolicySettings): validation
 *						naming JSON paths, the overlay of layers
 *	  policy_facts.c	live facts about relations (size, rows, new here)
 *	  policy_lint.c		pgchange.lint(): raw_parser, rules, rows out
 *	  policy_record.c	recording in pgchange.violations / ddl_log, in the
 *						transaction or through a background worker
 *	  policy_trigger.c	event triggers, guard mode, break-glass, ERROR
 *	  policy_session.c	per backend: _PG_init, the statement text, roles
 *	  policy_rules_*.c	the rules themselves (PolicyRuleImpl tables)
 *	  ../common/policy_catalog.c	rule ids, default severities, parameters
 *
 * A rule is a C function over one statement's parse tree (the RawStmt's
 * stmt for lint, EventTriggerData->parsetree at ddl_command_start: both are
 * the raw grammar output for utility statements).  It asks the engine for
 * facts and calls policy_report(); it never raises an error itself and
 * never executes anything.  The engine decides severity (settings), fills
 * in statement, location, project and changeset, records and raises.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_POLICY_H
#define PGCHANGE_POLICY_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "policy_catalog.h"

/* where the evaluation happens */
typedef enum PolicyPhase
{
	POLICY_PHASE_LINT,			/* pgchange.lint(): nothing executes */
	POLICY_PHASE_DDL_START,		/* ddl_command_start, before any work */
	POLICY_PHASE_DDL_END,		/* ddl_command_end */
	POLICY_PHASE_SQL_DROP,		/* sql_drop */
	POLICY_PHASE_TABLE_REWRITE	/* table_rewrite */
} PolicyPhase;

/* Effective settings: catalogue defaults, overlaid by the stored global
 * settings, overlaid by the project's overrides, overlaid by an explicit
 * settings argument (lint(sql, settings)). */
typedef struct PolicyRuleSetting
{
	const PolicyRuleInfo *info;
	PolicySeverity severity;
	Jsonb	   *params;			/* the rule's object from the settings, or
								 * NULL: read values with policy_param_*() */
} PolicyRuleSetting;

typedef enum PolicyOutsideDeployment
{
	POLICY_OUTSIDE_OFF,			/* not recorded */
	POLICY_OUTSIDE_LOG,			/* recorded in pgchange.ddl_log (default) */
	POLICY_OUTSIDE_BLOCK		/* refused, unless break-glass */
} PolicyOutsideDeployment;

typedef struct PolicySettings
{
	PolicyRuleSetting *rules;	/* one per catalogue entry, same order */
	int			nrules;
	int64		large_table_rows;
	int64		large_table_bytes;
	PolicyOutsideDeployment outside_deployment;
} PolicySettings;

/* One violation, as lint() returns it and pgchange.violations records it */
typedef struct PolicyViolation
{
	const char *rule;
	PolicySeverity severity;
	char	   *message;		/* errmsg style: lower case, no period */
	char	   *detail;			/* why it is dangerous */
	char	   *hint;			/* the safe alternative */
	char	   *statement;		/* text of the statement */
	char	   *object;			/* object identity, e.g. public.orders, or
								 * NULL */
	int			location;		/* byte offset of the statement in the
								 * source text, -1 if unknown */
} PolicyViolation;

/* State of one evaluation (one lint() call, or one event trigger firing) */
typedef struct PolicyContext
{
	PolicyPhase phase;
	const PolicySettings *settings;
	const char *source_text;	/* whole text the statement came from */
	int			stmt_location;	/* statement's offset in source_text, -1 */
	int			stmt_len;		/* 0: to the end of source_text */
	const char *project;		/* during a deployment, else NULL */
	const char *changeset;		/* "id:author" during a deployment, else
								 * NULL */
	bool		in_transaction_block;	/* lint: the SQL runs in one
										 * transaction (a transactional
										 * changeset) */
	/*
	 * Relations created earlier in this unit: lint records the CREATE
	 * TABLE names it has seen in the same SQL text; at run time the engine
	 * tracks creations in this transaction and this deployment.  Rules ask
	 * through policy_relation_facts(), never read this directly.
	 */
	List	   *created_here;
	List	   *violations;		/* of PolicyViolation *, in report order */
	MemoryContext cxt;			/* everything above lives here */
	/* fields below are the engine's (rules never read them) */
	int64		deployment_id;	/* during a deployment, else 0 */
	const char *rule_running;	/* id of the rule being called, or NULL */
} PolicyContext;

/* Live facts about a relation named in a statement */
typedef struct PolicyRelFacts
{
	bool		exists;			/* false: unknown here (lint of SQL that
								 * creates it first, or a typo) */
	bool		created_here;	/* created in this transaction, this
								 * deployment or earlier in the linted SQL:
								 * locks and rewrites are harmless */
	Oid			relid;
	char		relkind;
	double		rows;			/* pg_class.reltuples, or an estimate when
								 * never analysed; 0 if empty */
	int64		bytes;			/* pg_relation_size of the main fork */
	char	   *identity;		/* schema-qualified, quoted as needed */
} PolicyRelFacts;

/* A rule implementation, found by id in the catalogue */
typedef void (*PolicyRuleFn) (PolicyContext *ctx, Node *stmt);

typedef struct PolicyRuleImpl
{
	const char *id;				/* must exist in policy_catalog.c */
	PolicyRuleFn fn;
} PolicyRuleImpl;

/* policy_rules_*.c each export one table, terminated by {NULL, NULL} */
extern const PolicyRuleImpl policy_rules_destructive[];
extern const PolicyRuleImpl policy_rules_locking[];
extern const PolicyRuleImpl policy_rules_style[];

/* ---- policy.c ---- */

/* effective settings for a project (NULL: global), plus explicit overrides */
extern PolicySettings *policy_settings_load(const char *project, Jsonb *overrides);
/* ERROR naming the JSON path when settings are invalid */
extern void policy_settings_validate(Jsonb *settings);

extern PolicyContext *policy_context_new(PolicyPhase phase,
										 const PolicySettings *settings,
										 const char *source_text);
/* run every enabled statement-scope rule over one statement */
extern void policy_evaluate_statement(PolicyContext *ctx, Node *stmt,
									  int location, int len);

/* Rules call this.  Severity comes from the settings; a rule that is off
 * never reaches here (the loop skips it), but reporting is still safe. */
extern void policy_report(PolicyContext *ctx, const char *rule,
						  const char *object, const char *detail,
						  const char *hint, const char *fmt,...)
			pg_attribute_printf(6, 7);

extern PolicySeverity policy_severity(const PolicyContext *ctx, const char *rule);
/* a rule's parameter: from its settings object, else the catalogue default */
extern int64 policy_param_int(const PolicyContext *ctx, const char *rule,
							  const char *name);
extern char *policy_param_string(const PolicyContext *ctx, const char *rule,
								 const char *name);	/* NULL when unset */
extern Jsonb *policy_param_jsonb(const PolicyContext *ctx, const char *rule,
								 const char *name);	/* NULL when unset */

/* ---- policy_facts.c ---- */

extern void policy_relation_facts(PolicyContext *ctx, RangeVar *rv,
								  PolicyRelFacts *facts);
extern void policy_relation_facts_oid(PolicyContext *ctx, Oid relid,
									  PolicyRelFacts *facts);
/* above the rule's min_rows / min_bytes (or the global thresholds) and not
 * created here: the case locking and rewriting rules are about */
extern bool policy_relation_is_large(const PolicyContext *ctx, const char *rule,
									 const PolicyRelFacts *facts);
/* lint: remember a relation created by an earlier statement of the text */
extern void policy_note_created(PolicyContext *ctx, RangeVar *rv);

/* ==================================================================
 * Engine internals: used by policy*.c, deploy.c and pgchange.c, never
 * by rules.
 * ================================================================== */

/* the engine's own statement-scope rule: statement-regex (policy.c) */
extern const PolicyRuleImpl policy_rules_engine[];

/* ---- policy_settings.c ---- */

/* validate one settings document; projects: the "projects" key is allowed */
extern void policy_settings_validate_doc(Jsonb *settings, bool projects);
/* the catalogue defaults alone */
extern PolicySettings *policy_settings_defaults(void);
/* overlay one validated document (its top level, then projects->project) */
extern void policy_settings_apply(PolicySettings *settings, Jsonb *doc,
								  const char *project);
/* effective settings from the stored documents (NULL: none) and overrides */
extern PolicySettings *policy_settings_build(Jsonb *global, Jsonb *own,
											 Jsonb *overrides, const char *project);
/* effective settings as a settings document with every rule and param */
extern Jsonb *policy_settings_to_jsonb(const PolicySettings *settings);
extern const PolicyRuleSetting *policy_rule_setting(const PolicySettings *settings,
													const char *rule);
extern PolicySeverity policy_severity_of(const PolicySettings *settings,
										 const char *rule);
/* a rule's parameter value as jsonb: settings, else default; NULL if unset */
extern Jsonb *policy_settings_param(const PolicySettings *settings,
									const char *rule, const char *name);

/* ---- policy.c ---- */

/* report with an explicit severity (statement-regex, sql_drop, runtime) */
extern void policy_report_as(PolicyContext *ctx, const char *rule,
							 PolicySeverity severity, const char *object,
							 const char *message, const char *detail,
							 const char *hint);
/* was (rule, object) already reported in this context? rule NULL: any */
extern bool policy_reported(const PolicyContext *ctx, const char *rule,
							const char *object);
/* the highest severity among the context's violations */
extern PolicySeverity policy_max_severity(const PolicyContext *ctx);
/* skip blanks and comments from pos; the statement's text from its first token */
extern int	policy_skip_blank(const char *s, int pos, int end);
extern int	policy_line_of(const char *text, int offset);
extern char *policy_statement_text(const char *source, int location, int len,
								   int *start);

/*
 * Run pgchange's own queries as the extension's owner with search_path
 * pg_catalog, pg_temp: the caller needs no rights on the tables, and
 * objects the caller planted in its search_path are never found.
 */
typedef struct PolicyAsOwner
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} PolicyAsOwner;

/* run a fixed query through a plan kept for the backend's life */
extern int	policy_spi_execute(SPIPlanPtr *plan, const char *sql, int nargs,
							   Oid *argtypes, Datum *values, const char *nulls,
							   bool read_only);

extern bool policy_schema_exists(void);
extern Oid	policy_owner(void);
extern void policy_as_owner_begin(PolicyAsOwner *st);
extern void policy_as_owner_end(PolicyAsOwner *st);

/* ---- policy_facts.c ---- */

/* run time: relations created in this transaction or this deployment */
extern void policy_track_created(Oid relid, int64 deployment_id);
extern bool policy_is_tracked_created(Oid relid, int64 deployment_id);

/* statements: the existing relation one locks; DDL on temporary objects only */
extern RangeVar *policy_statement_target(Node *stmt);
extern bool policy_statement_is_temp_only(Node *stmt);

/* ---- policy_session.c ---- */

extern char *policy_break_glass;	/* pgchange.break_glass */
/* the query string the running utility statement came from, its place */
extern void policy_statement_source(Node *parsetree, const char **query,
									int *location, int *len);
/* session_user is a member of pgchange_admin or a superuser */
extern bool policy_session_is_admin(void);

/* ---- policy_trigger.c ---- */

/* a (sub)transaction ended (InvalidSubTransactionId: the transaction) */
extern void policy_trigger_forget(SubTransactionId subid);

/* ---- policy_record.c ---- */

/* rows for pgchange.violations and pgchange.ddl_log, with who and where */
typedef struct PolicyRecord
{
	char	   *at;
	char	   *username;		/* session_user */
	char	   *effective_user; /* current_user */
	char	   *application_name;
	char	   *client_addr;
	int			pid;
	const char *project;		/* during a deployment */
	const char *changeset;
	int64		deployment_id;
	const char *break_glass;	/* the honoured reason, or NULL */
	StringInfoData violations;	/* JSON objects, comma separated */
	StringInfoData ddl_log;
} PolicyRecord;

extern void policy_record_who(PolicyRecord *rec);
extern void policy_record_violation(PolicyRecord *rec, const PolicyViolation *v,
									PolicyPhase phase, bool blocked);
extern void policy_record_ddl(PolicyRecord *rec, const char *command_tag,
							  const char *statement, const char *objects_json,
							  bool blocked);
extern bool policy_record_empty(const PolicyRecord *rec);
/* in the current transaction */
extern void policy_record_store(PolicyRecord *rec);
/* committed on its own (background worker), before an ERROR */
extern void policy_record_store_autonomous(PolicyRecord *rec);

/* ---- deploy.c, rollback.c: the changeset run_changeset() or run_rollback() runs ---- */

typedef struct PolicyRunningChangeset
{
	const char *project;
	int64		deployment_id;
	const char *changeset;		/* "id:author" */
	bool		rolling_back;	/* pgchange.run_rollback(), not run_changeset() */
} PolicyRunningChangeset;

extern PolicyRunningChangeset *policy_running_changeset;	/* NULL outside */

#endif							/* PGCHANGE_POLICY_H */
