/*-------------------------------------------------------------------------
 *
 * policy_rules_style.c
 *	  Policy rules: table design and style (primary keys, column count and
 *	  types) and privileges (GRANT); the table below also lists the rules
 *	  about names from policy_rules_names.c.  See policy.h for the
 *	  contract, docs/policies.md for each rule's reason and safe
 *	  alternative.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "policy.h"
#include "policy_rules_util.h"

/* a column a statement defines or retypes, with its name for reports */
typedef struct ColumnSite
{
	ColumnDef  *col;			/* colname set, also for ALTER COLUMN TYPE */
	char	   *object;			/* relation.column */
} ColumnSite;

/*
 * The columns of CREATE TABLE, ALTER TABLE ... ADD COLUMN and (with
 * retyped) ALTER COLUMN ... TYPE, as ColumnSite *.
 */
static List *
column_sites(PolicyContext *ctx, Node *stmt, bool retyped)
{
	List	   *sites = NIL;
	ListCell   *lc;

	if (IsA(stmt, CreateStmt))
	{
		CreateStmt *cs = (CreateStmt *) stmt;
		char	   *rel = rule_relation_name(NULL, cs->relation);

		foreach(lc, cs->tableElts)
		{
			ColumnSite *site;

			if (!IsA(lfirst(lc), ColumnDef))
				continue;
			site = palloc(sizeof(ColumnSite));
			site->col = (ColumnDef *) lfirst(lc);
			site->object = rule_column_name(rel, site->col->colname);
			sites = lappend(sites, site);
		}
	}
	else if (IsA(stmt, AlterTableStmt) &&
			 RULE_ALTER_OBJTYPE((AlterTableStmt *) stmt) == OBJECT_TABLE)
	{
		AlterTableStmt *as = (AlterTableStmt *) stmt;
		PolicyRelFacts facts;
		char	   *rel = NULL;

		foreach(lc, as->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
			ColumnSite *site;

			if (cmd->subtype != AT_AddColumn &&
				!(retyped && cmd->subtype == AT_AlterColumnType))
				continue;
			if (rel == NULL)
			{
				policy_relation_facts(ctx, as->relation, &facts);
				rel = rule_relation_name(&facts, as->relation);
			}
			site = palloc(sizeof(ColumnSite));
			site->col = (ColumnDef *) cmd->def;
			if (cmd->subtype == AT_AlterColumnType)
			{
				site->col = copyObject(site->col);
				site->col->colname = cmd->name;
			}
			site->object = rule_column_name(rel, site->col->colname);
			sites = lappend(sites, site);
		}
	}
	return sites;
}

/* ------------------------------------------------------------ table design -- */

static bool
create_has_primary_key(CreateStmt *cs)
{
	ListCell   *lc;

	foreach(lc, list_concat_copy(cs->tableElts, cs->constraints))
	{
		Node	   *elt = lfirst(lc);

		if (IsA(elt, ColumnDef) &&
			rule_column_constraint((ColumnDef *) elt, CONSTR_PRIMARY))
			return true;
		if (IsA(elt, Constraint) && ((Constraint *) elt)->contype == CONSTR_PRIMARY)
			return true;
		/* LIKE ... INCLUDING INDEXES copies the source's primary key */
		if (IsA(elt, TableLikeClause) &&
			(((TableLikeClause *) elt)->options & CREATE_TABLE_LIKE_INDEXES))
			return true;
	}
	return false;
}

static void
rule_create_table_without_primary_key(PolicyContext *ctx, Node *stmt)
{
	RangeVar   *rv;
	char	   *name;

	if (rule_schema_elements(ctx, stmt, rule_create_table_without_primary_key))
		return;
	if (IsA(stmt, CreateStmt))
	{
		CreateStmt *cs = (CreateStmt *) stmt;

		/* a partition gets its parent's key */
		if (cs->partbound || create_has_primary_key(cs))
			return;
		rv = cs->relation;
	}
	else if (IsA(stmt, CreateTableAsStmt) &&
			 ((CreateTableAsStmt *) stmt)->objtype == OBJECT_TABLE)
		rv = ((CreateTableAsStmt *) stmt)->into->rel;
	else
		return;
	/* temporary tables are scratch space */
	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		return;
	name = rule_relation_name(NULL, rv);
	policy_report(ctx, "create-table-without-primary-key", name,
				  "Without a primary key rows cannot be addressed reliably, duplicates go unnoticed, and logical replication cannot replicate updates and deletes.",
				  "Declare a PRIMARY KEY, for example id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY.",
				  "table %s has no primary key", name);
}

static void
rule_too_many_columns(PolicyContext *ctx, Node *stmt)
{
	int64		max = policy_param_int(ctx, "too-many-columns", "max_columns");
	int			n = 0;
	char	   *name;
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_too_many_columns))
		return;
	if (IsA(stmt, CreateStmt))
	{
		CreateStmt *cs = (CreateStmt *) stmt;

		foreach(lc, cs->tableElts)
		{
			if (IsA(lfirst(lc), ColumnDef))
				n++;
			else if (IsA(lfirst(lc), TableLikeClause))
			{
				PolicyRelFacts src;

				policy_relation_facts(ctx, ((TableLikeClause *) lfirst(lc))->relation, &src);
				if (src.exists)
					n += rule_relation_ncolumns(src.relid);
			}
		}
		name = rule_relation_name(NULL, cs->relation);
	}
	else if (IsA(stmt, AlterTableStmt) &&
			 RULE_ALTER_OBJTYPE((AlterTableStmt *) stmt) == OBJECT_TABLE)
	{
		AlterTableStmt *as = (AlterTableStmt *) stmt;
		PolicyRelFacts facts;
		int			added = 0;

		foreach(lc, as->cmds)
			if (((AlterTableCmd *) lfirst(lc))->subtype == AT_AddColumn)
				added++;
		if (added == 0)
			return;
		/* a live fact: the columns the table has now */
		policy_relation_facts(ctx, as->relation, &facts);
		n = added + (facts.exists ? rule_relation_ncolumns(facts.relid) : 0);
		name = rule_relation_name(&facts, as->relation);
	}
	else
		return;
	if (n <= max)
		return;
	policy_report(ctx, "too-many-columns", name,
				  "A very wide table usually holds several entities in one; every update writes the whole row, and PostgreSQL's hard limit is 1600 columns.",
				  "Move optional or rarely used columns to a separate table with a one-to-one key, or raise max_columns for this rule in the settings.",
				  "table %s would have %d columns, more than %d",
				  name, n, (int) max);
}

static void
report_int_key(PolicyContext *ctx, const char *object, Oid typid)
{
	if (typid != INT2OID && typid != INT4OID)
		return;
	policy_report(ctx, "prefer-bigint-keys", object,
				  "An integer key runs out at 2147483647 values (smallint at 32767), and changing its type later rewrites the table and every table that references it.",
				  "Use bigint for primary keys and identity columns.",
				  "key column %s is %s, not bigint", object, format_type_be(typid));
}

/* a single-column primary key or an identity column (not serial: that is
 * the column type's business, checked the same way) */
static bool
is_key_column(ColumnDef *col)
{
	return rule_column_constraint(col, CONSTR_PRIMARY) ||
		rule_column_constraint(col, CONSTR_IDENTITY);
}

static void
rule_prefer_bigint_keys(PolicyContext *ctx, Node *stmt)
{
	List	   *sites;
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_prefer_bigint_keys))
		return;
	sites = column_sites(ctx, stmt, false);
	foreach(lc, sites)
	{
		ColumnSite *site = (ColumnSite *) lfirst(lc);

		if (is_key_column(site->col))
			report_int_key(ctx, site->object, rule_column_type(site->col, false));
	}

	/* PRIMARY KEY (col) as a table constraint, ADD GENERATED AS IDENTITY */
	if (IsA(stmt, CreateStmt))
	{
		CreateStmt *cs = (CreateStmt *) stmt;

		foreach(lc, cs->tableElts)
		{
			Constraint *c = (Constraint *) lfirst(lc);
			ColumnDef  *col;

			if (!IsA(c, Constraint) || c->contype != CONSTR_PRIMARY ||
				list_length(c->keys) != 1)
				continue;
			col = rule_find_column(cs->tableElts, strVal(linitial(c->keys)));
			if (col)
				report_int_key(ctx, rule_column_name(rule_relation_name(NULL, cs->relation),
													 col->colname),
							   rule_column_type(col, false));
		}
	}
	else if (IsA(stmt, AlterTableStmt) &&
			 RULE_ALTER_OBJTYPE((AlterTableStmt *) stmt) == OBJECT_TABLE)
	{
		AlterTableStmt *as = (AlterTableStmt *) stmt;
		PolicyRelFacts facts;

		policy_relation_facts(ctx, as->relation, &facts);
		foreach(lc, as->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
			const char *colname = NULL;
			ListCell   *lc2;
			Oid			typid = InvalidOid;

			if (cmd->subtype == AT_AddIdentity)
				colname = cmd->name;
			else if (cmd->subtype == AT_AddConstraint &&
					 ((Constraint *) cmd->def)->contype == CONSTR_PRIMARY &&
					 list_length(((Constraint *) cmd->def)->keys) == 1)
				colname = strVal(linitial(((Constraint *) cmd->def)->keys));
			if (colname == NULL)
				continue;
			/* a column added by the same statement, else the live one */
			foreach(lc2, sites)
				if (strcmp(((ColumnSite *) lfirst(lc2))->col->colname, colname) == 0)
					typid = rule_column_type(((ColumnSite *) lfirst(lc2))->col, false);
			if (!OidIsValid(typid) && facts.exists)
				typid = get_atttype(facts.relid, get_attnum(facts.relid, colname));
			report_int_key(ctx, rule_column_name(rule_relation_name(&facts, as->relation),
												 colname), typid);
		}
	}
}

static void
rule_prefer_identity(PolicyContext *ctx, Node *stmt)
{
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_prefer_identity))
		return;
	foreach(lc, column_sites(ctx, stmt, false))
	{
		ColumnSite *site = (ColumnSite *) lfirst(lc);
		const char *serial = rule_serial_name(site->col);

		if (serial == NULL)
			continue;
		policy_report(ctx, "prefer-identity", site->object,
					  "A serial column's sequence is a separate object with its own owner and privileges, so grants, dumps and copies of the table easily get out of step with it.",
					  "Use an identity column: bigint GENERATED ALWAYS AS IDENTITY (SQL standard, the sequence belongs to the column).",
					  "column %s uses %s instead of an identity column",
					  site->object, serial);
	}
}

static void
rule_prefer_text(PolicyContext *ctx, Node *stmt)
{
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_prefer_text))
		return;
	foreach(lc, column_sites(ctx, stmt, true))
	{
		ColumnSite *site = (ColumnSite *) lfirst(lc);
		Oid			typid;
		int32		typmod;

		if (rule_serial_name(site->col) ||
			!rule_type_lookup(site->col->typeName, true, &typid, &typmod))
			continue;
		/* varchar without a length is text under another name */
		if (!(typid == VARCHAROID && typmod >= 0) && typid != BPCHAROID)
			continue;
		policy_report(ctx, "prefer-text", site->object,
					  "In PostgreSQL varchar(n) and char(n) are not faster than text; the length limit is a check that is costly to change later, and char(n) pads values with blanks.",
					  "Use text, with a CHECK (length(col) <= n) constraint if the limit is a real business rule.",
					  "column %s is %s; prefer text",
					  site->object, format_type_with_typemod(typid, typmod));
	}
}

static void
rule_prefer_timestamptz(PolicyContext *ctx, Node *stmt)
{
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_prefer_timestamptz))
		return;
	foreach(lc, column_sites(ctx, stmt, true))
	{
		ColumnSite *site = (ColumnSite *) lfirst(lc);
		Oid			typid;

		if (rule_serial_name(site->col) ||
			!rule_type_lookup(site->col->typeName, true, &typid, NULL) ||
			typid != TIMESTAMPOID)
			continue;
		policy_report(ctx, "prefer-timestamptz", site->object,
					  "A timestamp without time zone records no zone, so the same value means different instants to clients in different time zones and around daylight-saving changes.",
					  "Use timestamptz (timestamp with time zone), which stores an absolute instant and displays it in the client's zone.",
					  "column %s is timestamp without time zone", site->object);
	}
}

/* ----------------------------------------------------------------- grants -- */

/* the GRANT (not REVOKE) of a GRANT or ALTER DEFAULT PRIVILEGES, or NULL */
static GrantStmt *
grant_of(Node *stmt, bool *defaults)
{
	GrantStmt  *gs = NULL;

	*defaults = false;
	if (IsA(stmt, GrantStmt))
		gs = (GrantStmt *) stmt;
	else if (IsA(stmt, AlterDefaultPrivilegesStmt))
	{
		gs = ((AlterDefaultPrivilegesStmt *) stmt)->action;
		*defaults = true;
	}
	return gs && gs->is_grant ? gs : NULL;
}

static char *
grant_object_name(Node *obj)
{
	if (IsA(obj, RangeVar))
		return rule_relation_name(NULL, (RangeVar *) obj);
	if (IsA(obj, ObjectWithArgs))
		return NameListToQuotedString(((ObjectWithArgs *) obj)->objname);
	if (IsA(obj, String))
		return pstrdup(quote_identifier(strVal(obj)));
	if (IsA(obj, Integer))
		return psprintf("%d", intVal(obj));
	return pstrdup("?");
}

/* what a GRANT is on, e.g. "table public.t, public.u" */
static char *
grant_target(GrantStmt *gs, bool defaults)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (defaults)
	{
		appendStringInfo(&buf, "future %ss", rule_object_kind(gs->objtype));
		return buf.data;
	}
	if (gs->targtype == ACL_TARGET_ALL_IN_SCHEMA)
		appendStringInfo(&buf, "all %ss in schema ", rule_object_kind(gs->objtype));
	else
		appendStringInfo(&buf, "%s ", rule_object_kind(gs->objtype));
	foreach(lc, gs->objects)
		appendStringInfo(&buf, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 grant_object_name(lfirst(lc)));
	return buf.data;
}

static char *
grantee_names(GrantStmt *gs)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, gs->grantees)
	{
		RoleSpec   *r = (RoleSpec *) lfirst(lc);

		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		switch (r->roletype)
		{
			case ROLESPEC_CSTRING:
				appendStringInfoString(&buf, quote_identifier(r->rolename));
				break;
			case ROLESPEC_PUBLIC:
				appendStringInfoString(&buf, "PUBLIC");
				break;
			case ROLESPEC_CURRENT_USER:
				appendStringInfoString(&buf, "CURRENT_USER");
				break;
			case ROLESPEC_SESSION_USER:
				appendStringInfoString(&buf, "SESSION_USER");
				break;
			default:
				appendStringInfoString(&buf, "CURRENT_ROLE");
				break;
		}
	}
	return buf.data;
}

static void
rule_grant_to_public(PolicyContext *ctx, Node *stmt)
{
	bool		defaults;
	GrantStmt  *gs;
	ListCell   *lc;

	if (rule_schema_elements(ctx, stmt, rule_grant_to_public))
		return;
	gs = grant_of(stmt, &defaults);
	if (gs == NULL)
		return;
	foreach(lc, gs->grantees)
	{
		char	   *target;

		if (((RoleSpec *) lfirst(lc))->roletype != ROLESPEC_PUBLIC)
			continue;
		target = grant_target(gs, defaults);
		policy_report(ctx, "grant-to-public", target,
					  "PUBLIC is every role that exists now or is created later, including roles that should never have this access.",
					  "Grant to a named group role (for example the application's role) and make the roles that need access members of it.",
					  "granting to PUBLIC gives every role access to %s", target);
		return;
	}
}

static void
rule_grant_with_grant_option(PolicyContext *ctx, Node *stmt)
{
	bool		defaults;
	GrantStmt  *gs;
	char	   *target;

	if (rule_schema_elements(ctx, stmt, rule_grant_with_grant_option))
		return;
	gs = grant_of(stmt, &defaults);
	if (gs == NULL || !gs->grant_option)
		return;
	target = grant_target(gs, defaults);
	policy_report(ctx, "grant-with-grant-option", target,
				  "A role holding GRANT OPTION can pass the privilege on to any other role, so who has access is no longer decided by the changelog.",
				  "Grant without WITH GRANT OPTION, and let the owner or an admin role grant further privileges in changesets.",
				  "granting WITH GRANT OPTION lets %s pass on privileges on %s",
				  grantee_names(gs), target);
}

static void
rule_grant_all(PolicyContext *ctx, Node *stmt)
{
	bool		defaults;
	GrantStmt  *gs;
	bool		all;
	ListCell   *lc;
	char	   *target;

	if (rule_schema_elements(ctx, stmt, rule_grant_all))
		return;
	gs = grant_of(stmt, &defaults);
	if (gs == NULL)
		return;
	/* NIL is ALL PRIVILEGES; ALL (col, ...) has a nameless AccessPriv */
	all = gs->privileges == NIL;
	foreach(lc, gs->privileges)
		if (((AccessPriv *) lfirst(lc))->priv_name == NULL)
			all = true;
	if (!all)
		return;
	target = grant_target(gs, defaults);
	policy_report(ctx, "grant-all", target,
				  "ALL PRIVILEGES includes privileges such as TRUNCATE, REFERENCES and TRIGGER that applications rarely need, and grows with new PostgreSQL versions.",
				  "Grant only the privileges the role needs, for example SELECT, INSERT, UPDATE, DELETE.",
				  "granting ALL PRIVILEGES on %s to %s", target, grantee_names(gs));
}

const PolicyRuleImpl policy_rules_style[] = {
	{"create-table-without-primary-key", rule_create_table_without_primary_key},
	{"too-many-columns", rule_too_many_columns},
	{"prefer-bigint-keys", rule_prefer_bigint_keys},
	{"prefer-identity", rule_prefer_identity},
	{"prefer-text", rule_prefer_text},
	{"prefer-timestamptz", rule_prefer_timestamptz},
	{"identifier-too-long", rule_identifier_too_long},
	{"name-must-match", rule_name_must_match},
	{"name-must-not-match", rule_name_must_not_match},
	{"grant-to-public", rule_grant_to_public},
	{"grant-with-grant-option", rule_grant_with_grant_option},
	{"grant-all", rule_grant_all},
	{NULL, NULL}
};
