/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Read the changelog, send its manifest to pgchange.validate(), and
 *	  decide what a deploy runs.  Shared by deploy, status and validate.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "changelog_root.h"
#include "common/logging.h"
#include "filter_expr.h"
#include "lib/stringinfo.h"
#include "pgconn.h"
#include "plan.h"
#include "properties.h"
#include "rollback.h"

#define MAX_SEARCH_PATH 32

static struct
{
	const char *changelog;
	const char *search_path[MAX_SEARCH_PATH];
	int			nsearch_path;
	PropertyList props;
	bool		props_ready;
	const char *defaults_file;
	const char *contexts;
	const char *labels;
	const char *identity;
	bool		allow_missing;
	bool		allow_out_of_order;
	bool		stored_identity_known;
	char	   *stored_identity;
	bool		compare_rollbacks;
}			args;

static void
ensure_props(void)
{
	if (!args.props_ready)
	{
		properties_init(&args.props);
		args.props_ready = true;
	}
}

int
changelog_parse_option(int opt, const char *arg)
{
	switch (opt)
	{
		case 'c':
			args.changelog = arg;
			return 1;
		case OPT_SEARCH_PATH:
			/* Liquibase also takes a comma-separated list */
			{
				char	   *copy = pg_strdup(arg);
				char	   *tok;
				char	   *save;

				for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				{
					if (args.nsearch_path >= MAX_SEARCH_PATH)
						return -1;
					args.search_path[args.nsearch_path++] = tok;
				}
			}
			return 1;
		case 'D':
			{
				const char *eq = strchr(arg, '=');
				char	   *name;

				if (eq == NULL || eq == arg)
				{
					pg_log_error("invalid property \"%s\": expected NAME=VALUE", arg);
					return -1;
				}
				ensure_props();
				name = pnstrdup(arg, eq - arg);
				/* the command line comes first, and the first definition wins */
				properties_add(&args.props, name, eq + 1, NULL);
				pfree(name);
			}
			return 1;
		case OPT_DEFAULTS_FILE:
			args.defaults_file = arg;
			return 1;
		case OPT_CONTEXTS:
			args.contexts = arg;
			return 1;
		case OPT_LABELS:
			args.labels = arg;
			return 1;
		case OPT_IDENTITY:
			if (strcmp(arg, "path") != 0 && strcmp(arg, "id_author") != 0)
			{
				pg_log_error("invalid identity mode \"%s\": use id_author or path", arg);
				return -1;
			}
			args.identity = arg;
			return 1;
		case OPT_ALLOW_MISSING:
			args.allow_missing = true;
			return 1;
		case OPT_ALLOW_OUT_OF_ORDER:
			args.allow_out_of_order = true;
			return 1;
		default:
			return 0;
	}
}

const char *
changelog_root_option(void)
{
	return args.changelog ? args.changelog : getenv("PGCHANGE_CHANGELOG");
}

const char *
changelog_identity_option(void)
{
	return args.identity;
}

const char *
plan_status_name(PlanStatus s)
{
	switch (s)
	{
		case PS_OK:
			return "applied";
		case PS_CHANGED:
			return "changed";
		case PS_PENDING:
			return "pending";
		case PS_OUT_OF_ORDER:
			return "out of order";
		case PS_NOT_CHECKED:
			return "ignored";
	}
	return "?";
}

const char *
plan_action_name(PlanAction a)
{
	switch (a)
	{
		case PA_SKIP:
			return "none";
		case PA_RUN:
			return "run";
		case PA_RERUN:
			return "rerun";
		case PA_FILTERED:
			return "filtered out";
		case PA_IGNORED:
			return "ignored";
		case PA_BLOCKED:
			return "blocked";
	}
	return "?";
}

char *
changeset_name(const Changeset *cs)
{
	return psprintf("%s::%s::%s", cs->path, cs->id, cs->author);
}

/* Does the run's contexts / labels / dbms select this changeset? */
static bool
selected(const Changeset *cs, bool *ok)
{
	bool		match = true;
	char	   *err = NULL;

	*ok = true;
	if (cs->dbms && !dbms_matches_postgresql(cs->dbms))
		return false;
	if (!contexts_match(cs->contexts, args.contexts, &match, &err))
	{
		pg_log_error("%s:%d: invalid context expression: %s", cs->file, cs->line, err);
		*ok = false;
		return false;
	}
	if (!match)
		return false;
	if (!labels_match(cs->labels, args.labels, &match, &err))
	{
		pg_log_error("invalid label expression \"%s\": %s", args.labels, err);
		*ok = false;
		return false;
	}
	return match;
}

void
plan_set_stored_identity(const char *mode)
{
	args.stored_identity_known = true;
	args.stored_identity = mode ? pg_strdup(mode) : NULL;
}

void
plan_set_compare_rollbacks(bool on)
{
	args.compare_rollbacks = on;
}

/* The project's identity mode as stored, or NULL for a new project */
static char *
stored_identity_mode(PGconn *conn, const char *project)
{
	const char *params[1] = {project};
	PGresult   *res;
	char	   *mode = NULL;

	if (args.stored_identity_known)
		return args.stored_identity ? pg_strdup(args.stored_identity) : NULL;
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT identity_mode FROM pgchange.projects WHERE project = $1",
				   1, params);
	if (res && PQntuples(res) == 1)
		mode = pg_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return mode;
}

/*
 * Append s as a JSON string.  cJSON does the quoting; the common case, a
 * string cJSON would copy unchanged (no quote, backslash or control
 * character), skips building an item for it: at 10,000 changesets the
 * items cost more than reading the files.
 */
static void
append_json_string(StringInfo buf, const char *s)
{
	static const char needs_escape[] = "\"\\"
		"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
		"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f";
	size_t		len = strlen(s);

	if (strcspn(s, needs_escape) == len)
	{
		appendStringInfoChar(buf, '"');
		appendBinaryStringInfo(buf, s, len);
		appendStringInfoChar(buf, '"');
	}
	else
	{
		cJSON	   *item = cJSON_CreateString(s);
		char	   *text = cJSON_PrintUnformatted(item);

		appendStringInfoString(buf, text);
		cJSON_free(text);
		cJSON_Delete(item);
	}
}

bool
plan_build(PGconn *conn, const GlobalOptions *g, Plan *plan)
{
	ChangelogOptions opts = {0};
	const char *root = args.changelog ? args.changelog : getenv("PGCHANGE_CHANGELOG");
	char	   *mode;
	StringInfoData manifest;
	int		   *item_of_seq;
	int			nmanifest = 0;
	PGresult   *res;
	const char *params[2];
	bool		ok = true;

	memset(plan, 0, sizeof(*plan));
	plan->project = g->project;
	plan->allow_missing = args.allow_missing;

	if (root == NULL || *root == '\0')
	{
		pg_log_error("no changelog given");
		pg_log_error_hint("Name the root changelog with -c PATH, or set PGCHANGE_CHANGELOG.");
		return false;
	}

	/* the identity mode: the project's, unless --identity chooses one */
	mode = stored_identity_mode(conn, g->project);
	plan->path_identity = args.identity ? strcmp(args.identity, "path") == 0
		: (mode != NULL && strcmp(mode, "path") == 0);
	if (args.identity && mode && strcmp(mode, args.identity) != 0)
		pg_log_info("project \"%s\" uses identity mode %s; --identity=%s asks to change it",
					g->project, mode, args.identity);
	pg_free(mode);

	ensure_props();
	if (args.defaults_file && !properties_read_defaults_file(&args.props, args.defaults_file))
		return false;
	opts.root = root;
	opts.search_path = args.search_path;
	opts.nsearch_path = args.nsearch_path;
	opts.props = &args.props;
	opts.path_in_identity = plan->path_identity;
	opts.contexts = args.contexts;
	opts.labels = args.labels;
	opts.environment = true;
	if (!changelog_load(&opts, &plan->changelog))
		return false;

	/* the manifest: every changeset not ignored, in changelog order */
	plan->nitems = plan->changelog.count;
	plan->items = pg_malloc0(sizeof(PlanItem) * Max(plan->nitems, 1));
	item_of_seq = pg_malloc0(sizeof(int) * Max(plan->nitems, 1));
	/* one entry at a time: a cJSON tree of 10,000 entries would weigh ~7 MB */
	initStringInfo(&manifest);
	appendStringInfoChar(&manifest, '[');
	for (int i = 0; i < plan->nitems; i++)
	{
		PlanItem   *it = &plan->items[i];
		Changeset  *cs = plan->changelog.items[i];
		const char *errstr;

		it->cs = cs;
		if (!pgc_checksum(cs->body, strlen(cs->body), it->checksum, &errstr))
		{
			pg_log_error("could not compute the checksum of %s: %s", cs->id, errstr);
			ok = false;
			break;
		}
		if (cs->ignore)
		{
			it->status = PS_NOT_CHECKED;
			it->action = PA_IGNORED;
			continue;
		}
		if (nmanifest > 0)
			appendStringInfoChar(&manifest, ',');
		appendStringInfoString(&manifest, "{\"id\":");
		append_json_string(&manifest, cs->id);
		appendStringInfoString(&manifest, ",\"author\":");
		append_json_string(&manifest, cs->author);
		appendStringInfoString(&manifest, ",\"path\":");
		append_json_string(&manifest, cs->path);
		appendStringInfoString(&manifest, ",\"checksum\":");
		append_json_string(&manifest, it->checksum);
		if (cs->nvalid_checksums > 0)
		{
			appendStringInfoString(&manifest, ",\"valid_checksums\":[");
			for (int v = 0; v < cs->nvalid_checksums; v++)
			{
				if (v > 0)
					appendStringInfoChar(&manifest, ',');
				append_json_string(&manifest, cs->valid_checksums[v]);
			}
			appendStringInfoChar(&manifest, ']');
		}
		if (args.compare_rollbacks)
		{
			char		sum[PGC_CHECKSUM_LEN + 1];

			appendStringInfoString(&manifest, ",\"rollback_checksum\":");
			if (rollback_resolve_item(&plan->changelog, it, sum))
				append_json_string(&manifest, sum);
			else
				appendStringInfoString(&manifest, "null");
		}
		appendStringInfoChar(&manifest, '}');
		item_of_seq[nmanifest++] = i;
	}
	if (!ok)
	{
		pfree(manifest.data);
		pg_free(item_of_seq);
		plan_free(plan);
		return false;
	}

	appendStringInfoChar(&manifest, ']');
	params[0] = g->project;
	params[1] = manifest.data;

	/*
	 * Only what the controller does not know already: an entry's identity
	 * only for rows missing from the files, the applied checksum only when it
	 * is not the file's.  And the identity mode as validate() saw it, in the
	 * same snapshot, once; and, when the manifest carries rollback checksums,
	 * which applied ones store another rollback.  The manifest is freed while
	 * the answer comes.
	 */
#define VALIDATE_SQL \
	"SELECT v.seq, " \
	"CASE WHEN v.seq IS NULL THEN v.changeset_id END, " \
	"CASE WHEN v.seq IS NULL THEN v.author END, " \
	"CASE WHEN v.seq IS NULL THEN v.path END, " \
	"v.status, NULLIF(v.applied_checksum, v.file_checksum), v.applied_at, " \
	"CASE WHEN v.n = 1 THEN (SELECT p.identity_mode FROM pgchange.projects p WHERE p.project = $1) END, " \
	"v.rollback_drift " \
	"FROM pgchange.validate($1, $2::jsonb) WITH ORDINALITY " \
	"AS v(seq, changeset_id, author, path, status, file_checksum, applied_checksum, " \
	"applied_at, exec_type, rollback_drift, n)"
	ok = pgc_send(conn, VALIDATE_SQL, 2, params);
	pfree(manifest.data);
	res = ok ? pgc_result(conn, PGRES_TUPLES_OK, VALIDATE_SQL) : NULL;
	if (res == NULL)
	{
		pg_free(item_of_seq);
		plan_free(plan);
		return false;
	}

	/*
	 * The changelog was read with the identity mode the handshake saw, before
	 * the deploy lock: another deploy may have chosen the mode of a new
	 * project meanwhile.
	 */
	if (args.stored_identity_known && !args.identity && PQntuples(res) > 0 &&
		plan->path_identity != (strcmp(PQgetvalue(res, 0, 7), "path") == 0))
	{
		pg_log_error("the identity mode of project \"%s\" changed to %s while this command started",
					 g->project, PQgetvalue(res, 0, 7));
		pg_log_error_hint("Run the command again.");
		PQclear(res);
		pg_free(item_of_seq);
		plan_free(plan);
		return false;
	}

	plan->missing = pg_malloc0(sizeof(MissingItem) * Max(PQntuples(res), 1));
	for (int r = 0; r < PQntuples(res); r++)
	{
		const char *status = PQgetvalue(res, r, 4);

		if (PQgetisnull(res, r, 0))
		{
			MissingItem *m = &plan->missing[plan->nmissing++];

			m->id = pg_strdup(PQgetvalue(res, r, 1));
			m->author = pg_strdup(PQgetvalue(res, r, 2));
			m->path = pg_strdup(PQgetvalue(res, r, 3));
			m->applied_at = pg_strdup(PQgetvalue(res, r, 6));
		}
		else
		{
			int			seq = atoi(PQgetvalue(res, r, 0));
			PlanItem   *it;

			if (seq < 0 || seq >= nmanifest)
				continue;
			it = &plan->items[item_of_seq[seq]];
			it->status = strcmp(status, "ok") == 0 ? PS_OK :
				strcmp(status, "changed") == 0 ? PS_CHANGED :
				strcmp(status, "out_of_order") == 0 ? PS_OUT_OF_ORDER : PS_PENDING;
			if (!PQgetisnull(res, r, 5))
				it->applied_checksum = pg_strdup(PQgetvalue(res, r, 5));
			else if (it->status == PS_OK || it->status == PS_CHANGED)
				it->applied_checksum = it->checksum;
			if (!PQgetisnull(res, r, 6))
				it->applied_at = pg_strdup(PQgetvalue(res, r, 6));
			if (!PQgetisnull(res, r, 8))
			{
				const char *drift = PQgetvalue(res, r, 8);

				it->rollback_drift = strcmp(drift, "added") == 0 ? RD_ADDED :
					strcmp(drift, "removed") == 0 ? RD_REMOVED : RD_CHANGED;
			}
		}
	}
	PQclear(res);
	pg_free(item_of_seq);

	/* actions */
	for (int i = 0; i < plan->nitems; i++)
	{
		PlanItem   *it = &plan->items[i];
		const Changeset *cs = it->cs;
		bool		expr_ok;

		if (it->action == PA_IGNORED)
			continue;
		if (!selected(cs, &expr_ok))
		{
			if (!expr_ok)
			{
				plan_free(plan);
				return false;
			}
			it->action = PA_FILTERED;
			continue;
		}
		switch (it->status)
		{
			case PS_OK:
				it->action = cs->run_always ? PA_RERUN : PA_SKIP;
				break;
			case PS_CHANGED:
				it->action = (cs->run_on_change || cs->run_always) ? PA_RERUN : PA_BLOCKED;
				break;
			case PS_PENDING:
				it->action = PA_RUN;
				break;
			case PS_OUT_OF_ORDER:

				/*
				 * One with contexts or labels was skipped by an earlier
				 * deploy's filter, as Liquibase intends: it runs now.  So
				 * does a failOnError:false one (it failed and stayed
				 * unrecorded; Liquibase tries it again on every update) and
				 * one whose precondition said onFail/onError:CONTINUE (it
				 * was skipped on purpose, to run later).  Any other one was
				 * inserted into history.
				 */
				it->action = (args.allow_out_of_order || cs->contexts || cs->labels ||
							  !cs->fail_on_error ||
							  (cs->npreconditions > 0 &&
							   (cs->on_fail == PRECOND_CONTINUE ||
								cs->on_error == PRECOND_CONTINUE)))
					? PA_RUN : PA_BLOCKED;
				break;
			case PS_NOT_CHECKED:
				it->action = PA_IGNORED;
				break;
		}
		if (it->action == PA_RUN || it->action == PA_RERUN)
			plan->nrun++;
		else if (it->action == PA_BLOCKED)
			plan->nblocked++;
	}
	/* the rollbacks the changesets about to run will store */
	if (!rollback_resolve_plan(plan))
		return false;

	/* applied ones whose stored rollback is not the files' (status, validate) */
	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];

		if (it->rollback_drift != RD_NONE)
			rollback_warn_drift(it->cs, it->rollback_drift != RD_ADDED,
								it->rollback_drift != RD_REMOVED);
	}
	return true;
}

bool
plan_read_changelog(PGconn *conn, const GlobalOptions *g, Changelog *out)
{
	ChangelogOptions opts = {0};
	char	   *mode = stored_identity_mode(conn, g->project);

	memset(out, 0, sizeof(*out));
	opts.path_in_identity = args.identity ? strcmp(args.identity, "path") == 0
		: (mode != NULL && strcmp(mode, "path") == 0);
	pg_free(mode);
	ensure_props();
	if (args.defaults_file && !properties_read_defaults_file(&args.props, args.defaults_file))
		return false;
	opts.root = changelog_root_option();
	opts.search_path = args.search_path;
	opts.nsearch_path = args.nsearch_path;
	opts.props = &args.props;
	return changelog_load(&opts, out);
}

void
plan_free(Plan *plan)
{
	for (int i = 0; i < plan->nitems; i++)
	{
		if (plan->items[i].applied_checksum != plan->items[i].checksum)
			pg_free(plan->items[i].applied_checksum);
		pg_free(plan->items[i].applied_at);
		pg_free(plan->items[i].rollback_sql);
	}
	for (int i = 0; i < plan->nmissing; i++)
	{
		pg_free(plan->missing[i].id);
		pg_free(plan->missing[i].author);
		pg_free(plan->missing[i].path);
		pg_free(plan->missing[i].applied_at);
	}
	pg_free(plan->items);
	pg_free(plan->missing);
	changelog_free(&plan->changelog);
	memset(plan, 0, sizeof(*plan));
}
