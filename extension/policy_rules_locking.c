/*-------------------------------------------------------------------------
 *
 * policy_rules_locking.c
 *	  Policy rules: statements that lock or rewrite a large table (ALTER
 *	  TABLE forms, CREATE/DROP INDEX without CONCURRENTLY) and CONCURRENTLY
 *	  where it cannot run.  See policy.h for the contract, docs/policies.md
 *	  for each rule's reason and safe alternative.
 *
 * "Large" is policy_relation_is_large(): above the rule's min_rows /
 * min_bytes or the global thresholds, and not created in this transaction,
 * deployment or earlier in the linted SQL.  The rules then ask the catalog
 * whether the statement really rewrites or scans: a binary-coercible type
 * change, a stable default or a NOT NULL proven by a validated CHECK pass.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "policy.h"
#include "policy_rules_util.h"

/*
 * Facts about an ALTER TABLE's table when the rule applies to it: a plain
 * ALTER TABLE (not ALTER INDEX/VIEW...) of a large table.
 */
static bool
alter_large_table(PolicyContext *ctx, Node *stmt, const char *rule,
				  PolicyRelFacts *facts)
{
	AlterTableStmt *as = (AlterTableStmt *) stmt;

	if (!IsA(stmt, AlterTableStmt) || RULE_ALTER_OBJTYPE(as) != OBJECT_TABLE)
		return false;
	policy_relation_facts(ctx, as->relation, facts);
	return facts->exists && policy_relation_is_large(ctx, rule, facts);
}

/* "about N rows" for details, from the live estimate */
static char *
size_text(const PolicyRelFacts *facts)
{
	return psprintf("about %.0f rows, %s", facts->rows,
					text_to_cstring(DatumGetTextPP(
						DirectFunctionCall1(pg_size_pretty,
											Int64GetDatum(facts->bytes)))));
}

static void
rule_alter_column_type(PolicyContext *ctx, Node *stmt)
{
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!alter_large_table(ctx, stmt, "alter-column-type", &facts))
		return;
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		ColumnDef  *def = (ColumnDef *) cmd->def;
		AttrNumber	attnum;
		Oid			typid;
		int32		typmod;
		bool		known;
		char	   *column;

		if (cmd->subtype != AT_AlterColumnType)
			continue;
		attnum = get_attnum(facts.relid, cmd->name);
		if (attnum == InvalidAttrNumber)
			continue;
		known = rule_type_lookup(def->typeName, false, &typid, &typmod);
		/* USING (raw_default here) computes new values: a rewrite */
		if (known && def->raw_default == NULL &&
			!rule_type_change_rewrites(facts.relid, attnum, typid, typmod))
			continue;
		column = rule_column_name(facts.identity, cmd->name);
		policy_report(ctx, "alter-column-type", column,
					  psprintf("Changing the type to %s rewrites the table and rebuilds its indexes under an ACCESS EXCLUSIVE lock that blocks reads and writes throughout (%s).",
							   known ? format_type_with_typemod(typid, typmod) :
							   TypeNameToString(def->typeName),
							   size_text(&facts)),
					  "Add a new column of the new type, backfill it in batches, and switch clients to it; binary-compatible changes such as varchar(n) to text or to a longer varchar do not rewrite and pass.",
					  "changing the type of column %s rewrites large table %s",
					  column, facts.identity);
	}
}

/* why a new column's value must be computed row by row, or NULL */
static char *
per_row_value(ColumnDef *col)
{
	char	   *fn;

	if (rule_serial_name(col))
		return psprintf("the nextval() default of %s", rule_serial_name(col));
	if (rule_column_constraint(col, CONSTR_IDENTITY))
		return pstrdup("the identity sequence");
	if (rule_column_constraint(col, CONSTR_GENERATED))
		return pstrdup("the stored generation expression");
	if (rule_expr_is_volatile(rule_column_default(col), &fn))
		return psprintf("volatile function %s()", fn);
	return NULL;
}

static void
rule_add_column_volatile_default(PolicyContext *ctx, Node *stmt)
{
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!alter_large_table(ctx, stmt, "add-column-volatile-default", &facts))
		return;
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		char	   *why;
		char	   *column;

		if (cmd->subtype != AT_AddColumn)
			continue;
		why = per_row_value((ColumnDef *) cmd->def);
		if (why == NULL)
			continue;
		column = rule_column_name(facts.identity, ((ColumnDef *) cmd->def)->colname);
		policy_report(ctx, "add-column-volatile-default", column,
					  psprintf("The new column's value comes from %s, evaluated for every existing row, so the table is rewritten under an ACCESS EXCLUSIVE lock (%s); a constant or stable default would only be stored in the catalog.",
							   why, size_text(&facts)),
					  "Add the column without a default (or with a constant one), then set the default in a separate statement and backfill existing rows in batches.",
					  "adding column %s with a volatile default rewrites large table %s",
					  column, facts.identity);
	}
}

static void
rule_add_column_not_null(PolicyContext *ctx, Node *stmt)
{
	AlterTableStmt *as = (AlterTableStmt *) stmt;
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!IsA(stmt, AlterTableStmt) || RULE_ALTER_OBJTYPE(as) != OBJECT_TABLE)
		return;
	policy_relation_facts(ctx, as->relation, &facts);
	/* a live fact: only a table with rows has rows to fill */
	if (!facts.exists || facts.created_here ||
		(facts.rows <= 0 && facts.bytes <= 0))
		return;
	foreach(lc, as->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		ColumnDef  *col = (ColumnDef *) cmd->def;
		char	   *column;

		if (cmd->subtype != AT_AddColumn ||
			(!rule_column_constraint(col, CONSTR_NOTNULL) &&
			 !rule_column_constraint(col, CONSTR_PRIMARY)) ||
			rule_column_default(col) || rule_serial_name(col) ||
			rule_column_constraint(col, CONSTR_IDENTITY) ||
			rule_column_constraint(col, CONSTR_GENERATED))
			continue;
		column = rule_column_name(facts.identity, col->colname);
		policy_report(ctx, "add-column-not-null-without-default", column,
					  "Every existing row would hold NULL in the new column, so the statement takes an ACCESS EXCLUSIVE lock, scans the table and then fails.",
					  "Add the column with a constant DEFAULT (stored in the catalog, no rewrite), or add it nullable, backfill it, and set NOT NULL after validating a CHECK (col IS NOT NULL) constraint.",
					  "adding NOT NULL column %s without a default fails on non-empty table %s",
					  column, facts.identity);
	}
}

static void
rule_set_not_null(PolicyContext *ctx, Node *stmt)
{
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!alter_large_table(ctx, stmt, "set-not-null", &facts))
		return;
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		HeapTuple	tup;
		AttrNumber	attnum;
		bool		notnull;
		char	   *column;

		if (cmd->subtype != AT_SetNotNull)
			continue;
		tup = SearchSysCacheAttName(facts.relid, cmd->name);
		if (!HeapTupleIsValid(tup))
			continue;
		attnum = ((Form_pg_attribute) GETSTRUCT(tup))->attnum;
		notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
		ReleaseSysCache(tup);
		/* already NOT NULL is a no-op; a validated CHECK skips the scan */
		if (notnull || rule_not_null_proven(facts.relid, attnum))
			continue;
		column = rule_column_name(facts.identity, cmd->name);
		policy_report(ctx, "set-not-null", column,
					  psprintf("Without a validated CHECK (%s IS NOT NULL) constraint PostgreSQL scans every row to verify the column while an ACCESS EXCLUSIVE lock blocks reads and writes (%s).",
							   quote_identifier(cmd->name), size_text(&facts)),
					  "Add CHECK (col IS NOT NULL) NOT VALID, run VALIDATE CONSTRAINT in a later statement (it does not block writes), then SET NOT NULL, which uses the constraint instead of scanning.",
					  "setting NOT NULL on column %s scans large table %s",
					  column, facts.identity);
	}
}

/*
 * The constraints an ALTER TABLE adds: ADD CONSTRAINT, and the column
 * constraints of ADD COLUMN (validated against existing rows all the same).
 */
static List *
added_constraints(AlterTableStmt *as)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, as->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (cmd->subtype == AT_AddConstraint && IsA(cmd->def, Constraint))
			result = lappend(result, cmd->def);
		else if (cmd->subtype == AT_AddColumn)
		{
			ListCell   *lc2;

			foreach(lc2, ((ColumnDef *) cmd->def)->constraints)
				if (IsA(lfirst(lc2), Constraint))
					result = lappend(result, lfirst(lc2));
		}
	}
	return result;
}

/* " name" or "" for messages */
static const char *
constraint_label(const Constraint *c)
{
	return c->conname ? psprintf(" %s", quote_identifier(c->conname)) : "";
}

static void
rule_add_validated_constraint(PolicyContext *ctx, Node *stmt,
							  const char *rule, ConstrType type)
{
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!alter_large_table(ctx, stmt, rule, &facts))
		return;
	foreach(lc, added_constraints((AlterTableStmt *) stmt))
	{
		Constraint *c = (Constraint *) lfirst(lc);

		if (c->contype != type || c->skip_validation)
			continue;
		if (type == CONSTR_CHECK)
			policy_report(ctx, rule, facts.identity,
						  psprintf("The new constraint is checked against every row while an ACCESS EXCLUSIVE lock blocks reads and writes (%s).",
								   size_text(&facts)),
						  "Add the constraint with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later statement, which checks the rows under a SHARE UPDATE EXCLUSIVE lock that lets reads and writes go on.",
						  "adding CHECK constraint%s without NOT VALID scans large table %s",
						  constraint_label(c), facts.identity);
		else
			policy_report(ctx, rule, facts.identity,
						  psprintf("Every row is checked against the referenced table while both tables are locked against writes (%s).",
								   size_text(&facts)),
						  "Add the foreign key with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT in a later statement, which checks the rows without blocking writes.",
						  "adding FOREIGN KEY%s without NOT VALID scans large table %s",
						  constraint_label(c), facts.identity);
	}
}

static void
rule_add_check_without_not_valid(PolicyContext *ctx, Node *stmt)
{
	rule_add_validated_constraint(ctx, stmt, "add-check-without-not-valid",
								  CONSTR_CHECK);
}

static void
rule_add_foreign_key_without_not_valid(PolicyContext *ctx, Node *stmt)
{
	rule_add_validated_constraint(ctx, stmt, "add-foreign-key-without-not-valid",
								  CONSTR_FOREIGN);
}

static void
rule_add_unique_without_index(PolicyContext *ctx, Node *stmt)
{
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!alter_large_table(ctx, stmt, "add-unique-without-index", &facts))
		return;
	foreach(lc, added_constraints((AlterTableStmt *) stmt))
	{
		Constraint *c = (Constraint *) lfirst(lc);
		const char *kind;

		if ((c->contype != CONSTR_PRIMARY && c->contype != CONSTR_UNIQUE) ||
			c->indexname != NULL)
			continue;
		kind = c->contype == CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE";
		policy_report(ctx, "add-unique-without-index", facts.identity,
					  psprintf("ADD %s builds its index inside the statement under an ACCESS EXCLUSIVE lock that blocks reads and writes until the index is built (%s).",
							   kind, size_text(&facts)),
					  "Build the index first with CREATE UNIQUE INDEX CONCURRENTLY in a changeset with runInTransaction:false, then add the constraint with USING INDEX.",
					  "adding %s constraint%s builds an index on large table %s under a lock",
					  kind, constraint_label(c), facts.identity);
	}
}

static void
rule_create_index_non_concurrently(PolicyContext *ctx, Node *stmt)
{
	IndexStmt  *is = (IndexStmt *) stmt;
	PolicyRelFacts facts;
	const char *name;

	if (rule_schema_elements(ctx, stmt, rule_create_index_non_concurrently))
		return;
	if (!IsA(stmt, IndexStmt) || is->concurrent)
		return;
	policy_relation_facts(ctx, is->relation, &facts);
	if (!facts.exists ||
		!policy_relation_is_large(ctx, "create-index-non-concurrently", &facts))
		return;
	name = is->idxname ? psprintf(" %s", quote_identifier(is->idxname)) : "";
	policy_report(ctx, "create-index-non-concurrently", facts.identity,
				  psprintf("CREATE INDEX holds a SHARE lock on the table for the whole build, so inserts, updates and deletes wait until it ends (%s).",
						   size_text(&facts)),
				  "Use CREATE INDEX CONCURRENTLY in a changeset with runInTransaction:false.",
				  "creating index%s without CONCURRENTLY blocks writes to large table %s",
				  name, facts.identity);
}

static void
rule_drop_index_non_concurrently(PolicyContext *ctx, Node *stmt)
{
	DropStmt   *ds = (DropStmt *) stmt;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt) || ds->removeType != OBJECT_INDEX || ds->concurrent)
		return;
	foreach(lc, ds->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		PolicyRelFacts index;
		PolicyRelFacts table;
		Oid			tableid;

		/* a partitioned index cannot be dropped concurrently anyway */
		policy_relation_facts(ctx, rv, &index);
		if (!index.exists || index.relkind != RELKIND_INDEX)
			continue;
		tableid = IndexGetRelation(index.relid, true);
		if (!OidIsValid(tableid))
			continue;
		policy_relation_facts_oid(ctx, tableid, &table);
		if (!table.exists ||
			!policy_relation_is_large(ctx, "drop-index-non-concurrently", &table))
			continue;
		policy_report(ctx, "drop-index-non-concurrently", index.identity,
					  psprintf("DROP INDEX takes an ACCESS EXCLUSIVE lock on the table; while it waits for running queries, every new query on the table queues behind it (%s).",
							   size_text(&table)),
					  "Use DROP INDEX CONCURRENTLY in a changeset with runInTransaction:false.",
					  "dropping index %s without CONCURRENTLY locks large table %s",
					  index.identity, table.identity);
	}
}

/* "CREATE INDEX CONCURRENTLY" etc. when stmt uses CONCURRENTLY where a
 * transaction block forbids it, else NULL; *rv gets the object */
static const char *
concurrent_command(Node *stmt, RangeVar **rv)
{
	*rv = NULL;
	if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent)
	{
		*rv = ((IndexStmt *) stmt)->relation;
		return "CREATE INDEX CONCURRENTLY";
	}
	if (IsA(stmt, DropStmt) && ((DropStmt *) stmt)->concurrent)
	{
		if (((DropStmt *) stmt)->objects != NIL)
			*rv = makeRangeVarFromNameList(linitial(((DropStmt *) stmt)->objects));
		return "DROP INDEX CONCURRENTLY";
	}
	if (IsA(stmt, ReindexStmt))
	{
		ReindexStmt *rs = (ReindexStmt *) stmt;
		bool		concurrent = false;

#if PG_VERSION_NUM >= 140000
		ListCell   *lc;

		foreach(lc, rs->params)
		{
			DefElem    *opt = (DefElem *) lfirst(lc);

			if (strcmp(opt->defname, "concurrently") == 0)
				concurrent = defGetBoolean(opt);
		}
#else
		concurrent = rs->concurrent;
#endif
		*rv = rs->relation;
		return concurrent ? "REINDEX CONCURRENTLY" : NULL;
	}
#if PG_VERSION_NUM >= 140000
	if (IsA(stmt, AlterTableStmt))
	{
		ListCell   *lc;

		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

			if (cmd->subtype == AT_DetachPartition &&
				((PartitionCmd *) cmd->def)->concurrent)
			{
				*rv = ((PartitionCmd *) cmd->def)->name;
				return "DETACH PARTITION CONCURRENTLY";
			}
		}
	}
#endif
	return NULL;
}

static void
rule_concurrently_in_transaction(PolicyContext *ctx, Node *stmt)
{
	RangeVar   *rv;
	PolicyRelFacts facts;
	const char *command;

	if (!ctx->in_transaction_block)
		return;
	command = concurrent_command(stmt, &rv);
	if (command == NULL)
		return;
	if (rv)
		policy_relation_facts(ctx, rv, &facts);
	policy_report(ctx, "concurrently-in-transaction",
				  rv ? facts.identity : NULL,
				  psprintf("PostgreSQL refuses %s inside a transaction block, so a changeset that runs in one transaction fails at this statement.",
						   command),
				  "Put the statement in a changeset of its own with runInTransaction:false.",
				  "%s cannot run inside a transaction block", command);
}

const PolicyRuleImpl policy_rules_locking[] = {
	{"alter-column-type", rule_alter_column_type},
	{"add-column-volatile-default", rule_add_column_volatile_default},
	{"add-column-not-null-without-default", rule_add_column_not_null},
	{"set-not-null", rule_set_not_null},
	{"add-check-without-not-valid", rule_add_check_without_not_valid},
	{"add-foreign-key-without-not-valid", rule_add_foreign_key_without_not_valid},
	{"add-unique-without-index", rule_add_unique_without_index},
	{"create-index-non-concurrently", rule_create_index_non_concurrently},
	{"drop-index-non-concurrently", rule_drop_index_non_concurrently},
	{"concurrently-in-transaction", rule_concurrently_in_transaction},
	{NULL, NULL}
};
