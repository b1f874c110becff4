/*-------------------------------------------------------------------------
 *
 * policy.h
 *	  The policy engine: rules over PostgreSQL parse trees, evaluated by
 *	  pgchange.lint() and by the event triggers with the same result.
 *
 * Files:
 *	  policy.c			settings (jsonb -> PolicySettings), the rule loop,
 *						reporting, recording in pgchange.violations, ERROR
 *	  policy_facts.c	live facts about relations (size, rows, new here)
 *	  policy_lint.c		pgchange.lint(): raw_parser, rules, rows out
 *	  policy_trigger.c	event triggers, guard mode, pgchange.ddl_log
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

#endif							/* PGCHANGE_POLICY_H */
