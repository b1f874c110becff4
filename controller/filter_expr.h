/*-------------------------------------------------------------------------
 *
 * filter_expr.h
 *	  Liquibase context and label expressions, and dbms lists: deciding
 *	  whether a changeset runs under the contexts and labels given at run
 *	  time, and whether it is meant for PostgreSQL at all.
 *
 * Expression syntax (Liquibase 4.x, case-insensitive throughout):
 *	  expr   := term { ("," | "or") term }		comma is OR, loosest
 *	  term   := factor { "and" factor }
 *	  factor := ("!" | "not" | "@") factor | "(" expr ")" | NAME
 * so "!" binds tighter than "and", which binds tighter than "or" / ",".
 * "@" (Liquibase 4.23+) marks a context or label as required: the changeset
 * runs only when contexts (labels) are explicitly given at run time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_FILTER_EXPR_H
#define PGCHANGE_FILTER_EXPR_H

#include <stdbool.h>

typedef struct FilterExpr FilterExpr;

/*
 * Parse an expression.  On a syntax error returns false and sets *errmsg to
 * a palloc'd message naming the 1-based character position.
 */
extern bool filter_expr_parse(const char *expr, FilterExpr **out, char **errmsg);

/* True when names (compared case-insensitively) satisfy the expression */
extern bool filter_expr_eval(const FilterExpr *e, const char *const *names, int nnames);

/* True when the expression uses "@" anywhere */
extern bool filter_expr_has_required(const FilterExpr *e);

extern void filter_expr_free(FilterExpr *e);

/*
 * Does a changeset's context expression run under the runtime contexts (a
 * comma-separated list, as --contexts takes it)?
 *	- an empty or absent changeset expression always matches;
 *	- no runtime contexts: everything matches, except expressions that use
 *	  "@" (required context);
 *	- otherwise the expression is evaluated against the runtime list.
 * changeset_contexts may be a conjunction built by changelog_filter_and()
 * for include-level filters.  Returns false (with *errmsg) on a syntax
 * error.
 */
extern bool contexts_match(const char *changeset_contexts,
						   const char *runtime_contexts,
						   bool *match, char **errmsg);

/*
 * Does a changeset's label list (comma-separated names, as written on the
 * changeset) match the runtime label expression (--labels)?
 *	- a changeset without labels matches any expression;
 *	- no runtime expression: everything matches, except changesets with a
 *	  required ("@name") label;
 *	- otherwise the runtime expression is evaluated against the labels
 *	  ("@" stripped).
 * Include-level labels form further lists that must each match too (as
 * Liquibase's inherited labels do): the readers record them as
 * "(include labels) and (changeset labels)", nested for nested includes,
 * and each list in that form is tested on its own.
 */
extern bool labels_match(const char *changeset_labels,
						 const char *runtime_label_expr,
						 bool *match, char **errmsg);

/*
 * Is a dbms list ("postgresql", "all", "!h2", "postgresql,h2", "none")
 * meant for PostgreSQL?  Liquibase's rule: empty matches; "all" matches;
 * "none" does not; "!postgresql" excludes; otherwise the positive entries,
 * if any, must include postgresql.
 */
extern bool dbms_matches_postgresql(const char *dbms);

/*
 * Combine an inherited (include-level) filter with a changeset's own:
 * "(outer) and (inner)", the form every reader records and contexts_match /
 * labels_match understand.  Either may be NULL or empty; returns a palloc'd
 * string or NULL when both are empty.
 */
extern char *changelog_filter_and(const char *outer, const char *inner);

#endif							/* PGCHANGE_FILTER_EXPR_H */
