/*-------------------------------------------------------------------------
 *
 * test_rollback.c
 *	  Unit tests for the deploy side of rollbacks (rollback_resolve.c):
 *	  which rollback a changeset stores (its own text with
 *	  rollbackEndDelimiter, a changesetId reference, goose Down as goose
 *	  splits it, "empty", nothing), the --tag directive of formatted SQL,
 *	  deploy --to-tag's cut and --test-rollback's check.  No database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "changelog_goose.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "exitcodes.h"
#include "rollback.h"
#include "rollback_int.h"
#include "tap.h"

static char dir[] = "/tmp/pgchange_test_rollback_XXXXXX";

static char *
write_file(const char *name, const char *text)
{
	char	   *path = psprintf("%s/%s", dir, name);
	FILE	   *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
	{
		fprintf(stderr, "could not write %s\n", path);
		exit(2);
	}
	return path;
}

static const Changeset *
find(const Changelog *cl, const char *id)
{
	for (int i = 0; i < cl->count; i++)
		if (strcmp(cl->items[i]->id, id) == 0)
			return cl->items[i];
	return NULL;
}

/* the stored rollback of changeset id, "(none)" when it has none */
static char *
resolved(const Changelog *cl, const char *id, bool *in_transaction, int *nstatements)
{
	ResolvedRollback r;

	if (!rollback_resolve(cl, find(cl, id), &r))
		return pstrdup("(error)");
	if (in_transaction)
		*in_transaction = r.in_transaction;
	if (nstatements)
		*nstatements = r.statements ? r.nstatements : -1;
	return r.sql ? r.sql : pstrdup("(none)");
}

static void
test_formatted_sql(void)
{
	Changelog	cl = {0};
	char	   *path = write_file("a.sql",
								  "--liquibase formatted sql\n\n"
								  "--changeset alice:1\n"
								  "CREATE TABLE t1 (id int);\n"
								  "--rollback DROP TABLE t1;\n\n"
								  "--changeset alice:2 rollbackEndDelimiter:GO runInTransaction:false\n"
								  "CREATE INDEX CONCURRENTLY i ON t1 (id);\n"
								  "--rollback DROP INDEX CONCURRENTLY i\n"
								  "--rollback GO\n"
								  "--tag v2\n\n"
								  "--changeset alice:3\n"
								  "DROP TABLE t1;\n"
								  "--rollback changesetId:1 changesetAuthor:alice\n\n"
								  "--changeset alice:4\n"
								  "SELECT 1;\n"
								  "--rollback not required\n\n"
								  "--changeset alice:5\n"
								  "SELECT 2;\n"
								  "-- tag: an ordinary comment\n");
	bool		in_tx = true;
	int			n = 0;

	ok(changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "a.sql reads");
	is_str(resolved(&cl, "1", &in_tx, &n), "DROP TABLE t1;", "a --rollback line is stored as written");
	ok(in_tx && n == -1, "in a transaction, split by the server");
	is_str(resolved(&cl, "2", &in_tx, NULL), "DROP INDEX CONCURRENTLY i\n;",
		   "rollbackEndDelimiter turns into ';'");
	ok(!in_tx, "runInTransaction:false: the rollback runs outside a transaction too");
	is_str(find(&cl, "2")->tag, "v2", "--tag NAME tags the changeset");
	is_str(resolved(&cl, "3", NULL, NULL), "CREATE TABLE t1 (id int);",
		   "a changesetId reference stores the body of the changeset it names");
	is_str(resolved(&cl, "4", NULL, NULL), "", "\"not required\" stores nothing to undo");
	is_str(resolved(&cl, "5", NULL, NULL), "(none)", "no rollback stores none");
	ok(find(&cl, "5")->tag == NULL, "\"-- tag: ...\" with a blank after the dashes is a comment");
	changelog_free(&cl);

	/* --tag is checked */
	path = write_file("b.sql",
					  "--liquibase formatted sql\n\n"
					  "--changeset bob:1\n"
					  "SELECT 1;\n"
					  "--tag two words\n");
	changelog_clear_error();
	ok(!changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "--tag with two words is refused");
	is_str(changelog_last_error(), psprintf("%s:5: --tag needs one name without blanks", path),
		   "naming FILE:LINE");
	changelog_free(&cl);
	path = write_file("c.sql",
					  "--liquibase formatted sql\n\n"
					  "--changeset bob:1\n"
					  "SELECT 1;\n"
					  "--tag v1\n"
					  "--tag: v2\n");
	changelog_clear_error();
	ok(!changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "a second --tag is refused");
	is_str(changelog_last_error(), psprintf("%s:6: changeset bob:1 has a second --tag", path),
		   "naming FILE:LINE");
	changelog_free(&cl);
	path = write_file("d.sql",
					  "--liquibase formatted sql\n\n"
					  "--tag v1\n"
					  "--changeset bob:1\n"
					  "SELECT 1;\n");
	changelog_clear_error();
	ok(!changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "--tag before any changeset is refused");
	is_str(changelog_last_error(), psprintf("%s:3: --tag before the first --changeset", path),
		   "naming FILE:LINE");
	changelog_free(&cl);

	/* a reference to a changeset another file defines, missing */
	path = write_file("e.sql",
					  "--liquibase formatted sql\n\n"
					  "--changeset bob:1\n"
					  "SELECT 1;\n"
					  "--rollback changesetId:9 changesetAuthor:zed changesetPath:other.sql\n");
	ok(changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "e.sql reads");
	{
		ResolvedRollback r;

		ok(!rollback_resolve(&cl, cl.items[0], &r),
		   "a reference to a changeset the changelog lacks does not resolve");
	}
	changelog_free(&cl);
}

static void
test_goose(void)
{
	Changelog	cl = {0};
	char	   *down = write_file("00001_down.sql",
								  "-- +goose NO TRANSACTION\n"
								  "-- +goose Up\n"
								  "CREATE INDEX CONCURRENTLY a ON t (x);\n\n"
								  "-- +goose Down\n"
								  "DROP INDEX CONCURRENTLY a;\n"
								  "DROP INDEX CONCURRENTLY IF EXISTS b;\n");
	char	   *empty = write_file("00002_empty.sql",
								   "-- +goose Up\n"
								   "SELECT 1;\n\n"
								   "-- +goose Down\n"
								   "-- nothing to do\n");
	char	   *none = write_file("00003_none.sql",
								  "-- +goose Up\n"
								  "SELECT 1;\n");
	bool		in_tx = true;
	int			n = 0;

	ok(changelog_goose_read(down, NULL, &cl) && changelog_goose_read(empty, NULL, &cl) &&
	   changelog_goose_read(none, NULL, &cl), "the goose migrations read");
	is_str(resolved(&cl, "1", &in_tx, &n),
		   "DROP INDEX CONCURRENTLY a;\nDROP INDEX CONCURRENTLY IF EXISTS b;",
		   "the Down section is the rollback");
	ok(!in_tx, "NO TRANSACTION: outside a transaction");
	is_int(n, 2, "split as goose splits it");
	is_str(resolved(&cl, "2", NULL, &n), "", "a Down section without statements undoes nothing");
	is_str(resolved(&cl, "3", NULL, NULL), "(none)", "no Down section: no rollback");
	changelog_free(&cl);
}

/* A plan over changesets without a database, actions as given */
static void
test_plan(void)
{
	Changelog	cl = {0};
	Plan		plan = {0};
	char	   *path = write_file("p.sql",
								  "--liquibase formatted sql\n\n"
								  "--changeset c:1\nSELECT 1;\n--rollback SELECT 1;\n\n"
								  "--changeset c:2\nSELECT 2;\n--rollback SELECT 2;\n--tag t2\n\n"
								  "--changeset c:3\nSELECT 3;\n\n"
								  "--changeset c:4\nSELECT 4;\n--rollback SELECT 4;\n--tag t4\n");

	ok(changelog_sql_read(path, NULL, NULL, NULL, NULL, &cl), "p.sql reads");
	plan.changelog = cl;
	plan.nitems = cl.count;
	plan.items = pg_malloc0(sizeof(PlanItem) * cl.count);
	for (int i = 0; i < cl.count; i++)
	{
		plan.items[i].cs = cl.items[i];
		plan.items[i].status = PS_PENDING;
		plan.items[i].action = i == 0 ? PA_SKIP : PA_RUN;
	}
	plan.nrun = cl.count - 1;

	ok(rollback_resolve_plan(&plan), "the rollbacks resolve");
	ok(!plan.items[0].rollback_resolved, "only for what is about to run");
	ok(plan.items[1].rollback_resolved && strcmp(plan.items[1].rollback_sql, "SELECT 2;") == 0,
	   "the item carries its rollback");
	ok(!rollback_check_testable(&plan), "--test-rollback refuses a plan with c:3, which has no rollback");

	is_int(rollback_limit_to_tag(&plan, "nope"), PGC_EXIT_USAGE, "an undeclared tag is a usage error");
	is_int(rollback_limit_to_tag(&plan, "t2"), PGC_EXIT_OK, "--to-tag t2");
	is_int(plan.nrun, 1, "runs only what comes up to the tag");
	ok(plan.items[1].action == PA_RUN && plan.items[2].action == PA_FILTERED &&
	   plan.items[3].action == PA_FILTERED, "the changeset carrying the tag included");
	ok(rollback_check_testable(&plan), "and what runs now has rollbacks");
	plan_free(&plan);
}

int
main(int argc pg_attribute_unused(), char **argv)
{
	pg_logging_init(argv[0]);
	if (mkdtemp(dir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	test_formatted_sql();
	test_goose();
	test_plan();
	{
		/* remove what the tests wrote */
		const char *names[] = {"a.sql", "b.sql", "c.sql", "d.sql", "e.sql", "00001_down.sql",
		"00002_empty.sql", "00003_none.sql", "p.sql"};

		for (int i = 0; i < lengthof(names); i++)
			unlink(psprintf("%s/%s", dir, names[i]));
		rmdir(dir);
	}
	return done_testing();
}
