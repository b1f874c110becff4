/*-------------------------------------------------------------------------
 *
 * changelog.c
 *	  The changeset model's constructors and destructors, and what every
 *	  changelog reader shares: error reporting, reading a file, and a few
 *	  string helpers for Liquibase-style "key:value" directives.
 *
 * Readers report bad input as "FILE:LINE: message" through
 * pg_log_error (plus an optional hint).  The last message and hint are also
 * kept in static buffers so unit tests can assert on them without
 * capturing stderr.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <errno.h>

#include "changelog.h"
#include "changelog_sql.h"
#include "common/logging.h"

#define CHANGELOG_ERRBUF_SIZE 2048

static char last_error[CHANGELOG_ERRBUF_SIZE];
static char last_hint[CHANGELOG_ERRBUF_SIZE];

/*
 * Allocate a changeset with the defaults Liquibase and goose share: run
 * once, in a transaction, stop on error, preconditions HALT.
 */
Changeset *
changeset_new(ChangesetFormat format)
{
	Changeset  *cs = palloc0(sizeof(Changeset));

	cs->format = format;
	cs->fail_on_error = true;
	cs->run_in_transaction = true;
	cs->split_statements = true;
	cs->strip_comments = false;
	cs->on_fail = PRECOND_HALT;
	cs->on_error = PRECOND_HALT;
	cs->rollback_split_statements = true;
	return cs;
}

/* Append cs to cl, growing the array geometrically. */
void
changelog_append(Changelog *cl, Changeset *cs)
{
	if (cl->count == cl->capacity)
	{
		cl->capacity = cl->capacity ? cl->capacity * 2 : 16;
		if (cl->items)
			cl->items = repalloc(cl->items, cl->capacity * sizeof(Changeset *));
		else
			cl->items = palloc(cl->capacity * sizeof(Changeset *));
	}
	cl->items[cl->count++] = cs;
}

/* pfree that tolerates NULL, since most optional fields are NULL */
static void
free_str(char *s)
{
	if (s)
		pfree(s);
}

static void
free_str_array(char **arr, int n)
{
	if (arr == NULL)
		return;
	for (int i = 0; i < n; i++)
		free_str(arr[i]);
	pfree(arr);
}

/* Release one changeset and everything it owns. */
static void
changeset_free(Changeset *cs)
{
	free_str(cs->id);
	free_str(cs->author);
	free_str(cs->path);
	free_str(cs->file);
	free_str(cs->body);
	free_str(cs->body_file);
	free_str(cs->rollback);
	free_str(cs->rollback_ref_id);
	free_str(cs->rollback_ref_author);
	free_str(cs->rollback_ref_path);
	free_str(cs->rollback_end_delimiter);
	free_str(cs->verify);
	free_str(cs->comment);
	free_str(cs->contexts);
	free_str(cs->labels);
	free_str(cs->dbms);
	free_str(cs->end_delimiter);
	free_str(cs->tag);
	for (int i = 0; i < cs->npreconditions; i++)
	{
		free_str(cs->preconditions[i].sql);
		free_str(cs->preconditions[i].expected);
		free_str(cs->preconditions[i].schema);
		free_str(cs->preconditions[i].name);
	}
	if (cs->preconditions)
		pfree(cs->preconditions);
	free_str_array(cs->valid_checksums, cs->nvalid_checksums);
	free_str_array(cs->statements, cs->nstatements);
	if (cs->statement_lines)
		pfree(cs->statement_lines);
	free_str_array(cs->down_statements, cs->ndown_statements);
	if (cs->down_statement_lines)
		pfree(cs->down_statement_lines);
	pfree(cs);
}

/* Release every changeset in cl and reset it to empty. */
void
changelog_free(Changelog *cl)
{
	for (int i = 0; i < cl->count; i++)
		changeset_free(cl->items[i]);
	if (cl->items)
		pfree(cl->items);
	cl->items = NULL;
	cl->count = 0;
	cl->capacity = 0;
}

/*
 * Report a reader error as "FILE:LINE: message" (just "FILE: message" when
 * line <= 0), remember it for changelog_last_error(), and forget the
 * previous hint.
 */
void
changelog_error(const char *file, int line, const char *fmt,...)
{
	char		msg[CHANGELOG_ERRBUF_SIZE];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (line > 0)
		snprintf(last_error, sizeof(last_error), "%s:%d: %s", file, line, msg);
	else
		snprintf(last_error, sizeof(last_error), "%s: %s", file, msg);
	last_hint[0] = '\0';
	pg_log_error("%s", last_error);
}

/* Attach a hint to the error just reported. */
void
changelog_hint(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(last_hint, sizeof(last_hint), fmt, ap);
	va_end(ap);
	pg_log_error_hint("%s", last_hint);
}

const char *
changelog_last_error(void)
{
	return last_error;
}

const char *
changelog_last_error_hint(void)
{
	return last_hint;
}

/* Forget the last error, so a test can tell a new one from an old one. */
void
changelog_clear_error(void)
{
	last_error[0] = '\0';
	last_hint[0] = '\0';
}

/*
 * Read the whole file; changelogs are small, and every reader needs random
 * access to lines anyway.  A NUL byte is refused: readers work on C
 * strings, and a NUL in a changelog is a sign of a binary or UTF-16 file.
 */
char *
changelog_read_file(const char *path, size_t *len)
{
	FILE	   *fp;
	char	   *buf;
	size_t		cap = 8192;
	size_t		n = 0;

	fp = fopen(path, "rb");
	if (fp == NULL)
	{
		changelog_error(path, 0, "could not open file: %s", strerror(errno));
		return NULL;
	}
	buf = palloc(cap + 1);
	for (;;)
	{
		size_t		got = fread(buf + n, 1, cap - n, fp);

		n += got;
		if (n < cap)
		{
			if (ferror(fp))
			{
				changelog_error(path, 0, "could not read file: %s",
								strerror(errno));
				fclose(fp);
				pfree(buf);
				return NULL;
			}
			break;
		}
		cap *= 2;
		buf = repalloc(buf, cap + 1);
	}
	fclose(fp);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
	{
		changelog_error(path, 0, "file contains a NUL byte");
		changelog_hint("Changelog files must be UTF-8 text.");
		pfree(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Skip ASCII whitespace. */
const char *
cl_skip_ws(const char *s)
{
	while (isspace((unsigned char) *s))
		s++;
	return s;
}

/* Is s empty or only whitespace? */
bool
cl_is_blank(const char *s)
{
	return *cl_skip_ws(s) == '\0';
}

/* Trim whitespace at both ends, in place; returns s. */
char *
cl_trim(char *s)
{
	const char *start = cl_skip_ws(s);
	size_t		n = strlen(start);

	while (n > 0 && isspace((unsigned char) start[n - 1]))
		n--;
	memmove(s, start, n);
	s[n] = '\0';
	return s;
}

/*
 * Split "key:value key:"quoted value" ..." into tokens, the shape of every
 * Liquibase directive's arguments.  Advances *p past one token and returns
 * false at the end.  key and value are palloc'd; value is NULL when the
 * token has no colon, for the caller to report.  With space_after_colon,
 * "key: value" is read as key "key", value "value", which Liquibase allows
 * for --property name and value.
 */
bool
cl_next_token(const char **p, char **key, char **value, bool space_after_colon)
{
	const char *s = cl_skip_ws(*p);
	const char *k;

	if (*s == '\0')
		return false;
	k = s;
	while (*s && *s != ':' && !isspace((unsigned char) *s))
		s++;
	*key = pnstrdup(k, s - k);
	if (*s != ':')
	{
		*value = NULL;
		*p = s;
		return true;
	}
	s++;
	if (space_after_colon)
		s = cl_skip_ws(s);
	if (*s == '"' && strchr(s + 1, '"') != NULL)
	{
		const char *end = strchr(s + 1, '"');

		*value = pnstrdup(s + 1, end - s - 1);
		*p = end + 1;
		return true;
	}
	k = s;
	while (*s && !isspace((unsigned char) *s))
		s++;
	*value = pnstrdup(k, s - k);
	*p = s;
	return true;
}

/*
 * Parse a Liquibase boolean attribute; anything but true/false (any case)
 * is reported as an error, where Liquibase would quietly read false.
 */
bool
cl_parse_bool(const char *file, int line, const char *key, const char *value,
			  bool *out)
{
	if (pg_strcasecmp(value, "true") == 0)
		*out = true;
	else if (pg_strcasecmp(value, "false") == 0)
		*out = false;
	else
	{
		changelog_error(file, line, "%s:%s is not a boolean", key, value);
		changelog_hint("Write %s:true or %s:false.", key, key);
		return false;
	}
	return true;
}
