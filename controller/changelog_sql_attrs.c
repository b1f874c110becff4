/*-------------------------------------------------------------------------
 *
 * changelog_sql_attrs.c
 *	  The attributes of a Liquibase formatted SQL --changeset line
 *	  (runOnChange:true, context:"a and b", ...): one table declares each
 *	  attribute and where its value goes; unknown ones are errors.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <stddef.h>

#include "changelog_sql.h"
#include "changelog_sql_int.h"
#include "filter_expr.h"
#include "properties.h"

/* Where a --changeset attribute's value goes */
typedef enum AttrKind
{
	AK_BOOL,					/* a bool field of Changeset */
	AK_STR,						/* a string field of Changeset */
	AK_TEMP						/* a slot of apply_attributes' tmp[] */
} AttrKind;

typedef struct AttrDef
{
	const char *name;
	AttrKind	kind;
	size_t		where;			/* offset in Changeset, or tmp[] slot */
	bool		expand;			/* Liquibase substitutes properties in it */
} AttrDef;

enum
{
	T_CONTEXT, T_CONTEXT_FILTER, T_LABELS, T_LFP, T_RUN_WITH, T_SPOOL,
	T_CREATED, T_COUNT
};

/*
 * The attributes Liquibase 4.28 reads from a --changeset line.  "created"
 * is accepted and dropped, as Liquibase's formatted SQL parser drops it.
 */
static const AttrDef attr_defs[] = {
	{"runOnChange", AK_BOOL, offsetof(Changeset, run_on_change), false},
	{"runAlways", AK_BOOL, offsetof(Changeset, run_always), false},
	{"failOnError", AK_BOOL, offsetof(Changeset, fail_on_error), false},
	{"runInTransaction", AK_BOOL, offsetof(Changeset, run_in_transaction), false},
	{"splitStatements", AK_BOOL, offsetof(Changeset, split_statements), false},
	{"stripComments", AK_BOOL, offsetof(Changeset, strip_comments), false},
	{"ignore", AK_BOOL, offsetof(Changeset, ignore), true},
	{"rollbackSplitStatements", AK_BOOL,
	offsetof(Changeset, rollback_split_statements), false},
	{"endDelimiter", AK_STR, offsetof(Changeset, end_delimiter), false},
	{"rollbackEndDelimiter", AK_STR,
	offsetof(Changeset, rollback_end_delimiter), false},
	{"dbms", AK_STR, offsetof(Changeset, dbms), true},
	{"context", AK_TEMP, T_CONTEXT, true},
	{"contextFilter", AK_TEMP, T_CONTEXT_FILTER, true},
	{"labels", AK_TEMP, T_LABELS, true},
	{"logicalFilePath", AK_TEMP, T_LFP, true},
	{"runWith", AK_TEMP, T_RUN_WITH, true},
	{"runWithSpoolFile", AK_TEMP, T_SPOOL, true},
	{"created", AK_TEMP, T_CREATED, false},
};

#define N_ATTRS lengthof(attr_defs)

/*
 * Apply "key:value" attributes from a --changeset line to cs.  Unlike
 * Liquibase, which greps the line for the names it knows, an unknown or
 * repeated attribute is an error: "contexts:dev" must not quietly deploy
 * everywhere.
 */
bool
sqlreader_apply_attributes(SqlReader *r, Changeset *cs, int lineno, const char *attrs)
{
	char	   *work = cl_trim(pstrdup(attrs));
	char	   *tmp[T_COUNT] = {0};
	bool		seen[N_ATTRS] = {0};
	const char *p = work;
	char	   *key;
	char	   *value;
	bool		ok = true;

	/* Liquibase's own tests wrap the attributes in parentheses */
	if (work[0] == '(' && work[strlen(work) - 1] == ')')
	{
		work[strlen(work) - 1] = '\0';
		work[0] = ' ';
	}

	while (ok && cl_next_token(&p, &key, &value, false))
	{
		const AttrDef *def = NULL;
		char	   *v;

		for (int i = 0; i < (int) N_ATTRS && value; i++)
			if (pg_strcasecmp(key, attr_defs[i].name) == 0)
				def = &attr_defs[i];
		if (def == NULL)
		{
			changelog_error(r->file, lineno, value ?
							"unknown changeset attribute \"%s\"" :
							"unexpected text \"%s\" on the --changeset line", key);
			changelog_hint("Valid attributes are runOnChange, runAlways, failOnError, runInTransaction, splitStatements, endDelimiter, stripComments, context, contextFilter, labels, dbms, ignore, logicalFilePath, runWith, rollbackSplitStatements, rollbackEndDelimiter and created, each written as name:value.");
			ok = false;
		}
		else if (seen[def - attr_defs])
		{
			changelog_error(r->file, lineno, "changeset attribute \"%s\" is given twice",
							def->name);
			ok = false;
		}
		else
		{
			seen[def - attr_defs] = true;
			v = def->expand ? sqlreader_subst(r, value) : pstrdup(value);
			if (def->kind == AK_BOOL)
			{
				ok = cl_parse_bool(r->file, lineno, def->name, v,
								   (bool *) ((char *) cs + def->where));
				pfree(v);
			}
			else if (def->kind == AK_STR && *v == '\0')
			{
				changelog_error(r->file, lineno, "%s needs a value", def->name);
				pfree(v);
				ok = false;
			}
			else if (def->kind == AK_STR)
				*(char **) ((char *) cs + def->where) = v;
			else
				tmp[def->where] = v;
		}
		pfree(key);
		if (value)
			pfree(value);
	}

	if (ok && tmp[T_RUN_WITH] && *tmp[T_RUN_WITH] &&
		pg_strcasecmp(tmp[T_RUN_WITH], "jdbc") != 0)
	{
		changelog_error(r->file, lineno, "runWith:%s is not supported",
						tmp[T_RUN_WITH]);
		changelog_hint("Remove runWith: pgchange runs every changeset itself over libpq, as runWith:jdbc does. For statements that cannot run in a transaction block, use runInTransaction:false.");
		ok = false;
	}
	if (ok && tmp[T_SPOOL])
	{
		changelog_error(r->file, lineno, "runWithSpoolFile is not supported");
		changelog_hint("Remove it: runWithSpoolFile only applies to runWith:sqlplus, which pgchange does not support.");
		ok = false;
	}
	if (ok)
	{
		/* contextFilter wins over context, as in Liquibase */
		cs->contexts = changelog_filter_and(r->include_contexts,
									   tmp[T_CONTEXT_FILTER] && *tmp[T_CONTEXT_FILTER] ?
									   tmp[T_CONTEXT_FILTER] : tmp[T_CONTEXT]);
		cs->labels = changelog_filter_and(r->include_labels, tmp[T_LABELS]);
		if (tmp[T_LFP] && *tmp[T_LFP])
			cs->path = pstrdup(tmp[T_LFP]);
	}
	for (int i = 0; i < T_COUNT; i++)
		if (tmp[i])
			pfree(tmp[i]);
	pfree(work);
	return ok;
}

