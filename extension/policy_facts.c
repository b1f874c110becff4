/*-------------------------------------------------------------------------
 *
 * policy_facts.c
 *	  Live facts about the relations a statement names: existence, size on
 *	  disk, a row estimate, and whether it was created here (earlier in the
 *	  linted text, in this transaction, or in this deployment).
 *
 * Facts are read without taking any lock: at ddl_command_start the
 * statement has not locked anything yet, and a lock taken here would turn
 * two concurrent ALTER TABLEs (which queue) into a deadlock (both holding
 * a weak lock, both waiting to upgrade it).  The size comes from the files
 * on disk, as pg_relation_size() computes it, and the row estimate from
 * pg_class scaled to that size, as the planner does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_tablespace_d.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/bufpage.h"
#include "storage/itemid.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relmapper.h"
#include "utils/syscache.h"

#include "policy.h"

/* ------------------------------------------------------------------ */
/* Size and rows                                                       */
/* ------------------------------------------------------------------ */

/* bytes of the main fork: the sum of its segment files, 0 if none */
static int64
main_fork_bytes(Oid relid, Form_pg_class c)
{
	Oid			filenode = c->relfilenode;
	Oid			spc = OidIsValid(c->reltablespace) ? c->reltablespace : MyDatabaseTableSpace;
	Oid			db = spc == GLOBALTABLESPACE_OID ? InvalidOid : MyDatabaseId;
	char	   *path;
	int64		total = 0;

	if (!RELKIND_HAS_STORAGE(c->relkind))
		return 0;
	if (!OidIsValid(filenode))
#if PG_VERSION_NUM >= 160000
		filenode = RelationMapOidToFilenumber(relid, c->relisshared);
#else
		filenode = RelationMapOidToFilenode(relid, c->relisshared);
#endif
	if (!OidIsValid(filenode))
		return 0;
	/* another session's temporary table: its files are not ours to read */
	if (c->relpersistence == RELPERSISTENCE_TEMP && !isTempOrTempToastNamespace(c->relnamespace))
		return 0;

#if PG_VERSION_NUM >= 160000
	{
		RelFileLocator loc = {spc, db, filenode};

#if PG_VERSION_NUM >= 170000
		path = relpathbackend(loc, c->relpersistence == RELPERSISTENCE_TEMP ?
							  ProcNumberForTempRelations() : INVALID_PROC_NUMBER,
							  MAIN_FORKNUM);
#else
		path = relpathbackend(loc, c->relpersistence == RELPERSISTENCE_TEMP ?
							  BackendIdForTempRelations() : InvalidBackendId,
							  MAIN_FORKNUM);
#endif
	}
#else
	{
		RelFileNode node = {spc, db, filenode};

		path = relpathbackend(node, c->relpersistence == RELPERSISTENCE_TEMP ?
							  BackendIdForTempRelations() : InvalidBackendId,
							  MAIN_FORKNUM);
	}
#endif

	for (unsigned int segno = 0;; segno++)
	{
		struct stat st;
		char	   *seg = segno == 0 ? path : psprintf("%s.%u", path, segno);

		if (stat(seg, &st) < 0)
			break;				/* no such segment: the end (or no file yet) */
		total += st.st_size;
	}
	return total;
}

/* average data width of a row from its columns' types, as the planner guesses */
static int32
row_width(Oid relid, int natts)
{
	int32		width = 0;

	for (int attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid),
										  Int16GetDatum(attnum));
		Form_pg_attribute att;

		if (!HeapTupleIsValid(tup))
			continue;
		att = (Form_pg_attribute) GETSTRUCT(tup);
		if (!att->attisdropped)
			width += att->attlen > 0 ? att->attlen : get_typavgwidth(att->atttypid, att->atttypmod);
		ReleaseSysCache(tup);
	}
	return Max(width, 1);
}

/*
 * Rows: pg_class's density (reltuples / relpages) times the current number
 * of pages, as the planner scales it; for a table never analysed, pages
 * times the rows that fit a page at the columns' average width.
 */
static double
estimate_rows(Oid relid, Form_pg_class c, int64 bytes)
{
	double		pages = (double) (bytes / BLCKSZ);
	double		per_page;

	if (bytes == 0)
		return 0;
	if (c->reltuples >= 0 && c->relpages > 0)
		return floor(c->reltuples / c->relpages * pages + 0.5);
	per_page = (BLCKSZ - SizeOfPageHeaderData) /
		(double) (row_width(relid, c->relnatts) +
				  MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData));
	return floor(Max(pages, 1) * per_page + 0.5);
}

/* ------------------------------------------------------------------ */
/* Relations created here                                              */
/* ------------------------------------------------------------------ */

typedef struct CreatedRel
{
	Oid			relid;
	TransactionId xid;			/* (sub)transaction that created it */
	int64		deployment_id;	/* 0 outside a deployment */
} CreatedRel;

/* backend-local, in TopMemoryContext; pruned as it grows */
static List *created_rels = NIL;

static bool
created_rel_current(const CreatedRel *c, int64 deployment_id)
{
	/* an aborted subtransaction's xid is no longer "current": forgotten */
	return (deployment_id != 0 && c->deployment_id == deployment_id) ||
		TransactionIdIsCurrentTransactionId(c->xid);
}

/* ddl_command_end: a relation created by this backend */
void
policy_track_created(Oid relid, int64 deployment_id)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	List	   *keep = NIL;
	ListCell   *lc;
	CreatedRel *c;

	foreach(lc, created_rels)
	{
		c = lfirst(lc);
		if (created_rel_current(c, deployment_id))
			keep = lappend(keep, c);
		else
			pfree(c);
	}
	list_free(created_rels);
	c = palloc(sizeof(CreatedRel));
	c->relid = relid;
	c->xid = GetCurrentTransactionId();
	c->deployment_id = deployment_id;
	created_rels = lappend(keep, c);
	MemoryContextSwitchTo(old);
}

bool
policy_is_tracked_created(Oid relid, int64 deployment_id)
{
	ListCell   *lc;

	foreach(lc, created_rels)
	{
		CreatedRel *c = lfirst(lc);

		if (c->relid == relid && created_rel_current(c, deployment_id))
			return true;
	}
	return false;
}

/* lint: a relation named like one an earlier statement of the text created */
static bool
noted_in_text(const PolicyContext *ctx, const char *schema, const char *name)
{
	ListCell   *lc;

	foreach(lc, ctx->created_here)
	{
		RangeVar   *rv = lfirst(lc);

		if (strcmp(rv->relname, name) == 0 &&
			(rv->schemaname == NULL || schema == NULL || strcmp(rv->schemaname, schema) == 0))
			return true;
	}
	return false;
}

void
policy_note_created(PolicyContext *ctx, RangeVar *rv)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);

	ctx->created_here = lappend(ctx->created_here, copyObject(rv));
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------------ */
/* Facts                                                               */
/* ------------------------------------------------------------------ */

void
policy_relation_facts_oid(PolicyContext *ctx, Oid relid, PolicyRelFacts *facts)
{
	HeapTuple	tup;
	Form_pg_class c;
	char	   *nspname;

	memset(facts, 0, sizeof(PolicyRelFacts));
	facts->relid = relid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return;
	c = (Form_pg_class) GETSTRUCT(tup);
	nspname = get_namespace_name(c->relnamespace);
	facts->exists = true;
	facts->relkind = c->relkind;
	facts->identity = quote_qualified_identifier(nspname, NameStr(c->relname));

	if (c->relkind == RELKIND_PARTITIONED_TABLE || c->relkind == RELKIND_PARTITIONED_INDEX)
	{
		/* no storage of its own: what an index or a rewrite touches is the partitions' */
		List	   *parts = find_all_inheritors(relid, NoLock, NULL);
		ListCell   *lc;

		foreach(lc, parts)
		{
			Oid			part = lfirst_oid(lc);
			HeapTuple	ptup;

			if (part == relid)
				continue;
			ptup = SearchSysCache1(RELOID, ObjectIdGetDatum(part));
			if (HeapTupleIsValid(ptup))
			{
				Form_pg_class pc = (Form_pg_class) GETSTRUCT(ptup);
				int64		b = main_fork_bytes(part, pc);

				facts->bytes += b;
				facts->rows += estimate_rows(part, pc, b);
				ReleaseSysCache(ptup);
			}
		}
	}
	else
	{
		facts->bytes = main_fork_bytes(relid, c);
		facts->rows = estimate_rows(relid, c, facts->bytes);
	}

	if (ctx->phase == POLICY_PHASE_LINT)
		facts->created_here = noted_in_text(ctx, nspname, NameStr(c->relname));
	else
		facts->created_here = policy_is_tracked_created(relid, ctx->deployment_id);
	ReleaseSysCache(tup);
}

void
policy_relation_facts(PolicyContext *ctx, RangeVar *rv, PolicyRelFacts *facts)
{
	Oid			relid = RangeVarGetRelidExtended(rv, NoLock, RVR_MISSING_OK, NULL, NULL);

	if (OidIsValid(relid))
		policy_relation_facts_oid(ctx, relid, facts);
	else
	{
		memset(facts, 0, sizeof(PolicyRelFacts));
		facts->identity = quote_qualified_identifier(rv->schemaname, rv->relname);
	}
	/* lint: created by an earlier statement (it may not exist yet at all) */
	if (ctx->phase == POLICY_PHASE_LINT && noted_in_text(ctx, rv->schemaname, rv->relname))
		facts->created_here = true;
}

bool
policy_relation_is_large(const PolicyContext *ctx, const char *rule,
						 const PolicyRelFacts *facts)
{
	if (!facts->exists || facts->created_here)
		return false;
	return facts->rows >= (double) policy_param_int(ctx, rule, "min_rows") ||
		facts->bytes >= policy_param_int(ctx, rule, "min_bytes");
}

/* ------------------------------------------------------------------ */
/* What a statement touches                                            */
/* ------------------------------------------------------------------ */

static bool
rangevar_is_temp(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return false;
	if (rv->relpersistence == RELPERSISTENCE_TEMP ||
		(rv->schemaname && strcmp(rv->schemaname, "pg_temp") == 0))
		return true;
	relid = RangeVarGetRelidExtended(rv, NoLock, RVR_MISSING_OK, NULL, NULL);
	return OidIsValid(relid) && get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

/* the existing relation a statement locks, or NULL */
RangeVar *
policy_statement_target(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			return ((AlterTableStmt *) stmt)->relation;
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->relation;
		case T_RenameStmt:
			return ((RenameStmt *) stmt)->relation;
		case T_CreateTrigStmt:
			return ((CreateTrigStmt *) stmt)->relation;
		case T_RuleStmt:
			return ((RuleStmt *) stmt)->relation;
		case T_CreatePolicyStmt:
			return ((CreatePolicyStmt *) stmt)->table;
		case T_AlterPolicyStmt:
			return ((AlterPolicyStmt *) stmt)->table;
		case T_AlterObjectSchemaStmt:
			return ((AlterObjectSchemaStmt *) stmt)->relation;
		case T_CreateStmt:
			{
				CreateStmt *c = (CreateStmt *) stmt;

				/* PARTITION OF / INHERITS lock the parent */
				return c->inhRelations ? linitial_node(RangeVar, c->inhRelations) : NULL;
			}
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;

				if ((d->removeType == OBJECT_TABLE || d->removeType == OBJECT_INDEX ||
					 d->removeType == OBJECT_MATVIEW) && d->objects != NIL)
					return makeRangeVarFromNameList(linitial(d->objects));
				return NULL;
			}
		default:
			return NULL;
	}
}

/* DDL on temporary objects only: not schema drift, never guarded */
bool
policy_statement_is_temp_only(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			return rangevar_is_temp(((CreateStmt *) stmt)->relation);
		case T_CreateTableAsStmt:
			return rangevar_is_temp(((CreateTableAsStmt *) stmt)->into->rel);
		case T_ViewStmt:
			return rangevar_is_temp(((ViewStmt *) stmt)->view);
		case T_CreateSeqStmt:
			return rangevar_is_temp(((CreateSeqStmt *) stmt)->sequence);
		case T_DropStmt:
			{
				DropStmt   *d = (DropStmt *) stmt;
				ListCell   *lc;

				if (d->removeType != OBJECT_TABLE && d->removeType != OBJECT_INDEX &&
					d->removeType != OBJECT_VIEW && d->removeType != OBJECT_SEQUENCE)
					return false;
				foreach(lc, d->objects)
					if (!rangevar_is_temp(makeRangeVarFromNameList(lfirst(lc))))
						return false;
				return d->objects != NIL;
			}
		default:
			{
				RangeVar   *rv = policy_statement_target(stmt);

				return rv && rangevar_is_temp(rv);
			}
	}
}
