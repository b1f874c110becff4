/*-------------------------------------------------------------------------
 *
 * policy_rules_util.c
 *	  Helpers shared by the policy rules (see policy_rules_util.h).
 *
 * The live facts here reuse PostgreSQL's own reasoning wherever it has
 * one: the coercion planner decides whether a type change rewrites, the
 * predicate prover decides whether CHECK constraints make SET NOT NULL
 * cheap, namespace lookup finds the functions a default would call.  So a
 * rule says "rewrites" exactly when the server would rewrite.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "policy_rules_util.h"

/* ---------------------------------------------------------------- names -- */

char *
rule_relation_name(const PolicyRelFacts *facts, const RangeVar *rv)
{
	if (facts && facts->exists && facts->identity)
		return facts->identity;
	if (rv->schemaname)
		return quote_qualified_identifier(rv->schemaname, rv->relname);
	return pstrdup(quote_identifier(rv->relname));
}

char *
rule_column_name(const char *relation, const char *column)
{
	return psprintf("%s.%s", relation, quote_identifier(column));
}

bool
rule_relation_is_established(const PolicyRelFacts *facts, const RangeVar *rv)
{
	if (!facts->exists || facts->created_here)
		return false;
	if (rv && rv->relpersistence == RELPERSISTENCE_TEMP)
		return false;
	if (get_rel_persistence(facts->relid) == RELPERSISTENCE_TEMP)
		return false;
	return true;
}

/* ----------------------------------------------------- column definitions -- */

Constraint *
rule_column_constraint(const ColumnDef *col, ConstrType type)
{
	ListCell   *lc;

	foreach(lc, col->constraints)
	{
		Constraint *c = (Constraint *) lfirst(lc);

		if (IsA(c, Constraint) && c->contype == type)
			return c;
	}
	return NULL;
}

Node *
rule_column_default(const ColumnDef *col)
{
	Constraint *c = rule_column_constraint(col, CONSTR_DEFAULT);

	if (c && c->raw_expr)
		return c->raw_expr;
	return col->raw_default;
}

const char *
rule_serial_name(const ColumnDef *col)
{
	/* the same test as transformColumnDefinition() */
	static const char *const serials[] = {
		"smallserial", "serial2", "serial", "serial4", "bigserial", "serial8"
	};
	const char *name;

	if (col->typeName == NULL || list_length(col->typeName->names) != 1 ||
		col->typeName->pct_type)
		return NULL;
	name = strVal(linitial(col->typeName->names));
	for (int i = 0; i < (int) lengthof(serials); i++)
		if (strcmp(name, serials[i]) == 0)
			return serials[i];
	return NULL;
}

ColumnDef *
rule_find_column(List *tableElts, const char *colname)
{
	ListCell   *lc;

	foreach(lc, tableElts)
	{
		ColumnDef  *col = (ColumnDef *) lfirst(lc);

		if (IsA(col, ColumnDef) && col->colname &&
			strcmp(col->colname, colname) == 0)
			return col;
	}
	return NULL;
}

/* ------------------------------------------------------------------ types -- */

bool
rule_type_lookup(const TypeName *tn, bool element, Oid *typid, int32 *typmod)
{
	Type		tup;
	int32		mod = -1;

	if (tn == NULL)
		return false;
	/* missing_ok also covers a missing schema */
	tup = LookupTypeName(NULL, tn, typmod ? &mod : NULL, true);
	if (tup == NULL)
		return false;
	*typid = typeTypeId(tup);
	ReleaseSysCache(tup);
	if (element && OidIsValid(get_element_type(*typid)))
		*typid = get_element_type(*typid);
	if (typmod)
		*typmod = mod;
	return true;
}

Oid
rule_column_type(const ColumnDef *col, bool element)
{
	const char *serial = rule_serial_name(col);
	Oid			typid;

	if (serial)
	{
		if (strcmp(serial, "smallserial") == 0 || strcmp(serial, "serial2") == 0)
			return INT2OID;
		if (strcmp(serial, "bigserial") == 0 || strcmp(serial, "serial8") == 0)
			return INT8OID;
		return INT4OID;
	}
	if (!rule_type_lookup(col->typeName, element, &typid, NULL))
		return InvalidOid;
	return typid;
}

/* ------------------------------------------------------------- volatility -- */

/* true when any function that the call could resolve to is volatile */
static bool
func_call_is_volatile(FuncCall *fc)
{
	List	   *argnames = NIL;
	ListCell   *lc;
	FuncCandidateList cand;

	foreach(lc, fc->args)
	{
		if (IsA(lfirst(lc), NamedArgExpr))
			argnames = lappend(argnames, ((NamedArgExpr *) lfirst(lc))->name);
	}
#if PG_VERSION_NUM >= 140000
	cand = FuncnameGetCandidates(fc->funcname, list_length(fc->args), argnames,
								 !fc->func_variadic, true, false, true);
#else
	cand = FuncnameGetCandidates(fc->funcname, list_length(fc->args), argnames,
								 !fc->func_variadic, true, true);
#endif
	/* unknown (created later, or a typo): cannot prove it harmless */
	if (cand == NULL)
		return true;
	for (; cand; cand = cand->next)
		if (func_volatile(cand->oid) == PROVOLATILE_VOLATILE)
			return true;
	return false;
}

static bool
volatile_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncCall) && func_call_is_volatile((FuncCall *) node))
	{
		*(char **) context = NameListToString(((FuncCall *) node)->funcname);
		return true;
	}
	return raw_expression_tree_walker(node, volatile_walker, context);
}

bool
rule_expr_is_volatile(Node *raw_expr, char **culprit)
{
	char	   *name = NULL;

	if (raw_expr == NULL || !volatile_walker(raw_expr, &name))
		return false;
	if (culprit)
		*culprit = name;
	return true;
}

/* ------------------------------------------------------------ type change -- */

bool
rule_type_change_rewrites(Oid relid, AttrNumber attnum, Oid newtype, int32 newtypmod)
{
	Oid			oldtype;
	int32		oldtypmod;
	Oid			collid;
	Node	   *expr;

	get_atttypetypmodcoll(relid, attnum, &oldtype, &oldtypmod, &collid);
	expr = (Node *) makeVar(1, attnum, oldtype, oldtypmod, collid, 0);
	/* as ATPrepAlterColumnType() builds the transformation without USING */
	expr = coerce_to_target_type(NULL, expr, oldtype, newtype, newtypmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr == NULL)
		return false;			/* no cast: the statement fails by itself */
	assign_expr_collations(make_parsestate(NULL), expr);
	/* planning drops length coercions that cannot change a value */
	expr = (Node *) expression_planner((Expr *) expr);

	/* what ATColumnChangeRequiresRewrite() accepts without a rewrite */
	for (;;)
	{
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		else if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			CoerceToDomain *d = (CoerceToDomain *) expr;

			if (DomainHasConstraints(d->resulttype))
				return true;
			expr = (Node *) d->arg;
		}
		else if (IsA(expr, FuncExpr) &&
				 (((FuncExpr *) expr)->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
				  ((FuncExpr *) expr)->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
				 !TimestampTimestampTzRequiresRewrite())
			expr = linitial(((FuncExpr *) expr)->args);
		else
			return true;
	}
}

/* --------------------------------------------------------------- NOT NULL -- */

bool
rule_not_null_proven(Oid relid, AttrNumber attnum)
{
	Relation	conrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *clauses = NIL;
	NullTest   *test;
	Oid			typid;
	int32		typmod;
	Oid			collid;

	/* validated CHECK constraints, prepared as ConstraintImpliedByRelConstraint() does */
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true,
							  NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		Datum		bin;
		bool		isnull;
		Node	   *expr;

		if (con->contype != CONSTRAINT_CHECK || !con->convalidated)
			continue;
		bin = heap_getattr(tup, Anum_pg_constraint_conbin,
						   RelationGetDescr(conrel), &isnull);
		if (isnull)
			continue;
		expr = stringToNode(TextDatumGetCString(bin));
		expr = eval_const_expressions(NULL, expr);
		expr = (Node *) canonicalize_qual((Expr *) expr, true);
		clauses = list_concat(clauses, make_ands_implicit((Expr *) expr));
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	if (clauses == NIL)
		return false;

	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	test = makeNode(NullTest);
	test->arg = (Expr *) makeVar(1, attnum, typid, typmod, collid, 0);
	test->nulltesttype = IS_NOT_NULL;
	test->argisrow = false;
	test->location = -1;
	return predicate_implied_by(list_make1(test), clauses, false);
}

/* ---------------------------------------------------------- other facts -- */

int
rule_relation_ncolumns(Oid relid)
{
	HeapTuple	reltup;
	int			natts;
	int			n = 0;

	reltup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(reltup))
		return 0;
	natts = ((Form_pg_class) GETSTRUCT(reltup))->relnatts;
	ReleaseSysCache(reltup);
	for (int attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
										  Int16GetDatum(attnum));

		if (!HeapTupleIsValid(tup))
			continue;
		if (!((Form_pg_attribute) GETSTRUCT(tup))->attisdropped)
			n++;
		ReleaseSysCache(tup);
	}
	return n;
}

bool
rule_schema_is_empty(const char *schema)
{
	Oid			nspid = get_namespace_oid(schema, true);
	Relation	deprel;
	ScanKeyData key[2];
	SysScanDesc scan;
	bool		empty;

	if (!OidIsValid(nspid))
		return false;			/* unknown: cannot say it is empty */
	/* every object in a schema depends on it */
	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(NamespaceRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(nspid));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true,
							  NULL, 2, key);
	empty = !HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);
	return empty;
}

bool
rule_regex_match(const char *pattern, const char *subject)
{
	return RE_compile_and_execute(cstring_to_text(pattern), (char *) subject,
								  strlen(subject), REG_ADVANCED,
								  C_COLLATION_OID, 0, NULL);
}

const char *
rule_object_kind(ObjectType type)
{
	switch (type)
	{
		case OBJECT_TABLE:
			return "table";
		case OBJECT_COLUMN:
			return "column";
		case OBJECT_INDEX:
			return "index";
		case OBJECT_VIEW:
			return "view";
		case OBJECT_MATVIEW:
			return "materialized view";
		case OBJECT_SEQUENCE:
			return "sequence";
		case OBJECT_FOREIGN_TABLE:
			return "foreign table";
		case OBJECT_SCHEMA:
			return "schema";
		case OBJECT_TABCONSTRAINT:
		case OBJECT_DOMCONSTRAINT:
			return "constraint";
		case OBJECT_FUNCTION:
			return "function";
		case OBJECT_PROCEDURE:
			return "procedure";
		case OBJECT_ROUTINE:
			return "routine";
		case OBJECT_TYPE:
			return "type";
		case OBJECT_DOMAIN:
			return "domain";
		case OBJECT_TRIGGER:
			return "trigger";
		case OBJECT_DATABASE:
			return "database";
		case OBJECT_LANGUAGE:
			return "language";
		case OBJECT_TABLESPACE:
			return "tablespace";
		case OBJECT_LARGEOBJECT:
			return "large object";
		case OBJECT_FDW:
			return "foreign data wrapper";
		case OBJECT_FOREIGN_SERVER:
			return "foreign server";
		default:
			return "object";
	}
}

/* ------------------------------------------------------------ CREATE SCHEMA -- */

/* the element's relation, which CREATE SCHEMA puts into its schema */
static RangeVar *
element_relation(Node *elt)
{
	switch (nodeTag(elt))
	{
		case T_CreateStmt:
			return ((CreateStmt *) elt)->relation;
		case T_IndexStmt:
			return ((IndexStmt *) elt)->relation;
		case T_ViewStmt:
			return ((ViewStmt *) elt)->view;
		case T_CreateSeqStmt:
			return ((CreateSeqStmt *) elt)->sequence;
		case T_CreateTrigStmt:
			return ((CreateTrigStmt *) elt)->relation;
		default:
			return NULL;
	}
}

bool
rule_schema_elements(PolicyContext *ctx, Node *stmt, PolicyRuleFn fn)
{
	CreateSchemaStmt *cs;
	ListCell   *lc;

	if (!IsA(stmt, CreateSchemaStmt))
		return false;
	cs = (CreateSchemaStmt *) stmt;
	foreach(lc, cs->schemaElts)
	{
		Node	   *elt = lfirst(lc);
		RangeVar   *rv = element_relation(elt);

		/* as transformCreateSchemaStmt() does, on a copy */
		if (rv && rv->schemaname == NULL && cs->schemaname)
		{
			elt = copyObject(elt);
			element_relation(elt)->schemaname = cs->schemaname;
		}
		fn(ctx, elt);
	}
	return true;
}
