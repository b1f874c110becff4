/*-------------------------------------------------------------------------
 *
 * tap_parse.h
 *	  Reading the TAP that pgTAP functions return as rows: the plan, test
 *	  lines with their SKIP / TODO directives, diagnostics, "Bail out!",
 *	  and the checks a harness makes at the end (plan against tests run).
 *
 * pgchange verify runs pgTAP files without psql or pg_prove: it collects
 * the text every statement returns and feeds it here line by line.  Lines
 * that are not TAP (the output of a setup query) are ignored, as TAP
 * harnesses do.  Subtests (indented lines, pgTAP's runtests()) are kept as
 * diagnostics of the test that sums them up.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_TAP_PARSE_H
#define PGCHANGE_TAP_PARSE_H

#include <stdbool.h>

typedef enum TapDirective
{
	TAP_DIRECTIVE_NONE,
	TAP_DIRECTIVE_SKIP,			/* "# SKIP reason": not run */
	TAP_DIRECTIVE_TODO			/* "# TODO reason": allowed to fail */
} TapDirective;

typedef struct TapTest
{
	int			number;
	bool		ok;
	char	   *description;	/* without the leading "- "; "" if none */
	TapDirective directive;
	char	   *reason;			/* of the directive; NULL if none */
	char	   *diagnostics;	/* "# " lines that followed, prefix kept;
								 * NULL if none */
} TapTest;

typedef struct TapResult
{
	TapTest    *tests;
	int			ntests;
	int			capacity;
	int			planned;		/* -1: no plan seen */
	char	   *skip_all;		/* "1..0 # SKIP reason": the reason */
	bool		bailed_out;
	char	   *bail_reason;
	char	   *diagnostics;	/* "# " lines not attached to a failed test */
	char	  **problems;		/* why the stream fails as a whole */
	int			nproblems;
	bool		finished;

	/* parser state */
	bool		plan_at_end;	/* the plan came after the tests */
	char	   *subtest;		/* indented lines since the last test */
	int			lines;			/* lines seen */
} TapResult;

extern void tap_parse_init(TapResult *r);

/* One line of TAP (no newline), or text of several lines */
extern void tap_parse_line(TapResult *r, const char *line);
extern void tap_parse_text(TapResult *r, const char *text);

/* A problem found outside the TAP (an SQL error): the stream fails */
extern void tap_parse_problem(TapResult *r, const char *fmt,...) pg_attribute_printf(2, 3);

/* End of the stream: check the plan against the tests seen */
extern void tap_parse_finish(TapResult *r);

/* Counts; a TODO test that fails is not a failure, one that passes is */
extern int	tap_count_failed(const TapResult *r);
extern int	tap_count_skipped(const TapResult *r);
extern int	tap_count_todo(const TapResult *r);

/* Does the stream pass: no failure, no problem, a plan that was met */
extern bool tap_passed(const TapResult *r);

/* A failing test (not ok without TODO)? */
extern bool tap_test_failed(const TapTest *t);

extern void tap_parse_free(TapResult *r);

#endif							/* PGCHANGE_TAP_PARSE_H */
