/*-------------------------------------------------------------------------
 *
 * test_changelog_root.c
 *	  Unit tests of the changelog root loader (controller/changelog_root.c
 *	  and friends): XML / YAML / JSON masters, Liquibase's path rules,
 *	  includeAll ordering, goose directories, duplicate identities, and
 *	  every real-world set of the corpus loaded as Liquibase loads it.
 *
 * Fixtures are in $PGCHANGE_SRCDIR/tests/fixtures/changelogs/roots (or
 * below the current directory); the corpus is $PGCHANGE_CORPUS, default
 * /work/shared/corpus or shared/corpus beside the source tree, and its
 * tests are skipped when it is absent.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "changelog_root.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "properties.h"
#include "tap.h"

static char *fixtures;			/* absolute path of the fixture tree */

/* Test temporaries stay reachable until exit, so leak checks stay quiet */
static void **kept;
static int	nkept;

static char *
T(char *p)
{
	kept = realloc(kept, (nkept + 1) * sizeof(void *));
	kept[nkept++] = p;
	return p;
}

#define TP(...) T(psprintf(__VA_ARGS__))

/* Run changelog_load; with quiet, the expected error text goes nowhere */
static bool
load(const char *root, const char *const *sp, int nsp, bool path_mode,
	 PropertyList *props, Changelog *cl, bool quiet)
{
	ChangelogOptions opts;
	PropertyList own;
	int			saved = -1;
	bool		ok;

	memset(&opts, 0, sizeof(opts));
	memset(cl, 0, sizeof(*cl));
	properties_init(&own);
	opts.root = root;
	opts.search_path = (const char **) sp;
	opts.nsearch_path = nsp;
	opts.props = props ? props : &own;
	opts.path_in_identity = path_mode;
	changelog_clear_error();
	if (quiet)
	{
		int			devnull = open("/dev/null", O_WRONLY);

		fflush(stderr);
		saved = dup(2);
		dup2(devnull, 2);
		close(devnull);
	}
	ok = changelog_load(&opts, cl);
	if (quiet)
	{
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
	properties_free(&own);
	return ok;
}

/* "author:id path" of changeset i, or "(none)" */
static const char *
ident(const Changelog *cl, int i)
{
	if (i < 0 || i >= cl->count)
		return "(none)";
	return TP("%s:%s %s", cl->items[i]->author, cl->items[i]->id,
					cl->items[i]->path);
}

/* The changelog holds exactly the expected "author:id path" list */
static void
check_list(const Changelog *cl, const char *const *expected, int n, const char *what)
{
	is_int(cl->count, n, "%s: %d changesets", what, n);
	for (int i = 0; i < n; i++)
		is_str(ident(cl, i), expected[i], "%s: #%d is %s", what, i + 1, expected[i]);
}

/* A load that must fail, with msg in the error (and hint, if given) */
static void
check_error(const char *root, const char *const *sp, int nsp, bool path_mode,
			const char *msg, const char *hint, const char *what)
{
	Changelog	cl;
	bool		loaded = load(root, sp, nsp, path_mode, NULL, &cl, true);

	ok(!loaded, "%s: fails", what);
	ok(strstr(changelog_last_error(), msg) != NULL, "%s: error says \"%s\" (%s)",
	   what, msg, changelog_last_error());
	if (hint)
		is_str(changelog_last_error_hint(), hint, "%s: hint", what);
}

/* Copy src to dst with a UTF-8 BOM and CRLF line ends */
static void
write_bom_crlf(const char *src, const char *dst)
{
	size_t		len;
	char	   *data = changelog_read_file(src, &len);
	FILE	   *f = fopen(dst, "wb");

	fputs("\xEF\xBB\xBF", f);
	for (size_t i = 0; i < len; i++)
	{
		if (data[i] == '\n')
			fputc('\r', f);
		fputc(data[i], f);
	}
	fclose(f);
	pfree(data);
}

static void
test_xml_master(void)
{
	const char *sp[] = {TP("%s/sp1", fixtures), TP("%s/sp2", fixtures)};
	const char *expected[] = {
		"alice:a1 db/a.sql",
		"alice:a2 db/a2.sql",
		"alice:rel1 db/sub/rel.sql",
		"carol:extra1 db/extra.sql",
		"alice:all-a db/all/a.sql",
		"alice:all-bx db/all/b-x.sql",
		"includeAll:raw db/all/b.sql",
		"alice:all-bc db/all/b/c.sql",
		"alice:all-bd db/all/b/deep/d.sql",
		"bob:file1 master.xml",
		"bob:empty master.xml",
	};
	Changelog	cl;
	Changeset  *cs;

	ok(load("master.xml", sp, 2, false, NULL, &cl, false), "XML master loads");
	check_list(&cl, expected, lengthof(expected), "XML master");
	if (cl.count != lengthof(expected))
		return;

	is_str(cl.items[1]->contexts, "(test) and (fast)", "include context ANDed with the changeset's");
	is_str(cl.items[1]->labels, "(v1) and (l2)", "include labels combined with the changeset's");
	ok(strstr(cl.items[3]->file, "/sp2/db/extra.sql") != NULL, "second search path entry used");
	is_str(cl.items[4]->contexts, "!prod", "includeAll context on its files");

	cs = cl.items[6];
	is_str(cs->body, "-- not formatted: Liquibase makes the whole file one \"raw\" changeset\n"
		   "CREATE TABLE raw_one (id int);\nCREATE TABLE raw_two (id int);\n",
		   "raw SQL file: the whole file is the body");
	ok(!cs->split_statements && !cs->strip_comments, "raw SQL: not split, comments kept");
	is_str(cs->contexts, "!prod", "raw SQL: includeAll context");

	cs = cl.items[9];
	is_str(cs->body, "CREATE TABLE from_master (id int)\nGO\n", "sqlFile body, property expanded");
	ok(strstr(cs->body_file, "sp1/db/body.sql") != NULL, "sqlFile: body_file names the SQL file");
	is_int(cs->line, 26, "sqlFile changeset: line of <changeSet>");
	ok(!cs->split_statements, "sqlFile splitStatements=false");
	is_str(cs->end_delimiter, "GO", "sqlFile endDelimiter");
	ok(cs->run_on_change, "changeSet runOnChange");
	is_str(cs->contexts, "dev", "changeSet context");
	is_str(cs->labels, "l1", "changeSet labels");
	is_str(cs->comment, "a sqlFile changeset", "changeSet comment");
	is_str(cs->rollback, "DROP TABLE from_master;", "changeSet rollback text");

	cs = cl.items[10];
	is_str(cs->body, "", "changeSet without changes has an empty body");
	ok(!cs->run_in_transaction, "runInTransaction=false");
	ok(cs->nvalid_checksums == 1 && strcmp(cs->valid_checksums[0], "ANY") == 0, "validCheckSum");
	is_int(cs->npreconditions, 2, "two preconditions");
	ok(cs->on_fail == PRECOND_MARK_RAN, "preconditions onFail=MARK_RAN");
	if (cs->npreconditions == 2)
	{
		ok(cs->preconditions[0].kind == PRECOND_SQL_CHECK &&
		   strcmp(cs->preconditions[0].expected, "0") == 0, "sqlCheck expectedResult");
		is_str(cs->preconditions[0].sql,
			   "SELECT count(*) FROM pg_tables WHERE tablename = 'local_value'",
			   "sqlCheck text, global=\"false\" property expanded in its own file");
		ok(cs->preconditions[1].kind == PRECOND_TABLE_EXISTS &&
		   strcmp(cs->preconditions[1].schema, "public") == 0 &&
		   strcmp(cs->preconditions[1].name, "t") == 0, "tableExists");
	}
	changelog_free(&cl);
}

static void
test_yaml_json_masters(void)
{
	const char *sp[] = {TP("%s/sp1", fixtures)};
	const char *yaml[] = {
		"alice:a1 db/a.sql",
		"alice:all-a db/all/a.sql",
		"alice:all-bx db/all/b-x.sql",
		"includeAll:raw db/all/b.sql",
		"alice:all-bc db/all/b/c.sql",
		"yves:yfile logical/master.yaml",
		"yves:ynothing logical/master.yaml",
	};
	const char *json[] = {
		"alice:a1 db/a.sql",
		"alice:all-bd db/all/b/deep/d.sql",
		"jane:42 master.json",
	};
	Changelog	cl;
	PropertyList props;

	ok(load("master.yaml", sp, 1, false, NULL, &cl, false), "YAML master loads");
	check_list(&cl, yaml, lengthof(yaml), "YAML master");
	if (cl.count == lengthof(yaml))
	{
		is_str(cl.items[0]->contexts, "pub and !sub", "YAML include contextFilter");
		is_str(cl.items[1]->labels, "x,y", "YAML includeAll labels");
		is_str(cl.items[5]->labels, "own", "YAML changeSet labels");
		is_str(cl.items[5]->body, "CREATE TABLE ignored_because_first_definition_wins (id int)\nGO\n",
			   "first definition of a property wins (the properties file came first)");
		ok(cl.items[5]->strip_comments, "YAML sqlFile stripComments");
		is_str(cl.items[5]->rollback, cl.items[5]->body, "YAML rollback from sqlFile");
		is_str(cl.items[6]->comment, "uses file_value", "property from a properties file");
		ok(cl.items[6]->nvalid_checksums == 2, "YAML validCheckSum list");
		is_int(cl.items[5]->line, 17, "YAML changeSet line");
	}
	changelog_free(&cl);

	/* -D given by the user wins over the master's definitions */
	properties_init(&props);
	properties_add(&props, "tbl", "from_cli", NULL);
	ok(load("master.yaml", sp, 1, false, &props, &cl, false) && cl.count == 7 &&
	   strstr(cl.items[5]->body, "from_cli") != NULL, "command-line property wins");
	changelog_free(&cl);
	properties_free(&props);

	ok(load("master.json", sp, 1, false, NULL, &cl, false), "JSON master loads");
	check_list(&cl, json, lengthof(json), "JSON master");
	if (cl.count == lengthof(json))
	{
		is_str(cl.items[0]->labels, "j1", "JSON include labels");
		ok(cl.items[2]->run_always, "JSON runAlways");
		is_str(cl.items[2]->body, "CREATE TABLE from_json (id int)\nGO\n",
			   "JSON numeric id, local property in its own file");
	}
	changelog_free(&cl);
}

/* The same masters with a UTF-8 BOM and CRLF line ends */
static void
test_bom_crlf(void)
{
	char		tmpl[] = "/tmp/pgchange_roots_XXXXXX";
	char	   *tmp = mkdtemp(tmpl);
	const char *sp[3];
	const char *names[] = {"master.xml", "master.yaml", "master.json"};
	const int	counts[] = {11, 7, 3};
	Changelog	cl;

	if (tmp == NULL)
	{
		ok(false, "temporary directory");
		return;
	}
	sp[0] = tmp;
	sp[1] = TP("%s/sp1", fixtures);
	sp[2] = TP("%s/sp2", fixtures);
	for (int i = 0; i < 3; i++)
	{
		char	   *dst = TP("%s/crlf_%s", tmp, names[i]);

		write_bom_crlf(TP("%s/sp1/%s", fixtures, names[i]), dst);
		ok(load(TP("crlf_%s", names[i]), sp, 3, false, NULL, &cl, false) &&
		   cl.count == counts[i], "%s with BOM and CRLF: %d changesets", names[i], counts[i]);
		if (i == 0 && cl.count == counts[i])
			is_int(cl.items[9]->line, 26, "BOM + CRLF XML keeps line numbers");
		changelog_free(&cl);
		unlink(dst);
	}
	rmdir(tmp);
}

static void
test_errors(void)
{
	const char *sp[] = {TP("%s/errors", fixtures)};
	const char *convert = "Convert it to formatted SQL: pgchange deploys SQL changesets.";
	const char *identity = "Set the project's identity mode to path: pgchange deploy --identity=path.";
	Changelog	cl;

	check_error("unknown_element.xml", sp, 1, false,
				"unknown_element.xml:4: unknown element \"includeAlll\" in databaseChangeLog", NULL,
				"XML unknown element");
	check_error("unknown_attr.xml", sp, 1, false,
				"unknown_attr.xml:3: unknown attribute \"relativeToChangeLogFile\" in include", NULL,
				"XML unknown attribute");
	check_error("pro_element.xml", sp, 1, false, "unknown element \"pro:includeAll\"", NULL,
				"XML element of another namespace");
	check_error("change_type.xml", sp, 1, false,
				"change_type.xml:4: unsupported change type createTable", convert,
				"XML createTable");
	check_error("bad.xml", sp, 1, false, "invalid XML", NULL, "XML syntax error");
	check_error("unknown_key.yaml", sp, 1, false,
				"unknown_key.yaml:6: unknown attribute \"contxt\" in include", NULL,
				"YAML unknown key");
	check_error("change_type.yaml", sp, 1, false,
				"change_type.yaml:6: unsupported change type sql", convert, "YAML sql change");
	check_error("bad.yaml", sp, 1, false, "bad.yaml:4: invalid YAML", NULL, "YAML syntax error");
	check_error("unknown_key.json", sp, 1, false,
				"unknown_key.json: databaseChangeLog[1].include.flie: unknown attribute \"flie\" in include",
				NULL, "JSON unknown key named by its path");
	check_error("resource_filter.json", sp, 1, false,
				"databaseChangeLog[0].includeAll: includeAll resourceFilter names a Java class",
				"Use endsWithFilter, minDepth and maxDepth, or list the files with include.",
				"includeAll resourceFilter");
	check_error("bad.json", sp, 1, false, "bad.json:3: invalid JSON", NULL, "JSON syntax error");
	check_error("missing_include.xml", sp, 1, false,
				"missing_include.xml:3: included file \"no/such/file.sql\" not found", NULL,
				"missing include");
	check_error("missing_include.json", sp, 1, false,
				"missing_include.json: databaseChangeLog[1].include: included file \"no/such/file.sql\" not found",
				NULL, "missing include named by its JSON path");
	check_error("empty_includeall.yaml", sp, 1, false,
				"empty_includeall.yaml:5: includeAll \"no/such/dir\": no such directory", NULL,
				"missing includeAll directory (the first one is optional)");
	check_error("circular_a.xml", sp, 1, false, "circular include", NULL, "circular include");
	check_error("dup_same_file.xml", sp, 1, true, "1 changeset duplicates",
				"A file is included twice (its paths normalise to the same one, as in Liquibase 4); include it once.",
				"one file included as ./dup/x.sql and relatively as dup/x.sql");
	check_error("dup_ids.yaml", sp, 1, false, "1 changeset duplicates", identity,
				"the same id:author in two files");
	ok(load("dup_ids.yaml", sp, 1, true, NULL, &cl, false) && cl.count == 2,
	   "the same id:author in two files loads with path identity");
	changelog_free(&cl);
	check_error("dup_in_file.sql", sp, 1, true, "changeset same:1 is defined twice in this file",
				NULL, "the same id:author twice in one file (the SQL reader finds it)");
	check_error("precond.xml", sp, 1, false,
				"precond.xml:4: changelog-level precondition \"runningAs\" is not supported", NULL,
				"unsupported changelog precondition");
	check_error("precond_dbms.xml", sp, 1, false, "changelog precondition dbms does not hold", NULL,
				"changelog precondition dbms for another database");
	check_error("emptyraw.yaml", sp, 1, false, "empty.sql: empty file", NULL,
				"empty raw SQL file");
	check_error("unknown_format.txt", sp, 1, false, "not a changelog format", NULL,
				"unknown root format");
	check_error("two_sqlfiles.yaml", sp, 1, false, "holds more than one sqlFile", NULL,
				"two sqlFile changes in one changeSet");
	check_error("no_such_root.xml", sp, 1, false, "changelog not found", NULL,
				"missing root");
}

static void
test_search_path(void)
{
	const char *dupsp[] = {TP("%s/sp1", fixtures), TP("%s/sp2", fixtures),
	TP("%s/dupsp", fixtures)};
	const char *sp1[] = {TP("%s/sp1", fixtures)};
	const char *one[] = {fixtures};
	char		cwd[MAXPGPATH];
	Changelog	cl;

	check_error("master.xml", dupsp, 3, false, "\"db/a.sql\" is found twice in the search path",
				NULL, "one logical path, two files in the search path");
	check_error(TP("%s/errors/a.sql", fixtures), sp1, 1, false,
				"the changelog root is not inside the search path", NULL,
				"root outside the search path");

	/* a root given as a file path inside an entry: logical path below it */
	ok(load(TP("%s/errors/a.sql", fixtures), one, 1, false, NULL, &cl, false) &&
	   cl.count == 1, "root as a file-system path inside the search path");
	is_str(ident(&cl, 0), "err:a errors/a.sql", "its logical path is relative to the entry");
	changelog_free(&cl);

	/* default search path: the current directory, then the root's own */
	if (getcwd(cwd, sizeof(cwd)) && chdir(fixtures) == 0)
	{
		const char *expected[] = {"dir:b dirroot/b.sql", "dir:a dirroot/sub/a.sql",
		"dir:c dirroot/sub/c.yaml"};

		ok(load("dirroot", NULL, 0, false, NULL, &cl, false), "default search path: directory root");
		check_list(&cl, expected, lengthof(expected), "directory root, includeAll order");
		changelog_free(&cl);
		if (chdir(TP("%s/goose", fixtures)) == 0)
		{
			ok(load(TP("%s/dirroot", fixtures), NULL, 0, false, NULL, &cl, false) &&
			   cl.count == 3, "default search path: root outside the current directory");
			is_str(ident(&cl, 0), "dir:b b.sql", "logical path relative to the root directory");
			changelog_free(&cl);
		}
		ok(chdir(cwd) == 0, "back to the original directory");
	}
}

static void
test_goose_fixtures(void)
{
	const char *sp[] = {fixtures};
	const char *expected[] = {"goose:1 goose/ok/1_first.sql", "goose:2 goose/ok/2_second.sql",
	"goose:10 goose/ok/10_tenth.sql"};
	Changelog	cl;

	ok(load("goose/ok", sp, 1, false, NULL, &cl, false), "goose directory loads");
	check_list(&cl, expected, lengthof(expected), "goose directory, versions ascending");
	ok(cl.count == 3 && cl.items[0]->format == CSF_GOOSE, "goose format");
	changelog_free(&cl);

	ok(load("goose/ok/10_tenth.sql", sp, 1, false, NULL, &cl, false) && cl.count == 1 &&
	   cl.items[0]->format == CSF_GOOSE, "a goose file as root");
	changelog_free(&cl);

	check_error("goose/dup", sp, 1, false, "goose version 1 is also used by", NULL,
				"duplicate goose version");
	check_error("goose/gofile", sp, 1, false, "goose Go migration", NULL,
				"goose Go migration");

	ok(load("errors/a.sql", sp, 1, false, NULL, &cl, false) && cl.count == 1,
	   "a formatted SQL file as root");
	is_str(ident(&cl, 0), "err:a errors/a.sql", "formatted SQL root: logical path");
	changelog_free(&cl);
}

/* changelog_load with the run's contexts, labels and environment */
static bool
load_run(const char *root, const char *contexts, const char *labels,
		 bool environment, PropertyList *props, Changelog *cl)
{
	ChangelogOptions opts;
	const char *sp[] = {TP("%s/props", fixtures)};

	memset(&opts, 0, sizeof(opts));
	memset(cl, 0, sizeof(*cl));
	opts.root = root;
	opts.search_path = sp;
	opts.nsearch_path = 1;
	opts.props = props;
	opts.contexts = contexts;
	opts.labels = labels;
	opts.environment = environment;
	changelog_clear_error();
	return changelog_load(&opts, cl);
}

/*
 * Properties with context and labels, under several runs: a definition is
 * made only when the run's contexts and labels match, first one wins.
 */
static void
test_property_filters(void)
{
	static const struct
	{
		const char *contexts;
		const char *labels;
		const char *comment;	/* of m1, which uses every property */
		const char *body;		/* of s1, in the included formatted SQL */
	}			runs[] = {
		{NULL, NULL,
			"dev_value gold strict_value ${ops} ${h2} file_value sql_dev ${local}",
		"select 'dev_value', 'sql_dev', 'local_test';"},
		{"prod", "ops",
			"prod_value free ${strict} ops_value ${h2} file_value sql_any ${local}",
		"select 'prod_value', 'sql_any', 'local_other';"},
		{"test, strict", "paid",
			"default_value gold strict_value ${ops} ${h2} master_value sql_labelled ${local}",
		"select 'default_value', 'sql_labelled', 'local_test';"},
		{"STAGING", "!paid",
			"prod_value free ${strict} ops_value ${h2} master_value sql_any ${local}",
		"select 'prod_value', 'sql_any', 'local_other';"},
	};
	Changelog	cl;
	PropertyList props;

	for (int r = 0; r < lengthof(runs); r++)
	{
		const char *what = TP("contexts %s, labels %s",
							  runs[r].contexts ? runs[r].contexts : "(none)",
							  runs[r].labels ? runs[r].labels : "(none)");

		properties_init(&props);
		ok(load_run("master.xml", runs[r].contexts, runs[r].labels, false, &props, &cl) &&
		   cl.count == 3, "properties master loads under %s", what);
		if (cl.count == 3)
		{
			is_str(cl.items[2]->comment, runs[r].comment, "%s: master properties", what);
			is_str(cl.items[0]->body, runs[r].body, "%s: formatted SQL properties", what);
		}
		ok(props.run_contexts == NULL && props.run_labels == NULL,
		   "%s: the caller's list is left without the run's filter", what);
		changelog_free(&cl);
		properties_free(&props);
	}

	/* the header's logicalFilePath wins over the include's path */
	ok(load_run("master.xml", NULL, NULL, false, NULL, &cl) && cl.count == 3,
	   "properties master loads without a property list");
	is_str(ident(&cl, 0), "pat:s1 custom/props-logical.sql",
		   "the formatted SQL header's logicalFilePath wins over the including path");
	is_str(ident(&cl, 1), "pat:s2 own/path.sql", "a changeset's logicalFilePath wins over both");
	is_str(ident(&cl, 2), "pat:m1 master.xml", "the master's own changeset");
	changelog_free(&cl);

	/* -D comes first; the environment before it, names in any case */
	properties_init(&props);
	properties_add(&props, "env", "cli_value", NULL);
	setenv("ENV", "environment_value", 1);
	ok(load_run("master.xml", "prod", NULL, false, &props, &cl) && cl.count == 3 &&
	   strncmp(cl.items[2]->comment, "cli_value ", 10) == 0,
	   "-D wins over every changelog definition");
	changelog_free(&cl);
	ok(load_run("master.xml", "prod", NULL, true, &props, &cl) && cl.count == 3 &&
	   strncmp(cl.items[2]->comment, "environment_value ", 18) == 0,
	   "with the environment, ENV wins over -D and the changelog (Liquibase's order)");
	changelog_free(&cl);
	unsetenv("ENV");
	properties_free(&props);

	ok(!load_run("master.xml", NULL, "paid and", false, NULL, &cl) && cl.count == 0,
	   "an invalid --labels expression stops the load");
}

/* A goose migration reached from a Liquibase changelog is refused */
static void
test_goose_refused(void)
{
	const char *sp[] = {TP("%s/props", fixtures)};
	const char *dir_hint = TP("deploy it with pgchange deploy -c %s/props/goose ", fixtures);
	Changelog	cl;

	check_error("goose_include.xml", sp, 1, false,
				"goose/00001_create.sql:1: goose migration in a Liquibase changelog", NULL,
				"goose file included from an XML master");
	ok(strstr(changelog_last_error_hint(), dir_hint) != NULL,
	   "the hint names its directory as a root of its own (%s)", changelog_last_error_hint());
	check_error("goose_includeall.yaml", sp, 1, false,
				"goose/00001_create.sql:1: goose migration in a Liquibase changelog", NULL,
				"goose directory included with includeAll");
	check_error("mixed", sp, 1, false,
				"mixed/migrations/00001_init.sql:2: goose migration in a Liquibase changelog", NULL,
				"goose file below a directory root that is not goose's");
	check_error("create_users.sql", sp, 1, false,
				"create_users.sql:2: goose migration without a version in its file name",
				NULL, "goose annotations in a root without a version");
	ok(strstr(changelog_last_error_hint(), "00001_create_users.sql") != NULL,
	   "the hint shows a goose file name");

	/* goose's own reading of the same file is unchanged */
	ok(load("goose/00001_create.sql", sp, 1, false, NULL, &cl, false) && cl.count == 1 &&
	   cl.items[0]->format == CSF_GOOSE, "the goose file as a root is read as goose");
	changelog_free(&cl);
	ok(load("goose", sp, 1, false, NULL, &cl, false) && cl.count == 1 &&
	   cl.items[0]->format == CSF_GOOSE, "its directory as a root is read as goose");
	changelog_free(&cl);
}

/* First and last "author:id path" of a corpus set, and its size */
static void
check_corpus(const char *what, const Changelog *cl, int n, const char *first, const char *last)
{
	is_int(cl->count, n, "%s: %d changesets", what, n);
	is_str(ident(cl, 0), first, "%s: first changeset", what);
	is_str(ident(cl, cl->count - 1), last, "%s: last changeset", what);
}

static void
test_liquibase_corpus(const char *corpus)
{
	const char *identity = "Set the project's identity mode to path: pgchange deploy --identity=path.";
	const char *lb = TP("%s/liquibase", corpus);
	const char *health[] = {TP("%s/mfvanek__pg-index-health-demo/db-migrations/src/main/resources", lb)};
	const char *extrack[] = {TP("%s/PandaYaY__ExTrack/db/Migrations", lb)};
	const char *spring[] = {TP("%s/garystafford__spring-postgresql-demo/src/main/resources", lb)};
	const char *recruiter[] = {TP("%s/LucaVas__recruiter/server/src/main/resources", lb)};
	const char *edp[] = {TP("%s/epam__edp-ddm-registry-postgres/platform-db/changesets", lb)};
	const char *health_files[] = {"schema", "warehouse", "buyer", "courier", "orders",
	"order_item", "payment", "dictionary", "reports"};
	Changelog	cl;
	PropertyList props;
	int			file = 0;
	bool		in_order = true;

	ok(load("db/changelog/db.changelog-master.yaml", health, 1, false, NULL, &cl, false),
	   "pg-index-health loads");
	check_corpus("pg-index-health", &cl, 41,
				 "ivan.vakhrushev:2020.01.01:create.schema db/changelog/sql/schema.sql",
				 "ivan.vakhrushev:2025.06.29:reports.generate.data db/changelog/sql/reports.sql");
	for (int i = 0; i < cl.count; i++)
	{
		char	   *want = TP("db/changelog/sql/%s.sql", health_files[file]);

		if (strcmp(cl.items[i]->path, want) != 0)
		{
			if (file + 1 < (int) lengthof(health_files) &&
				strcmp(cl.items[i]->path, TP("db/changelog/sql/%s.sql", health_files[file + 1])) == 0)
				file++;
			else
				in_order = false;
		}
	}
	ok(in_order && file == lengthof(health_files) - 1, "pg-index-health: files in include order");
	changelog_free(&cl);

	check_error("db-changelog.yaml", extrack, 1, false, "17 changesets duplicate", identity,
				"ExTrack without path identity");
	ok(load("db-changelog.yaml", extrack, 1, true, NULL, &cl, false), "ExTrack loads with path identity");
	check_corpus("ExTrack", &cl, 18,
				 "agalimianov:1 001_public/001_tables/001_roles/001_table.sql",
				 "agalimianov:1 001_public/002_functions/004_add_check_info.sql");
	changelog_free(&cl);

	check_error("db/changelog/db.changelog-master.yaml", spring, 1, false,
				"5 changesets duplicate", identity, "spring-postgresql-demo without path identity");
	ok(load("db/changelog/db.changelog-master.yaml", spring, 1, true, NULL, &cl, false),
	   "spring-postgresql-demo loads with path identity");
	check_corpus("spring-postgresql-demo", &cl, 6,
				 "gary.stafford:elections-sql db/changelog/changes/v0001.sql",
				 "gary.stafford:elections-sql db/changelog/changes/v0006.sql");
	changelog_free(&cl);

	ok(load("db/changelog/db.changelog-master.xml", recruiter, 1, false, NULL, &cl, false),
	   "recruiter loads");
	check_corpus("recruiter", &cl, 16,
				 "lucavassos:create_update_updated_at_column_function db/changelog/changesets/functions/2024-09-25_17.35__create_update_updated_at_column_function.sql",
				 "lucavassos:bootstrap_users_table db/changelog/changesets/bootstrap/2024-09-25_19.11__bootstrap_users_table.sql");
	is_str(ident(&cl, 1), "lucavassos:create_roles_table db/changelog/changesets/tables/2024-09-25_17.36__create_roles_table.sql",
		   "recruiter: directories in master order, then files by name");
	changelog_free(&cl);

	properties_init(&props);
	ok(properties_read_defaults_file(&props, TP("%s/epam__edp-ddm-registry-postgres/changelog-parameters.properties", lb)),
	   "edp: defaults file read");
	ok(load("camunda-changelog.xml", edp, 1, false, &props, &cl, false), "edp camunda loads");
	check_corpus("edp camunda", &cl, 8,
				 "platform:create-engine camunda/00010_create-engine.sql",
				 "platform:grant-access camunda/00090_grant-access.sql");
	ok(cl.count == 8 && strstr(cl.items[7]->body, "bpm_service_user") != NULL &&
	   strstr(cl.items[7]->body, "${bpmServiceName}") == NULL,
	   "edp: changelog parameters substituted");
	changelog_free(&cl);
	properties_free(&props);
}

static void
test_goose_corpus(const char *corpus)
{
	const char *dirs[] = {"openfga__openfga/assets/migrations/postgres",
		"DIMO-Network__identity-api/migrations",
	"hatchet-dev__hatchet/cmd/hatchet-migrate/migrate/migrations"};
	const int	counts[] = {6, 49, 83};
	const char *first[] = {"1", "1", "20240115180414"};
	const char *last[] = {"6", "49", "20250224162902"};
	const char *sp[] = {TP("%s/goose", corpus)};

	for (int d = 0; d < 3; d++)
	{
		Changelog	cl;
		bool		ascending = true;

		ok(load(dirs[d], sp, 1, false, NULL, &cl, false), "goose %s loads", dirs[d]);
		is_int(cl.count, counts[d], "goose %s: %d files", dirs[d], counts[d]);
		for (int i = 1; i < cl.count; i++)
			if (strtoll(cl.items[i - 1]->id, NULL, 10) >= strtoll(cl.items[i]->id, NULL, 10))
				ascending = false;
		ok(ascending, "goose %s: versions ascending", dirs[d]);
		if (cl.count > 0)
		{
			is_str(cl.items[0]->id, first[d], "goose %s: first version", dirs[d]);
			is_str(cl.items[cl.count - 1]->id, last[d], "goose %s: last version", dirs[d]);
			ok(strncmp(cl.items[0]->path, dirs[d], strlen(dirs[d])) == 0,
			   "goose %s: logical path below the search path", dirs[d]);
		}
		changelog_free(&cl);
	}
}

int
main(int argc, char **argv)
{
	const char *srcdir = getenv("PGCHANGE_SRCDIR");
	const char *corpus = getenv("PGCHANGE_CORPUS");
	char	   *dir = TP("%s/tests/fixtures/changelogs/roots", srcdir ? srcdir : ".");
	struct stat st;

	pg_logging_init(argv[0]);
	fixtures = realpath(dir, NULL);
	if (fixtures == NULL)
	{
		/* the binary lives in tests/unit */
		char	   *self = realpath(argv[0], NULL);

		if (self && strrchr(self, '/'))
		{
			*strrchr(self, '/') = '\0';
			fixtures = realpath(TP("%s/../fixtures/changelogs/roots", self), NULL);
		}
		free(self);
	}
	if (fixtures == NULL)
	{
		ok(false, "fixtures found (set PGCHANGE_SRCDIR)");
		return done_testing();
	}

	test_xml_master();
	test_yaml_json_masters();
	test_bom_crlf();
	test_errors();
	test_search_path();
	test_goose_fixtures();
	test_property_filters();
	test_goose_refused();

	if (corpus == NULL)
	{
		/* the shared tree, or shared/ beside the source tree (CI) */
		corpus = "/work/shared/corpus";
		if (stat(corpus, &st) != 0)
			corpus = TP("%s/../shared/corpus", srcdir ? srcdir : ".");
	}
	if (stat(corpus, &st) == 0 && S_ISDIR(st.st_mode))
	{
		test_liquibase_corpus(corpus);
		test_goose_corpus(corpus);
	}
	else
		printf("# SKIP corpus tests: %s not found (set PGCHANGE_CORPUS)\n", corpus);

	return done_testing();
}
