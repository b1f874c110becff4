/*-------------------------------------------------------------------------
 *
 * tap_parse.c
 *	  A TAP consumer for the output of pgTAP files, with the rules of
 *	  Perl's TAP::Parser that pg_prove applies: a test with a SKIP or TODO
 *	  directive never fails, the plan may come first or last but only once,
 *	  test numbers must follow each other, and a plan that was not met (or
 *	  no plan at all) fails the file even when every test passed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>
#include <limits.h>

#include "tap_parse.h"

void
tap_parse_init(TapResult *r)
{
	memset(r, 0, sizeof(*r));
	r->planned = -1;
}

/* append a line to a newline-separated buffer that may be NULL */
static void
append_line(char **buf, const char *line)
{
	char	   *old = *buf;

	*buf = old ? psprintf("%s\n%s", old, line) : pstrdup(line);
	if (old)
		pfree(old);
}

void
tap_parse_problem(TapResult *r, const char *fmt,...)
{
	va_list		ap;
	char		buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->problems = r->problems
		? repalloc(r->problems, (r->nproblems + 1) * sizeof(char *))
		: palloc(sizeof(char *));
	r->problems[r->nproblems++] = pstrdup(buf);
}

/* does s start with word, followed by a blank, '#' or the end? */
static bool
starts_with_word(const char *s, const char *word)
{
	size_t		n = strlen(word);

	return strncmp(s, word, n) == 0 &&
		(s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == '#');
}

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* a copy of s[0..n) without trailing blanks, "\#" turned into "#" */
static char *
clean_copy(const char *s, size_t n)
{
	char	   *out = palloc(n + 1);
	size_t		o = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '#')
			continue;
		out[o++] = s[i];
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
	return out;
}

/*
 * The directive of a test line's tail, if any: an unescaped '#' followed
 * by a word starting with SKIP or TODO, in any case (TAP allows "skipped").
 * Sets *hash to the '#' (NULL without a directive) and *reason.
 */
static TapDirective
find_directive(const char *s, const char **hash, char **reason)
{
	*hash = NULL;
	*reason = NULL;
	for (const char *p = s; *p; p++)
	{
		const char *w;
		TapDirective d;

		if (*p != '#' || (p > s && p[-1] == '\\'))
			continue;
		w = skip_blanks(p + 1);
		if (pg_strncasecmp(w, "skip", 4) == 0)
			d = TAP_DIRECTIVE_SKIP;
		else if (pg_strncasecmp(w, "todo", 4) == 0)
			d = TAP_DIRECTIVE_TODO;
		else
			continue;
		while (isalpha((unsigned char) *w))
			w++;
		if (*w == ':')
			w++;
		w = skip_blanks(w);
		*hash = p;
		*reason = *w ? clean_copy(w, strlen(w)) : NULL;
		return d;
	}
	return TAP_DIRECTIVE_NONE;
}

/* "ok ..." or "not ok ...": p points after "ok" */
static void
parse_test(TapResult *r, bool ok, const char *p)
{
	TapTest    *t;
	const char *hash;
	char	   *reason;
	int			number = r->ntests + 1;

	if (r->plan_at_end)
		tap_parse_problem(r, "test %d follows the plan at the end of the output",
						  r->ntests + 1);
	p = skip_blanks(p);
	if (isdigit((unsigned char) *p))
	{
		long		n = strtol(p, (char **) &p, 10);

		if (n != r->ntests + 1)
			tap_parse_problem(r, "test number %ld is out of sequence (expected %d)",
							  n, r->ntests + 1);
		number = (int) Min(n, INT_MAX);
		p = skip_blanks(p);
	}
	if (*p == '-')
		p = skip_blanks(p + 1);

	if (r->ntests == r->capacity)
	{
		r->capacity = r->capacity ? r->capacity * 2 : 16;
		r->tests = r->tests ? repalloc(r->tests, r->capacity * sizeof(TapTest))
			: palloc(r->capacity * sizeof(TapTest));
	}
	t = &r->tests[r->ntests++];
	memset(t, 0, sizeof(*t));
	t->number = number;
	t->ok = ok;
	t->directive = find_directive(p, &hash, &reason);
	t->reason = reason;
	t->description = clean_copy(p, hash ? (size_t) (hash - p) : strlen(p));

	/* the subtest this line sums up: its details matter only if it failed */
	if (r->subtest && !ok)
	{
		t->diagnostics = r->subtest;
		r->subtest = NULL;
	}
	if (r->subtest)
	{
		pfree(r->subtest);
		r->subtest = NULL;
	}
}

/* "1..N [# SKIP reason]" */
static void
parse_plan(TapResult *r, const char *p)
{
	const char *hash;
	char	   *reason;
	long		n = strtol(p, (char **) &p, 10);

	if (r->planned >= 0)
	{
		tap_parse_problem(r, "more than one plan");
		return;
	}
	/* a plan after the tests ends them: nothing may follow */
	r->plan_at_end = r->ntests > 0;
	r->planned = (int) Min(n, INT_MAX);
	(void) find_directive(p, &hash, &reason);
	if (n == 0)
		r->skip_all = reason ? reason : pstrdup("");
	else if (reason)
		pfree(reason);
}

void
tap_parse_line(TapResult *r, const char *line)
{
	char	   *copy;
	size_t		n = strlen(line);
	const char *p;

	r->lines++;
	if (r->bailed_out || r->finished)
		return;
	while (n > 0 && isspace((unsigned char) line[n - 1]))
		n--;
	if (n == 0)
		return;
	copy = pnstrdup(line, n);

	/* indented: a subtest's line, kept for the test that sums it up */
	if (copy[0] == ' ' || copy[0] == '\t')
	{
		append_line(&r->subtest, copy);
		pfree(copy);
		return;
	}

	p = copy;
	if (strncmp(p, "Bail out!", 9) == 0)
	{
		const char *why = skip_blanks(p + 9);

		r->bailed_out = true;
		r->bail_reason = pstrdup(why);
		tap_parse_problem(r, "Bail out!%s%s", *why ? " " : "", why);
	}
	else if (strncmp(p, "1..", 3) == 0 && isdigit((unsigned char) p[3]))
		parse_plan(r, p + 3);
	else if (starts_with_word(p, "ok"))
		parse_test(r, true, p + 2);
	else if (starts_with_word(p, "not ok"))
		parse_test(r, false, p + 6);
	else if (p[0] == '#')
	{
		const char *body = skip_blanks(p + 1);
		TapTest    *last = r->ntests > 0 ? &r->tests[r->ntests - 1] : NULL;

		if (strncmp(body, "Subtest", 7) == 0)
			append_line(&r->subtest, copy);
		else if (last && tap_test_failed(last) && strncmp(body, "Looks like", 10) != 0)
			append_line(&last->diagnostics, copy);
		else
			append_line(&r->diagnostics, copy);
	}
	/* anything else ("TAP version 13", output of other queries) is not TAP */
	pfree(copy);
}

void
tap_parse_text(TapResult *r, const char *text)
{
	const char *p = text;

	while (p && *p)
	{
		const char *nl = strchr(p, '\n');
		char	   *line = nl ? pnstrdup(p, nl - p) : pstrdup(p);

		tap_parse_line(r, line);
		pfree(line);
		p = nl ? nl + 1 : NULL;
	}
}

void
tap_parse_finish(TapResult *r)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->subtest)
	{
		append_line(&r->diagnostics, r->subtest);
		pfree(r->subtest);
		r->subtest = NULL;
	}
	if (r->bailed_out)
		return;
	if (r->planned < 0)
	{
		if (r->ntests == 0)
			tap_parse_problem(r, "no plan and no tests: the file printed no TAP");
		else
			tap_parse_problem(r, "no plan: %d test(s) ran without one", r->ntests);
	}
	else if (r->planned == 0 && r->ntests > 0)
		tap_parse_problem(r, "planned to skip every test but ran %d", r->ntests);
	else if (r->planned != r->ntests)
		tap_parse_problem(r, "planned %d test(s) but ran %d", r->planned, r->ntests);
}

bool
tap_test_failed(const TapTest *t)
{
	return !t->ok && t->directive == TAP_DIRECTIVE_NONE;
}

int
tap_count_failed(const TapResult *r)
{
	int			n = 0;

	for (int i = 0; i < r->ntests; i++)
		if (tap_test_failed(&r->tests[i]))
			n++;
	return n;
}

int
tap_count_skipped(const TapResult *r)
{
	int			n = 0;

	for (int i = 0; i < r->ntests; i++)
		if (r->tests[i].directive == TAP_DIRECTIVE_SKIP)
			n++;
	return n;
}

int
tap_count_todo(const TapResult *r)
{
	int			n = 0;

	for (int i = 0; i < r->ntests; i++)
		if (r->tests[i].directive == TAP_DIRECTIVE_TODO)
			n++;
	return n;
}

bool
tap_passed(const TapResult *r)
{
	return r->nproblems == 0 && tap_count_failed(r) == 0;
}

void
tap_parse_free(TapResult *r)
{
	for (int i = 0; i < r->ntests; i++)
	{
		pfree(r->tests[i].description);
		if (r->tests[i].reason)
			pfree(r->tests[i].reason);
		if (r->tests[i].diagnostics)
			pfree(r->tests[i].diagnostics);
	}
	if (r->tests)
		pfree(r->tests);
	for (int i = 0; i < r->nproblems; i++)
		pfree(r->problems[i]);
	if (r->problems)
		pfree(r->problems);
	if (r->skip_all)
		pfree(r->skip_all);
	if (r->bail_reason)
		pfree(r->bail_reason);
	if (r->diagnostics)
		pfree(r->diagnostics);
	if (r->subtest)
		pfree(r->subtest);
	memset(r, 0, sizeof(*r));
	r->planned = -1;
}
