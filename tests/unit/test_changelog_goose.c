/*-------------------------------------------------------------------------
 *
 * test_changelog_goose.c
 *	  Unit tests for the goose SQL migration reader: file names and
 *	  versions, every annotation, goose's statement splitting and ENVSUB
 *	  expansion against tests/fixtures/changelogs/goose, the error
 *	  messages, and the goose sets of the shared corpus, whose statement
 *	  counts PROVENANCE.md records.
 *
 * Error text is checked through changelog_last_error().  The corpus is
 * found through $PGCHANGE_CORPUS, else ../shared/corpus beside the
 * repository; without it those tests are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>

#include "changelog_goose.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "tap.h"

static const char *srcdir;

static char *
fixture(const char *name)
{
	return psprintf("%s/tests/fixtures/changelogs/goose/%s", srcdir, name);
}

/* Read one fixture that must succeed; the changeset, or NULL. */
static Changeset *
read_one(const char *name, const char *logical, Changelog *cl)
{
	if (!ok(changelog_goose_read(fixture(name), logical, cl) && cl->count == 1,
			"%s is read", name))
		return NULL;
	return cl->items[0];
}

static void
expect_error(const char *name, int line, const char *msg, const char *hint_part)
{
	char	   *path = fixture(name);
	Changelog	cl = {0};
	bool		res;

	changelog_clear_error();
	res = changelog_goose_read(path, NULL, &cl);
	ok(!res && cl.count == 0, "%s is rejected and adds nothing", name);
	is_str(changelog_last_error(),
		   line > 0 ? psprintf("%s:%d: %s", path, line, msg) : psprintf("%s: %s", path, msg),
		   "%s: error names file, line and problem", name);
	if (hint_part)
		ok(strstr(changelog_last_error_hint(), hint_part) != NULL,
		   "%s: hint mentions \"%s\"", name, hint_part);
	changelog_free(&cl);
}

static void
test_names(void)
{
	int64		v = 0;

	ok(changelog_goose_is_migration_name("00001_create.sql", &v) && v == 1,
	   "00001_create.sql is version 1");
	ok(changelog_goose_is_migration_name("20240115180414_init.sql", &v) && v == INT64CONST(20240115180414),
	   "timestamp version");
	ok(changelog_goose_is_migration_name("db/migrations/002_a.sql", &v) && v == 2,
	   "a path's last component is the name");
	ok(changelog_goose_is_migration_name("7_.sql", NULL), "an empty name part is allowed");
	ok(!changelog_goose_is_migration_name("0_zero.sql", NULL), "version 0 is refused, as goose does");
	ok(!changelog_goose_is_migration_name("x_1.sql", NULL) &&
	   !changelog_goose_is_migration_name("1.sql", NULL) &&
	   !changelog_goose_is_migration_name("1-x.sql", NULL),
	   "no digits-then-underscore prefix");
	ok(!changelog_goose_is_migration_name("1_x.SQL", NULL) &&
	   !changelog_goose_is_migration_name("1_x.go", NULL) &&
	   !changelog_goose_is_migration_name("1_x.sql.bak", NULL),
	   "only .sql (goose compares the extension exactly)");
	ok(!changelog_goose_is_migration_name("99999999999999999999_x.sql", NULL),
	   "a version beyond int64 is refused");
}

static void
test_basic(void)
{
	Changelog	cl = {0};
	Changeset  *cs = read_one("00001_basic.sql", NULL, &cl);

	if (cs == NULL)
		return;
	ok(cs->format == CSF_GOOSE, "format is CSF_GOOSE");
	is_str(cs->id, "1", "id is the version without leading zeros");
	is_str(cs->author, "goose", "author is goose");
	is_str(cs->comment, "basic", "comment is the name after the version");
	is_str(cs->path, "00001_basic.sql", "path is the file name");
	is_str(cs->file, fixture("00001_basic.sql"), "file is the path as given");
	ok(cs->line == 3 && cs->body_line == 4, "line is -- +goose Up, body_line the next line");
	ok(cs->run_in_transaction && !cs->goose_envsub, "in a transaction, no ENVSUB");
	if (is_int(cs->nstatements, 3, "three Up statements"))
	{
		is_str(cs->statements[0],
			   "CREATE TABLE a (\n    id int PRIMARY KEY, -- a comment; not the end\n    name text\n);",
			   "';' before a -- comment does not end a statement; leading comment dropped");
		is_str(cs->statements[1],
			   "INSERT INTO a VALUES (1, 'x;y'); -- trailing comment after the semicolon",
			   "a statement ends at its last word before -- ending in ';'");
		is_str(cs->statements[2], "SELECT 1;SELECT 2;", "two statements on one line stay one");
		ok(cs->statement_lines[0] == 5 && cs->statement_lines[1] == 9 &&
		   cs->statement_lines[2] == 11, "statement lines");
	}
	ok(strncmp(cs->body, "-- a comment before the first statement is dropped\nCREATE TABLE a (", 67) == 0 &&
	   strcmp(cs->body + strlen(cs->body) - 18, "SELECT 1;SELECT 2;") == 0,
	   "body is the Up section's text");
	is_str(cs->rollback, "DROP TABLE a;", "rollback is the Down section's text");
	ok(cs->ndown_statements == 1 && strcmp(cs->down_statements[0], "DROP TABLE a;") == 0 &&
	   cs->down_statement_lines[0] == 14, "Down statements and lines");
	changelog_free(&cl);

	cs = read_one("00001_basic.sql", "migrations/00001_basic.sql", &cl);
	if (cs)
		is_str(cs->path, "migrations/00001_basic.sql", "logical path when given");
	changelog_free(&cl);
}

static void
test_annotations(void)
{
	Changelog	cl = {0};
	Changeset  *cs;

	cs = read_one("00002_begin_end.sql", NULL, &cl);
	if (cs)
	{
		ok(!cs->run_in_transaction, "NO TRANSACTION, in lower case with trailing blanks");
		ok(cs->nstatements == 2 && cs->statement_lines[0] == 4 && cs->statement_lines[1] == 10,
		   "StatementBegin/End block is one statement");
		is_str(cs->statements[0],
			   "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;",
			   "block statement text");
		is_str(cs->statements[1], "CREATE INDEX CONCURRENTLY i ON a (name);", "statement after the block");
		ok(cs->ndown_statements == 1 &&
		   strcmp(cs->down_statements[0], "DROP FUNCTION f();\nDROP INDEX i;") == 0,
		   "a Down block with two ';' lines is one statement");
	}
	changelog_free(&cl);

	cs = read_one("20240115180414_timestamp_version.sql", NULL, &cl);
	if (cs)
	{
		is_str(cs->id, "20240115180414", "timestamp id");
		is_str(cs->comment, "timestamp_version", "timestamp comment");
		ok(cs->rollback == NULL && cs->down_statements == NULL && cs->ndown_statements == 0,
		   "no Down section: rollback NULL");
	}
	changelog_free(&cl);

	cs = read_one("00005_crlf.sql", NULL, &cl);
	if (cs)
	{
		is_str(cs->statements[0], "CREATE TABLE c (\n  id int\n);", "CRLF statements stored with LF");
		is_str(cs->body, "CREATE TABLE c (\n  id int\n);", "CRLF body stored with LF");
		is_str(cs->rollback, "DROP TABLE c;", "CRLF Down");
	}
	changelog_free(&cl);
}

static void
test_envsub(void)
{
	Changelog	cl = {0};
	Changeset  *cs;

	setenv("PGC_TEST_NAME", "widget", 1);
	setenv("PGC_TEST_EMPTY", "", 1);
	unsetenv("PGC_TEST_UNSET");
	cs = read_one("00004_envsub.sql", NULL, &cl);
	if (cs && is_int(cs->nstatements, 2, "ENVSUB file: two statements"))
	{
		is_str(cs->statements[0],
			   "SELECT 'widget', 'widget', 'fallback', 'unset', 'empty', '', 'idg', 'et', '$literal', '$x';",
			   "ENVSUB ON: ${V}, $V, :- and - defaults, substrings, $$ and \\$ escapes");
		is_str(cs->statements[1], "SELECT '${PGC_TEST_NAME}';", "ENVSUB OFF leaves ${V} alone");
		ok(cs->goose_envsub, "goose_envsub is set");
		ok(strstr(cs->body, "'widget'") != NULL && strstr(cs->body, "'${PGC_TEST_NAME}'") != NULL,
		   "body has the ENVSUB region expanded");
	}
	changelog_free(&cl);
}

static void
test_errors(void)
{
	Changelog	cl = {0};

	expect_error("00006_unknown_annotation.sql", 3,
				 "unknown goose annotation \"StatementBeginn\"", "StatementBegin");
	expect_error("00007_no_up.sql", 0, "no -- +goose Up annotation", "-- +goose Up");
	expect_error("00008_missing_semicolon.sql", 2,
				 "unfinished SQL statement (missing semicolon?)", "StatementBegin");
	expect_error("00009_unclosed_begin.sql", 2,
				 "-- +goose StatementBegin without StatementEnd", NULL);
	unsetenv("PGC_TEST_UNSET");
	expect_error("00010_required_env.sql", 3,
				 "variable substitution failed: $PGC_TEST_UNSET: must be set", NULL);
	expect_error("00011_sql_before_up.sql", 1, "SQL before -- +goose Up", NULL);
	expect_error("00012_indented_annotation.sql", 2,
				 "goose annotation must start at the beginning of the line", NULL);
	expect_error("00013_empty_block.sql", 3, "empty StatementBegin/StatementEnd block", NULL);
	expect_error("00014_bad_envsub.sql", 3,
				 "variable substitution failed: Expected identifier to start with a letter, got 1",
				 "$$");
	expect_error("not_a_migration.sql", 0, "not a goose migration file name", "00001_");
	expect_error("00099_missing.sql", 0, "could not open file: No such file or directory", NULL);

	ok(changelog_goose_read(fixture("00001_basic.sql"), NULL, &cl) &&
	   !changelog_goose_read(fixture("00013_empty_block.sql"), NULL, &cl) && cl.count == 1,
	   "a failed read leaves out unchanged");
	changelog_free(&cl);
}

/* The goose migrations under dir, recursively. */
static void
collect(const char *dir, char ***files, int *n, int *cap)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *p;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		p = psprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			collect(p, files, n, cap);
		else if (changelog_goose_is_migration_name(de->d_name, NULL))
		{
			if (*n == *cap)
			{
				*cap = *cap ? *cap * 2 : 64;
				*files = *files ? repalloc(*files, *cap * sizeof(char *)) :
					palloc(*cap * sizeof(char *));
			}
			(*files)[(*n)++] = p;
		}
	}
	closedir(d);
}

/* Read a goose set and check PROVENANCE's counts. */
static void
check_set(const char *corpus, const char *set, int files_expected,
		  int stmts_expected, int notx_expected, int with_down_expected)
{
	char	   *dir = psprintf("%s/goose/%s", corpus, set);
	char	  **files = NULL;
	int			n = 0;
	int			cap = 0;
	int			bad = 0;
	int			stmts = 0;
	int			notx = 0;
	int			with_down = 0;
	Changelog	cl = {0};

	collect(dir, &files, &n, &cap);
	for (int i = 0; i < n; i++)
		if (!changelog_goose_read(files[i], NULL, &cl))
		{
			bad++;
			printf("# read failed: %s\n", files[i]);
		}
	ok(bad == 0, "corpus %s: every migration reads", set);
	is_int(cl.count, files_expected, "corpus %s: %d files", set, files_expected);
	for (int i = 0; i < cl.count; i++)
	{
		stmts += cl.items[i]->nstatements;
		notx += !cl.items[i]->run_in_transaction;
		with_down += cl.items[i]->rollback != NULL;
	}
	is_int(stmts, stmts_expected, "corpus %s: %d statements", set, stmts_expected);
	is_int(notx, notx_expected, "corpus %s: %d NO TRANSACTION files", set, notx_expected);
	is_int(with_down, with_down_expected, "corpus %s: %d files with a Down section", set,
		   with_down_expected);
	changelog_free(&cl);
}

static void
test_corpus(void)
{
	const char *env = getenv("PGCHANGE_CORPUS");
	char	   *corpus = env ? pstrdup(env) : psprintf("%s/../shared/corpus", srcdir);
	struct stat st;

	if (stat(psprintf("%s/goose", corpus), &st) != 0)
	{
		ok(1, "corpus # SKIP no corpus at %s (set PGCHANGE_CORPUS)", corpus);
		return;
	}
	check_set(corpus, "openfga__openfga", 6, 15, 1, 6);
	check_set(corpus, "DIMO-Network__identity-api", 49, 49, 0, 49);
	check_set(corpus, "hatchet-dev__hatchet", 83, 595, 12, 0);
}

int
main(int argc pg_attribute_unused(), char **argv)
{
	const char *unit;

	pg_logging_init(argv[0]);
	srcdir = getenv("PGCHANGE_SRCDIR");
	if (srcdir == NULL)
	{
		/* built as <src>/tests/unit/test_x: the repository is two up */
		unit = strstr(argv[0], "tests/unit/");
		srcdir = (unit == NULL || unit == argv[0]) ? "." :
			pnstrdup(argv[0], unit - argv[0] - 1);
	}

	test_names();
	test_basic();
	test_annotations();
	test_envsub();
	test_errors();
	test_corpus();
	return done_testing();
}
