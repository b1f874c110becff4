/*-------------------------------------------------------------------------
 *
 * changelog_sql.c
 *	  Reader for Liquibase "formatted SQL" changelog files, following
 *	  Liquibase 4.28's FormattedSqlChangeLogParser line by line.
 *
 * Where Liquibase silently ignores what it does not understand (an unknown
 * changeset attribute, SQL before the first changeset, a --rollback with no
 * changeset), this reader reports an error naming the file and line, so a
 * misspelt directive can never turn into SQL that quietly runs or does not.
 * Directive detection itself (which lines are --comment, --rollback, ...)
 * matches Liquibase's, so the SQL we run is the SQL Liquibase would run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>

#include "changelog_sql.h"
#include "changelog_sql_int.h"
#include "lib/stringinfo.h"
#include "properties.h"

/* The state of one file being read. */

/* Case-insensitive prefix test. */
bool
cl_has_prefix_ci(const char *s, const char *prefix)
{
	return pg_strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Match "[ws]-...-[ws]keyword" at the start of line, case-insensitively.
 * Returns the text after the keyword and sets *ndash to the number of
 * dashes, or returns NULL.  With indent false, the line must start with
 * the dash, as Liquibase requires for --comment, --validCheckSum and
 * --ignoreLines.
 */
static const char *
match_directive(const char *line, bool indent, const char *keyword,
				int *ndash)
{
	const char *p = indent ? cl_skip_ws(line) : line;
	int			n = 0;

	for (; *p == '-'; p++)
		n++;
	if (n == 0)
		return NULL;
	p = cl_skip_ws(p);
	if (!cl_has_prefix_ci(p, keyword))
		return NULL;
	*ndash = n;
	return p + strlen(keyword);
}

/* Substitute properties in text (global, then file-local ones). */
char *
sqlreader_subst(SqlReader *r, const char *text)
{
	return properties_substitute_scoped(r->props, &r->local_props, text);
}

/*
 * Parse "--changeset author:id attrs..." (text after "changeset") into a
 * new changeset, the way CHANGE_SET_REGEX and its author:id check do: the
 * author runs to the first colon (or is double-quoted), the id runs to the
 * next blank (or is double-quoted) and may itself contain colons.
 */
static bool
start_changeset(SqlReader *r, int lineno, const char *rest)
{
	const char *p = cl_skip_ws(rest);
	const char *q;
	char	   *author;
	char	   *id;
	Changeset  *cs;

	if (p == rest)
		goto bad;
	/* the author: "quoted" then ':', or everything up to the first ':' */
	q = (*p == '"') ? strchr(p + 1, '"') : NULL;
	if (q && q > p + 1 && q[1] == ':')
	{
		author = pnstrdup(p + 1, q - p - 1);
		p = q + 2;
	}
	else if ((q = strchr(p, ':')) != NULL && q > p)
	{
		author = pnstrdup(p, q - p);
		p = q + 1;
	}
	else
		goto bad;
	/* the id: "quoted", or up to the next blank (colons included) */
	q = (*p == '"') ? strchr(p + 1, '"') : NULL;
	if (q && q > p + 1)
		q++;
	else
		for (q = p; *q && !isspace((unsigned char) *q); q++)
			;
	id = (*p == '"' && q > p + 1 && q[-1] == '"') ?
		pnstrdup(p + 1, q - p - 2) : pnstrdup(p, q - p);
	p = q;
	/* an id of only colons and blanks is empty, as Liquibase checks */
	if ((*p && !isspace((unsigned char) *p)) || *cl_trim(author) == '\0' ||
		strspn(id, ": ") == strlen(id))
	{
		pfree(author);
		pfree(id);
		goto bad;
	}

	cs = changeset_new(CSF_LIQUIBASE_SQL);
	cs->author = sqlreader_subst(r, author);
	cs->id = sqlreader_subst(r, id);
	pfree(author);
	pfree(id);
	cs->file = pstrdup(r->file);
	cs->line = lineno;
	/* Liquibase's formatted SQL strips comments unless told otherwise */
	cs->strip_comments = true;
	r->cs = cs;
	if (!sqlreader_apply_attributes(r, cs, lineno, p))
		return false;
	/* as in Liquibase: the changeset's own, the file's own, then the caller's */
	if (cs->path == NULL)
		cs->path = pstrdup(r->header_path ? r->header_path :
						   r->logical_path ? r->logical_path : r->file);
	return true;

bad:
	changelog_error(r->file, lineno, "--changeset line needs author:id");
	changelog_hint("Write it as \"--changeset author:id [attribute:value ...]\"; quote an author with blanks as --changeset \"Jane Doe\":id.");
	return false;
}

/* Reset the per-changeset buffers for the next --changeset. */
static void
reset_changeset_state(SqlReader *r)
{
	resetStringInfo(&r->body);
	resetStringInfo(&r->rollback);
	resetStringInfo(&r->verify);
	r->body_line = 0;
	r->rollback_line = 0;
	r->has_verify = false;
	r->verify_line = 0;
}

/*
 * Outside comments, does line hold anything?  Tracks nested block comments
 * across lines in *depth (PostgreSQL nests them).
 */
static bool
has_code(const char *line, int *depth)
{
	const char *p = line;

	while (*p)
	{
		if (*depth > 0)
		{
			if ((p[0] == '/' && p[1] == '*') || (p[0] == '*' && p[1] == '/'))
			{
				*depth += (p[0] == '/') ? 1 : -1;
				p += 2;
			}
			else
				p++;
		}
		else if (isspace((unsigned char) *p))
			p++;
		else if (p[0] == '-' && p[1] == '-')
			return false;
		else if (p[0] == '/' && p[1] == '*')
		{
			(*depth)++;
			p += 2;
		}
		else
			return true;
	}
	return false;
}

/* Split data into lines in place: LF ends a line, a CR before it goes. */
static void
split_lines(SqlReader *r, char *data)
{
	int			cap = 256;
	char	   *p = data;

	r->lines = palloc(cap * sizeof(char *));
	r->nlines = 0;
	while (*p)
	{
		char	   *eol = strchr(p, '\n');

		if (r->nlines == cap)
		{
			cap *= 2;
			r->lines = repalloc(r->lines, cap * sizeof(char *));
		}
		r->lines[r->nlines++] = p;
		if (eol == NULL)
			break;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		*eol = '\0';
		p = eol + 1;
	}
}

/* Index of the first non-blank line, or -1. */
static int
first_nonblank(SqlReader *r)
{
	for (int i = 0; i < r->nlines; i++)
		if (!cl_is_blank(r->lines[i]))
			return i;
	return -1;
}

/* Is this the "--liquibase formatted ..." header (FIRST_LINE_PATTERN)? */
static bool
is_header(const char *line)
{
	int			n;
	const char *p = match_directive(line, true, "liquibase", &n);

	return p != NULL && n == 2 && cl_has_prefix_ci(cl_skip_ws(p), "formatted");
}

bool
changelog_sql_sniff(const char *path)
{
	FILE	   *fp = fopen(path, "rb");
	char		buf[4096];
	bool		result = false;
	bool		first = true;

	if (fp == NULL)
		return false;
	while (fgets(buf, sizeof(buf), fp))
	{
		char	   *line = buf;

		if (first && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
			line += 3;
		first = false;
		if (cl_is_blank(line))
			continue;
		result = is_header(line);
		break;
	}
	fclose(fp);
	return result;
}

/* Report a directive written with one dash, which Liquibase rejects. */
static void
bad_dashes(SqlReader *r, int lineno, const char *keyword)
{
	changelog_error(r->file, lineno, "\"-%s\" needs two dashes", keyword);
	changelog_hint("Write --%s.", keyword);
}

/*
 * --property and --ignoreLines, which Liquibase honours anywhere in the
 * file, before the first changeset too.  Returns 1 if line was one of
 * them, 0 if not, -1 after reporting an error.
 */
static int
handle_meta_line(SqlReader *r, const char *line, int lineno)
{
	const char *rest;
	int			nd;

	rest = match_directive(line, true, "property", &nd);
	if (rest && nd <= 2 && (*rest == '\0' || isspace((unsigned char) *rest)))
	{
		if (nd == 1)
		{
			bad_dashes(r, lineno, "property");
			return -1;
		}
		return properties_parse_directive(rest, r->props, &r->local_props,
										  r->file, lineno) ? 1 : -1;
	}

	rest = match_directive(line, false, "ignoreLines:", &nd);
	if (rest && nd <= 2)
	{
		char	   *arg = cl_trim(pstrdup(rest));
		int			result = 1;

		if (nd == 1)
		{
			bad_dashes(r, lineno, "ignoreLines");
			result = -1;
		}
		else if (pg_strcasecmp(arg, "start") == 0)
		{
			int			i;

			for (i = r->pos + 1; i < r->nlines; i++)
			{
				const char *e = match_directive(r->lines[i], false,
												"ignoreLines:", &nd);

				if (e && nd == 2 && pg_strcasecmp(cl_skip_ws(e), "end") == 0)
					break;
			}
			if (i == r->nlines)
			{
				/* Liquibase would silently drop the rest of the file */
				changelog_error(r->file, lineno,
								"--ignoreLines:start without --ignoreLines:end");
				changelog_hint("Add a line \"--ignoreLines:end\" where the ignored lines end.");
				result = -1;
			}
			r->pos = i;
		}
		else if (*arg && strspn(arg, "0123456789") == strlen(arg))
		{
			long		n = strtol(arg, NULL, 10);

			r->pos = (n >= r->nlines - r->pos) ? r->nlines - 1 : r->pos + (int) n;
		}
		else
		{
			changelog_error(r->file, lineno, "unknown --ignoreLines value \"%s\"",
							arg);
			changelog_hint("Write --ignoreLines:<count>, or --ignoreLines:start ... --ignoreLines:end.");
			result = -1;
		}
		pfree(arg);
		return result;
	}

	/* "--ignore:x" alone on a line, an error in Liquibase as well */
	rest = match_directive(line, false, "ignore:", &nd);
	if (rest && nd == 2 && *rest && strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(rest))
	{
		changelog_error(r->file, lineno, "\"--ignore:%s\" is not a directive", rest);
		changelog_hint("To skip lines write --ignoreLines:<count> or --ignoreLines:start ... --ignoreLines:end; to skip a changeset add ignore:true to its --changeset line.");
		return -1;
	}
	return 0;
}

typedef enum Directive
{
	D_NONE, D_ERROR, D_COMMENT, D_CHECKSUM, D_ROLLBACK, D_ROLLBACK_BLOCK,
	D_VERIFY, D_VERIFY_BLOCK, D_PRECONDITIONS, D_PRECONDITION, D_TAG
} Directive;

static const char *const directive_names[] = {
	"", "", "--comment", "--validCheckSum", "--rollback",
	"/* liquibase rollback", "--verify", "/* pgchange verify",
	"--preconditions", "--precondition", "--tag"
};

/* Is line a comment opener followed by w1 w2 and nothing else? */
static bool
is_block_start(const char *line, const char *w1, const char *w2)
{
	const char *p = cl_skip_ws(line);

	if (p[0] != '/' || p[1] != '*')
		return false;
	p = cl_skip_ws(p + 2);
	if (!cl_has_prefix_ci(p, w1))
		return false;
	p = cl_skip_ws(p + strlen(w1));
	return cl_has_prefix_ci(p, w2) && cl_is_blank(p + strlen(w2));
}

/*
 * Which changeset directive is line, if any?  *arg receives the text after
 * the keyword.  The shapes are Liquibase's: --comment and --validCheckSum
 * must start the line and be followed by an optional ':' and a blank,
 * --rollback by a blank; one dash is an error, three dashes a comment.
 */
static Directive
classify(SqlReader *r, const char *line, int lineno, const char **arg)
{
	const char *rest;
	const char *q;
	int			nd;

	if ((rest = match_directive(line, false, "comment", &nd)) != NULL && nd <= 2)
	{
		bool		plural = (*rest == 's' || *rest == 'S');

		q = rest + (plural ? 1 : 0);
		if (*q == ':')
			q++;
		if (*q == ' ' || *q == '\t')
		{
			if (nd == 2 && !plural)
			{
				*arg = q + 1;
				return D_COMMENT;
			}
			if (plural)
			{
				changelog_error(r->file, lineno, "\"--comments\" is not a directive");
				changelog_hint("Write --comment: <text>.");
			}
			else
				bad_dashes(r, lineno, "comment");
			return D_ERROR;
		}
	}
	if ((rest = match_directive(line, false, "validCheckSum", &nd)) != NULL && nd <= 2)
	{
		if (nd == 1)
		{
			bad_dashes(r, lineno, "validCheckSum");
			return D_ERROR;
		}
		q = (*rest == ':') ? rest + 1 : rest;
		if (*q == ' ' || *q == '\t')
		{
			*arg = q + 1;
			return D_CHECKSUM;
		}
	}
	if (((rest = match_directive(line, true, "rollback", &nd)) != NULL ||
		 (rest = match_directive(line, true, "verify", &nd)) != NULL) &&
		nd <= 2 && (*rest == ' ' || *rest == '\t'))
	{
		bool		is_rollback = cl_has_prefix_ci(cl_skip_ws(cl_skip_ws(line) + nd), "rollback");

		if (nd == 1)
		{
			bad_dashes(r, lineno, is_rollback ? "rollback" : "verify");
			return D_ERROR;
		}
		*arg = rest + 1;
		return is_rollback ? D_ROLLBACK : D_VERIFY;
	}
	/*
	 * pgchange's own "--tag NAME": tags the database once this changeset is
	 * applied.  Written exactly so, as "-- tag the table" is a comment.
	 */
	if (pg_strncasecmp(line, "--tag", 5) == 0 &&
		(line[5] == ':' || line[5] == ' ' || line[5] == '\t'))
	{
		*arg = line + 6;
		return D_TAG;
	}
	if (is_block_start(line, "liquibase", "rollback"))
		return D_ROLLBACK_BLOCK;
	if (is_block_start(line, "pgchange", "verify"))
		return D_VERIFY_BLOCK;
	if ((rest = match_directive(line, true, "preconditions", &nd)) != NULL && nd == 2)
	{
		*arg = rest;
		return D_PRECONDITIONS;
	}
	if ((rest = match_directive(line, true, "precondition-", &nd)) != NULL && nd == 2)
	{
		q = rest + strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
		if (q > rest && (*q == '\0' || isspace((unsigned char) *q)))
		{
			*arg = rest;
			return D_PRECONDITION;
		}
	}
	if ((rest = match_directive(line, true, "precondition", &nd)) != NULL && nd == 1)
	{
		bad_dashes(r, lineno, "precondition");
		return D_ERROR;
	}
	return D_NONE;
}

/* Read a multi-line block up to a line ending in the closing comment mark. */
static bool
read_block(SqlReader *r, int start_line, StringInfo buf, const char *what)
{
	for (r->pos++; r->pos < r->nlines; r->pos++)
	{
		const char *line = r->lines[r->pos];
		size_t		n = strlen(line);

		while (n > 0 && isspace((unsigned char) line[n - 1]))
			n--;
		if (n >= 2 && line[n - 2] == '*' && line[n - 1] == '/')
		{
			char	   *before = pnstrdup(line, n - 2);

			if (!cl_is_blank(before))
				appendStringInfo(buf, "%s\n", before);
			pfree(before);
			return true;
		}
		appendStringInfo(buf, "%s\n", line);
	}
	changelog_error(r->file, start_line, "%s block is not closed", what);
	changelog_hint("End the block with a line ending in \"*/\".");
	return false;
}

/*
 * The directives that belong to a changeset.  Returns 1 if line was one,
 * 0 if it is SQL (or a plain comment), -1 after reporting an error.
 */
static int
handle_changeset_directive(SqlReader *r, const char *line, int lineno)
{
	const char *arg = NULL;
	Directive	d = classify(r, line, lineno, &arg);
	Changeset  *cs = r->cs;

	if (d == D_NONE)
		return 0;
	if (d == D_ERROR)
		return -1;
	if (cs == NULL)
	{
		changelog_error(r->file, lineno, "%s before the first --changeset",
						directive_names[d]);
		changelog_hint("Directives belong to the changeset above them; put \"--changeset author:id\" first.");
		return -1;
	}
	switch (d)
	{
		case D_COMMENT:
			/* the last --comment wins, as in Liquibase */
			if (cs->comment)
				pfree(cs->comment);
			cs->comment = cl_trim(pstrdup(arg));
			break;
		case D_CHECKSUM:
			{
				char	   *v = cl_trim(pstrdup(arg));

				if (*v == '\0')
				{
					changelog_error(r->file, lineno, "--validCheckSum needs a value");
					pfree(v);
					return -1;
				}
				if (pg_strcasecmp(v, "any") == 0)
					strcpy(v, "ANY");
				cs->valid_checksums = cs->valid_checksums ?
					repalloc(cs->valid_checksums, (cs->nvalid_checksums + 1) * sizeof(char *)) :
					palloc(sizeof(char *));
				cs->valid_checksums[cs->nvalid_checksums++] = v;
				break;
			}
		case D_ROLLBACK:
			if (r->rollback_line == 0)
				r->rollback_line = lineno;
			appendStringInfo(&r->rollback, "%s\n", arg);
			break;
		case D_VERIFY:
			if (r->verify_line == 0)
				r->verify_line = lineno;
			r->has_verify = true;
			appendStringInfo(&r->verify, "%s\n", arg);
			break;
		case D_ROLLBACK_BLOCK:
			if (r->rollback_line == 0)
				r->rollback_line = lineno;
			return read_block(r, lineno, &r->rollback, "/* liquibase rollback") ? 1 : -1;
		case D_VERIFY_BLOCK:
			if (r->verify_line == 0)
				r->verify_line = lineno + 1;
			r->has_verify = true;
			return read_block(r, lineno, &r->verify, "/* pgchange verify") ? 1 : -1;
		case D_PRECONDITIONS:
			return sqlreader_parse_preconditions(r, lineno, arg) ? 1 : -1;
		case D_PRECONDITION:
			return sqlreader_parse_precondition(r, lineno, arg) ? 1 : -1;
		case D_TAG:
			{
				char	   *t = cl_trim(sqlreader_subst(r, arg));

				if (*t == '\0' || strpbrk(t, " \t") != NULL || cs->tag != NULL)
				{
					if (cs->tag)
						changelog_error(r->file, lineno, "changeset %s:%s has a second --tag",
										cs->author, cs->id);
					else
						changelog_error(r->file, lineno, "--tag needs one name without blanks");
					changelog_hint("Write \"--tag NAME\" once in the changeset that ends the tagged state.");
					pfree(t);
					return -1;
				}
				cs->tag = t;
				break;
			}
		default:
			break;
	}
	return 1;
}

/* Read the file and run the line loop; see changelog_sql_read. */
static bool
read_lines(SqlReader *r)
{
	int			start = first_nonblank(r);
	int			depth = 0;

	if (start < 0 || !is_header(r->lines[start]))
	{
		changelog_error(r->file, start < 0 ? 0 : start + 1,
						"not a Liquibase formatted SQL file");
		changelog_hint("The first line must be \"--liquibase formatted sql\".");
		return false;
	}
	r->header_path = sqlreader_find_last_value(r->lines[start], "logicalfilepath:");

	for (r->pos = start + 1; r->pos < r->nlines; r->pos++)
	{
		const char *line = r->lines[r->pos];
		int			lineno = r->pos + 1;
		const char *rest;
		int			nd;
		int			handled;

		handled = handle_meta_line(r, line, lineno);
		if (handled < 0)
			return false;
		if (handled > 0)
			continue;

		rest = match_directive(line, true, "changeset", &nd);
		if (rest && nd <= 2)
		{
			if (nd == 1)
			{
				bad_dashes(r, lineno, "changeset");
				return false;
			}
			if (!sqlreader_finish_changeset(r))
				return false;
			reset_changeset_state(r);
			if (!start_changeset(r, lineno, rest))
				return false;
			continue;
		}

		handled = handle_changeset_directive(r, line, lineno);
		if (handled < 0)
			return false;
		if (handled > 0)
			continue;

		if (r->cs == NULL)
		{
			if (has_code(line, &depth))
			{
				changelog_error(r->file, lineno, "SQL before the first --changeset");
				changelog_hint("Put \"--changeset author:id\" above it, or turn it into a comment.");
				return false;
			}
			continue;
		}

		/* a body line; leading blank lines are dropped, like Liquibase's trim */
		if (r->body.len == 0 && cl_is_blank(line))
			continue;
		if (r->body_line == 0)
			r->body_line = lineno;
		appendStringInfoString(&r->body, line);
		appendStringInfoChar(&r->body, '\n');
	}
	return sqlreader_finish_changeset(r);
}

bool
changelog_sql_read(const char *path, const char *logical_path,
				   const char *include_contexts, const char *include_labels,
				   PropertyList *props, Changelog *out)
{
	SqlReader	r;
	size_t		len;
	char	   *data = changelog_read_file(path, &len);
	bool		ok;

	if (data == NULL)
		return false;

	memset(&r, 0, sizeof(r));
	r.file = path;
	r.logical_path = logical_path;
	r.include_contexts = include_contexts;
	r.include_labels = include_labels;
	properties_init(&r.own_props);
	properties_init(&r.local_props);
	r.props = props ? props : &r.own_props;
	initStringInfo(&r.body);
	initStringInfo(&r.rollback);
	initStringInfo(&r.verify);

	/* a UTF-8 BOM is not part of the text (Liquibase's reader drops it) */
	split_lines(&r, len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ?
				data + 3 : data);

	ok = read_lines(&r) && sqlreader_check_file_duplicates(&r);
	if (ok)
	{
		for (int i = 0; i < r.result.count; i++)
			changelog_append(out, r.result.items[i]);
		if (r.result.items)
			pfree(r.result.items);
	}
	else
	{
		if (r.cs)
			changelog_append(&r.result, r.cs);
		changelog_free(&r.result);
	}

	pfree(r.lines);
	pfree(r.body.data);
	pfree(r.rollback.data);
	pfree(r.verify.data);
	if (r.header_path)
		pfree(r.header_path);
	properties_free(&r.own_props);
	properties_free(&r.local_props);
	pfree(data);
	return ok;
}
