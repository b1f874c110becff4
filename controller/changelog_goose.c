/*-------------------------------------------------------------------------
 *
 * changelog_goose.c
 *	  Reader for goose v3 SQL migrations, splitting statements exactly as
 *	  goose's sqlparser does.
 *
 * goose does not lex SQL: a statement ends at a line whose last word
 * before any "--" word ends in ';', except between StatementBegin and
 * StatementEnd, where the whole block is one statement.  Comments and
 * empty lines before a statement are dropped, those inside it kept.  We
 * reproduce that line for line (rather than re-split with PostgreSQL's
 * lexer) because the statements goose sends are the ones the migration's
 * author tested.  ENVSUB ON regions get goose's ${VAR} expansion from the
 * process environment (mfridman/interpolate syntax).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>

#include "changelog_goose.h"
#include "changelog_sql.h"
#include "lib/stringinfo.h"

/* goose's parser states */
typedef enum GooseState
{
	G_START, G_UP, G_BEGIN_UP, G_END_UP, G_DOWN, G_BEGIN_DOWN, G_END_DOWN
} GooseState;

typedef enum GooseAnnotation
{
	A_UP, A_DOWN, A_BEGIN, A_END, A_NO_TX, A_ENVSUB_ON, A_ENVSUB_OFF,
	A_INVALID
} GooseAnnotation;

static const char *const annotation_names[] = {
	"Up", "Down", "StatementBegin", "StatementEnd", "NO TRANSACTION",
	"ENVSUB ON", "ENVSUB OFF"
};

/* statements of one direction, each with its first line */
typedef struct StmtList
{
	char	  **items;
	int		   *lines;
	int			count;
	int			capacity;
} StmtList;

typedef struct GooseReader
{
	const char *file;
	GooseState	state;
	bool		envsub;			/* inside ENVSUB ON */
	bool		any_envsub;
	bool		no_tx;
	int			up_line;		/* line of -- +goose Up */
	int			begin_line;		/* line of the open StatementBegin */
	StringInfoData buf;			/* the statement being collected */
	int			buf_line;		/* its first non-blank line */
	StringInfoData text[2];		/* Up and Down section text */
	int			text_line[2];	/* first non-blank line of each */
	bool		has_down;
	StmtList	stmts[2];		/* Up and Down statements */
} GooseReader;

/* --- goose's ENVSUB expansion (mfridman/interpolate) --------------------- */

typedef struct Interp
{
	const char *s;
	size_t		pos;
	size_t		len;
	char	   *err;			/* palloc'd message after a failure */
} Interp;

static bool interp_expr(Interp *in, int stop, StringInfo out);

static int
peek_char(Interp *in)
{
	return in->pos < in->len ? (unsigned char) in->s[in->pos] : -1;
}

static bool
interp_fail(Interp *in, const char *msg, int c)
{
	if (c < 0)
		in->err = psprintf("%s, got end of line", msg);
	else
		in->err = psprintf("%s, got %c", msg, c);
	return false;
}

/* Append to out unless we are only checking syntax (out == NULL). */
static void
emit(StringInfo out, const char *s, size_t n)
{
	if (out)
		appendBinaryStringInfo(out, s, n);
}

static bool
is_ident_char(int c, bool first)
{
	/* non-ASCII bytes stand in for Unicode letters */
	return c >= 0x80 || isalpha(c) || (!first && (isdigit(c) || c == '_'));
}

/* An identifier starts with a letter; then letters, digits, '_'. */
static bool
scan_identifier(Interp *in, char **id)
{
	size_t		start = in->pos;

	if (!is_ident_char(peek_char(in), true))
		return interp_fail(in, "Expected identifier to start with a letter",
						   peek_char(in));
	while (in->pos < in->len && is_ident_char((unsigned char) in->s[in->pos], false))
		in->pos++;
	*id = pnstrdup(in->s + start, in->pos - start);
	return true;
}

/* Go's strconv.Atoi on a trimmed string: [+-]digits, nothing else. */
static bool
go_atoi(const char *s, size_t n, long *out)
{
	char	   *t = cl_trim(pnstrdup(s, n));
	char	   *p = t;
	bool		ok;

	if (*p == '+' || *p == '-')
		p++;
	ok = *p != '\0' && strspn(p, "0123456789") == strlen(p) && strlen(p) < 18;
	if (ok)
		*out = strtol(t, NULL, 10);
	pfree(t);
	return ok;
}

/* ${VAR:offset[:length]}, byte-based like Go's string slicing */
static bool
interp_substring(Interp *in, const char *val, StringInfo out)
{
	size_t		start = in->pos;
	long		from;
	long		to;
	long		vlen = val ? (long) strlen(val) : 0;

	while (in->pos < in->len && in->s[in->pos] != ':' && in->s[in->pos] != '}')
		in->pos++;
	if (!go_atoi(in->s + start, in->pos - start, &from))
	{
		in->err = psprintf("Unable to parse offset \"%.*s\"",
						   (int) (in->pos - start), in->s + start);
		return false;
	}
	if (from < 0)
		from += vlen;
	from = from < 0 ? 0 : (from > vlen ? vlen : from);
	to = vlen;
	if (peek_char(in) == ':')
	{
		in->pos++;
		start = in->pos;
		while (in->pos < in->len && in->s[in->pos] != '}')
			in->pos++;
		if (!go_atoi(in->s + start, in->pos - start, &to))
		{
			in->err = psprintf("Unable to parse length \"%.*s\"",
							   (int) (in->pos - start), in->s + start);
			return false;
		}
		to = (to >= 0) ? to + from : (to + vlen < from ? from : to + vlen);
		if (to > vlen)
			to = vlen;
	}
	if (val)
		emit(out, val + from, to - from);
	return true;
}

/* ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:off:len}, ${VAR?msg} */
static bool
interp_brace(Interp *in, StringInfo out)
{
	char	   *id;
	const char *val;
	int			op;
	bool		ok = true;

	in->pos++;					/* '{' */
	if (!scan_identifier(in, &id))
		return false;
	val = getenv(id);
	op = peek_char(in);
	in->pos++;
	if (op == '}')
	{
		if (val)
			emit(out, val, strlen(val));
	}
	else if (op == ':' && peek_char(in) == '-')
	{
		bool		empty = (val == NULL || *val == '\0');

		in->pos++;
		ok = interp_expr(in, '}', empty ? out : NULL);
		if (ok && !empty)
			emit(out, val, strlen(val));
	}
	else if (op == '-')
	{
		ok = interp_expr(in, '}', val == NULL ? out : NULL);
		if (ok && val)
			emit(out, val, strlen(val));
	}
	else if (op == ':')
		ok = interp_substring(in, val, out);
	else if (op == '?')
	{
		StringInfoData msg;

		initStringInfo(&msg);
		ok = interp_expr(in, '}', &msg);
		if (ok && val == NULL && out != NULL)
		{
			in->err = psprintf("$%s: %s", id, msg.len ? msg.data : "not set");
			ok = false;
		}
		else if (ok && val)
			emit(out, val, strlen(val));
		pfree(msg.data);
	}
	else
		ok = interp_fail(in, "Expected an operator", op);

	if (ok && op != '}')
	{
		int			c = peek_char(in);

		in->pos++;
		if (c != '}')
			ok = interp_fail(in, "Expected brace expansion to end with }", c);
	}
	pfree(id);
	return ok;
}

/*
 * Text and expansions up to stop (-1: end).  "\\" stays, "\$" and "$$"
 * give "$", "$(" is left alone, a final "$" is literal.
 */
static bool
interp_expr(Interp *in, int stop, StringInfo out)
{
	while (in->pos < in->len)
	{
		const char *p = in->s + in->pos;

		if ((unsigned char) *p == stop)
			break;
		if ((p[0] == '\\' && p[1] == '\\') || (p[0] == '$' && p[1] == '('))
		{
			emit(out, p, 2);
			in->pos += 2;
		}
		else if ((p[0] == '\\' || p[0] == '$') && p[1] == '$')
		{
			emit(out, "$", 1);
			in->pos += 2;
		}
		else if (p[0] == '$' && in->pos < in->len - 1)
		{
			in->pos++;
			if (peek_char(in) == '{')
			{
				if (!interp_brace(in, out))
					return false;
			}
			else
			{
				char	   *id;
				const char *val;

				if (!scan_identifier(in, &id))
					return false;
				val = getenv(id);
				if (val)
					emit(out, val, strlen(val));
				pfree(id);
			}
		}
		else
		{
			/* one character, then plain text up to the next special one */
			size_t		n = 1;

			while (in->pos + n < in->len && p[n] != '$' && p[n] != '\\' &&
				   (unsigned char) p[n] != stop)
				n++;
			emit(out, p, n);
			in->pos += n;
		}
	}
	return true;
}

/* Expand one line; NULL (and *err) on a syntax or ${VAR?} error. */
static char *
envsub_line(const char *line, char **err)
{
	Interp		in;
	StringInfoData out;

	in.s = line;
	in.pos = 0;
	in.len = strlen(line);
	in.err = NULL;
	initStringInfo(&out);
	if (!interp_expr(&in, -1, &out))
	{
		*err = in.err;
		pfree(out.data);
		return NULL;
	}
	return out.data;
}

/* --- the parser --------------------------------------------------------- */

/*
 * goose's extractAnnotation: no leading blank, every "--" removed, one
 * "+goose", the rest matched case-insensitively.  Reports and returns
 * A_INVALID on anything else.
 */
static GooseAnnotation
extract_annotation(GooseReader *g, int lineno, const char *line)
{
	StringInfoData cmd;
	const char *p;
	GooseAnnotation result = A_INVALID;

	if (line[0] == ' ' || line[0] == '\t')
	{
		changelog_error(g->file, lineno, "goose annotation must start at the beginning of the line");
		changelog_hint("Remove the leading blanks: goose rejects \"%s\".", line);
		return A_INVALID;
	}
	initStringInfo(&cmd);
	for (p = line; *p; p++)
	{
		if (p[0] == '-' && p[1] == '-')
			p++;
		else
			appendStringInfoChar(&cmd, *p);
	}
	p = strstr(cmd.data, "+goose");
	if (strstr(p + 6, "+goose") != NULL)
		changelog_error(g->file, lineno, "more than one \"+goose\" on one line");
	else
	{
		char	   *name = cl_trim(pstrdup(p + 6));

		for (int i = 0; i < A_INVALID; i++)
			if (pg_strcasecmp(name, annotation_names[i]) == 0)
				result = (GooseAnnotation) i;
		if (result == A_INVALID)
		{
			changelog_error(g->file, lineno, "unknown goose annotation \"%s\"", name);
			changelog_hint("The goose annotations are -- +goose Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON and ENVSUB OFF.");
		}
		pfree(name);
	}
	pfree(cmd.data);
	return result;
}

static void
stmt_add(StmtList *l, char *stmt, int line)
{
	if (l->count == l->capacity)
	{
		l->capacity = l->capacity ? l->capacity * 2 : 8;
		l->items = l->items ? repalloc(l->items, l->capacity * sizeof(char *)) :
			palloc(l->capacity * sizeof(char *));
		l->lines = l->lines ? repalloc(l->lines, l->capacity * sizeof(int)) :
			palloc(l->capacity * sizeof(int));
	}
	l->items[l->count] = stmt;
	l->lines[l->count++] = line;
}

/* Store the collected statement (goose trims it) in the current direction. */
static void
emit_statement(GooseReader *g, int dir, int lineno)
{
	char	   *stmt = cl_trim(pstrdup(g->buf.data));

	stmt_add(&g->stmts[dir], stmt, g->buf_line ? g->buf_line : lineno);
	resetStringInfo(&g->buf);
	g->buf_line = 0;
}

/* goose's endsWithSemicolon: the last word before any "--" word ends in ';' */
static bool
ends_with_semicolon(const char *line)
{
	const char *p = line;
	const char *last_end = NULL;

	for (;;)
	{
		p = cl_skip_ws(p);
		if (*p == '\0' || (p[0] == '-' && p[1] == '-'))
			break;
		while (*p && !isspace((unsigned char) *p))
			p++;
		last_end = p;
	}
	return last_end != NULL && last_end[-1] == ';';
}

/* Report an unterminated statement. */
static bool
missing_semicolon(GooseReader *g, int lineno)
{
	changelog_error(g->file, g->buf_line ? g->buf_line : lineno,
					"unfinished SQL statement (missing semicolon?)");
	changelog_hint("End the statement with \";\" at the end of a line, as goose requires; wrap statements containing other semicolons in -- +goose StatementBegin / -- +goose StatementEnd.");
	return false;
}

/* Apply an annotation to the state machine; false after an error. */
static bool
apply_annotation(GooseReader *g, GooseAnnotation a, int lineno)
{
	GooseState s = g->state;

	switch (a)
	{
		case A_UP:
			if (s != G_START)
			{
				changelog_error(g->file, lineno, "duplicate -- +goose Up annotation");
				return false;
			}
			g->state = G_UP;
			g->up_line = lineno;
			return true;
		case A_DOWN:
			if (s != G_UP && s != G_END_UP)
			{
				changelog_error(g->file, lineno, s == G_START ?
								"-- +goose Down before -- +goose Up" :
								(s == G_BEGIN_UP || s == G_BEGIN_DOWN) ?
								"-- +goose Down inside a StatementBegin block" :
								"duplicate -- +goose Down annotation");
				return false;
			}
			if (!cl_is_blank(g->buf.data))
				return missing_semicolon(g, lineno);
			g->state = G_DOWN;
			g->has_down = true;
			return true;
		case A_BEGIN:
			if (s == G_UP || s == G_END_UP || s == G_DOWN || s == G_END_DOWN)
			{
				g->state = (s == G_UP || s == G_END_UP) ? G_BEGIN_UP : G_BEGIN_DOWN;
				g->begin_line = lineno;
				return true;
			}
			changelog_error(g->file, lineno, s == G_START ?
							"-- +goose StatementBegin before -- +goose Up" :
							"-- +goose StatementBegin inside a StatementBegin block");
			return false;
		case A_END:
			if (s != G_BEGIN_UP && s != G_BEGIN_DOWN)
			{
				changelog_error(g->file, lineno,
								"-- +goose StatementEnd without StatementBegin");
				return false;
			}
			if (cl_is_blank(g->buf.data))
			{
				/* goose would silently swallow the next line here */
				changelog_error(g->file, lineno, "empty StatementBegin/StatementEnd block");
				changelog_hint("Remove the empty block.");
				return false;
			}
			emit_statement(g, s == G_BEGIN_UP ? 0 : 1, lineno);
			g->state = (s == G_BEGIN_UP) ? G_UP : G_DOWN;
			return true;
		case A_NO_TX:
			g->no_tx = true;
			return true;
		case A_ENVSUB_ON:
		case A_ENVSUB_OFF:
			g->envsub = (a == A_ENVSUB_ON);
			g->any_envsub |= g->envsub;
			return true;
		case A_INVALID:
			break;
	}
	return false;
}

/* One line through goose's state machine. */
static bool
goose_line(GooseReader *g, const char *line, int lineno)
{
	const char *trimmed = cl_skip_ws(line);
	bool		skip;
	char	   *expanded = NULL;
	const char *text = line;
	int			dir;

	if (g->state == G_START && *trimmed == '\0')
		return true;
	if (trimmed[0] == '-' && trimmed[1] == '-' && strstr(line, "+goose") != NULL)
	{
		GooseAnnotation a = extract_annotation(g, lineno, line);

		return a != A_INVALID && apply_annotation(g, a, lineno);
	}

	/* comments and empty lines before a statement are not part of it */
	skip = g->buf.len == 0 && ((trimmed[0] == '-' && trimmed[1] == '-') ||
							   line[0] == '\0');
	if (g->envsub)
	{
		char	   *err = NULL;

		expanded = envsub_line(line, &err);
		if (expanded == NULL && !skip)
		{
			changelog_error(g->file, lineno, "variable substitution failed: %s", err);
			changelog_hint("In an ENVSUB ON region goose expands $NAME and ${NAME}; write $$ for a literal $.");
			return false;
		}
		if (err)
			pfree(err);
		if (expanded)
			text = expanded;
	}

	dir = (g->state >= G_DOWN) ? 1 : 0;
	if (g->state != G_START &&
		(g->text[dir].len > 0 || !cl_is_blank(text)))
	{
		if (g->text_line[dir] == 0)
			g->text_line[dir] = lineno;
		appendStringInfo(&g->text[dir], "%s\n", text);
	}

	if (!skip)
	{
		if (g->state == G_START)
		{
			changelog_error(g->file, lineno, "SQL before -- +goose Up");
			changelog_hint("Put the annotation above the SQL: goose runs only what follows \"-- +goose Up\".");
			if (expanded)
				pfree(expanded);
			return false;
		}
		if (g->buf_line == 0 && !cl_is_blank(text))
			g->buf_line = lineno;
		appendStringInfo(&g->buf, "%s\n", text);
		if ((g->state == G_UP || g->state == G_DOWN) && ends_with_semicolon(text))
			emit_statement(g, dir, lineno);
	}
	if (expanded)
		pfree(expanded);
	return true;
}

/* Trailing blanks of a section text go, as statements are trimmed too. */
static char *
section_text(StringInfo s)
{
	while (s->len > 0 && isspace((unsigned char) s->data[s->len - 1]))
		s->data[--s->len] = '\0';
	return pstrdup(s->data);
}

bool
changelog_goose_is_migration_name(const char *filename, int64 *version)
{
	const char *base = strrchr(filename, '/');
	size_t		n;
	size_t		d;
	int64		v = 0;

	base = base ? base + 1 : filename;
	n = strlen(base);
	d = strspn(base, "0123456789");
	if (d == 0 || base[d] != '_' || n < d + 5 || strcmp(base + n - 4, ".sql") != 0)
		return false;
	for (size_t i = 0; i < d; i++)
	{
		if (v > (PG_INT64_MAX - (base[i] - '0')) / 10)
			return false;
		v = v * 10 + (base[i] - '0');
	}
	if (v <= 0)
		return false;
	if (version)
		*version = v;
	return true;
}

bool
changelog_goose_read(const char *path, const char *logical_path, Changelog *out)
{
	const char *base = strrchr(path, '/');
	int64		version;
	size_t		len;
	char	   *data;
	char	   *p;
	GooseReader g;
	int			lineno = 0;
	bool		ok = true;
	Changeset  *cs;

	base = base ? base + 1 : path;
	if (!changelog_goose_is_migration_name(base, &version))
	{
		changelog_error(path, 0, "not a goose migration file name");
		changelog_hint("Name goose migrations <version>_<name>.sql with a version above zero, for example 00001_create_users.sql.");
		return false;
	}
	data = changelog_read_file(path, &len);
	if (data == NULL)
		return false;

	memset(&g, 0, sizeof(g));
	g.file = path;
	initStringInfo(&g.buf);
	initStringInfo(&g.text[0]);
	initStringInfo(&g.text[1]);

	/* a BOM would make goose fail on the first line; we just skip it */
	p = (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) ? data + 3 : data;
	while (ok && *p)
	{
		char	   *eol = strchr(p, '\n');

		if (eol)
		{
			*eol = '\0';
			if (eol > p && eol[-1] == '\r')
				eol[-1] = '\0';
		}
		ok = goose_line(&g, p, ++lineno);
		p = eol ? eol + 1 : p + strlen(p);
	}

	if (ok && g.state == G_START)
	{
		changelog_error(path, 0, "no -- +goose Up annotation");
		changelog_hint("Put \"-- +goose Up\" above the migration's SQL: goose requires one.");
		ok = false;
	}
	else if (ok && (g.state == G_BEGIN_UP || g.state == G_BEGIN_DOWN))
	{
		changelog_error(path, g.begin_line,
						"-- +goose StatementBegin without StatementEnd");
		ok = false;
	}
	else if (ok && !cl_is_blank(g.buf.data))
		ok = missing_semicolon(&g, lineno);

	if (ok)
	{
		const char *name_end = base + strlen(base) - 4;
		const char *name = base + strspn(base, "0123456789") + 1;

		cs = changeset_new(CSF_GOOSE);
		cs->id = psprintf(INT64_FORMAT, version);
		cs->author = pstrdup("goose");
		cs->comment = pnstrdup(name, name_end - name);
		cs->path = pstrdup(logical_path ? logical_path : base);
		cs->file = pstrdup(path);
		cs->line = g.up_line;
		cs->body = section_text(&g.text[0]);
		cs->body_line = g.text_line[0] ? g.text_line[0] : g.up_line;
		cs->rollback = g.has_down ? section_text(&g.text[1]) : NULL;
		cs->run_in_transaction = !g.no_tx;
		cs->goose_envsub = g.any_envsub;
		/* non-NULL even when empty: goose, not the deployer, split these */
		cs->statements = g.stmts[0].items ? g.stmts[0].items : palloc0(sizeof(char *));
		cs->statement_lines = g.stmts[0].lines ? g.stmts[0].lines : palloc0(sizeof(int));
		cs->nstatements = g.stmts[0].count;
		if (g.has_down)
		{
			cs->down_statements = g.stmts[1].items ? g.stmts[1].items : palloc0(sizeof(char *));
			cs->down_statement_lines = g.stmts[1].lines ? g.stmts[1].lines : palloc0(sizeof(int));
			cs->ndown_statements = g.stmts[1].count;
		}
		changelog_append(out, cs);
	}
	else
	{
		for (int d = 0; d < 2; d++)
		{
			for (int i = 0; i < g.stmts[d].count; i++)
				pfree(g.stmts[d].items[i]);
			if (g.stmts[d].items)
			{
				pfree(g.stmts[d].items);
				pfree(g.stmts[d].lines);
			}
		}
	}
	pfree(g.buf.data);
	pfree(g.text[0].data);
	pfree(g.text[1].data);
	pfree(data);
	return ok;
}
