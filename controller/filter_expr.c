/*-------------------------------------------------------------------------
 *
 * filter_expr.c
 *	  Liquibase context / label expressions and dbms lists.
 *
 * A recursive-descent parser over a handful of tokens builds a small tree;
 * evaluation is a walk over it.  Semantics follow Liquibase 4.28 (see
 * filter_expr.h for the rules and where they come from).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>

#include "filter_expr.h"

typedef enum FilterExprKind
{
	FE_NAME,
	FE_NOT,
	FE_REQUIRED,				/* "@x": x, and explicit filters are needed */
	FE_AND,
	FE_OR
} FilterExprKind;

struct FilterExpr
{
	FilterExprKind kind;
	char	   *name;			/* FE_NAME */
	FilterExpr *left;			/* operand of NOT / REQUIRED, or left side */
	FilterExpr *right;
};

typedef enum TokKind
{
	TK_END,
	TK_NAME,
	TK_LPAREN,
	TK_RPAREN,
	TK_COMMA,
	TK_BANG,
	TK_AT,
	TK_AND,
	TK_OR,
	TK_NOT
} TokKind;

typedef struct Parser
{
	const char *src;
	const char *p;				/* next unread character */
	TokKind		tok;			/* current token */
	const char *tok_start;
	int			tok_len;
	char	   *errmsg;
} Parser;

static FilterExpr *parse_or(Parser *ps);

/* Characters that end a name */
static bool
is_delim(char c)
{
	return c == '\0' || isspace((unsigned char) c) ||
		c == '(' || c == ')' || c == ',';
}

/* Read the next token into ps->tok */
static void
next_token(Parser *ps)
{
	while (isspace((unsigned char) *ps->p))
		ps->p++;
	ps->tok_start = ps->p;
	ps->tok_len = 1;
	switch (*ps->p)
	{
		case '\0':
			ps->tok = TK_END;
			ps->tok_len = 0;
			return;
		case '(':
			ps->tok = TK_LPAREN;
			break;
		case ')':
			ps->tok = TK_RPAREN;
			break;
		case ',':
			ps->tok = TK_COMMA;
			break;
		case '!':
			ps->tok = TK_BANG;
			break;
		case '@':
			ps->tok = TK_AT;
			break;
		default:
			{
				const char *q = ps->p;

				while (!is_delim(*q))
					q++;
				ps->tok_len = (int) (q - ps->p);
				ps->p = q;
				if (ps->tok_len == 3 && pg_strncasecmp(ps->tok_start, "and", 3) == 0)
					ps->tok = TK_AND;
				else if (ps->tok_len == 2 && pg_strncasecmp(ps->tok_start, "or", 2) == 0)
					ps->tok = TK_OR;
				else if (ps->tok_len == 3 && pg_strncasecmp(ps->tok_start, "not", 3) == 0)
					ps->tok = TK_NOT;
				else
					ps->tok = TK_NAME;
				return;
			}
	}
	ps->p++;
}

/* Record a syntax error at the current token (first error wins) */
static FilterExpr *
syntax_error(Parser *ps, const char *what)
{
	if (ps->errmsg == NULL)
	{
		int			pos = (int) (ps->tok_start - ps->src) + 1;

		if (ps->tok == TK_END)
			ps->errmsg = psprintf("syntax error in \"%s\" at end of input: %s",
								  ps->src, what);
		else
			ps->errmsg = psprintf("syntax error in \"%s\" at position %d (\"%.*s\"): %s",
								  ps->src, pos, ps->tok_len, ps->tok_start, what);
	}
	return NULL;
}

/* A new tree node */
static FilterExpr *
make_node(FilterExprKind kind, FilterExpr *left, FilterExpr *right)
{
	FilterExpr *e = palloc0(sizeof(FilterExpr));

	e->kind = kind;
	e->left = left;
	e->right = right;
	return e;
}

/* factor := ("!" | "not" | "@") factor | "(" expr ")" | NAME */
static FilterExpr *
parse_factor(Parser *ps)
{
	FilterExpr *e;

	switch (ps->tok)
	{
		case TK_BANG:
		case TK_NOT:
			next_token(ps);
			e = parse_factor(ps);
			return e ? make_node(FE_NOT, e, NULL) : NULL;
		case TK_AT:
			next_token(ps);
			e = parse_factor(ps);
			return e ? make_node(FE_REQUIRED, e, NULL) : NULL;
		case TK_LPAREN:
			next_token(ps);
			e = parse_or(ps);
			if (e == NULL)
				return NULL;
			if (ps->tok != TK_RPAREN)
			{
				filter_expr_free(e);
				return syntax_error(ps, "expected \")\"");
			}
			next_token(ps);
			return e;
		case TK_NAME:
			e = make_node(FE_NAME, NULL, NULL);
			e->name = pnstrdup(ps->tok_start, ps->tok_len);
			next_token(ps);
			return e;
		default:
			return syntax_error(ps, "expected a name, \"!\", \"not\", \"@\" or \"(\"");
	}
}

/* term := factor { "and" factor } */
static FilterExpr *
parse_and(Parser *ps)
{
	FilterExpr *e = parse_factor(ps);

	while (e && ps->tok == TK_AND)
	{
		FilterExpr *r;

		next_token(ps);
		r = parse_factor(ps);
		if (r == NULL)
		{
			filter_expr_free(e);
			return NULL;
		}
		e = make_node(FE_AND, e, r);
	}
	return e;
}

/* expr := term { ("," | "or") term } */
static FilterExpr *
parse_or(Parser *ps)
{
	FilterExpr *e = parse_and(ps);

	while (e && (ps->tok == TK_OR || ps->tok == TK_COMMA))
	{
		FilterExpr *r;

		next_token(ps);
		r = parse_and(ps);
		if (r == NULL)
		{
			filter_expr_free(e);
			return NULL;
		}
		e = make_node(FE_OR, e, r);
	}
	return e;
}

/* See filter_expr.h for the functions below */
bool
filter_expr_parse(const char *expr, FilterExpr **out, char **errmsg)
{
	Parser		ps;
	FilterExpr *e;

	memset(&ps, 0, sizeof(ps));
	ps.src = expr ? expr : "";
	ps.p = ps.src;
	*out = NULL;
	if (errmsg)
		*errmsg = NULL;

	next_token(&ps);
	if (ps.tok == TK_END)
	{
		if (errmsg)
			*errmsg = psprintf("empty expression");
		return false;
	}
	e = parse_or(&ps);
	if (e && ps.tok != TK_END)
	{
		filter_expr_free(e);
		e = syntax_error(&ps, ps.tok == TK_RPAREN ? "unbalanced \")\"" :
						 "expected \"and\", \"or\" or \",\"");
	}
	if (e == NULL)
	{
		if (errmsg)
			*errmsg = ps.errmsg;
		else if (ps.errmsg)
			pfree(ps.errmsg);
		return false;
	}
	*out = e;
	return true;
}

bool
filter_expr_eval(const FilterExpr *e, const char *const *names, int nnames)
{
	switch (e->kind)
	{
		case FE_NAME:
			for (int i = 0; i < nnames; i++)
				if (pg_strcasecmp(names[i], e->name) == 0)
					return true;
			return false;
		case FE_NOT:
			return !filter_expr_eval(e->left, names, nnames);
		case FE_REQUIRED:
			return filter_expr_eval(e->left, names, nnames);
		case FE_AND:
			return filter_expr_eval(e->left, names, nnames) &&
				filter_expr_eval(e->right, names, nnames);
		case FE_OR:
			return filter_expr_eval(e->left, names, nnames) ||
				filter_expr_eval(e->right, names, nnames);
	}
	return false;				/* keep compiler quiet */
}

bool
filter_expr_has_required(const FilterExpr *e)
{
	if (e == NULL)
		return false;
	if (e->kind == FE_REQUIRED)
		return true;
	return filter_expr_has_required(e->left) || filter_expr_has_required(e->right);
}

void
filter_expr_free(FilterExpr *e)
{
	if (e == NULL)
		return;
	filter_expr_free(e->left);
	filter_expr_free(e->right);
	if (e->name)
		pfree(e->name);
	pfree(e);
}

/* True when s is NULL or only whitespace */
static bool
is_blank(const char *s)
{
	if (s == NULL)
		return true;
	while (isspace((unsigned char) *s))
		s++;
	return *s == '\0';
}

/*
 * Split s[0..len) at commas into trimmed, non-empty names; with strip_at a
 * leading "@" is removed and reported through *required.
 */
static int
split_names(const char *s, int len, char ***names, bool strip_at, bool *required)
{
	int			n = 0;
	int			cap = 4;
	const char *end = s + len;

	*names = palloc(cap * sizeof(char *));
	while (s < end)
	{
		const char *a = s;
		const char *b;

		while (s < end && *s != ',')
			s++;
		b = s;
		if (s < end)
			s++;				/* skip the comma */
		while (a < b && isspace((unsigned char) *a))
			a++;
		while (b > a && isspace((unsigned char) b[-1]))
			b--;
		if (strip_at && a < b && *a == '@')
		{
			*required = true;
			a++;
			while (a < b && isspace((unsigned char) *a))
				a++;
		}
		if (a == b)
			continue;
		if (n == cap)
		{
			cap *= 2;
			*names = repalloc(*names, cap * sizeof(char *));
		}
		(*names)[n++] = pnstrdup(a, b - a);
	}
	return n;
}

/* Free what split_names returned */
static void
free_names(char **names, int n)
{
	for (int i = 0; i < n; i++)
		pfree(names[i]);
	pfree(names);
}

bool
contexts_match(const char *changeset_contexts, const char *runtime_contexts,
			   bool *match, char **errmsg)
{
	FilterExpr *e;
	char	  **names;
	int			n;

	if (errmsg)
		*errmsg = NULL;
	*match = true;
	if (is_blank(changeset_contexts))
		return true;
	if (!filter_expr_parse(changeset_contexts, &e, errmsg))
		return false;

	n = split_names(runtime_contexts ? runtime_contexts : "",
					runtime_contexts ? (int) strlen(runtime_contexts) : 0,
					&names, false, NULL);
	if (n == 0)
		*match = !filter_expr_has_required(e);
	else
		*match = filter_expr_eval(e, (const char *const *) names, n);
	free_names(names, n);
	filter_expr_free(e);
	return true;
}

/*
 * If s[0..len) is "(A) and (B)" (how include-level labels are combined with
 * a changeset's own, by every reader), set the bounds of A and B.
 */
static bool
split_label_and(const char *s, int len, const char **a, int *alen,
				const char **b, int *blen)
{
	const char *end = s + len;
	const char *p;
	int			depth = 0;

	while (s < end && isspace((unsigned char) *s))
		s++;
	while (end > s && isspace((unsigned char) end[-1]))
		end--;
	if (s == end || *s != '(' || end[-1] != ')')
		return false;
	for (p = s; p < end; p++)
	{
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			break;
	}
	if (p >= end)
		return false;
	*a = s + 1;
	*alen = (int) (p - s - 1);
	p++;
	while (p < end && isspace((unsigned char) *p))
		p++;
	if (end - p < 5 || pg_strncasecmp(p, "and", 3) != 0)
		return false;
	p += 3;
	while (p < end && isspace((unsigned char) *p))
		p++;
	if (p >= end || *p != '(')
		return false;
	*b = p + 1;
	*blen = (int) (end - p - 2);
	return true;
}

/*
 * Match every label list in s[0..len) (one plain comma list, or several
 * combined by split_label_and) against e; NULL e means no runtime labels.
 */
static bool
label_lists_match(const char *s, int len, const FilterExpr *e)
{
	const char *a;
	const char *b;
	int			alen;
	int			blen;
	char	  **names;
	bool		required = false;
	bool		match = true;
	int			n;

	if (split_label_and(s, len, &a, &alen, &b, &blen))
		return label_lists_match(a, alen, e) && label_lists_match(b, blen, e);

	n = split_names(s, len, &names, true, &required);
	if (n == 0)
		match = true;			/* no labels: runs under any expression */
	else if (e == NULL)
		match = !required;
	else
		match = filter_expr_eval(e, (const char *const *) names, n);
	free_names(names, n);
	return match;
}

bool
labels_match(const char *changeset_labels, const char *runtime_label_expr,
			 bool *match, char **errmsg)
{
	FilterExpr *e = NULL;

	if (errmsg)
		*errmsg = NULL;
	*match = true;
	if (is_blank(changeset_labels))
		return true;
	if (!is_blank(runtime_label_expr) &&
		!filter_expr_parse(runtime_label_expr, &e, errmsg))
		return false;
	*match = label_lists_match(changeset_labels, strlen(changeset_labels), e);
	filter_expr_free(e);
	return true;
}

bool
dbms_matches_postgresql(const char *dbms)
{
	char	  **names;
	bool		unused = false;
	bool		any_positive = false;
	bool		positive_pg = false;
	bool		result;
	int			n;

	if (is_blank(dbms))
		return true;
	n = split_names(dbms, strlen(dbms), &names, false, &unused);
	result = (n == 0);
	for (int i = 0; i < n && !result; i++)
		if (pg_strcasecmp(names[i], "all") == 0)
			result = true;
	if (!result && n > 0)
	{
		bool		excluded = false;

		for (int i = 0; i < n; i++)
		{
			if (pg_strcasecmp(names[i], "none") == 0 ||
				pg_strcasecmp(names[i], "!postgresql") == 0)
				excluded = true;
			else if (names[i][0] != '!')
			{
				any_positive = true;
				if (pg_strcasecmp(names[i], "postgresql") == 0)
					positive_pg = true;
			}
		}
		result = !excluded && (!any_positive || positive_pg);
	}
	free_names(names, n);
	return result;
}

char *
changelog_filter_and(const char *outer, const char *inner)
{
	if (is_blank(outer) && is_blank(inner))
		return NULL;
	if (is_blank(outer))
		return pstrdup(inner);
	if (is_blank(inner))
		return pstrdup(outer);
	return psprintf("(%s) and (%s)", outer, inner);
}
