/*-------------------------------------------------------------------------
 *
 * test_filter_expr.c
 *	  Unit tests of controller/filter_expr.c: Liquibase context and label
 *	  expressions (precedence, parentheses, negation, "@", case, syntax
 *	  errors) and dbms lists.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "filter_expr.h"
#include "tap.h"

/* Evaluate expr against a comma-separated list of names; -1 on parse error */
static int
eval(const char *expr, const char *names_csv)
{
	FilterExpr *e;
	char	   *err;
	const char *names[16];
	int			n = 0;
	char	   *copy = pstrdup(names_csv);
	char	   *tok;
	int			r;

	if (!filter_expr_parse(expr, &e, &err))
	{
		pfree(err);
		pfree(copy);
		return -1;
	}
	for (tok = strtok(copy, ","); tok && n < 16; tok = strtok(NULL, ","))
		names[n++] = tok;
	r = filter_expr_eval(e, names, n) ? 1 : 0;
	filter_expr_free(e);
	pfree(copy);
	return r;
}

/* contexts_match as 0/1, -1 on error */
static int
ctx(const char *cs, const char *runtime)
{
	bool		m;
	char	   *err;

	if (!contexts_match(cs, runtime, &m, &err))
	{
		pfree(err);
		return -1;
	}
	return m ? 1 : 0;
}

/* labels_match as 0/1, -1 on error */
static int
lbl(const char *cs, const char *runtime)
{
	bool		m;
	char	   *err;

	if (!labels_match(cs, runtime, &m, &err))
	{
		pfree(err);
		return -1;
	}
	return m ? 1 : 0;
}

/* The error message of a failing parse, or NULL */
static char *
parse_error(const char *expr)
{
	FilterExpr *e;
	char	   *err = NULL;

	if (filter_expr_parse(expr, &e, &err))
	{
		filter_expr_free(e);
		return NULL;
	}
	return err;
}

int
main(void)
{
	char	   *err;

	/* names and case */
	is_int(eval("test", "test"), 1, "single name matches");
	is_int(eval("test", "prod"), 0, "single name does not match another");
	is_int(eval("TEST", "test"), 1, "names are case-insensitive (expression upper)");
	is_int(eval("test", "Test"), 1, "names are case-insensitive (runtime mixed)");
	is_int(eval("v1.0-rc_2:x", "V1.0-RC_2:X"), 1, "names may hold dots, dashes, colons");

	/* comma and or */
	is_int(eval("test, qa", "qa"), 1, "comma is OR");
	is_int(eval("test,qa", "dev"), 0, "comma is OR: neither");
	is_int(eval("test or qa", "test"), 1, "or");
	is_int(eval("test OR qa", "qa"), 1, "OR in upper case");

	/* and, not, precedence */
	is_int(eval("a and b", "a,b"), 1, "and: both");
	is_int(eval("a and b", "a"), 0, "and: one missing");
	is_int(eval("a AND b", "a,b"), 1, "AND in upper case");
	is_int(eval("!test", "prod"), 1, "! negates");
	is_int(eval("!test", "test"), 0, "! negates a match");
	is_int(eval("not test", "test"), 0, "not negates");
	is_int(eval("NOT test", "prod"), 1, "NOT in upper case");
	is_int(eval("!qa and !master", "dev"), 1, "!qa and !master: neither given");
	is_int(eval("!qa and !master", "master"), 0, "!qa and !master: master given");
	is_int(eval("a or b and c", "a"), 1, "and binds tighter than or (a)");
	is_int(eval("a or b and c", "b"), 0, "and binds tighter than or (b only)");
	is_int(eval("a or b and c", "b,c"), 1, "and binds tighter than or (b,c)");
	is_int(eval("test, qa and master", "qa"), 0, "comma loosest: (test) or (qa and master), qa only");
	is_int(eval("test, qa and master", "test"), 1, "comma loosest: test");
	is_int(eval("!a and b", "b"), 1, "! binds tighter than and");
	is_int(eval("!a and b", "a,b"), 0, "! binds tighter than and (a given)");
	is_int(eval("!a or b", "a"), 0, "!a or b with a");
	is_int(eval("not not a", "a"), 1, "double negation");

	/* parentheses */
	is_int(eval("(a or b) and c", "a"), 0, "parentheses override precedence: a");
	is_int(eval("(a or b) and c", "b,c"), 1, "parentheses override precedence: b,c");
	is_int(eval("!(a or b)", "c"), 1, "negated group");
	is_int(eval("!(a or b)", "b"), 0, "negated group with b");
	is_int(eval("qa or (acme_inc and dev)", "acme_inc,dev"), 1, "Liquibase docs example");
	is_int(eval("((a))", "a"), 1, "nested parentheses");
	is_int(eval("(a, b) and c", "b,c"), 1, "comma inside parentheses");
	is_int(eval("not(a)", "b"), 1, "not directly before a parenthesis");

	/* syntax errors, with positions */
	is_int(eval("a and", "a"), -1, "dangling and is an error");
	is_int(eval("(a or b", "a"), -1, "missing ) is an error");
	is_int(eval("a)", "a"), -1, "unbalanced ) is an error");
	is_int(eval("a b", "a"), -1, "two names without operator is an error");
	is_int(eval(",a", "a"), -1, "leading comma is an error");
	is_int(eval("!", "a"), -1, "lone ! is an error");
	is_int(eval("()", "a"), -1, "empty parentheses are an error");
	is_int(eval("   ", "a"), -1, "empty expression is an error");
	err = parse_error("a and or b");
	ok(err && strstr(err, "position 7") != NULL, "error names the position (%s)", err ? err : "none");
	if (err)
		pfree(err);
	err = parse_error("(a");
	ok(err && strstr(err, "end of input") != NULL && strstr(err, "\")\"") != NULL,
	   "error at end of input says what is missing (%s)", err ? err : "none");
	if (err)
		pfree(err);

	/* contexts_match */
	is_int(ctx(NULL, "prod"), 1, "no changeset context: always runs");
	is_int(ctx("  ", "prod"), 1, "blank changeset context: always runs");
	is_int(ctx("test", NULL), 1, "no runtime contexts: everything runs");
	is_int(ctx("test", ""), 1, "empty runtime contexts: everything runs");
	is_int(ctx("!test", ""), 1, "no runtime contexts: negated context runs too");
	is_int(ctx("test", "prod"), 0, "context not given: skipped");
	is_int(ctx("test", "prod, test"), 1, "one of several runtime contexts");
	is_int(ctx("test", " TEST "), 1, "runtime contexts trimmed, case-insensitive");
	is_int(ctx("@test", ""), 0, "@test: not run without runtime contexts");
	is_int(ctx("@test", "test"), 1, "@test: runs when test is given");
	is_int(ctx("@test", "prod"), 0, "@test: not run with other contexts");
	is_int(ctx("@test or dev", NULL), 0, "an @ anywhere requires explicit contexts");
	is_int(ctx("a and", "a"), -1, "contexts_match reports syntax errors");
	is_int(ctx("(pub) and (!sub)", "pub"), 1, "composed include-level contexts");
	is_int(ctx("(pub) and (!sub)", "pub,sub"), 0, "composed include-level contexts, excluded");

	/* labels_match */
	is_int(lbl(NULL, "v1"), 1, "changeset without labels matches any expression");
	is_int(lbl("v1,ddl", NULL), 1, "no runtime expression: everything runs");
	is_int(lbl("v1,ddl", "v1"), 1, "label in list");
	is_int(lbl("v1,ddl", "v2"), 0, "label not in list");
	is_int(lbl("v1, ddl", "v1 and ddl"), 1, "expression over the label list");
	is_int(lbl("v1,ddl", "v1 and !ddl"), 0, "negation over the label list");
	is_int(lbl("V1", "v1"), 1, "labels are case-insensitive");
	is_int(lbl("@v1", ""), 0, "@label: not run without a runtime expression");
	is_int(lbl("@v1", "v1"), 1, "@label: runs when the expression matches it");
	is_int(lbl("@v1", "v2"), 0, "@label: not run when the expression does not match");
	is_int(lbl("(a) and (b)", "a and b"), 0, "inherited and own label lists are matched separately");
	is_int(lbl("(a) and (b)", "a or b"), 1, "each list matches a or b");
	is_int(lbl("(a) and (b, c)", "c"), 0, "inherited list must match too");
	is_int(lbl("(x) and ((a) and (b, c))", "a or x or c"), 1, "nested include levels");
	is_int(lbl("(x) and ((a) and (b, c))", "a or c"), 0, "nested include levels, outer fails");
	is_int(lbl("(@a) and (b)", "b"), 0, "required inherited label");
	is_int(lbl("v1", "v1 and"), -1, "labels_match reports syntax errors");

	/* dbms lists */
	ok(dbms_matches_postgresql(NULL), "dbms: NULL matches");
	ok(dbms_matches_postgresql(""), "dbms: empty matches");
	ok(dbms_matches_postgresql("postgresql"), "dbms: postgresql");
	ok(dbms_matches_postgresql("PostgreSQL"), "dbms: case-insensitive");
	ok(dbms_matches_postgresql("all"), "dbms: all");
	ok(!dbms_matches_postgresql("none"), "dbms: none");
	ok(!dbms_matches_postgresql("h2"), "dbms: another database only");
	ok(dbms_matches_postgresql("h2, postgresql"), "dbms: list containing postgresql");
	ok(dbms_matches_postgresql("!h2"), "dbms: only exclusions of others");
	ok(!dbms_matches_postgresql("!postgresql"), "dbms: postgresql excluded");
	ok(!dbms_matches_postgresql("!h2,oracle"), "dbms: a positive list without postgresql");
	ok(dbms_matches_postgresql("all,none"), "dbms: all wins over none (Liquibase order)");

	/* composition helpers */
	{
		char	   *c1 = changelog_filter_and("a", "b, c");
		char	   *c2 = changelog_filter_and(NULL, "b");
		char	   *c3 = changelog_filter_and("a", "");
		char	   *l1 = changelog_filter_and("x", "y,z");

		is_str(c1, "(a) and (b, c)", "contexts composed with and");
		is_str(c2, "b", "contexts: no outer");
		is_str(c3, "a", "contexts: no inner");
		ok(changelog_filter_and(NULL, " ") == NULL, "contexts: neither");
		is_str(l1, "(x) and (y,z)", "labels composed like contexts");
		pfree(c1);
		pfree(c2);
		pfree(c3);
		pfree(l1);
	}

	return done_testing();
}
