/*-------------------------------------------------------------------------
 *
 * cmd_deploy.c
 *	  pgchange deploy: take the project lock, validate, run what is pending
 *	  in changelog order, record a deployment, release the lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <unistd.h>

#include "common/logging.h"
#include "exitcodes.h"
#include "fe_utils/cancel.h"
#include "lockwait.h"
#include "output.h"
#include "pgconn.h"
#include "plan.h"
#include "policy_check.h"
#include "portability/instr_time.h"
#include "rollback.h"
#include "runner.h"
#include "verify.h"

enum
{
	OPT_DRY_RUN = 3000,
	OPT_COUNT,
	OPT_LOCK_WAIT,
	OPT_LOCK_TIMEOUT,
	OPT_RETRIES,
	OPT_REASON,
	OPT_META,
	OPT_TO_TAG,
	OPT_TEST_ROLLBACK
};

static struct
{
	bool		dry_run;
	int			count;			/* 0: all */
	const char *lock_wait;
	const char *lock_timeout;
	int			retries;
	const char *reason;
	cJSON	   *meta;
	const char *to_tag;			/* deploy up to the changeset declaring it */
	bool		test_rollback;	/* deploy, roll back, deploy each changeset */
}			opt = {false, 0, "5 min", "5s", 5, NULL, NULL, NULL, false};

static const struct option deploy_options[] = {
	CHANGELOG_LONG_OPTIONS,
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"count", required_argument, NULL, OPT_COUNT},
	{"lock-wait", required_argument, NULL, OPT_LOCK_WAIT},
	{"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"reason", required_argument, NULL, OPT_REASON},
	{"meta", required_argument, NULL, OPT_META},
	POLICY_DEPLOY_LONG_OPTIONS,
	{"to-tag", required_argument, NULL, OPT_TO_TAG},
	{"test-rollback", no_argument, NULL, OPT_TEST_ROLLBACK},
	VERIFY_DEPLOY_LONG_OPTIONS,
	{NULL, 0, NULL, 0}
};

static bool
parse_positive(const char *arg, int *out, int min)
{
	char	   *end;
	long		v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < min || v > INT_MAX)
		return false;
	*out = (int) v;
	return true;
}

static bool
deploy_parse_option(int o, const char *arg)
{
	int			r = changelog_parse_option(o, arg);

	if (r != 0)
		return r > 0;
	if ((r = policy_deploy_parse_option(o, arg)) != 0)
		return r > 0;
	if ((r = verify_parse_option(o, arg)) != 0)
		return r > 0;
	switch (o)
	{
		case OPT_DRY_RUN:
			opt.dry_run = true;
			return true;
		case OPT_COUNT:
			return parse_positive(arg, &opt.count, 1);
		case OPT_LOCK_WAIT:
			opt.lock_wait = arg;
			return true;
		case OPT_LOCK_TIMEOUT:
			opt.lock_timeout = arg;
			return true;
		case OPT_RETRIES:
			return parse_positive(arg, &opt.retries, 0);
		case OPT_REASON:
			opt.reason = arg;
			return true;
		case OPT_META:
			{
				const char *eq = strchr(arg, '=');
				char	   *key;

				if (eq == NULL || eq == arg)
					return false;
				if (opt.meta == NULL)
					opt.meta = cJSON_CreateObject();
				key = pnstrdup(arg, eq - arg);
				cJSON_AddStringToObject(opt.meta, key, eq + 1);
				pfree(key);
				return true;
			}
		case OPT_TO_TAG:
			opt.to_tag = arg;
			return true;
		case OPT_TEST_ROLLBACK:
			opt.test_rollback = true;
			return true;
		default:
			return false;
	}
}

/* Take the project lock (lockwait.c), waiting up to --lock-wait (wait_s) */
static int
acquire_lock(PGconn *conn, const GlobalOptions *g, const char *owner, const char *reason,
			 double wait_s)
{
	char	   *label;
	char	   *result = NULL;
	int			rc;

	label = psprintf("%s for the lock", opt.lock_wait);
	rc = pgc_lock_acquire(conn, &(LockRequest) {
		.project = g->project, .owner = owner, .reason = reason,
		.lease = "10 minutes", .wait_s = wait_s, .wait_label = label,
		.stop = &CancelRequested
	}, &result);
	if (rc == PGC_EXIT_OK)
		pg_log_info("lock of project \"%s\": %s", g->project, result);
	pg_free(result);
	pfree(label);
	return rc;
}

/*
 * Changesets that run inside the database commit with synchronous_commit
 * off: each commits together with its registry row, so a server crash can
 * only lose whole changesets from the end, which are then pending again.
 * finish_deployment() commits with the session's setting (on unless the
 * user chose otherwise), and its WAL flush makes every earlier commit
 * durable.  Changesets run statement by statement keep the session's
 * setting: a statement that outlived a crash its progress row did not
 * would run twice.  The lock is taken and released without waiting for a
 * flush too: a crash frees it anyway, its holder's session being gone.
 * *async says what the session has now.
 */
static void
set_async_commit(PGconn *conn, bool *async, bool want)
{
	if (*async != want &&
		pgc_command(conn, want ? "SET synchronous_commit = off" : "RESET synchronous_commit",
					0, NULL))
		*async = want;
}

static void
add_env_meta(cJSON *meta, const char *key, const char *var)
{
	const char *v = getenv(var);

	if (v && *v && !cJSON_HasObjectItem(meta, key))
		cJSON_AddStringToObject(meta, key, v);
}

/* --dry-run: the SQL that would run, in order, bookkeeping included */
static void
print_dry_run(PGconn *conn, const Plan *plan)
{
	printf("-- pgchange deploy --dry-run: project %s, %d changeset(s) to run\n",
		   plan->project, plan->nrun);
	printf("SELECT pgchange.lock(");
	pgc_print_literal(conn, plan->project);
	printf(", ...);\nSELECT pgchange.begin_deployment(");
	pgc_print_literal(conn, plan->project);
	printf(") AS deployment;\n");
	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		const Changeset *cs = it->cs;
		char	   *body;
		char	   *name;

		if (it->action != PA_RUN && it->action != PA_RERUN)
			continue;
		name = changeset_name(cs);
		body = runner_effective_body(cs);
		printf("\n-- changeset %s (%s:%d)%s%s\n", name, cs->file, cs->line,
			   it->action == PA_RERUN ? ", rerun" : "",
			   cs->run_in_transaction ? "" : ", statement by statement, outside a transaction");
		if (cs->run_in_transaction)
			printf("BEGIN;\n");
		printf("%s\n", body);
		printf("SELECT pgchange.record_changeset(");
		pgc_print_literal(conn, plan->project);
		printf(", :deployment, ");
		pgc_print_literal(conn, cs->id);
		printf(", ");
		pgc_print_literal(conn, cs->author);
		printf(", ");
		pgc_print_literal(conn, cs->path);
		printf(", '%s', '%s');\n", it->checksum, it->action == PA_RERUN ? "reran" : "executed");
		if (cs->run_in_transaction)
			printf("COMMIT;\n");
		pg_free(body);
		pfree(name);
	}
	printf("\nSELECT pgchange.finish_deployment(:deployment, 'succeeded');\nSELECT pgchange.unlock(");
	pgc_print_literal(conn, plan->project);
	printf(");\n");
}

/* Report blocked and missing changesets; true if the deploy must stop */
static bool
report_validation(const Plan *plan)
{
	bool		stop = false;

	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		char	   *name;

		if (it->action != PA_BLOCKED)
			continue;
		name = changeset_name(it->cs);
		if (it->status == PS_CHANGED)
		{
			pg_log_error("%s:%d: changeset %s was changed after it was applied",
						 it->cs->file, it->cs->line, name);
			pg_log_error_detail("Applied with checksum %s, the file now has %s.",
								it->applied_checksum, it->checksum);
			pg_log_error_hint("Revert the edit and add a new changeset, or mark it runOnChange:true, or add --validCheckSum: %s.",
							  it->checksum);
		}
		else
		{
			pg_log_error("%s:%d: changeset %s is pending but changesets after it were applied",
						 it->cs->file, it->cs->line, name);
			pg_log_error_hint("Run with --allow-out-of-order to apply it anyway.");
		}
		pfree(name);
		stop = true;
	}
	for (int i = 0; i < plan->nmissing; i++)
	{
		const MissingItem *m = &plan->missing[i];

		if (plan->allow_missing)
			pg_log_warning("applied changeset %s::%s::%s is not in the changelog",
						   m->path, m->id, m->author);
		else
		{
			pg_log_error("applied changeset %s::%s::%s is not in the changelog",
						 m->path, m->id, m->author);
			pg_log_error_hint("Restore it in the changelog, or run with --allow-missing.");
			stop = true;
		}
	}
	return stop;
}

/*
 * Statements that cannot run in a transaction block, found in changesets
 * that would run in one: reported before anything runs.  One query for all
 * changesets; the server's parser decides.
 */
static bool
check_transactional(PGconn *conn, const Plan *plan)
{
	cJSON	   *bodies = cJSON_CreateArray();
	int		   *index = pg_malloc0(sizeof(int) * Max(plan->nitems, 1));
	int			n = 0;
	char	   *text;
	const char *params[1];
	PGresult   *res;
	bool		ok = true;

	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];

		if ((it->action == PA_RUN || it->action == PA_RERUN) && it->cs->run_in_transaction)
		{
			char	   *body = runner_effective_body(it->cs);

			cJSON_AddItemToArray(bodies, cJSON_CreateString(body));
			pg_free(body);
			index[n++] = i;
		}
	}
	text = cJSON_PrintUnformatted(bodies);
	cJSON_Delete(bodies);
	params[0] = text;
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT b.i::int - 1, s.line, s.no_transaction "
				   "FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS b(body, i), "
				   "LATERAL pgchange.split_sql(b.body) AS s "
				   "WHERE s.no_transaction IS NOT NULL ORDER BY 1, 2", 1, params);
	cJSON_free(text);
	if (res == NULL)
	{
		pg_log_error_hint("A changeset does not parse; deploy it with --dry-run to see the SQL.");
		pg_free(index);
		return false;
	}
	for (int r = 0; r < PQntuples(res); r++)
	{
		const Changeset *cs = plan->items[index[atoi(PQgetvalue(res, r, 0))]].cs;

		pg_log_error("%s:%d: %s cannot run inside a transaction block, and changeset %s runs in one",
					 cs->body_file ? cs->body_file : cs->file,
					 cs->body_line + atoi(PQgetvalue(res, r, 1)) - 1,
					 PQgetvalue(res, r, 2), cs->id);
		pg_log_error_hint("Mark the changeset runInTransaction:false (goose: -- +goose NO TRANSACTION).");
		ok = false;
	}
	PQclear(res);
	pg_free(index);
	return ok;
}

static int
deploy_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	Plan		plan;
	int			rc = PGC_EXIT_OK;
	char		host[256] = "";
	char	   *owner;
	char	   *deployment_id = NULL;
	cJSON	   *report = NULL;
	cJSON	   *ran = NULL;
	int			done = 0;
	int			completed = 0;
	bool		locked = false;
	const char *final_status = "succeeded";
	bool		tty = isatty(fileno(stdout)) && !g->json;
	Handshake	hs = {0};
	bool		async_commit = false;

	if (argc > 0)
		return cli_usage_error(&cmd_deploy, NULL, "unexpected argument \"%s\"", argv[0]);
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	/* versions, identity mode and --lock-wait in one round trip */
	hs.project = g->project;
	hs.interval = opt.dry_run ? NULL : opt.lock_wait;
	if (!pgc_handshake(conn, &hs))
	{
		pgc_handshake_free(&hs);
		PQfinish(conn);
		return hs.bad_interval ? PGC_EXIT_USAGE : PGC_EXIT_ERROR;
	}
	plan_set_stored_identity(hs.identity_mode);
	pgc_handshake_free(&hs);
	if (hs.interval && hs.interval_s < 0)
	{
		pg_log_error("invalid --lock-wait \"%s\": it must not be negative", opt.lock_wait);
		PQfinish(conn);
		return PGC_EXIT_USAGE;
	}
	runner_setup_cancel(conn);
	(void) gethostname(host, sizeof(host) - 1);
	owner = psprintf("%s@%s pgchange deploy", getenv("USER") ? getenv("USER") : PQuser(conn), host);

	if (!opt.dry_run)
	{
		set_async_commit(conn, &async_commit, true);
		rc = acquire_lock(conn, g, owner, opt.reason ? opt.reason : "deploy", hs.interval_s);
		if (rc != PGC_EXIT_OK)
			goto done;
		locked = true;
		if (changelog_identity_option())
		{
			const char *params[2] = {g->project, changelog_identity_option()};

			if (!pgc_command(conn, "SELECT pgchange.set_identity_mode($1, $2)", 2, params))
			{
				rc = PGC_EXIT_ERROR;
				goto done;
			}
		}
		if ((rc = policy_deploy_push(conn, g)) != PGC_EXIT_OK)
			goto done;
	}

	/* validate under the lock: nobody changes the registry meanwhile */
	if (!plan_build(conn, g, &plan))
	{
		rc = PGC_EXIT_USAGE;
		goto done;
	}
	if (opt.to_tag && (rc = rollback_limit_to_tag(&plan, opt.to_tag)) != PGC_EXIT_OK)
		goto done_plan;
	if (opt.test_rollback && !rollback_check_testable(&plan))
	{
		rc = PGC_EXIT_VALIDATION;
		goto done_plan;
	}
	if (report_validation(&plan))
	{
		rc = PGC_EXIT_VALIDATION;
		goto done_plan;
	}
	if (plan.nrun > 0 && !check_transactional(conn, &plan))
	{
		rc = PGC_EXIT_USAGE;
		goto done_plan;
	}
	/* the policy check of what will run: error-level violations stop it */
	if (plan.nrun > 0 && (rc = policy_deploy_check(conn, g, &plan)) != PGC_EXIT_OK)
		goto done_plan;
	/* deploy --verify: never change a database that cannot be verified */
	if (verify_requested() && !opt.dry_run &&
		(rc = verify_deploy_check(conn, g, &plan)) != PGC_EXIT_OK)
		goto done_plan;
	if (opt.dry_run)
	{
		print_dry_run(conn, &plan);
		goto done_plan;
	}
	if (plan.nrun == 0)
	{
		/* up to date: validated, nothing to record */
		if (g->json)
		{
			cJSON	   *r = cJSON_CreateObject();

			cJSON_AddStringToObject(r, "project", g->project);
			cJSON_AddNullToObject(r, "deployment_id");
			cJSON_AddStringToObject(r, "status", "up to date");
			cJSON_AddItemToObject(r, "changesets", cJSON_CreateArray());
			if (verify_requested())
				rc = verify_after_deploy(conn, g, &plan, NULL, r);
			out_json_print(r);
		}
		else if (!g->quiet)
			printf("project %s is up to date: 0 of 0 changeset(s) applied\n", g->project);
		if (verify_requested() && !g->json)
			rc = verify_after_deploy(conn, g, &plan, NULL, NULL);
		goto done_plan;
	}

	/* the deployment record */
	{
		cJSON	   *meta = opt.meta ? opt.meta : cJSON_CreateObject();
		char	   *meta_text;
		const char *params[5];
		PGresult   *res;

		add_env_meta(meta, "git_sha", "GITHUB_SHA");
		add_env_meta(meta, "git_sha", "CI_COMMIT_SHA");
		add_env_meta(meta, "ci_run", "GITHUB_RUN_ID");
		add_env_meta(meta, "ci_run", "CI_PIPELINE_ID");
		add_env_meta(meta, "environment", "PGCHANGE_ENVIRONMENT");
		if (!cJSON_HasObjectItem(meta, "changelog"))
			cJSON_AddStringToObject(meta, "changelog", changelog_root_option());
		meta_text = cJSON_PrintUnformatted(meta);
		cJSON_Delete(meta);
		opt.meta = NULL;
		params[0] = g->project;
		params[1] = meta_text;
		params[2] = PGCHANGE_VERSION;
		params[3] = host;
		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT pgchange.begin_deployment($1, 'deploy', $2::jsonb, $3, $4)", 4, params);
		cJSON_free(meta_text);
		if (res == NULL)
		{
			rc = PGC_EXIT_ERROR;
			goto done_plan;
		}
		deployment_id = pg_strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
	}

	report = cJSON_CreateObject();
	ran = cJSON_CreateArray();
	{
		RunOptions ro = {g->project, deployment_id, opt.lock_timeout, opt.retries, plan.path_identity};
		int			total = opt.count > 0 ? Min(opt.count, plan.nrun) : plan.nrun;

		for (int i = 0; i < plan.nitems && done < total; i++)
		{
			PlanItem   *it = &plan.items[i];
			char	   *name;
			instr_time	t0,
						t1;
			RunResult	r;
			const char *what;
			cJSON	   *o;

			if (it->action != PA_RUN && it->action != PA_RERUN)
				continue;
			name = changeset_name(it->cs);
			if (tty)
			{
				printf("[%d/%d] %s ...", done + 1, total, name);
				fflush(stdout);
			}
			set_async_commit(conn, &async_commit, it->cs->run_in_transaction);
			INSTR_TIME_SET_CURRENT(t0);
			r = run_changeset(conn, &ro, it);
			if (r == RUN_OK && opt.test_rollback)
				r = rollback_test_changeset(conn, &ro, it);
			INSTR_TIME_SET_CURRENT(t1);
			INSTR_TIME_SUBTRACT(t1, t0);
			what = r == RUN_OK ? (opt.test_rollback ? "tested" : it->action == PA_RERUN ? "reran" : "ran") :
				r == RUN_MARKED ? "marked ran" : r == RUN_SKIPPED ? "skipped" :
				r == RUN_CANCELED ? "canceled" : r == RUN_POLICY ? "blocked" : "failed";
			if (tty)
				printf("\r\033[K");
			if (!g->json && !g->quiet)
				printf("[%d/%d] %-10s %s (%.0f ms)\n", done + 1, total, what, name,
					   INSTR_TIME_GET_MILLISEC(t1));
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", it->cs->id);
			cJSON_AddStringToObject(o, "author", it->cs->author);
			cJSON_AddStringToObject(o, "path", it->cs->path);
			cJSON_AddStringToObject(o, "result", what);
			cJSON_AddNumberToObject(o, "ms", INSTR_TIME_GET_MILLISEC(t1));
			cJSON_AddItemToArray(ran, o);
			pfree(name);
			done++;
			if (r == RUN_OK || r == RUN_MARKED)
				completed++;
			if (r == RUN_FAILED || r == RUN_CANCELED || r == RUN_VALIDATION || r == RUN_POLICY)
			{
				final_status = r == RUN_CANCELED ? "aborted" : "failed";
				rc = r == RUN_VALIDATION ? PGC_EXIT_VALIDATION :
					r == RUN_POLICY ? PGC_EXIT_POLICY : PGC_EXIT_ERROR;
				break;
			}
		}
	}

	{
		bool		succeeded = (rc == PGC_EXIT_OK);
		const char *params[3] = {deployment_id, final_status,
		succeeded ? NULL : "see the deploy output"};

		ResetCancelConn();
		if (PQtransactionStatus(conn) != PQTRANS_IDLE)
			(void) pgc_command(conn, "ROLLBACK", 0, NULL);
		(void) verify_record_deployment(conn, g->project, deployment_id, &plan);
		/* durable end: flushes the changesets' commits too */
		set_async_commit(conn, &async_commit, false);
		if (!pgc_command(conn, "SELECT pgchange.finish_deployment($1::bigint, $2, $3)", 3, params) &&
			rc == PGC_EXIT_OK)
			rc = PGC_EXIT_ERROR;
	}
	if (g->json)
	{
		cJSON_AddStringToObject(report, "project", g->project);
		cJSON_AddNumberToObject(report, "deployment_id", atof(deployment_id));
		cJSON_AddStringToObject(report, "status", final_status);
		cJSON_AddItemToObject(report, "changesets", ran);
		if (verify_requested() && rc == PGC_EXIT_OK)
			rc = verify_after_deploy(conn, g, &plan, deployment_id, report);
		out_json_print(report);
		report = NULL;
	}
	else
	{
		cJSON_Delete(ran);
		if (!g->quiet)
			printf("deployment %s of project %s %s: %d of %d changeset(s) applied\n",
				   deployment_id, g->project, final_status, completed, plan.nrun);
		if (verify_requested() && rc == PGC_EXIT_OK)
			rc = verify_after_deploy(conn, g, &plan, deployment_id, NULL);
	}
	cJSON_Delete(report);

done_plan:
	plan_free(&plan);
done:
	if (locked)
	{
		const char *params[1] = {g->project};

		(void) pgc_command(conn, "SELECT pgchange.unlock($1)", 1, params);
	}
	pg_free(deployment_id);
	pfree(owner);
	PQfinish(conn);
	return rc;
}

const Command cmd_deploy = {
	.name = "deploy",
	.summary = "run the pending changesets of a changelog, in order, under the project lock",
	.usage =
	"Usage:\n  pgchange deploy -c CHANGELOG [OPTIONS]\n\n"
	"Takes the project's deploy lock, validates the checksums of applied\n"
	"changesets, and runs the pending ones in changelog order: each\n"
	"transactional changeset inside the database in one transaction with its\n"
	"registry row; the others statement by statement, resuming after the\n"
	"last completed statement when rerun.\n\n"
	CHANGELOG_OPTIONS_HELP
	"\nDeploy options:\n"
	"      --dry-run             print the SQL that would run; change nothing\n"
	"      --count=N             run at most N changesets\n"
	"      --lock-wait=INTERVAL  how long to wait for the project lock (5 min)\n"
	"      --lock-timeout=INTERVAL  lock_timeout for each changeset (5s): a busy\n"
	"                            table delays the deploy instead of queueing\n"
	"                            production traffic behind it\n"
	"      --retries=N           retries after lock_timeout, with backoff (5)\n"
	"      --reason=TEXT         why, shown to anyone waiting for the lock\n"
	"      --meta=KEY=VALUE      recorded with the deployment (repeatable);\n"
	"                            GITHUB_SHA, CI_COMMIT_SHA, GITHUB_RUN_ID and\n"
	"                            PGCHANGE_ENVIRONMENT are added when set\n"
	POLICY_DEPLOY_OPTIONS_HELP
	"      --to-tag=TAG          deploy up to and including the changeset that\n"
	"                            declares TAG (tagDatabase, --tag)\n"
	"      --test-rollback       deploy each changeset, roll it back with its\n"
	"                            stored rollback, deploy it again\n"
	VERIFY_DEPLOY_OPTIONS_HELP,
	.short_options = CHANGELOG_SHORT_OPTIONS,
	.long_options = deploy_options,
	.parse_option = deploy_parse_option,
	.run = deploy_run,
};
