/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Post-deploy verification: its options, what to run (the verify SQL of
 *	  applied changesets, the pgTAP files of the verify directory), and the
 *	  flows of pgchange verify and deploy --verify.
 *
 * Verification never changes the database: each changeset's verify SQL
 * and each pgTAP file runs in a transaction of its own that is rolled back
 * (verify_run.c).  What fails is reported (verify_report.c, junit.c) and
 * exits 6; deploy --rollback-on-failure then undoes the deploy's
 * changesets with rollback.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "junit.h"
#include "output.h"
#include "pgconn.h"
#include "rollback.h"
#include "runner.h"
#include "verify_int.h"

static struct
{
	bool		verify;
	bool		rollback_on_failure;
	const char *dir;			/* --verify-dir */
	const char *junit;
}			vopt;

int
verify_parse_option(int opt, const char *arg)
{
	switch (opt)
	{
		case OPT_VERIFY:
			vopt.verify = true;
			return 1;
		case OPT_ROLLBACK_ON_FAILURE:
			vopt.rollback_on_failure = vopt.verify = true;
			return 1;
		case OPT_VERIFY_DIR:
			vopt.dir = arg;
			vopt.verify = true;
			return 1;
		case OPT_JUNIT:
			vopt.junit = arg;
			vopt.verify = true;
			return 1;
		default:
			return 0;
	}
}

bool
verify_requested(void)
{
	return vopt.verify;
}

bool
verify_rollback_on_failure(void)
{
	return vopt.rollback_on_failure;
}

const char *
verify_junit_path(void)
{
	return vopt.junit;
}

/* ------------------------------------------------------------------ */
/* What to run                                                         */
/* ------------------------------------------------------------------ */

void
verify_work_free(VerifyWork *w)
{
	for (int i = 0; i < w->nitems; i++)
	{
		pg_free(w->items[i].name);
		pg_free(w->items[i].file);
		pg_free(w->items[i].sql);
	}
	pg_free(w->items);
	for (int i = 0; i < w->nfiles; i++)
		pg_free(w->files[i]);
	pg_free(w->files);
	pg_free(w->dir);
	memset(w, 0, sizeof(*w));
}

/*
 * The verify directory: --verify-dir, else "verify" in the directory that
 * holds the root changelog (beside a root directory, not in it: a
 * directory root reads every .sql file below it as a changelog).
 */
static char *
verify_dir(bool *explicit)
{
	const char *root = changelog_root_option();
	char	   *parent;
	char	   *slash;
	char	   *dir;
	size_t		n;

	*explicit = vopt.dir != NULL;
	if (vopt.dir)
		return pg_strdup(vopt.dir);
	if (root == NULL || *root == '\0')
		return NULL;
	parent = pg_strdup(root);
	n = strlen(parent);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	slash = strrchr(parent, '/');
	if (slash == NULL)
		dir = pg_strdup("verify");
	else
	{
		slash[slash == parent ? 1 : 0] = '\0';
		dir = psprintf("%s/verify", strcmp(parent, "/") == 0 ? "" : parent);
	}
	pg_free(parent);
	return dir;
}

static int
strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The *.sql files of the verify directory, in name order */
static bool
collect_files(VerifyWork *w)
{
	bool		explicit;
	DIR		   *d;
	struct dirent *de;
	int			cap = 0;

	w->dir = verify_dir(&explicit);
	if (w->dir == NULL)
		return true;
	d = opendir(w->dir);
	if (d == NULL)
	{
		if (explicit || errno != ENOENT)
		{
			pg_log_error("could not open verify directory \"%s\": %m", w->dir);
			pg_log_error_hint("Give the directory of the pgTAP files with --verify-dir.");
			return false;
		}
		pg_log_info("no verify directory \"%s\": no pgTAP files to run", w->dir);
		return true;
	}
	while ((de = readdir(d)) != NULL)
	{
		size_t		n = strlen(de->d_name);
		char	   *path;
		struct stat st;

		if (n < 5 || de->d_name[0] == '.' || strcmp(de->d_name + n - 4, ".sql") != 0)
			continue;
		path = psprintf("%s/%s", w->dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		{
			pg_free(path);
			continue;
		}
		if (w->nfiles == cap)
		{
			cap = cap ? cap * 2 : 16;
			w->files = pg_realloc(w->files, cap * sizeof(char *));
		}
		w->files[w->nfiles++] = path;
	}
	closedir(d);
	if (w->nfiles > 1)
		qsort(w->files, w->nfiles, sizeof(char *), strcmp_p);
	return true;
}

/*
 * The verify SQL of every applied changeset, in the order they ran: the
 * changelog's --verify when the changeset is in the files (so an edited
 * or added verify takes effect), else what the registry kept at deploy
 * time.  The registry says what is applied: the plan's statuses are from
 * before a deploy that may have run since.
 */
static bool
collect_changesets(PGconn *conn, const GlobalOptions *g, const Plan *plan, VerifyWork *w)
{
	cJSON	   *files = cJSON_CreateArray();
	char	   *text;
	const char *params[2];
	PGresult   *res;

	for (int i = 0; plan && i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		cJSON	   *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "i", i);
		cJSON_AddStringToObject(o, "id", it->cs->id);
		cJSON_AddStringToObject(o, "author", it->cs->author);
		cJSON_AddStringToObject(o, "ipath", plan->path_identity ? it->cs->path : "");
		cJSON_AddItemToArray(files, o);
	}
	text = cJSON_PrintUnformatted(files);
	cJSON_Delete(files);
	params[0] = g->project;
	params[1] = text;
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT r.changeset_id, r.author, r.path, r.exec_type, f.i, r.verify_sql "
				   "FROM pgchange.registry r "
				   "LEFT JOIN jsonb_to_recordset($2::jsonb) AS f(i int, id text, author text, ipath text) "
				   "  ON f.id = r.changeset_id AND f.author = r.author AND f.ipath = r.identity_path "
				   "WHERE r.project = $1 AND r.exec_type <> 'failed' "
				   "  AND (f.i IS NOT NULL OR r.verify_sql IS NOT NULL) "
				   "ORDER BY r.exec_order", 2, params);
	cJSON_free(text);
	if (res == NULL)
		return false;
	w->items = pg_malloc0(sizeof(VerifyItem) * Max(PQntuples(res), 1));
	for (int r = 0; r < PQntuples(res); r++)
	{
		VerifyItem *item = &w->items[w->nitems];

		if (!PQgetisnull(res, r, 4))
		{
			const Changeset *cs = plan->items[atoi(PQgetvalue(res, r, 4))].cs;

			if (cs->verify == NULL || *cs->verify == '\0')
				continue;
			item->sql = pg_strdup(cs->verify);
			item->file = pg_strdup(cs->file);
			item->line = cs->verify_line > 0 ? cs->verify_line : cs->line;
			item->name = changeset_name(cs);
		}
		else
		{
			item->sql = pg_strdup(PQgetvalue(res, r, 5));
			item->name = psprintf("%s::%s::%s", PQgetvalue(res, r, 2),
								  PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
		}
		item->mark_ran = strcmp(PQgetvalue(res, r, 3), "mark_ran") == 0;
		w->nitems++;
	}
	PQclear(res);
	return true;
}

/*
 * Is pgTAP there?  Installed as the extension, or its functions on the
 * search path (pgtap.sql loaded by hand).  Logs the fix when it is not.
 */
static bool
pgtap_available(PGconn *conn)
{
	PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
							   "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pgtap') "
							   "OR pg_catalog.to_regprocedure('plan(integer)') IS NOT NULL",
							   0, NULL);
	bool		found;

	if (res == NULL)
		return false;
	found = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!found)
	{
		pg_log_error("pgTAP functions not found in database \"%s\": the pgTAP files cannot run",
					 PQdb(conn));
		pg_log_error_detail("pgchange verify runs pgTAP files with the pgTAP extension of the target database.");
		pg_log_error_hint("Install pgTAP there: CREATE EXTENSION pgtap; (the package is postgresql-%d-pgtap on Debian and Ubuntu, pgtap_%d on RHEL).",
						  PQserverVersion(conn) / 10000, PQserverVersion(conn) / 10000);
	}
	return found;
}

int
verify_collect(PGconn *conn, const GlobalOptions *g, const Plan *plan, VerifyWork *w)
{
	memset(w, 0, sizeof(*w));
	if (!collect_files(w))
	{
		verify_work_free(w);
		return PGC_EXIT_USAGE;
	}
	if (!collect_changesets(conn, g, plan, w) || (w->nfiles > 0 && !pgtap_available(conn)))
	{
		verify_work_free(w);
		return PGC_EXIT_ERROR;
	}
	return PGC_EXIT_OK;
}


/* ------------------------------------------------------------------ */
/* The flows                                                           */
/* ------------------------------------------------------------------ */

/*
 * JUnit file if asked for, and the failure line; the exit code.  hint: say
 * that verifying changed nothing (not when a rollback may follow).
 */
static int
conclude(const VerifyReport *rep, bool ran, bool hint)
{
	int			rc = !ran ? PGC_EXIT_ERROR : rep->ok ? PGC_EXIT_OK : PGC_EXIT_VERIFY;

	if (vopt.junit && !junit_write(vopt.junit, rep) && rc == PGC_EXIT_OK)
		rc = PGC_EXIT_ERROR;
	if (ran && !rep->ok)
	{
		char		whole[64] = "";

		if (rep->errors)
			snprintf(whole, sizeof(whole), ", %d file(s) failed as a whole", rep->errors);
		pg_log_error("verification failed: %d of %d test(s) failed%s",
					 rep->failed, rep->tests, whole);
		if (hint)
			pg_log_error_hint("The report lists each failure with its diagnostics; verifying changed nothing in the database.");
	}
	return rc;
}

int
verify_command(PGconn *conn, const GlobalOptions *g, const Plan *plan)
{
	VerifyWork	w;
	VerifyReport rep;
	bool		ran;
	int			rc = verify_collect(conn, g, plan, &w);

	if (rc != PGC_EXIT_OK)
		return rc;
	runner_setup_cancel(conn);
	ran = verify_run(conn, g, &w, &rep);
	verify_work_free(&w);
	if (g->json)
		out_json_print(verify_report_json(&rep));
	else
		verify_report_print(g, &rep);
	rc = conclude(&rep, ran, true);
	verify_report_free(&rep);
	return rc;
}

int
verify_deploy_check(PGconn *conn, const GlobalOptions *g, const Plan *plan)
{
	VerifyWork	w;
	int			rc = verify_collect(conn, g, plan, &w);

	if (rc == PGC_EXIT_OK)
		verify_work_free(&w);
	return rc;
}

/* --rollback-on-failure: undo the deployment; its report, or NULL */
static cJSON *
rollback_deployment(PGconn *conn, const GlobalOptions *g, const Plan *plan,
					const char *deployment_id, int *rb_rc)
{
	cJSON	   *report = NULL;
	RollbackTarget t = {
		.mode = RB_DEPLOYMENT,
		.deployment_id = deployment_id,
		.reason = "verification failed: deploy --rollback-on-failure",
		.changelog = plan ? &plan->changelog : NULL,
		.report = g->json ? &report : NULL,
	};

	if (!g->json && !g->quiet)
		printf("verification failed: rolling back the changesets of deployment %s (--rollback-on-failure)\n",
			   deployment_id);
	*rb_rc = rollback_run(conn, g, &t, false);
	if (*rb_rc == PGC_EXIT_OK)
		pg_log_error("verification failed; the changesets of deployment %s were rolled back",
					 deployment_id);
	else
		pg_log_error("verification failed, and rolling back deployment %s failed too (exit code %d)",
					 deployment_id, *rb_rc);
	return report;
}

int
verify_after_deploy(PGconn *conn, const GlobalOptions *g, const Plan *plan,
					const char *deployment_id, cJSON *deploy_report)
{
	VerifyWork	w;
	VerifyReport rep;
	bool		ran;
	int			rc = verify_collect(conn, g, plan, &w);
	cJSON	   *rb_report = NULL;
	int			rb_rc = -1;

	if (rc != PGC_EXIT_OK)
	{
		if (deploy_report)
			cJSON_AddNullToObject(deploy_report, "verification");
		return rc;
	}
	/* a fresh lease: the rollback that may follow needs the lock still held */
	{
		const char *params[1] = {g->project};

		if (!pgc_command(conn, "SELECT pgchange.lock_heartbeat($1, '10 minutes')", 1, params))
			pg_log_warning("could not renew the deploy lock before verification");
	}
	ran = verify_run(conn, g, &w, &rep);
	verify_work_free(&w);
	if (!g->json)
		verify_report_print(g, &rep);
	rc = conclude(&rep, ran, !vopt.rollback_on_failure);
	if (rc == PGC_EXIT_VERIFY && vopt.rollback_on_failure)
	{
		if (deployment_id)
			rb_report = rollback_deployment(conn, g, plan, deployment_id, &rb_rc);
		else
			pg_log_error("verification failed; this deploy applied no changeset, so there is nothing to roll back");
	}
	if (deploy_report)
	{
		cJSON	   *rb = NULL;

		cJSON_AddItemToObject(deploy_report, "verification", verify_report_json(&rep));
		if (rb_rc >= 0)
		{
			rb = cJSON_CreateObject();
			cJSON_AddBoolToObject(rb, "rolled_back", rb_rc == PGC_EXIT_OK);
			cJSON_AddNumberToObject(rb, "exit_code", rb_rc);
			cJSON_AddItemToObject(rb, "report", rb_report ? rb_report : cJSON_CreateNull());
			rb_report = NULL;
		}
		cJSON_AddItemToObject(deploy_report, "rollback_on_failure", rb ? rb : cJSON_CreateNull());
	}
	cJSON_Delete(rb_report);
	verify_report_free(&rep);
	return rc;
}

bool
verify_record_deployment(PGconn *conn, const char *project, const char *deployment_id,
						 const Plan *plan)
{
	cJSON	   *arr = cJSON_CreateArray();
	char	   *text;
	const char *params[3];
	bool		ok;

	if (deployment_id == NULL)
	{
		cJSON_Delete(arr);
		return true;
	}
	for (int i = 0; i < plan->nitems; i++)
	{
		const Changeset *cs = plan->items[i].cs;
		cJSON	   *o;

		if (cs->verify == NULL || *cs->verify == '\0' ||
			(plan->items[i].action != PA_RUN && plan->items[i].action != PA_RERUN))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", cs->id);
		cJSON_AddStringToObject(o, "author", cs->author);
		cJSON_AddStringToObject(o, "path", cs->path);
		cJSON_AddStringToObject(o, "verify", cs->verify);
		cJSON_AddItemToArray(arr, o);
	}
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	params[0] = project;
	params[1] = deployment_id;
	params[2] = text;
	ok = pgc_command(conn, "SELECT pgchange.record_verify($1, $2::bigint, $3::jsonb)", 3, params);
	if (!ok)
		pg_log_warning("the verify SQL of this deployment's changesets was not stored; pgchange verify will read it from the files");
	cJSON_free(text);
	return ok;
}
