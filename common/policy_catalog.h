/*-------------------------------------------------------------------------
 *
 * policy_catalog.h
 *	  The catalogue of policy rules: ids, default severities, parameters.
 *
 * One table shared by the extension (which evaluates rules and validates
 * settings stored with pgchange.policy_push) and the controller (which
 * validates a checks-settings file before it goes anywhere, and evaluates
 * the changelog-level rules that only it can see).  A rule id, a default
 * or a parameter range exists in exactly one place: policy_catalog.c.
 *
 * Compiled in both backend and frontend code: no palloc, no elog here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_POLICY_CATALOG_H
#define PGCHANGE_POLICY_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum PolicySeverity
{
	POLICY_OFF = 0,
	POLICY_INFO,
	POLICY_WARN,
	POLICY_ERROR
} PolicySeverity;

/* where a rule can be evaluated */
typedef enum PolicyScope
{
	POLICY_SCOPE_STATEMENT,		/* parse tree: pgchange.lint() and the event
								 * triggers, same result on both */
	POLICY_SCOPE_RUNTIME,		/* only while DDL runs (event triggers,
								 * session state); lint cannot see it */
	POLICY_SCOPE_CHANGELOG		/* changeset metadata: the controller's
								 * pgchange check only */
} PolicyScope;

/* what a rule protects (the sections of docs/policies.md) */
typedef enum PolicyFamily
{
	POLICY_FAMILY_DESTRUCTIVE,	/* destroying data */
	POLICY_FAMILY_BREAKING,		/* breaking running clients */
	POLICY_FAMILY_LOCKING,		/* locking or rewriting a large table: the
								 * only family that also blocks rollbacks */
	POLICY_FAMILY_STYLE,		/* design and style */
	POLICY_FAMILY_SECURITY,		/* privileges */
	POLICY_FAMILY_CHANGELOG,	/* changelog hygiene */
	POLICY_FAMILY_GUARD			/* DDL outside deployments */
} PolicyFamily;

typedef enum PolicyParamType
{
	POLICY_PARAM_INT,			/* int64 within [min, max] */
	POLICY_PARAM_STRING,		/* free text */
	POLICY_PARAM_REGEX,			/* POSIX ARE, as PostgreSQL's ~ operator */
	POLICY_PARAM_BOOL,
	POLICY_PARAM_CUSTOM_RULES	/* array of {id, pattern, message,
								 * severity} objects (statement-regex) */
} PolicyParamType;

typedef struct PolicyParam
{
	const char *name;
	PolicyParamType type;
	int64_t		min;			/* INT only */
	int64_t		max;			/* INT only */
	const char *default_value;	/* as JSON text; NULL: no default (unset) */
	const char *description;
} PolicyParam;

#define POLICY_MAX_PARAMS 4

typedef struct PolicyRuleInfo
{
	const char *id;				/* kebab-case, stable: settings and
								 * violations name rules by it */
	PolicySeverity default_severity;
	PolicyScope scope;
	PolicyFamily family;
	const char *summary;		/* one line, lower case, no period */
	PolicyParam params[POLICY_MAX_PARAMS];	/* terminated by name == NULL */
} PolicyRuleInfo;

/* Settings keys outside "rules" (see docs/policies.md) */
#define POLICY_KEY_RULES				"rules"
#define POLICY_KEY_LARGE_TABLE_ROWS		"large_table_rows"
#define POLICY_KEY_LARGE_TABLE_BYTES	"large_table_bytes"
#define POLICY_KEY_OUTSIDE_DEPLOYMENT	"outside_deployment"
#define POLICY_KEY_PROJECTS				"projects"

/* defaults of the global thresholds above (a table is "large" from either) */
#define POLICY_DEFAULT_LARGE_TABLE_ROWS		100000
#define POLICY_DEFAULT_LARGE_TABLE_BYTES	(64 * 1024 * 1024)

extern const PolicyRuleInfo *policy_rules(int *count);
extern const PolicyRuleInfo *policy_rule_find(const char *id);
extern const PolicyParam *policy_param_find(const PolicyRuleInfo *rule,
											const char *name);
extern const char *policy_severity_name(PolicySeverity severity);
/* false when the name is not off / info / warn / error */
extern bool policy_severity_parse(const char *name, PolicySeverity *severity);
extern const char *policy_scope_name(PolicyScope scope);

#endif							/* PGCHANGE_POLICY_CATALOG_H */
