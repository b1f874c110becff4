/*-------------------------------------------------------------------------
 *
 * test_tap_parse.c
 *	  Unit tests of controller/tap_parse.c: reading the TAP that pgTAP
 *	  returns (plans first and last, SKIP / TODO, diagnostics, subtests,
 *	  "Bail out!") and the harness rules that fail a file whose tests all
 *	  passed (no plan, a plan not met, numbers out of sequence).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "tap.h"
#include "tap_parse.h"

/* parse text (lines separated by \n) to the end */
static void
parse(TapResult *r, const char *text)
{
	tap_parse_init(r);
	tap_parse_text(r, text);
	tap_parse_finish(r);
}

/* the problems, joined with " | ", for one comparison */
static char *
problems(const TapResult *r)
{
	static char buf[2048];

	buf[0] = '\0';
	for (int i = 0; i < r->nproblems; i++)
	{
		if (i)
			strlcat(buf, " | ", sizeof(buf));
		strlcat(buf, r->problems[i], sizeof(buf));
	}
	return buf;
}

int
main(void)
{
	TapResult	r;

	/* ------------------------------------------------ a passing file -- */
	parse(&r, "1..3\nok 1 - has table\nok 2 - has column\nok 3\n");
	ok(tap_passed(&r), "three ok tests and their plan pass");
	is_int(r.planned, 3, "the plan is read");
	is_int(r.ntests, 3, "three tests");
	is_str(r.tests[0].description, "has table", "the description, without \"- \"");
	is_str(r.tests[2].description, "", "a test without description");
	is_str(problems(&r), "", "no problem");
	tap_parse_free(&r);

	/* plan at the end (pgTAP's no_plan() + finish()) */
	parse(&r, "ok 1 - a\nok 2 - b\n1..2\n");
	ok(tap_passed(&r), "a plan at the end is fine");
	tap_parse_free(&r);

	/* numbers are optional */
	parse(&r, "1..2\nok - a\nnot ok\n");
	is_int(r.tests[1].number, 2, "a test without a number gets the next one");
	is_int(tap_count_failed(&r), 1, "\"not ok\" alone is a failure");
	tap_parse_free(&r);

	/* ------------------------------------------- failures and their diagnostics -- */
	parse(&r, "1..2\nok 1 - one\nnot ok 2 - two is three\n"
		  "# Failed test 2: \"two is three\"\n#         have: 2\n#         want: 3\n"
		  "# Looks like you failed 1 test of 2\n");
	ok(!tap_passed(&r), "a failing test fails the file");
	is_int(tap_count_failed(&r), 1, "one failure");
	ok(!r.tests[1].ok && tap_test_failed(&r.tests[1]), "test 2 failed");
	is_str(r.tests[1].diagnostics,
		   "# Failed test 2: \"two is three\"\n#         have: 2\n#         want: 3",
		   "the diagnostics that follow a failure belong to it");
	is_str(r.diagnostics, "# Looks like you failed 1 test of 2",
		   "pgTAP's summary line is the file's, not the test's");
	is_str(problems(&r), "", "a failed test is not a problem of the file");
	tap_parse_free(&r);

	/* pgTAP returns a failure and its diagnostics as one multi-line value */
	tap_parse_init(&r);
	tap_parse_line(&r, "1..1");
	tap_parse_text(&r, "not ok 1 - x\n# Failed test 1: \"x\"");
	tap_parse_finish(&r);
	is_str(r.tests[0].diagnostics, "# Failed test 1: \"x\"", "multi-line values are split");
	tap_parse_free(&r);

	/* a diag() after a passing test is the file's */
	parse(&r, "1..1\nok 1 - fine\n# just saying\n");
	ok(r.tests[0].diagnostics == NULL, "no diagnostics on a passing test");
	is_str(r.diagnostics, "# just saying", "they go to the file");
	ok(tap_passed(&r), "diagnostics do not fail a file");
	tap_parse_free(&r);

	/* ---------------------------------------------------- SKIP and TODO -- */
	parse(&r, "1..5\nok 1 # SKIP no index here\nok 2 - x # skipped: not on 13\n"
		  "not ok 3 - later # TODO fix the backfill\nok 4 - early # todo\n"
		  "ok 5 - a \\# in the name\n");
	ok(tap_passed(&r), "SKIP and TODO never fail a file");
	is_int(tap_count_skipped(&r), 2, "two skipped (SKIP, skipped)");
	is_int(tap_count_todo(&r), 2, "two TODO, one of them passing");
	is_int(tap_count_failed(&r), 0, "a failing TODO is not a failure");
	is_str(r.tests[0].reason, "no index here", "the SKIP reason");
	is_str(r.tests[1].reason, "not on 13", "\"skipped:\" works too, case-insensitively");
	is_str(r.tests[1].description, "x", "the directive is not part of the description");
	is_str(r.tests[2].reason, "fix the backfill", "the TODO reason");
	ok(r.tests[3].reason == NULL, "a directive without reason");
	is_str(r.tests[4].description, "a # in the name", "an escaped # is part of the description");
	ok(r.tests[4].directive == TAP_DIRECTIVE_NONE, "and no directive");
	tap_parse_free(&r);

	parse(&r, "1..0 # Skipped: no pgTAP-able objects\n");
	ok(tap_passed(&r), "1..0 skips the whole file, which passes");
	is_str(r.skip_all, "no pgTAP-able objects", "with its reason");
	tap_parse_free(&r);

	parse(&r, "1..0\n");
	ok(tap_passed(&r) && r.skip_all != NULL, "1..0 without reason skips too");
	tap_parse_free(&r);

	/* ---------------------------------------------------------- the plan -- */
	parse(&r, "1..3\nok 1\nok 2\n");
	ok(!tap_passed(&r), "fewer tests than planned fail the file");
	is_str(problems(&r), "planned 3 test(s) but ran 2", "and say so");
	tap_parse_free(&r);

	parse(&r, "1..1\nok 1\nok 2\n");
	is_str(problems(&r), "planned 1 test(s) but ran 2", "so do more tests than planned");
	tap_parse_free(&r);

	parse(&r, "ok 1\nok 2\n");
	ok(!tap_passed(&r), "no plan fails the file");
	is_str(problems(&r), "no plan: 2 test(s) ran without one", "naming how many ran");
	tap_parse_free(&r);

	parse(&r, "INSERT 0 1\n(1 row)\n");
	is_str(problems(&r), "no plan and no tests: the file printed no TAP", "no TAP at all fails");
	tap_parse_free(&r);

	parse(&r, "1..2\nok 1\n1..2\nok 2\n");
	is_str(problems(&r), "more than one plan", "a second plan is a problem");
	tap_parse_free(&r);

	parse(&r, "ok 1\n1..2\nok 2\n");
	is_str(problems(&r), "test 2 follows the plan at the end of the output",
		   "a test after a plan that ended the tests");
	tap_parse_free(&r);

	parse(&r, "1..3\nok 1\nok 3\nok 4\n");
	ok(!tap_passed(&r), "numbers out of sequence fail the file");
	is_str(problems(&r), "test number 3 is out of sequence (expected 2) | "
		   "test number 4 is out of sequence (expected 3)", "naming each");
	tap_parse_free(&r);

	parse(&r, "1..0 # SKIP all\nok 1\n");
	is_str(problems(&r), "planned to skip every test but ran 1", "tests after a skip-all plan");
	tap_parse_free(&r);

	/* ----------------------------------------------------------- bail out -- */
	parse(&r, "1..3\nok 1\nBail out! the database is gone\nok 2\nok 3\n");
	ok(!tap_passed(&r), "Bail out! fails the file");
	ok(r.bailed_out, "bailed out");
	is_str(r.bail_reason, "the database is gone", "with the reason");
	is_int(r.ntests, 1, "nothing after it counts");
	is_str(problems(&r), "Bail out! the database is gone", "no plan complaint on top of it");
	tap_parse_free(&r);

	/* --------------------------------------------------- what is not TAP -- */
	parse(&r, "TAP version 13\n1..1\nokay then\nnotok 5\n ok\nok 1 - real\nthe end\n");
	ok(tap_passed(&r), "lines that are not TAP are ignored");
	is_int(r.ntests, 1, "\"okay\", \"notok\" and output of other queries are not tests");
	tap_parse_free(&r);

	parse(&r, "1..1\r\nok 1 - crlf   \r\n");
	is_str(r.tests[0].description, "crlf", "trailing blanks and CR go");
	ok(tap_passed(&r), "CRLF output parses");
	tap_parse_free(&r);

	/* ----------------------------------------- subtests (pgTAP runtests) -- */
	parse(&r, "    # Subtest: tests.test_a()\n    ok 1 - inner a\n    1..1\nok 1 - tests.test_a\n"
		  "    # Subtest: tests.test_b()\n    ok 1 - inner ok\n    not ok 2 - inner bad\n"
		  "    # Failed test 2: \"inner bad\"\n    1..2\nnot ok 2 - tests.test_b\n1..2\n");
	is_int(r.ntests, 2, "subtests are summed up by their parent test");
	ok(r.tests[0].diagnostics == NULL, "a passing subtest leaves no diagnostics");
	is_str(r.tests[1].diagnostics,
		   "    # Subtest: tests.test_b()\n    ok 1 - inner ok\n    not ok 2 - inner bad\n"
		   "    # Failed test 2: \"inner bad\"\n    1..2",
		   "a failing one keeps its lines as the parent's diagnostics");
	is_int(tap_count_failed(&r), 1, "the parent's result counts");
	tap_parse_free(&r);

	/* problems from outside the TAP */
	tap_parse_init(&r);
	tap_parse_line(&r, "1..1");
	tap_parse_line(&r, "ok 1");
	tap_parse_problem(&r, "f.sql:%d: ERROR:  %s", 3, "boom");
	tap_parse_finish(&r);
	ok(!tap_passed(&r), "a problem added by the runner fails the file");
	is_str(problems(&r), "f.sql:3: ERROR:  boom", "with its text");
	tap_parse_free(&r);

	return done_testing();
}
