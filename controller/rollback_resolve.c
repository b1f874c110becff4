/*-------------------------------------------------------------------------
 *
 * rollback_resolve.c
 *	  The deploy side of rollbacks: what rollback each changeset stores
 *	  when it runs, deploy --to-tag and --test-rollback's checks, and the
 *	  checksum of the rollback in the files that status and validate
 *	  send for pgchange.validate() to compare with the stored one.
 *
 * A changeset's rollback is its own --rollback text or <rollback> (with
 * its rollbackEndDelimiter applied), the body of the changeset a
 * "--rollback changesetId:X changesetAuthor:Y" reference names (Liquibase
 * runs that changeset's change to undo this one), or goose's Down section
 * with goose's own statement split.  "empty" / "not required" and a
 * changeset that executes nothing store "": nothing to undo.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "checksum.h"
#include "common/logging.h"
#include "exitcodes.h"
#include "rollback.h"
#include "rollback_int.h"

/* Does sql hold nothing but blanks? */
static bool
is_blank(const char *sql)
{
	for (; *sql; sql++)
		if (!isspace((unsigned char) *sql))
			return false;
	return true;
}

/* The changeset a rollback reference names, or NULL */
static const Changeset *
find_reference(const Changelog *cl, const Changeset *cs)
{
	for (int i = 0; i < cl->count; i++)
	{
		const Changeset *c = cl->items[i];

		if (c != cs && strcmp(c->id, cs->rollback_ref_id) == 0 &&
			strcmp(c->author, cs->rollback_ref_author) == 0 &&
			(cs->rollback_ref_path == NULL || strcmp(c->path, cs->rollback_ref_path) == 0))
			return c;
	}
	return NULL;
}

bool
rollback_resolve(const Changelog *cl, const Changeset *cs, ResolvedRollback *out)
{
	memset(out, 0, sizeof(*out));
	out->in_transaction = cs->run_in_transaction;
	if (cs->rollback_ref_id)
	{
		const Changeset *ref = find_reference(cl, cs);

		if (ref == NULL)
		{
			pg_log_error("%s:%d: the rollback of changeset %s:%s refers to changeset %s:%s%s%s, which is not in the changelog",
						 cs->file, cs->line, cs->author, cs->id, cs->rollback_ref_author,
						 cs->rollback_ref_id, cs->rollback_ref_path ? " in " : "",
						 cs->rollback_ref_path ? cs->rollback_ref_path : "");
			pg_log_error_hint("Name a changeset of the changelog with changesetId, changesetAuthor and, for another file, changesetPath.");
			return false;
		}
		/* undoing this one is doing that one again */
		out->sql = runner_effective_body(ref);
		out->in_transaction = ref->run_in_transaction;
		if (ref->statements)
		{
			out->statements = ref->statements;
			out->nstatements = ref->nstatements;
		}
	}
	else if (cs->format == CSF_GOOSE)
	{
		if (cs->rollback)
			out->sql = pg_strdup(cs->down_statements && cs->ndown_statements == 0 ? "" : cs->rollback);
		if (cs->down_statements && cs->ndown_statements > 0)
		{
			out->statements = cs->down_statements;
			out->nstatements = cs->ndown_statements;
		}
	}
	else if (cs->rollback)
		out->sql = runner_effective_sql(cs->rollback, cs->rollback_end_delimiter);
	else if (is_blank(cs->body))
		out->sql = pg_strdup("");	/* runs nothing (tagDatabase), undoes nothing */
	return true;
}

/* Resolve the rollback of it into it, once: status and validate do it early */
static bool
resolve_item(const Changelog *cl, PlanItem *it)
{
	ResolvedRollback r;

	if (it->rollback_resolved || it->rollback_error)
		return it->rollback_resolved;
	if (!rollback_resolve(cl, it->cs, &r))
	{
		it->rollback_error = true;
		return false;
	}
	it->rollback_resolved = true;
	it->rollback_sql = r.sql;
	it->rollback_statements = r.statements;
	it->nrollback_statements = r.nstatements;
	it->rollback_in_transaction = r.in_transaction;
	return true;
}

bool
rollback_resolve_plan(Plan *plan)
{
	bool		ok = true;

	for (int i = 0; i < plan->nitems; i++)
	{
		PlanItem   *it = &plan->items[i];

		if (it->action != PA_RUN && it->action != PA_RERUN)
			continue;
		if (!resolve_item(&plan->changelog, it))
			ok = false;
	}
	return ok;
}

int
rollback_limit_to_tag(Plan *plan, const char *tag)
{
	int			at = -1;

	for (int i = 0; i < plan->nitems; i++)
	{
		const Changeset *cs = plan->items[i].cs;

		if (cs->tag == NULL || strcmp(cs->tag, tag) != 0)
			continue;
		if (at >= 0)
		{
			pg_log_error("%s:%d: tag \"%s\" is declared a second time (first at %s:%d)",
						 cs->file, cs->line, tag, plan->items[at].cs->file,
						 plan->items[at].cs->line);
			pg_log_error_hint("Tags are unique per project; rename one of them.");
			return PGC_EXIT_USAGE;
		}
		at = i;
	}
	if (at < 0)
	{
		pg_log_error("no changeset of the changelog declares tag \"%s\"", tag);
		pg_log_error_hint("Declare it with a tagDatabase changeSet (XML, YAML, JSON) or a \"--tag %s\" line in a formatted SQL changeset.",
						  tag);
		return PGC_EXIT_USAGE;
	}
	/* what comes after the tag waits for a later deploy */
	for (int i = at + 1; i < plan->nitems; i++)
	{
		PlanItem   *it = &plan->items[i];

		if (it->action == PA_RUN || it->action == PA_RERUN)
		{
			it->action = PA_FILTERED;
			plan->nrun--;
		}
		else if (it->action == PA_BLOCKED && it->status == PS_OUT_OF_ORDER)
		{
			/* pending beyond the tag: not this deploy's business */
			it->action = PA_FILTERED;
			plan->nblocked--;
		}
	}
	return PGC_EXIT_OK;
}

bool
rollback_check_testable(const Plan *plan)
{
	bool		ok = true;

	for (int i = 0; i < plan->nitems; i++)
	{
		const PlanItem *it = &plan->items[i];
		char	   *name;

		if ((it->action != PA_RUN && it->action != PA_RERUN) || it->rollback_sql != NULL)
			continue;
		name = changeset_name(it->cs);
		pg_log_error("%s:%d: changeset %s has no rollback, so --test-rollback cannot test it",
					 it->cs->file, it->cs->line, name);
		pg_log_error_hint("Add a --rollback (or a goose Down section); write \"--rollback empty\" when there is nothing to undo.");
		pfree(name);
		ok = false;
	}
	return ok;
}

/* pgchange.checksum() of a rollback, NULL for none, as the registry has it */
static bool
rollback_checksum(const char *sql, char *out)
{
	const char *errstr;

	if (sql == NULL)
		return false;
	if (!pgc_checksum(sql, strlen(sql), out, &errstr))
	{
		pg_log_warning("could not compute the checksum of a rollback: %s", errstr);
		return false;
	}
	return true;
}

bool
rollback_resolve_item(const Changelog *cl, PlanItem *it, char *sum)
{
	return resolve_item(cl, it) && rollback_checksum(it->rollback_sql, sum);
}

bool
rollback_file_checksum(const Changelog *cl, const Changeset *cs, char *out)
{
	ResolvedRollback r;
	bool		have;

	if (!rollback_resolve(cl, cs, &r))
		return false;
	have = rollback_checksum(r.sql, out);
	pg_free(r.sql);
	return have;
}

void
rollback_warn_drift(const Changeset *cs, bool stored, bool in_files)
{
	char	   *name = changeset_name(cs);

	if (!stored)
		pg_log_warning("%s:%d: changeset %s has a rollback in the files, but none was stored when it was deployed",
					   cs->file, cs->line, name);
	else if (!in_files)
		pg_log_warning("%s:%d: the rollback of changeset %s was removed from the files",
					   cs->file, cs->line, name);
	else
		pg_log_warning("%s:%d: the rollback of changeset %s in the files differs from the one stored when it was deployed",
					   cs->file, cs->line, name);
	pg_log_warning_detail("pgchange rollback runs the stored rollback (pgchange.rollback_plan() shows it); deploying the changeset again stores the new one.");
	pfree(name);
}
