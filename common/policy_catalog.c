/*-------------------------------------------------------------------------
 *
 * policy_catalog.c
 *	  The catalogue of policy rules (see policy_catalog.h).
 *
 * Defaults follow one principle, documented in docs/policies.md: rules about
 * destroying data, breaking running clients, or locking or rewriting a large
 * table are "error"; style rules are "warn".  Rules whose right value
 * depends on the team (patterns, custom rules) are "off" until configured.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "policy_catalog.h"

#define NO_PARAMS	{{NULL}}
#define ROWS_PARAM(what) \
	{"min_rows", POLICY_PARAM_INT, 0, INT64_C(1000000000000), NULL, \
	 "apply only to tables with at least this many rows (estimate); default: large_table_rows"}, \
	{"min_bytes", POLICY_PARAM_INT, 0, INT64_C(1000000000000000), NULL, \
	 "or at least this many bytes on disk; default: large_table_bytes"}

static const PolicyRuleInfo rules[] = {
	/* destroying data */
	{"drop-table", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_DESTRUCTIVE,
	 "drop table", NO_PARAMS},
	{"drop-column", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_DESTRUCTIVE,
	 "drop column", NO_PARAMS},
	{"drop-schema", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_DESTRUCTIVE,
	 "drop schema", NO_PARAMS},
	{"truncate", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_DESTRUCTIVE,
	 "truncate table", NO_PARAMS},
	/* breaking running clients */
	{"rename-table", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_BREAKING,
	 "rename table, or move it to another schema", NO_PARAMS},
	{"rename-column", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_BREAKING,
	 "rename column", NO_PARAMS},
	/* locking or rewriting a large table */
	{"alter-column-type", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "change of a column type that rewrites a large table", {ROWS_PARAM()}},
	{"add-column-volatile-default", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "add column with a volatile default (or serial, identity, stored generated) to a large table", {ROWS_PARAM()}},
	{"add-column-not-null-without-default", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "add NOT NULL column without a default to a non-empty table", NO_PARAMS},
	{"set-not-null", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "SET NOT NULL on a large table without a validated CHECK (col IS NOT NULL)", {ROWS_PARAM()}},
	{"add-check-without-not-valid", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "add CHECK constraint to a large table without NOT VALID", {ROWS_PARAM()}},
	{"add-foreign-key-without-not-valid", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "add FOREIGN KEY to a large table without NOT VALID", {ROWS_PARAM()}},
	{"add-unique-without-index", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "add UNIQUE or PRIMARY KEY constraint to a large table without USING INDEX", {ROWS_PARAM()}},
	{"create-index-non-concurrently", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "CREATE INDEX without CONCURRENTLY on a large table", {ROWS_PARAM()}},
	{"drop-index-non-concurrently", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "DROP INDEX without CONCURRENTLY on an index of a large table", {ROWS_PARAM()}},
	{"concurrently-in-transaction", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_LOCKING,
	 "CONCURRENTLY inside a transaction block", NO_PARAMS},
	{"table-rewrite", POLICY_ERROR, POLICY_SCOPE_RUNTIME, POLICY_FAMILY_LOCKING,
	 "any rewrite of a large table, whatever the cause", {ROWS_PARAM()}},
	{"lock-timeout-missing", POLICY_WARN, POLICY_SCOPE_RUNTIME, POLICY_FAMILY_LOCKING,
	 "DDL on an existing table in a session without lock_timeout", NO_PARAMS},
	/* design and style */
	{"create-table-without-primary-key", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "CREATE TABLE without a primary key", NO_PARAMS},
	{"too-many-columns", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "table with too many columns",
	 {{"max_columns", POLICY_PARAM_INT, 1, 1600, "50", "most columns a table may have"}}},
	{"prefer-bigint-keys", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "int or smallint primary key or identity instead of bigint", NO_PARAMS},
	{"prefer-identity", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "serial column instead of an identity column", NO_PARAMS},
	{"prefer-text", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "varchar(n) or char(n) instead of text", NO_PARAMS},
	{"prefer-timestamptz", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "timestamp without time zone", NO_PARAMS},
	{"identifier-too-long", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "identifier longer than 63 bytes (PostgreSQL truncates it)", NO_PARAMS},
	{"name-must-match", POLICY_OFF, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "name of a created object does not match the required pattern",
	 {{"pattern", POLICY_PARAM_REGEX, 0, 0, "\"^[a-z_][a-z0-9_]*$\"", "names must match this regular expression"}}},
	{"name-must-not-match", POLICY_OFF, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "name of a created object matches a forbidden pattern",
	 {{"pattern", POLICY_PARAM_REGEX, 0, 0, NULL, "names must not match this regular expression"}}},
	{"statement-regex", POLICY_OFF, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_STYLE,
	 "user-defined rules over the statement text",
	 {{"rules", POLICY_PARAM_CUSTOM_RULES, 0, 0, "[]", "list of {\"id\", \"pattern\", \"message\", \"severity\"}"}}},
	/* security */
	{"grant-to-public", POLICY_ERROR, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_SECURITY,
	 "GRANT to PUBLIC", NO_PARAMS},
	{"grant-with-grant-option", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_SECURITY,
	 "GRANT WITH GRANT OPTION", NO_PARAMS},
	{"grant-all", POLICY_WARN, POLICY_SCOPE_STATEMENT, POLICY_FAMILY_SECURITY,
	 "GRANT ALL PRIVILEGES", NO_PARAMS},
	/* changelog hygiene: the controller's pgchange check only */
	{"changeset-without-comment", POLICY_WARN, POLICY_SCOPE_CHANGELOG, POLICY_FAMILY_CHANGELOG,
	 "changeset without a comment", NO_PARAMS},
	{"changeset-without-rollback", POLICY_WARN, POLICY_SCOPE_CHANGELOG, POLICY_FAMILY_CHANGELOG,
	 "changeset without a rollback", NO_PARAMS},
	{"changeset-without-context", POLICY_OFF, POLICY_SCOPE_CHANGELOG, POLICY_FAMILY_CHANGELOG,
	 "changeset without a context or label", NO_PARAMS},
	/* guard mode (outside_deployment chooses off / log / block) */
	{"ddl-outside-deployment", POLICY_INFO, POLICY_SCOPE_RUNTIME, POLICY_FAMILY_GUARD,
	 "DDL run outside a pgchange deployment", NO_PARAMS},
};

const PolicyRuleInfo *
policy_rules(int *count)
{
	*count = (int) (sizeof(rules) / sizeof(rules[0]));
	return rules;
}

const PolicyRuleInfo *
policy_rule_find(const char *id)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

const PolicyParam *
policy_param_find(const PolicyRuleInfo *rule, const char *name)
{
	for (int i = 0; i < POLICY_MAX_PARAMS && rule->params[i].name; i++)
		if (strcmp(rule->params[i].name, name) == 0)
			return &rule->params[i];
	return NULL;
}

static const char *const severity_names[] = {"off", "info", "warn", "error"};

const char *
policy_severity_name(PolicySeverity severity)
{
	return severity_names[severity];
}

bool
policy_severity_parse(const char *name, PolicySeverity *severity)
{
	for (int i = POLICY_OFF; i <= POLICY_ERROR; i++)
		if (strcmp(name, severity_names[i]) == 0)
		{
			*severity = (PolicySeverity) i;
			return true;
		}
	return false;
}

const char *
policy_scope_name(PolicyScope scope)
{
	switch (scope)
	{
		case POLICY_SCOPE_STATEMENT:
			return "statement";
		case POLICY_SCOPE_RUNTIME:
			return "runtime";
		case POLICY_SCOPE_CHANGELOG:
			return "changelog";
	}
	return "?";
}
