/*-------------------------------------------------------------------------
 *
 * changelog_sql_precond.c
 *	  Preconditions of Liquibase formatted SQL changesets: the
 *	  --preconditions line (onFail, onError) and the --precondition-sql-check,
 *	  -table-exists and -view-exists lines, read as Liquibase 4.28 reads them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>

#include "changelog_sql.h"
#include "changelog_sql_int.h"
#include "properties.h"

/* Map HALT, CONTINUE, MARK_RAN, WARN (any case) to PreconditionFail. */
static bool
parse_fail_option(SqlReader *r, int lineno, const char *key, const char *value,
				  PreconditionFail *out)
{
	static const char *const names[] = {"HALT", "CONTINUE", "MARK_RAN", "WARN"};

	for (int i = 0; i < 4; i++)
		if (pg_strcasecmp(value, names[i]) == 0)
		{
			*out = (PreconditionFail) i;
			return true;
		}
	changelog_error(r->file, lineno, "%s:%s is not a precondition failure option",
					key, value);
	changelog_hint("Use HALT, CONTINUE, MARK_RAN or WARN.");
	return false;
}

/* --preconditions onFail:X onError:Y [onSqlOutput:Z] */
bool
sqlreader_parse_preconditions(SqlReader *r, int lineno, const char *args)
{
	Changeset  *cs = r->cs;
	const char *p = args;
	char	   *key;
	char	   *value;
	bool		ok = true;
	int			sql_output = 0;

	while (ok && cl_next_token(&p, &key, &value, false))
	{
		if (value && pg_strcasecmp(key, "onFail") == 0)
			ok = parse_fail_option(r, lineno, "onFail", value, &cs->on_fail);
		else if (value && pg_strcasecmp(key, "onError") == 0)
			ok = parse_fail_option(r, lineno, "onError", value, &cs->on_error);
		else if (value && (pg_strcasecmp(key, "onSqlOutput") == 0 ||
						   pg_strcasecmp(key, "onUpdateSQL") == 0))
		{
			/* only matters for Liquibase's update-sql; accepted, not stored */
			if (pg_strcasecmp(value, "TEST") != 0 &&
				pg_strcasecmp(value, "FAIL") != 0 &&
				pg_strcasecmp(value, "IGNORE") != 0)
			{
				changelog_error(r->file, lineno, "%s:%s is not valid", key, value);
				changelog_hint("Use TEST, FAIL or IGNORE.");
				ok = false;
			}
			else if (++sql_output > 1)
			{
				changelog_error(r->file, lineno,
								"--preconditions takes onSqlOutput or onUpdateSQL, not both");
				ok = false;
			}
		}
		else
		{
			changelog_error(r->file, lineno, "unknown --preconditions attribute \"%s\"",
							key);
			changelog_hint("Write it as \"--preconditions onFail:<HALT|CONTINUE|MARK_RAN|WARN> onError:<HALT|CONTINUE|MARK_RAN|WARN>\".");
			ok = false;
		}
		pfree(key);
		if (value)
			pfree(value);
	}
	return ok;
}

/*
 * "expectedResult:X SQL", X a word or quoted with ' or " (Liquibase's three
 * patterns, in its order; the expectedResult: prefix is optional).
 */
static bool
parse_sql_check(const char *body, char **expected, char **sql)
{
	const char *starts[2];
	int			n = 0;

	if (cl_has_prefix_ci(body, "expectedResult:"))
		starts[n++] = body + strlen("expectedResult:");
	starts[n++] = body;
	for (int form = 0; form < 3; form++)
		for (int i = 0; i < n; i++)
		{
			const char *s = starts[i];
			const char *v = s;
			const char *e;

			if (form == 0)
			{
				e = s;
				while (isalnum((unsigned char) *e) || *e == '_')
					e++;
			}
			else
			{
				char		quote = (form == 1) ? '\'' : '"';

				if (*s != quote || (e = strchr(s + 1, quote)) == NULL || e == s + 1)
					continue;
				v = s + 1;
			}
			if (e == v || (e[form ? 1 : 0] != ' ' && e[form ? 1 : 0] != '\t'))
				continue;
			*expected = pnstrdup(v, e - v);
			*sql = cl_trim(pstrdup(e + (form ? 2 : 1)));
			return true;
		}
	return false;
}

/* --precondition-<type> args: sql-check, table-exists or view-exists. */
bool
sqlreader_parse_precondition(SqlReader *r, int lineno, const char *rest)
{
	Changeset  *cs = r->cs;
	size_t		tlen = strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
	char	   *type = pnstrdup(rest, tlen);
	char	   *args = cl_trim(pstrdup(rest + tlen));
	Precondition pc;
	bool		ok = true;

	memset(&pc, 0, sizeof(pc));
	pc.line = lineno;
	/* Liquibase compares the type case-sensitively */
	if (strcmp(type, "sql-check") == 0)
		pc.kind = PRECOND_SQL_CHECK;
	else if (strcmp(type, "table-exists") == 0)
		pc.kind = PRECOND_TABLE_EXISTS;
	else if (strcmp(type, "view-exists") == 0)
		pc.kind = PRECOND_VIEW_EXISTS;
	else
	{
		changelog_error(r->file, lineno, "unknown precondition type \"%s\"", type);
		changelog_hint("Formatted SQL supports --precondition-sql-check, --precondition-table-exists and --precondition-view-exists.");
		ok = false;
	}

	if (ok && *args == '\0')
	{
		changelog_error(r->file, lineno, "--precondition-%s needs arguments", type);
		ok = false;
	}
	if (ok && pc.kind == PRECOND_SQL_CHECK)
	{
		char	   *body = sqlreader_subst(r, args);

		if (!parse_sql_check(body, &pc.expected, &pc.sql))
		{
			changelog_error(r->file, lineno, "could not parse --precondition-sql-check \"%s\"",
							body);
			ok = false;
		}
		pfree(body);
	}
	else if (ok)
	{
		const char *p = args;
		const char *objkey = pc.kind == PRECOND_TABLE_EXISTS ? "table" : "view";
		char	   *key;
		char	   *value;

		while (ok && cl_next_token(&p, &key, &value, false))
		{
			bool		is_schema = pg_strcasecmp(key, "schema") == 0 ||
				pg_strcasecmp(key, "schemaName") == 0;
			bool		is_name = pg_strncasecmp(key, objkey, strlen(objkey)) == 0 &&
				(key[strlen(objkey)] == '\0' ||
				 pg_strcasecmp(key + strlen(objkey), "Name") == 0);

			if (value && *value && (is_schema || is_name) &&
				*(is_schema ? &pc.schema : &pc.name) == NULL)
				*(is_schema ? &pc.schema : &pc.name) = sqlreader_subst(r, value);
			else
			{
				changelog_error(r->file, lineno,
								"unexpected \"%s\" in --precondition-%s", key, type);
				ok = false;
			}
			pfree(key);
			if (value)
				pfree(value);
		}
		if (ok && pc.name == NULL)
		{
			changelog_error(r->file, lineno, "--precondition-%s needs %s:<name>",
							type, objkey);
			ok = false;
		}
	}
	if (!ok && strcmp(type, "sql-check") == 0)
		changelog_hint("Write it as \"--precondition-sql-check expectedResult:<value> <SQL>\"; quote a value with blanks: expectedResult:\"0 rows\".");
	else if (!ok && strcmp(type, "table-exists") == 0)
		changelog_hint("Write it as \"--precondition-table-exists [schema:<schema>] table:<table>\".");
	else if (!ok && strcmp(type, "view-exists") == 0)
		changelog_hint("Write it as \"--precondition-view-exists [schema:<schema>] view:<view>\".");

	if (ok)
	{
		cs->preconditions = cs->preconditions ?
			repalloc(cs->preconditions, (cs->npreconditions + 1) * sizeof(Precondition)) :
			palloc(sizeof(Precondition));
		cs->preconditions[cs->npreconditions++] = pc;
	}
	else
	{
		if (pc.sql)
			pfree(pc.sql);
		if (pc.expected)
			pfree(pc.expected);
		if (pc.schema)
			pfree(pc.schema);
		if (pc.name)
			pfree(pc.name);
	}
	pfree(type);
	pfree(args);
	return ok;
}

