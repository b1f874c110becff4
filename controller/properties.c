/*-------------------------------------------------------------------------
 *
 * properties.c
 *	  Changelog properties and ${name} substitution, as Liquibase 4.28's
 *	  ChangeLogParameters and ExpressionExpander behave, plus the readers
 *	  for formatted-SQL "--property" lines and Liquibase defaults files
 *	  ("parameter.NAME=value").
 *
 * Liquibase keeps every definition and answers a lookup with the first
 * one its filter (the run's contexts, labels and database) allows, so a
 * value given on the command line cannot be overridden by a changelog.
 * The filter is fixed for a whole run, so definitions it excludes are
 * simply never added here.  Names match case-insensitively.  An
 * expression whose name is unknown is left exactly as written (Liquibase's
 * default missing-property mode), which keeps SQL such as "${1}" in a
 * PL/pgSQL format() string intact.
 *
 * Liquibase looks environment variables up first of all (its "system"
 * parameters, ahead of -D), which makes a changeset's text depend on the
 * machine (Liquibase issue #1644); properties_add_environment() puts them
 * first for a deploy the same way.  Java system properties have no
 * equivalent here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <errno.h>

#include "changelog_sql.h"
#include "lib/stringinfo.h"
#include "filter_expr.h"
#include "properties.h"

/* POSIX: the application declares it */
extern char **environ;

/* bound on value-inside-value expansion, so "a=${a}" cannot loop */
#define MAX_EXPANSION_DEPTH 32

void
properties_init(PropertyList *pl)
{
	memset(pl, 0, sizeof(PropertyList));
}

void
properties_free(PropertyList *pl)
{
	for (int i = 0; i < pl->count; i++)
	{
		pfree(pl->names[i]);
		pfree(pl->values[i]);
		if (pl->contexts[i])
			pfree(pl->contexts[i]);
	}
	if (pl->names)
	{
		pfree(pl->names);
		pfree(pl->values);
		pfree(pl->contexts);
	}
	properties_init(pl);
}

void
properties_add(PropertyList *pl, const char *name, const char *value,
			   const char *context)
{
	if (pl->count == pl->capacity)
	{
		int			newcap = pl->capacity ? pl->capacity * 2 : 8;

		if (pl->names)
		{
			pl->names = repalloc(pl->names, newcap * sizeof(char *));
			pl->values = repalloc(pl->values, newcap * sizeof(char *));
			pl->contexts = repalloc(pl->contexts, newcap * sizeof(char *));
		}
		else
		{
			pl->names = palloc(newcap * sizeof(char *));
			pl->values = palloc(newcap * sizeof(char *));
			pl->contexts = palloc(newcap * sizeof(char *));
		}
		pl->capacity = newcap;
	}
	pl->names[pl->count] = pstrdup(name);
	pl->values[pl->count] = pstrdup(value ? value : "");
	pl->contexts[pl->count] = context ? pstrdup(context) : NULL;
	pl->count++;
}

bool
properties_applies(const PropertyList *pl, const char *context,
				   const char *labels, const char *file, int line,
				   bool *applies)
{
	bool		match;
	char	   *err = NULL;

	*applies = true;
	if (!contexts_match(context, pl ? pl->run_contexts : NULL, &match, &err))
	{
		changelog_error(file, line, "invalid context expression \"%s\" on a property: %s",
						context, err);
		return false;
	}
	/* Liquibase's ContextExpression: no runtime contexts match even "@x" */
	*applies = match || pl == NULL || pl->run_contexts == NULL ||
		cl_is_blank(pl->run_contexts);
	if (!*applies)
		return true;
	if (!labels_match(labels, pl ? pl->run_labels : NULL, &match, &err))
	{
		changelog_error(file, line, "invalid label expression \"%s\": %s",
						pl ? pl->run_labels : "", err);
		return false;
	}
	*applies = match;
	return true;
}

void
properties_add_environment(PropertyList *pl)
{
	PropertyList env;
	int			nold = pl->count;

	properties_init(&env);
	for (char **e = environ; e && *e; e++)
	{
		const char *eq = strchr(*e, '=');
		char	   *name;

		if (eq == NULL || eq == *e)
			continue;
		name = pnstrdup(*e, eq - *e);
		properties_add(&env, name, eq + 1, NULL);
		pfree(name);
	}
	if (env.count == 0)
		return;

	/* env's entries, then pl's: the environment is looked up first */
	for (int i = 0; i < nold; i++)
		properties_add(&env, pl->names[i], pl->values[i], pl->contexts[i]);
	env.run_contexts = pl->run_contexts;
	env.run_labels = pl->run_labels;
	properties_free(pl);
	*pl = env;
}

const char *
properties_get(const PropertyList *pl, const char *name)
{
	if (pl == NULL)
		return NULL;
	for (int i = 0; i < pl->count; i++)
		if (pg_strcasecmp(pl->names[i], name) == 0)
			return pl->values[i];
	return NULL;
}

const char *
properties_get_last(const PropertyList *pl, const char *name)
{
	if (pl == NULL)
		return NULL;
	for (int i = pl->count - 1; i >= 0; i--)
		if (pg_strcasecmp(pl->names[i], name) == 0)
			return pl->values[i];
	return NULL;
}

/* Look a name up the way Liquibase does: globals first, then locals. */
static const char *
lookup(const PropertyList *global, const PropertyList *local, const char *name)
{
	const char *v = properties_get(global, name);

	return v ? v : properties_get_last(local, name);
}

typedef struct Expander
{
	const PropertyList *global;
	const PropertyList *local;
	const char *p;				/* read position */
	int			depth;
} Expander;

static void expand_value(const PropertyList *global, const PropertyList *local,
						 const char *text, int depth, StringInfo out);

/*
 * Expand from ex->p into out.  Inside an expression (in_expr), stop after
 * the closing '}' and return true; false means the text ended first.  This
 * mirrors ExpressionExpander, nested ${a${b}} included.
 */
static bool
expand_until(Expander *ex, bool in_expr, StringInfo out)
{
	while (*ex->p)
	{
		char		c = *ex->p++;

		if (c == '$' && *ex->p == '{')
		{
			StringInfoData inner;
			bool		closed;

			ex->p++;
			initStringInfo(&inner);
			closed = expand_until(ex, true, &inner);
			if (!closed)
			{
				/* never terminated: keep the text as it was */
				appendStringInfoString(out, "${");
				appendStringInfoString(out, inner.data);
			}
			else if (strncmp(inner.data, "${", 2) == 0)
			{
				/* an inner expression that did not resolve */
				appendStringInfoString(out, inner.data);
			}
			else
			{
				char	   *name = pstrdup(inner.data);
				char	   *start = name;
				char	   *end;
				const char *value;

				/* Liquibase trims the name */
				while (isspace((unsigned char) *start))
					start++;
				end = start + strlen(start);
				while (end > start && isspace((unsigned char) end[-1]))
					*--end = '\0';
				value = lookup(ex->global, ex->local, start);
				if (value == NULL)
					appendStringInfo(out, "${%s}", inner.data);
				else if (ex->depth >= MAX_EXPANSION_DEPTH)
					appendStringInfoString(out, value);
				else
					expand_value(ex->global, ex->local, value, ex->depth + 1,
								 out);
				pfree(name);
			}
			pfree(inner.data);
		}
		else if (c == '}' && in_expr)
			return true;
		else
			appendStringInfoChar(out, c);
	}
	return false;
}

/* Expand a whole string (a property value, or the caller's text). */
static void
expand_value(const PropertyList *global, const PropertyList *local,
			 const char *text, int depth, StringInfo out)
{
	Expander	ex;

	ex.global = global;
	ex.local = local;
	ex.p = text;
	ex.depth = depth;
	(void) expand_until(&ex, false, out);
}

char *
properties_substitute_scoped(const PropertyList *global,
							 const PropertyList *local, const char *text)
{
	StringInfoData out;
	char	   *result;

	if (text == NULL)
		return NULL;
	/* most text has nothing to expand: no 1 kB StringInfo per string */
	if (strstr(text, "${") == NULL)
		return pstrdup(text);
	initStringInfo(&out);
	expand_value(global, local, text, 0, &out);
	result = pnstrdup(out.data, out.len);
	pfree(out.data);
	return result;
}

char *
properties_substitute(const PropertyList *pl, const char *text)
{
	return properties_substitute_scoped(pl, NULL, text);
}

/*
 * One --property line.  Liquibase reads name, value, context (or
 * contextFilter), labels, dbms and global; anything else, and the
 * "name=N value=V" spelling it rejects too, is an error here.  dbms,
 * context and labels are decided now: the target is always PostgreSQL and
 * the run's filter is known (global's).
 */
bool
properties_parse_directive(const char *args, PropertyList *global,
						   PropertyList *local, const char *file, int line)
{
	static const char *const keys[] = {"name", "value", "context",
	"contextFilter", "labels", "dbms", "global", NULL};
	char	   *vals[7] = {0};
	const char *p = args;
	char	   *key;
	char	   *value;
	bool		ok = true;
	bool		is_global = true;

	while (ok && cl_next_token(&p, &key, &value, true))
	{
		int			i;

		for (i = 0; keys[i]; i++)
			if (pg_strcasecmp(key, keys[i]) == 0)
				break;
		if (value == NULL || keys[i] == NULL)
		{
			changelog_error(file, line, value == NULL ?
							"unexpected text \"%s\" on the --property line" :
							"unknown --property attribute \"%s\"", key);
			changelog_hint("Write it as \"--property name:<name> value:<value> [context:<expr>] [labels:<expr>] [dbms:<list>] [global:true|false]\".");
			ok = false;
		}
		else if (vals[i] != NULL)
		{
			changelog_error(file, line, "--property attribute \"%s\" is given twice",
							keys[i]);
			ok = false;
		}
		else
			vals[i] = pstrdup(value);
		pfree(key);
		if (value)
			pfree(value);
	}
	if (ok && (vals[0] == NULL || *vals[0] == '\0' || vals[1] == NULL))
	{
		changelog_error(file, line, "--property needs a name and a value");
		changelog_hint("Write it as \"--property name:<name> value:<value>\".");
		ok = false;
	}
	if (ok && vals[6] != NULL)
		ok = cl_parse_bool(file, line, "global", vals[6], &is_global);

	if (ok && dbms_matches_postgresql(vals[5]))
	{
		char	   *name = properties_substitute_scoped(global, local, vals[0]);
		char	   *val = properties_substitute_scoped(global, local, vals[1]);
		const char *ctx = vals[3] && *vals[3] ? vals[3] : vals[2];
		char	   *ctxv = ctx && *ctx ?
			properties_substitute_scoped(global, local, ctx) : NULL;
		char	   *labv = vals[4] && *vals[4] ?
			properties_substitute_scoped(global, local, vals[4]) : NULL;
		bool		applies;

		ok = properties_applies(global, ctxv, labv, file, line, &applies);
		if (ok && applies)
			properties_add(is_global ? global : local, name, val, ctxv);
		pfree(name);
		pfree(val);
		if (ctxv)
			pfree(ctxv);
		if (labv)
			pfree(labv);
	}
	for (int i = 0; i < 7; i++)
		if (vals[i])
			pfree(vals[i]);
	return ok;
}

/*
 * Decode one logical line of a Java properties file into key and value,
 * handling the escapes java.util.Properties.load() understands.  Returns
 * false for blank and comment lines.
 */
static bool
parse_properties_line(const char *line, StringInfo key, StringInfo value)
{
	const char *p = line;
	StringInfo	dst = key;
	bool		in_value = false;

	while (*p == ' ' || *p == '\t' || *p == '\f')
		p++;
	if (*p == '\0' || *p == '#' || *p == '!')
		return false;

	resetStringInfo(key);
	resetStringInfo(value);
	while (*p)
	{
		char		c = *p++;

		if (!in_value && (c == '=' || c == ':' || c == ' ' || c == '\t' ||
						  c == '\f'))
		{
			/* the separator: blanks, then at most one '=' or ':' */
			if (c != '=' && c != ':')
			{
				while (*p == ' ' || *p == '\t' || *p == '\f')
					p++;
				if (*p == '=' || *p == ':')
					p++;
			}
			while (*p == ' ' || *p == '\t' || *p == '\f')
				p++;
			in_value = true;
			dst = value;
			continue;
		}
		if (c == '\\' && *p)
		{
			c = *p++;
			switch (c)
			{
				case 't':
					c = '\t';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 'f':
					c = '\f';
					break;
				case 'u':
					{
						unsigned int cp = 0;
						int			i;
						unsigned char buf[4];

						for (i = 0; i < 4 && isxdigit((unsigned char) p[i]); i++)
							cp = cp * 16 + (isdigit((unsigned char) p[i]) ?
											p[i] - '0' :
											(tolower((unsigned char) p[i]) - 'a' + 10));
						p += i;
						/* encode as UTF-8 */
						if (cp < 0x80)
							appendStringInfoChar(dst, (char) cp);
						else if (cp < 0x800)
						{
							buf[0] = 0xC0 | (cp >> 6);
							buf[1] = 0x80 | (cp & 0x3F);
							appendBinaryStringInfo(dst, (char *) buf, 2);
						}
						else
						{
							buf[0] = 0xE0 | (cp >> 12);
							buf[1] = 0x80 | ((cp >> 6) & 0x3F);
							buf[2] = 0x80 | (cp & 0x3F);
							appendBinaryStringInfo(dst, (char *) buf, 3);
						}
						continue;
					}
				default:
					break;
			}
		}
		appendStringInfoChar(dst, c);
	}
	return true;
}

/* True if the physical line ends in an odd number of backslashes. */
static bool
continues(const char *line, size_t len)
{
	size_t		n = 0;

	while (n < len && line[len - 1 - n] == '\\')
		n++;
	return (n % 2) == 1;
}

bool
properties_read_defaults_file(PropertyList *pl, const char *path)
{
	return properties_read_file(pl, path, "parameter.", NULL);
}

bool
properties_read_file(PropertyList *pl, const char *path, const char *prefix,
					 const char *context)
{
	size_t		prefix_len = prefix ? strlen(prefix) : 0;
	size_t		len;
	char	   *data = changelog_read_file(path, &len);
	StringInfoData logical;
	StringInfoData key;
	StringInfoData value;
	char	   *p;

	if (data == NULL)
		return false;

	initStringInfo(&logical);
	initStringInfo(&key);
	initStringInfo(&value);
	p = data;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (*p)
	{
		char	   *eol = strchr(p, '\n');
		size_t		n = eol ? (size_t) (eol - p) : strlen(p);
		bool		more;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		more = continues(p, n);
		if (logical.len > 0)
		{
			/* a continuation line loses its leading blanks */
			while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\f'))
				p++, n--;
		}
		appendBinaryStringInfo(&logical, p, more ? n - 1 : n);
		p = eol ? eol + 1 : p + strlen(p);
		if (more && *p)
			continue;

		if (parse_properties_line(logical.data, &key, &value) &&
			strncmp(key.data, prefix ? prefix : "", prefix_len) == 0)
			properties_add(pl, key.data + prefix_len, value.data, context);
		resetStringInfo(&logical);
	}
	pfree(logical.data);
	pfree(key.data);
	pfree(value.data);
	pfree(data);
	return true;
}
