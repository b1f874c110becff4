/*-------------------------------------------------------------------------
 *
 * test_changelog_sql.c
 *	  Unit tests for the Liquibase formatted SQL reader and for changelog
 *	  properties: every directive and attribute against the fixtures in
 *	  tests/fixtures/changelogs/sql, the error messages, and every real
 *	  changelog of the Liquibase sets in the shared corpus.
 *
 * Error text is checked through changelog_last_error(), which keeps the
 * last "FILE:LINE: message" a reader reported.  The corpus is found
 * through $PGCHANGE_CORPUS, else ../shared/corpus beside the repository;
 * without it those tests are skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>

#include "changelog_sql.h"
#include "common/logging.h"
#include "filter_expr.h"
#include "properties.h"
#include "tap.h"

static const char *srcdir;

static char *
fixture(const char *name)
{
	return psprintf("%s/tests/fixtures/changelogs/sql/%s", srcdir, name);
}

/* Read a fixture that must be rejected, and check message and hint. */
static void
expect_error(const char *name, int line, const char *msg, const char *hint_part)
{
	char	   *path = fixture(name);
	Changelog	cl = {0};
	bool		res;

	changelog_clear_error();
	res = changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl);
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
test_properties(void)
{
	PropertyList pl;
	PropertyList local;
	char	   *s;

	properties_init(&pl);
	properties_init(&local);
	properties_add(&pl, "Name", "first", NULL);
	properties_add(&pl, "name", "second", "dev");
	properties_add(&pl, "greeting", "hello ${NAME}", NULL);
	properties_add(&pl, "loop", "${loop}!", NULL);
	properties_add(&local, "where", "here", NULL);
	properties_add(&local, "where", "there", NULL);

	is_str(properties_get(&pl, "NAME"), "first",
		   "properties: first definition wins, names case-insensitive");
	ok(pl.count == 4 && pl.contexts[1] && strcmp(pl.contexts[1], "dev") == 0,
	   "properties: later definitions are kept with their context");
	ok(properties_get(&pl, "nope") == NULL, "properties: unknown name is NULL");
	is_str(properties_substitute(&pl, "x ${greeting} ${ name } ${nope} $x ${"),
		   "x hello first first ${nope} $x ${",
		   "substitute: values expand in turn, names are trimmed, unknown and unterminated stay");
	is_str(properties_substitute(&pl, "${na${nope}}"), "${na${nope}}",
		   "substitute: nested unknown expressions stay as written");
	is_str(properties_substitute(&pl, "${${nope}}"), "${nope}",
		   "substitute: ${${x}} with x unknown gives ${x}, as in Liquibase");
	s = properties_substitute(&pl, "${loop}");
	ok(strncmp(s, "${loop}!", 8) == 0, "substitute: a self-referencing value stops");
	is_str(properties_substitute_scoped(&pl, &local, "${where} ${name}"),
		   "there first", "substitute_scoped: last local definition wins, globals first");
	ok(properties_substitute(&pl, NULL) == NULL, "substitute: NULL stays NULL");
	properties_free(&pl);
	properties_free(&local);

	properties_init(&pl);
	ok(properties_read_defaults_file(&pl, fixture("defaults.properties")),
	   "defaults file is read");
	is_int(pl.count, 4, "defaults file: only parameter.* keys become properties");
	is_str(properties_get(&pl, "schema"), "app", "defaults file: key = value");
	is_str(properties_get(&pl, "table"), "people", "defaults file: key:value");
	is_str(properties_get(&pl, "long"), "first second", "defaults file: continuation line");
	is_str(properties_get(&pl, "tab"), "a\tb", "defaults file: escapes");
	changelog_clear_error();
	ok(!properties_read_defaults_file(&pl, fixture("no-such.properties")) &&
	   strstr(changelog_last_error(), "no-such.properties: could not open file") != NULL,
	   "defaults file: a missing file is an error naming it");
	properties_free(&pl);

	/* the run's contexts and labels decide which definitions exist */
	{
		static const char *const dirs[] = {
			"name:a value:dev context:dev",
			"name:a value:labelled labels:paid",
			"name:a value:any",
			"name:b value:required context:@strict",
			"name:c value:required_label labels:@ops",
		};
		const char *run[][2] = {{NULL, NULL}, {"prod", "free"}, {"test", "paid"}, {"strict,dev", "ops"}};
		const char *expect[][3] = {
			{"dev", "required", NULL},
			{"any", NULL, NULL},
			{"labelled", NULL, NULL},
			{"dev", "required", "required_label"},
		};

		for (int r = 0; r < lengthof(run); r++)
		{
			bool		good = true;

			properties_init(&pl);
			properties_init(&local);
			pl.run_contexts = run[r][0];
			pl.run_labels = run[r][1];
			for (int i = 0; i < lengthof(dirs); i++)
				good &= properties_parse_directive(dirs[i], &pl, &local, "x.sql", i + 1);
			ok(good, "--property lines under contexts %s, labels %s are read",
			   run[r][0] ? run[r][0] : "(none)", run[r][1] ? run[r][1] : "(none)");
			ok((properties_get(&pl, "a") ? strcmp(properties_get(&pl, "a"), expect[r][0]) == 0 : expect[r][0] == NULL) &&
			   (properties_get(&pl, "b") ? expect[r][1] && strcmp(properties_get(&pl, "b"), expect[r][1]) == 0 : expect[r][1] == NULL) &&
			   (properties_get(&pl, "c") ? expect[r][2] && strcmp(properties_get(&pl, "c"), expect[r][2]) == 0 : expect[r][2] == NULL),
			   "contexts %s, labels %s: a=%s b=%s c=%s",
			   run[r][0] ? run[r][0] : "(none)", run[r][1] ? run[r][1] : "(none)",
			   expect[r][0], expect[r][1] ? expect[r][1] : "(undefined)",
			   expect[r][2] ? expect[r][2] : "(undefined)");
			properties_free(&pl);
			properties_free(&local);
		}

		properties_init(&pl);
		properties_init(&local);
		pl.run_contexts = "prod";
		ok(properties_parse_directive("name:x value:1 context:prod global:false", &pl, &local, "x.sql", 1) &&
		   properties_parse_directive("name:x value:2 context:dev global:false", &pl, &local, "x.sql", 2) &&
		   strcmp(properties_get_last(&local, "x"), "1") == 0,
		   "global:false definitions are filtered too (the last one that applies wins)");
		changelog_clear_error();
		ok(!properties_parse_directive("name:x value:1 context:(dev", &pl, &local, "x.sql", 7) &&
		   strstr(changelog_last_error(), "x.sql:7: invalid context expression \"(dev\" on a property") != NULL,
		   "a malformed property context is an error naming FILE:LINE (%s)", changelog_last_error());
		properties_free(&pl);
		properties_free(&local);
	}

	/* the environment: first of all, names matched case-insensitively */
	setenv("PGC_UNIT_ENV", "from_environment", 1);
	properties_init(&pl);
	properties_add(&pl, "pgc_unit_env", "from_cli", NULL);
	pl.run_contexts = "kept";
	properties_add_environment(&pl);
	is_str(properties_get(&pl, "Pgc_Unit_Env"), "from_environment",
		   "environment variables come before -D, matched case-insensitively");
	ok(properties_get_last(&pl, "pgc_unit_env") && strcmp(properties_get_last(&pl, "pgc_unit_env"), "from_cli") == 0 &&
	   pl.run_contexts && strcmp(pl.run_contexts, "kept") == 0,
	   "the definitions already there stay, after the environment, and so does the filter");
	properties_free(&pl);
	unsetenv("PGC_UNIT_ENV");

	ok(dbms_matches_postgresql(NULL) && dbms_matches_postgresql("postgresql") &&
	   dbms_matches_postgresql("oracle, PostgreSQL") && dbms_matches_postgresql("!h2") &&
	   dbms_matches_postgresql("none,all"),
	   "dbms lists that select PostgreSQL");
	ok(!dbms_matches_postgresql("oracle") && !dbms_matches_postgresql("!postgresql") &&
	   !dbms_matches_postgresql("none") && !dbms_matches_postgresql("h2,!postgresql"),
	   "dbms lists that exclude PostgreSQL");
}

static void
test_sniff(void)
{
	ok(changelog_sql_sniff(fixture("attributes.sql")), "sniff: --liquibase formatted sql");
	ok(changelog_sql_sniff(fixture("logical.sql")), "sniff: \"-- liquibase formatted sql\" with a blank");
	ok(changelog_sql_sniff(fixture("crlf_bom.sql")), "sniff: BOM and CRLF");
	ok(!changelog_sql_sniff(fixture("not_formatted.sql")), "sniff: plain SQL is not formatted SQL");
	ok(!changelog_sql_sniff(fixture("no-such.sql")), "sniff: a missing file is not");
}

static void
test_attributes(void)
{
	char	   *path = fixture("attributes.sql");
	Changelog	cl = {0};
	PropertyList pl;
	Changeset  *cs;

	properties_init(&pl);
	properties_add(&pl, "table", "from_cli", NULL);
	ok(changelog_sql_read(path, NULL, "ci", "inc", &pl, &cl), "attributes.sql is read");
	if (!is_int(cl.count, 8, "attributes.sql: 8 changesets"))
		return;

	cs = cl.items[0];
	ok(cs->format == CSF_LIQUIBASE_SQL, "format is CSF_LIQUIBASE_SQL");
	is_str(cs->author, "alice", "plain author");
	is_str(cs->id, "1", "plain id");
	is_str(cs->path, path, "path defaults to the file as given");
	is_str(cs->file, path, "file is the physical file");
	ok(cs->line == 18 && cs->body_line == 19, "line is the --changeset line, body_line the first SQL line");
	is_str(cs->body, "create table app.from_cli (id int, owner text default 'app_owner');",
		   "body: caller's property wins, local and nested properties substituted");
	is_str(cs->rollback, "drop table app.from_cli;", "--rollback substituted");
	ok(cs->run_in_transaction && cs->fail_on_error && cs->split_statements &&
	   cs->strip_comments && !cs->run_on_change && !cs->run_always && !cs->ignore &&
	   cs->rollback_split_statements && cs->end_delimiter == NULL && cs->dbms == NULL,
	   "defaults, stripComments true as in Liquibase's formatted SQL");
	is_str(cs->contexts, "ci", "include context alone");
	is_str(cs->labels, "inc", "include labels alone");
	ok(cs->npreconditions == 0 && cs->verify == NULL && cs->comment == NULL &&
	   cs->statements == NULL, "no preconditions, verify, comment or statements");

	cs = cl.items[1];
	is_str(cs->author, "Jane Doe", "quoted author with a blank");
	is_str(cs->id, "change two", "quoted id with a blank");
	ok(cs->run_on_change && cs->run_always && !cs->fail_on_error &&
	   !cs->run_in_transaction && !cs->split_statements && !cs->strip_comments &&
	   !cs->ignore && !cs->rollback_split_statements,
	   "every boolean attribute, any case");
	is_str(cs->end_delimiter, "/", "endDelimiter");
	is_str(cs->rollback_end_delimiter, "GO", "rollbackEndDelimiter");
	is_str(cs->contexts, "(ci) and (dev and !test)", "quoted context ANDed with the include's");
	is_str(cs->labels, "(inc) and (l1, l2)", "quoted labels ANDed with the include's");
	is_str(cs->dbms, "postgresql,h2", "dbms as written");
	is_str(cs->path, "custom/path.sql", "changeset logicalFilePath");
	is_str(cs->comment, "the second changeset", "--comment:");
	ok(cs->nvalid_checksums == 2 && strcmp(cs->valid_checksums[0], "9:abc") == 0 &&
	   strcmp(cs->valid_checksums[1], "ANY") == 0, "--validCheckSum twice, with and without colon, any as ANY");
	is_str(cs->body, "select now(), 'after_colon', '${unknown}', '${unterminated'\n/",
		   "dbms-filtered property, \"name: x\" property, unknown and unterminated kept");
	is_str(cs->rollback, "", "--rollback empty means nothing to undo");

	cs = cl.items[2];
	is_str(cs->author, "ivan.vakhrushev", "author runs to the first colon");
	is_str(cs->id, "2020.01.01:buyer.sequence", "id keeps its colons");
	is_str(cs->contexts, "(ci) and (prod)", "contextFilter wins over context");
	is_str(cs->rollback, "", "\"-- rollback not required\" means nothing to undo");

	cs = cl.items[3];
	ok(cs->ignore, "attributes in parentheses");
	is_str(cs->labels, "(inc) and (x)", "labels in parentheses");
	ok(cs->on_fail == PRECOND_MARK_RAN && cs->on_error == PRECOND_WARN, "--preconditions onFail/onError");
	if (is_int(cs->npreconditions, 5, "five preconditions"))
	{
		Precondition *p = cs->preconditions;

		ok(p[0].kind == PRECOND_SQL_CHECK && strcmp(p[0].expected, "0") == 0 &&
		   strcmp(p[0].sql, "select count(*) from pg_tables where tablename = 'from_cli'") == 0 &&
		   p[0].line == 36, "sql-check: expectedResult word, SQL substituted, line");
		ok(strcmp(p[1].expected, "0 rows") == 0 && strcmp(p[1].sql, "select '0 rows'") == 0,
		   "sql-check: double-quoted expectedResult");
		ok(p[2].kind == PRECOND_TABLE_EXISTS && strcmp(p[2].schema, "public") == 0 &&
		   strcmp(p[2].name, "t1") == 0, "table-exists schema:/table: (Liquibase's names)");
		ok(p[3].kind == PRECOND_TABLE_EXISTS && p[3].schema == NULL &&
		   strcmp(p[3].name, "t2") == 0, "table-exists tableName: without schema");
		ok(p[4].kind == PRECOND_VIEW_EXISTS && strcmp(p[4].schema, "s") == 0 &&
		   strcmp(p[4].name, "v1") == 0, "view-exists schemaName:/viewName:");
	}
	is_str(cs->body, "select 4;", "directives and blocks are not part of the body");
	ok(cs->body_line == 41, "body_line after the precondition lines");
	is_str(cs->rollback, "delete from x;\ndrop table y;", "/* liquibase rollback */ block");
	is_str(cs->verify, "select 1 / count(*) from y;\nselect 2;", "--verify line and /* pgchange verify */ block");
	is_int(cs->verify_line, 46, "verify_line: the first --verify line");

	cs = cl.items[4];
	is_str(cs->body, "select 5;", "--ignoreLines:start/end and --ignoreLines:1 skip lines");
	ok(cs->body_line == 58, "body_line after ignored lines");
	is_str(cs->comment, "without a colon", "--comment without a colon");
	is_str(cs->rollback, "", "--rollback ; means nothing to undo");

	cs = cl.items[5];
	ok(cs->rollback == NULL && strcmp(cs->rollback_ref_id, "5") == 0 &&
	   strcmp(cs->rollback_ref_author, "bob") == 0 && cs->rollback_ref_path == NULL,
	   "--rollback changesetId/changesetAuthor reference");
	cs = cl.items[6];
	ok(strcmp(cs->rollback_ref_id, "99") == 0 && strcmp(cs->rollback_ref_author, "carol") == 0 &&
	   strcmp(cs->rollback_ref_path, "other.sql") == 0,
	   "--rollback reference with changesetPath to another file");

	cs = cl.items[7];
	is_str(cs->comment, "a plain-looking comment is a --comment to Liquibase too",
		   "\"-- Comment: ...\" is a --comment, as in Liquibase");
	is_str(cs->body, "select 8;\n--- three dashes: --rollback and --comment stay SQL comments",
		   "three dashes are a plain comment");
	is_str(cs->rollback, "drop a;\ndrop b;", "several --rollback lines join with newlines");

	is_str(properties_get(&pl, "who"), "app_owner", "global --property added to the caller's list");
	ok(properties_get(&pl, "schema") == NULL, "global:false --property stays in the file");
	is_str(properties_get(&pl, "now"), "now()", "--property for another dbms is dropped");
	ok(properties_get(&pl, "tagged") != NULL && pl.contexts[pl.count - 2] &&
	   strcmp(pl.contexts[pl.count - 2], "dev") == 0, "--property context is kept");
	changelog_free(&cl);
	properties_free(&pl);

	ok(changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl) && cl.count == 8,
	   "props may be NULL");
	is_str(cl.items[0]->body, "create table app.people (id int, owner text default 'app_owner');",
		   "without caller properties the file's first definition wins");
	ok(cl.items[0]->contexts == NULL && cl.items[0]->labels == NULL,
	   "no include expressions: contexts and labels NULL");
	changelog_free(&cl);
}

static void
test_paths_and_encoding(void)
{
	Changelog	cl = {0};

	ok(changelog_sql_read(fixture("logical.sql"), NULL, NULL, NULL, NULL, &cl) &&
	   cl.count == 2, "logical.sql is read");
	is_str(cl.items[0]->path, "db/logical.sql", "header logicalFilePath");
	is_str(cl.items[1]->path, "db/other.sql", "changeset logicalFilePath wins over the header's");
	changelog_free(&cl);
	ok(changelog_sql_read(fixture("logical.sql"), "given/path.sql", NULL, NULL, NULL, &cl),
	   "logical.sql with a logical path");
	is_str(cl.items[0]->path, "db/logical.sql",
		   "the header's logicalFilePath wins over the caller's logical path");
	is_str(cl.items[1]->path, "db/other.sql", "changeset logicalFilePath still wins");
	changelog_free(&cl);
	ok(changelog_sql_read(fixture("attributes.sql"), "given/path.sql", NULL, NULL, NULL, &cl),
	   "a file without logicalFilePath in its header, with a logical path");
	is_str(cl.items[0]->path, "given/path.sql", "the caller's logical path is recorded");
	changelog_free(&cl);

	ok(changelog_sql_read(fixture("crlf_bom.sql"), NULL, NULL, NULL, NULL, &cl) &&
	   cl.count == 1, "BOM and CRLF file is read");
	is_str(cl.items[0]->body, "create table t (\n  id int\n);", "CRLF stored as LF");
	is_str(cl.items[0]->rollback, "drop index i;\ndrop table t;", "CRLF rollback lines");
	ok(cl.items[0]->line == 3 && cl.items[0]->body_line == 4, "line numbers count from the BOM line");
	changelog_free(&cl);
}

static void
test_errors(void)
{
	Changelog	cl = {0};
	char	   *path;

	expect_error("err_unknown_attr.sql", 3, "unknown changeset attribute \"contexts\"",
				 "contextFilter");
	expect_error("err_no_author.sql", 3, "--changeset line needs author:id", "author:id");
	expect_error("err_sql_before.sql", 3, "SQL before the first --changeset", "--changeset");
	expect_error("err_unknown_precondition.sql", 5,
				 "unknown precondition type \"column-exists\"", "--precondition-sql-check");
	expect_error("err_duplicate.sql", 6,
				 "changeset alice:1 is defined twice in this file, at lines 3 and 6", NULL);
	expect_error("err_runwith.sql", 2, "runWith:psql is not supported", "runInTransaction:false");
	expect_error("err_bool.sql", 2, "runOnChange:yes is not a boolean", "runOnChange:true");
	expect_error("err_property_equals.sql", 2,
				 "unexpected text \"name=x\" on the --property line", "name:<name>");
	expect_error("err_empty.sql", 2, "changeset alice:1 has no SQL", NULL);
	expect_error("err_ignorelines.sql", 3, "--ignoreLines:start without --ignoreLines:end", NULL);
	expect_error("err_rollback_before.sql", 2, "--rollback before the first --changeset", NULL);
	expect_error("err_comment_outside.sql", 2, "--comment before the first --changeset", NULL);
	expect_error("err_rollback_unclosed.sql", 4, "/* liquibase rollback block is not closed", NULL);
	expect_error("err_sql_check.sql", 3,
				 "could not parse --precondition-sql-check \"expectedResult:-1 select 1\"",
				 "expectedResult:\"0 rows\"");
	expect_error("err_rollback_ref.sql", 4,
				 "--rollback refers to changeset alice:9, which is not defined earlier in this file",
				 "changesetPath");
	expect_error("err_onfail.sql", 3, "onFail:SKIP is not a precondition failure option", "MARK_RAN");
	expect_error("err_one_dash.sql", 4, "\"-rollback\" needs two dashes", NULL);
	expect_error("not_formatted.sql", 1, "not a Liquibase formatted SQL file", "--liquibase formatted sql");
	expect_error("no-such.sql", 0, "could not open file: No such file or directory", NULL);

	/* out keeps what it had when a later file fails */
	path = fixture("logical.sql");
	changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl);
	ok(!changelog_sql_read(fixture("err_duplicate.sql"), NULL, NULL, NULL, NULL, &cl) &&
	   cl.count == 2, "a failed read leaves out unchanged");
	changelog_free(&cl);
}

/* Collect the .sql files under dir, recursively. */
static void
collect_sql(const char *dir, char ***files, int *n, int *cap)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		char	   *p;
		struct stat st;
		size_t		len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		p = psprintf("%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			collect_sql(p, files, n, cap);
		else if (len > 4 && strcmp(de->d_name + len - 4, ".sql") == 0)
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

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Read one corpus set; returns its changesets (all files read OK or not). */
static Changelog
read_set(const char *corpus, const char *set, PropertyList *props, int *nfiles)
{
	char	   *dir = psprintf("%s/liquibase/%s", corpus, set);
	char	  **files = NULL;
	int			n = 0;
	int			cap = 0;
	int			bad = 0;
	int			others = 0;
	Changelog	cl = {0};

	collect_sql(dir, &files, &n, &cap);
	if (n > 0)
		qsort(files, n, sizeof(char *), cmp_str);
	for (int i = 0; i < n; i++)
	{
		const char *base = strrchr(files[i], '/') + 1;

		/* the corpus's own files are plain SQL, not changelogs */
		if (strcmp(base, "EXPECTED_SCHEMA.sql") == 0 || strcmp(base, "prelude.sql") == 0)
		{
			if (changelog_sql_sniff(files[i]))
			{
				bad++;
				printf("# sniffed as formatted SQL: %s\n", files[i]);
			}
			others++;
			continue;
		}
		if (!changelog_sql_sniff(files[i]))
		{
			bad++;
			printf("# not sniffed: %s\n", files[i]);
		}
		else if (!changelog_sql_read(files[i], NULL, NULL, NULL, props, &cl))
		{
			bad++;
			printf("# read failed: %s\n", files[i]);
		}
	}
	ok(bad == 0 && n - others > 0, "corpus %s: all %d changelog files sniff and read", set,
	   n - others);
	*nfiles = n - others;
	return cl;
}

static void
test_corpus(void)
{
	const char *env = getenv("PGCHANGE_CORPUS");
	char	   *corpus = env ? pstrdup(env) : psprintf("%s/../shared/corpus", srcdir);
	struct stat st;
	Changelog	cl;
	PropertyList pl;
	int			nfiles;
	int			total = 0;
	int			a = 0;
	int			b = 0;
	int			c = 0;

	if (stat(psprintf("%s/liquibase", corpus), &st) != 0)
	{
		ok(1, "corpus # SKIP no corpus at %s (set PGCHANGE_CORPUS)", corpus);
		return;
	}

	cl = read_set(corpus, "mfvanek__pg-index-health-demo", NULL, &nfiles);
	is_int(nfiles, 9, "pg-index-health-demo: 9 files");
	is_int(cl.count, 41, "pg-index-health-demo: 41 changesets");
	for (int i = 0; i < cl.count; i++)
	{
		a += !cl.items[i]->run_in_transaction;
		b += !cl.items[i]->fail_on_error;
		c += strcmp(cl.items[i]->author, "ivan.vakhrushev") == 0 &&
			strcmp(cl.items[i]->id, "2020.01.01:buyer.sequence") == 0;
	}
	ok(a == 4 && b == 1 && c == 1,
	   "pg-index-health-demo: 4 runInTransaction:false, 1 failOnError:false, id with colons");
	total += cl.count;
	changelog_free(&cl);

	cl = read_set(corpus, "PandaYaY__ExTrack", NULL, &nfiles);
	is_int(cl.count, 18, "ExTrack: 18 changesets from 17 BOM/CRLF files");
	a = b = c = 0;
	for (int i = 0; i < cl.count; i++)
	{
		Changeset  *cs = cl.items[i];

		a += cs->rollback && cs->rollback[0] == '\0';
		b += cs->rollback != NULL;
		c += strchr(cs->body, '\r') != NULL || (cs->rollback && strchr(cs->rollback, '\r'));
	}
	ok(a == 14 && b == 18 && c == 0,
	   "ExTrack: every changeset has a rollback, 14 of them \"--rollback ;\", no CR kept");
	total += cl.count;
	changelog_free(&cl);

	cl = read_set(corpus, "garystafford__spring-postgresql-demo", NULL, &nfiles);
	is_int(cl.count, 6, "spring-postgresql-demo: 6 changesets");
	a = b = 0;
	for (int i = 0; i < cl.count; i++)
	{
		a += !cl.items[i]->split_statements;
		b += cl.items[i]->dbms && strcmp(cl.items[i]->dbms, "postgresql") == 0;
	}
	ok(a == 6 && b == 3, "spring-postgresql-demo: 6 splitStatements:false, 3 dbms:postgresql");
	total += cl.count;
	changelog_free(&cl);

	cl = read_set(corpus, "LucaVas__recruiter", NULL, &nfiles);
	is_int(cl.count, 16, "recruiter: 16 changesets");
	a = 0;
	for (int i = 0; i < cl.count; i++)
		for (const char *s = cl.items[i]->rollback; s && *s; s++)
			a += (s == cl.items[i]->rollback) + (*s == '\n');
	is_int(a, 37, "recruiter: 37 rollback lines");
	total += cl.count;
	changelog_free(&cl);

	properties_init(&pl);
	ok(properties_read_defaults_file(&pl, psprintf("%s/liquibase/epam__edp-ddm-registry-postgres/changelog-parameters.properties", corpus)),
	   "edp-ddm-registry: defaults file read");
	cl = read_set(corpus, "epam__edp-ddm-registry-postgres", &pl, &nfiles);
	is_int(cl.count, 8, "edp-ddm-registry: 8 changesets");
	a = b = 0;
	for (int i = 0; i < cl.count; i++)
	{
		Changeset  *cs = cl.items[i];

		a += cs->npreconditions == 1 && cs->on_fail == PRECOND_MARK_RAN &&
			cs->preconditions[0].kind == PRECOND_SQL_CHECK &&
			strcmp(cs->preconditions[0].expected, "0") == 0;
		b += strstr(cs->body, "bpm_service_user") != NULL && strstr(cs->body, "${") == NULL;
	}
	ok(a == 7, "edp-ddm-registry: 7 sql-check preconditions with onFail:MARK_RAN");
	ok(b == 1, "edp-ddm-registry: ${bpmServiceName} substituted from the defaults file");
	total += cl.count;
	changelog_free(&cl);
	properties_free(&pl);

	is_int(total, 89, "corpus: 89 changesets defined, as PROVENANCE counts");
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

	test_properties();
	test_sniff();
	test_attributes();
	test_paths_and_encoding();
	test_errors();
	test_corpus();
	return done_testing();
}
