/*-------------------------------------------------------------------------
 *
 * policy_rules_util.h
 *	  Helpers shared by the policy rules (policy_rules_*.c): names for
 *	  reports, column definitions in raw parse trees, and the live catalog
 *	  facts the rules rely on (types, volatility, constraints).
 *
 * Everything here is read-only and never raises an error for input that
 * PostgreSQL itself would accept: a name that does not resolve (a table
 * or type created earlier in linted SQL, a typo) is "unknown", and the
 * caller decides what unknown means for its rule.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_POLICY_RULES_UTIL_H
#define PGCHANGE_POLICY_RULES_UTIL_H

#include "policy.h"

/* AlterTableStmt's object type field was called relkind before 14 */
#if PG_VERSION_NUM >= 140000
#define RULE_ALTER_OBJTYPE(s)	((s)->objtype)
#else
#define RULE_ALTER_OBJTYPE(s)	((s)->relkind)
#endif

/* ---- names for reports ---- */

/* the relation's identity when it exists, else the name as written */
extern char *rule_relation_name(const PolicyRelFacts *facts, const RangeVar *rv);
/* relation.column, the column quoted as needed */
extern char *rule_column_name(const char *relation, const char *column);

/*
 * True when a statement that destroys or renames the relation harms data
 * or clients: it exists, was not created here (same transaction,
 * deployment or earlier in the linted SQL) and is not a temporary table.
 * A relation that does not exist holds nothing: the statement either
 * fails by itself or acts on what a pending changeset creates, which at
 * run time is created in the same deployment.
 */
extern bool rule_relation_is_established(const PolicyRelFacts *facts,
										 const RangeVar *rv);

/* ---- column definitions of the raw grammar ---- */

/* the column's first constraint of this type, or NULL */
extern Constraint *rule_column_constraint(const ColumnDef *col, ConstrType type);
/* the column's raw DEFAULT expression, or NULL */
extern Node *rule_column_default(const ColumnDef *col);
/* "serial", "bigserial"... when the column uses a serial pseudo-type */
extern const char *rule_serial_name(const ColumnDef *col);
/* the ColumnDef named colname in a CREATE TABLE element list, or NULL */
extern ColumnDef *rule_find_column(List *tableElts, const char *colname);

/* ---- types ---- */

/*
 * Resolve a type name as the server would; false when it does not exist
 * (yet).  Arrays resolve to their element type when element is true.
 */
extern bool rule_type_lookup(const TypeName *tn, bool element,
							 Oid *typid, int32 *typmod);
/* the type of a column definition, serial pseudo-types as int2/4/8 */
extern Oid	rule_column_type(const ColumnDef *col, bool element);

/* ---- live facts from the catalog ---- */

/*
 * Whether a raw expression calls a volatile function (any candidate of
 * that name and argument count in pg_proc is volatile; an unknown
 * function counts as volatile).  *culprit gets the function's name.
 */
extern bool rule_expr_is_volatile(Node *raw_expr, char **culprit);

/*
 * Whether ALTER COLUMN ... TYPE newtype (without USING) rewrites the
 * table: the same test PostgreSQL makes (coercion planned, then only
 * relabelings and no-op length coercions may remain).
 */
extern bool rule_type_change_rewrites(Oid relid, AttrNumber attnum,
									  Oid newtype, int32 newtypmod);

/*
 * Whether validated CHECK constraints prove the column NOT NULL, so that
 * SET NOT NULL skips its table scan (PostgreSQL 12+ uses the same proof).
 */
extern bool rule_not_null_proven(Oid relid, AttrNumber attnum);

/* number of live (not dropped) columns of a relation */
extern int	rule_relation_ncolumns(Oid relid);

/* whether a schema exists and contains no objects */
extern bool rule_schema_is_empty(const char *schema);

/* "table", "column"... for messages */
extern const char *rule_object_kind(ObjectType type);

/* POSIX ARE match as PostgreSQL's ~ operator, in the C collation */
extern bool rule_regex_match(const char *pattern, const char *subject);

/*
 * CREATE SCHEMA ... CREATE TABLE ...: when stmt is a CreateSchemaStmt, run
 * fn on each of its elements and return true; else return false.
 */
extern bool rule_schema_elements(PolicyContext *ctx, Node *stmt, PolicyRuleFn fn);

/* ---- rules of policy_rules_names.c, in the style table ---- */

extern void rule_identifier_too_long(PolicyContext *ctx, Node *stmt);
extern void rule_name_must_match(PolicyContext *ctx, Node *stmt);
extern void rule_name_must_not_match(PolicyContext *ctx, Node *stmt);

#endif							/* PGCHANGE_POLICY_RULES_UTIL_H */
