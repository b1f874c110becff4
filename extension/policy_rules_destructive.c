/*-------------------------------------------------------------------------
 *
 * policy_rules_destructive.c
 *	  Policy rules: destroying data and breaking running clients (drop-*,
 *	  truncate, rename-*).  See policy.h for the contract, docs/policies.md
 *	  for each rule's reason and safe alternative.
 *
 * All of them pass for what holds nothing yet: a relation created in the
 * same transaction, deployment or earlier in the linted SQL, a temporary
 * table, an object that does not exist, an empty schema.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "policy.h"
#include "policy_rules_util.h"

static void
rule_drop_table(PolicyContext *ctx, Node *stmt)
{
	DropStmt   *ds = (DropStmt *) stmt;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt) || ds->removeType != OBJECT_TABLE)
		return;
	foreach(lc, ds->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		PolicyRelFacts facts;

		policy_relation_facts(ctx, rv, &facts);
		if (!rule_relation_is_established(&facts, rv))
			continue;
		policy_report(ctx, "drop-table", facts.identity,
					  "DROP TABLE deletes every row when it commits, and clients that still use the table start failing.",
					  "Drop a table only after no client uses it and a backup exists, in a changeset of its own deployed with this rule relaxed (pgchange policy push) or under break-glass; until then rename it out of the way.",
					  "dropping table %s destroys its data", facts.identity);
	}
}

static void
rule_drop_column(PolicyContext *ctx, Node *stmt)
{
	AlterTableStmt *as = (AlterTableStmt *) stmt;
	PolicyRelFacts facts;
	ListCell   *lc;

	if (!IsA(stmt, AlterTableStmt) || RULE_ALTER_OBJTYPE(as) != OBJECT_TABLE)
		return;
	policy_relation_facts(ctx, as->relation, &facts);
	if (!rule_relation_is_established(&facts, as->relation))
		return;
	foreach(lc, as->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		char	   *column;

		if (cmd->subtype != AT_DropColumn ||
			get_attnum(facts.relid, cmd->name) == InvalidAttrNumber)
			continue;
		column = rule_column_name(facts.identity, cmd->name);
		policy_report(ctx, "drop-column", column,
					  "The column's values are gone when the statement commits, and queries and inserts that still name the column fail.",
					  "First deploy application code that no longer reads or writes the column, then drop it in a later changeset with this rule relaxed for it.",
					  "dropping column %s destroys its data", column);
	}
}

static void
rule_drop_schema(PolicyContext *ctx, Node *stmt)
{
	DropStmt   *ds = (DropStmt *) stmt;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt) || ds->removeType != OBJECT_SCHEMA)
		return;
	foreach(lc, ds->objects)
	{
		const char *schema = strVal(lfirst(lc));

		/* nothing to lose in a schema that does not exist or is empty */
		if (!OidIsValid(get_namespace_oid(schema, true)) ||
			rule_schema_is_empty(schema))
			continue;
		policy_report(ctx, "drop-schema", quote_identifier(schema),
					  "DROP SCHEMA ... CASCADE removes every table, view and function in the schema together with their data.",
					  "Drop the objects in the schema one by one in reviewed changesets, then drop the empty schema, which this rule allows.",
					  "dropping schema %s destroys the objects in it",
					  quote_identifier(schema));
	}
}

static void
rule_truncate(PolicyContext *ctx, Node *stmt)
{
	ListCell   *lc;

	if (!IsA(stmt, TruncateStmt))
		return;
	foreach(lc, ((TruncateStmt *) stmt)->relations)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);
		PolicyRelFacts facts;

		policy_relation_facts(ctx, rv, &facts);
		if (!rule_relation_is_established(&facts, rv))
			continue;
		policy_report(ctx, "truncate", facts.identity,
					  "TRUNCATE removes every row at once under an ACCESS EXCLUSIVE lock, and the rows cannot be recovered after commit.",
					  "Delete the rows you mean to remove with DELETE in batches, or truncate only tables created in the same changeset.",
					  "truncating table %s deletes all its rows", facts.identity);
	}
}

static void
rule_rename_table(PolicyContext *ctx, Node *stmt)
{
	RangeVar   *rv;
	PolicyRelFacts facts;

	if (IsA(stmt, RenameStmt) &&
		(((RenameStmt *) stmt)->renameType == OBJECT_TABLE ||
		 ((RenameStmt *) stmt)->renameType == OBJECT_FOREIGN_TABLE))
		rv = ((RenameStmt *) stmt)->relation;
	else if (IsA(stmt, AlterObjectSchemaStmt) &&
			 (((AlterObjectSchemaStmt *) stmt)->objectType == OBJECT_TABLE ||
			  ((AlterObjectSchemaStmt *) stmt)->objectType == OBJECT_FOREIGN_TABLE))
		rv = ((AlterObjectSchemaStmt *) stmt)->relation;
	else
		return;

	policy_relation_facts(ctx, rv, &facts);
	if (!rule_relation_is_established(&facts, rv))
		return;
	if (IsA(stmt, RenameStmt))
		policy_report(ctx, "rename-table", facts.identity,
					  "Application code that still uses the old name fails as soon as the rename commits.",
					  "Keep the old name working with a view over the renamed table (or the reverse) until every client uses the new name, then drop the view.",
					  "renaming table %s to %s breaks clients that use the old name",
					  facts.identity, quote_identifier(((RenameStmt *) stmt)->newname));
	else
		policy_report(ctx, "rename-table", facts.identity,
					  "Application code that still uses the old schema-qualified name or search_path fails as soon as the move commits.",
					  "Keep the old name working with a view in the old schema until every client uses the new one, then drop the view.",
					  "moving table %s to schema %s breaks clients that use the old name",
					  facts.identity,
					  quote_identifier(((AlterObjectSchemaStmt *) stmt)->newschema));
}

static void
rule_rename_column(PolicyContext *ctx, Node *stmt)
{
	RenameStmt *rs = (RenameStmt *) stmt;
	PolicyRelFacts facts;
	char	   *column;

	if (!IsA(stmt, RenameStmt) || rs->renameType != OBJECT_COLUMN ||
		(rs->relationType != OBJECT_TABLE &&
		 rs->relationType != OBJECT_FOREIGN_TABLE &&
		 rs->relationType != OBJECT_VIEW &&
		 rs->relationType != OBJECT_MATVIEW))
		return;
	policy_relation_facts(ctx, rs->relation, &facts);
	if (!rule_relation_is_established(&facts, rs->relation) ||
		get_attnum(facts.relid, rs->subname) == InvalidAttrNumber)
		return;
	column = rule_column_name(facts.identity, rs->subname);
	policy_report(ctx, "rename-column", column,
				  "Queries and inserts that still name the column fail as soon as the rename commits.",
				  "Add the new column, write to both and backfill, move readers to it, then drop the old column in a later changeset.",
				  "renaming column %s to %s breaks clients that use the old name",
				  column, quote_identifier(rs->newname));
}

const PolicyRuleImpl policy_rules_destructive[] = {
	{"drop-table", rule_drop_table},
	{"drop-column", rule_drop_column},
	{"drop-schema", rule_drop_schema},
	{"truncate", rule_truncate},
	{"rename-table", rule_rename_table},
	{"rename-column", rule_rename_column},
	{NULL, NULL}
};
