/*-------------------------------------------------------------------------
 *
 * changelog_changeset.c
 *	  changeSet elements of Liquibase master changelogs (XML, YAML, JSON),
 *	  and preconditions at changelog and changeSet level.
 *
 * pgchange deploys SQL, so a changeSet may hold one sqlFile (its body is
 * that file, properties expanded as Liquibase expands sqlFile contents)
 * or nothing; any other change type is refused with a hint to convert it
 * to formatted SQL, never skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "changelog_root.h"
#include "changelog_sql.h"
#include "common/logging.h"
#include "filter_expr.h"
#include "lib/stringinfo.h"
#include "properties.h"

/* A copy a Changeset can own, of a kept temporary */
#define OWN(s) ((s) ? pstrdup(s) : NULL)

static const char *const changeset_keys[] = {
	"id", "author", "context", "contextFilter", "labels", "dbms",
	"runOnChange", "runAlways", "alwaysRun", "failOnError",
	"runInTransaction", "ignore", "created", "logicalFilePath",
	"objectQuotingStrategy", "runOrder", "runWith", "comment",
	"validCheckSum", "rollback", "preConditions", "changes", NULL
};

static const char *const sqlfile_keys[] = {
	"path", "relativeToChangelogFile", "splitStatements", "endDelimiter",
	"stripComments", "encoding", "dbms", NULL
};

static const char *const precond_keys[] = {
	"onFail", "onError", "onFailMessage", "onErrorMessage", "onSqlOutput",
	"onUpdateSQL", NULL
};

/*
 * Changelog-level preConditions: pgchange has no place to run them, so only
 * the ones decidable while reading are accepted: dbms (PostgreSQL is the
 * database) and changeLogPropertyDefined.
 */
bool
master_changelog_preconditions(MasterFile *mf, const MasterNode *n)
{
	char	   *on_fail;

	if (!master_get_str(mf, n, "onFail", &on_fail))
		return false;
	for (int i = 0; i < n->nchildren; i++)
	{
		const MasterNode *c = n->children[i];
		bool		known = false;
		bool		holds = true;

		for (int k = 0; precond_keys[k]; k++)
			if (c->name && strcmp(c->name, precond_keys[k]) == 0)
				known = true;
		if (known)
			continue;
		if (c->name && strcmp(c->name, "dbms") == 0)
		{
			char	   *type;

			if (!master_get_str(mf, c, "type", &type))
				return false;
			holds = dbms_matches_postgresql(type);
		}
		else if (c->name && strcmp(c->name, "changeLogPropertyDefined") == 0)
		{
			char	   *prop,
					   *value;
			const char *actual;

			if (!master_get_str(mf, c, "property", &prop) ||
				!master_get_str(mf, c, "value", &value))
				return false;
			actual = prop ? properties_get(mf->ld->props, prop) : NULL;
			if (actual == NULL && mf->local && prop)
				actual = properties_get_last(mf->local, prop);
			holds = actual != NULL && (value == NULL || strcmp(actual, value) == 0);
		}
		else
		{
			master_error(mf, c, "changelog-level precondition \"%s\" is not supported", master_node_name(c));
			changelog_hint("Put it on the changesets (--preconditions in formatted SQL): pgchange checks preconditions per changeset.");
			return false;
		}
		if (!holds)
		{
			if (on_fail && pg_strcasecmp(on_fail, "WARN") == 0)
			{
				pg_log_warning("%s:%d: changelog precondition %s does not hold, continuing (onFail=WARN)",
							   mf->physical, c->line, master_node_name(c));
				continue;
			}
			master_error(mf, c, "changelog precondition %s does not hold", master_node_name(c));
			return false;
		}
	}
	return true;
}

/* onFail / onError: HALT (default), CONTINUE, MARK_RAN or WARN */
static bool
parse_precond_fail(MasterFile *mf, const MasterNode *n, const char *name,
				   PreconditionFail *out)
{
	char	   *s;

	if (!master_get_str(mf, n, name, &s))
		return false;
	if (s == NULL)
		return true;
	if (pg_strcasecmp(s, "HALT") == 0)
		*out = PRECOND_HALT;
	else if (pg_strcasecmp(s, "CONTINUE") == 0)
		*out = PRECOND_CONTINUE;
	else if (pg_strcasecmp(s, "MARK_RAN") == 0)
		*out = PRECOND_MARK_RAN;
	else if (pg_strcasecmp(s, "WARN") == 0)
		*out = PRECOND_WARN;
	else
	{
		master_error(mf, master_child(n, name), "%s must be HALT, CONTINUE, MARK_RAN or WARN, not \"%s\"", name, s);
		return false;
	}
	return true;
}

/* changeSet preConditions: sqlCheck, tableExists and viewExists */
static bool
handle_changeset_preconditions(MasterFile *mf, const MasterNode *n, Changeset *cs)
{
	if (!parse_precond_fail(mf, n, "onFail", &cs->on_fail) ||
		!parse_precond_fail(mf, n, "onError", &cs->on_error))
		return false;
	for (int i = 0; i < n->nchildren; i++)
	{
		const MasterNode *c = n->children[i];
		const char *name = c->name ? c->name : "";
		Precondition pc;
		bool		known = false;

		for (int k = 0; precond_keys[k]; k++)
			if (strcmp(name, precond_keys[k]) == 0)
				known = true;
		if (known)
			continue;
		memset(&pc, 0, sizeof(pc));
		pc.line = c->line;
		if (strcmp(name, "sqlCheck") == 0)
		{
			pc.kind = PRECOND_SQL_CHECK;
			if (!master_get_str(mf, c, "expectedResult", &pc.expected) ||
				!master_get_str(mf, c, "sql", &pc.sql))
				return false;
			if (pc.sql == NULL && c->value)
				pc.sql = master_expand(mf, c->value);
		}
		else if (strcmp(name, "tableExists") == 0 || strcmp(name, "viewExists") == 0)
		{
			bool		table = (name[0] == 't');

			pc.kind = table ? PRECOND_TABLE_EXISTS : PRECOND_VIEW_EXISTS;
			if (!master_get_str(mf, c, "schemaName", &pc.schema) ||
				!master_get_str(mf, c, table ? "tableName" : "viewName", &pc.name))
				return false;
		}
		else
		{
			master_error(mf, c, "changeSet precondition \"%s\" is not supported", master_node_name(c));
			changelog_hint("Use sqlCheck, tableExists or viewExists, the preconditions pgchange supports.");
			return false;
		}
		if ((pc.kind == PRECOND_SQL_CHECK && (pc.sql == NULL || pc.expected == NULL)) ||
			(pc.kind != PRECOND_SQL_CHECK && pc.name == NULL))
		{
			master_error(mf, c, "precondition %s is incomplete", name);
			return false;
		}
		cs->preconditions = cs->preconditions
			? repalloc(cs->preconditions, (cs->npreconditions + 1) * sizeof(Precondition))
			: palloc(sizeof(Precondition));
		pc.sql = OWN(pc.sql);
		pc.expected = OWN(pc.expected);
		pc.schema = OWN(pc.schema);
		pc.name = OWN(pc.name);
		cs->preconditions[cs->npreconditions++] = pc;
	}
	return true;
}

/*
 * Read an <sqlFile>: its body (properties expanded, as Liquibase expands
 * sqlFile contents) and its physical path.  A dbms that excludes
 * PostgreSQL makes the change empty.
 */
static bool
read_sqlfile(MasterFile *mf, const MasterNode *n, char **body, char **physical,
			 bool *split, bool *strip, char **delimiter)
{
	char	   *path,
			   *encoding,
			   *dbms;
	bool		relative,
				failed;
	char	   *logical;
	char	   *data;
	size_t		len;

	*body = NULL;
	*physical = NULL;
	if (!master_check_keys(mf, n, sqlfile_keys) ||
		!master_get_str(mf, n, "path", &path) ||
		!master_get_str(mf, n, "encoding", &encoding) ||
		!master_get_str(mf, n, "dbms", &dbms) ||
		!master_get_str(mf, n, "endDelimiter", delimiter) ||
		!master_get_bool(mf, n, "relativeToChangelogFile", false, &relative) ||
		!master_get_bool(mf, n, "splitStatements", true, split) ||
		!master_get_bool(mf, n, "stripComments", false, strip))
		return false;
	if (path == NULL || *path == '\0')
	{
		master_error(mf, n, "sqlFile needs a path");
		return false;
	}
	if (encoding && pg_strcasecmp(encoding, "UTF-8") != 0 &&
		pg_strcasecmp(encoding, "UTF8") != 0)
	{
		master_error(mf, n, "sqlFile encoding \"%s\" is not supported", encoding);
		changelog_hint("Convert the file to UTF-8.");
		return false;
	}
	if (!dbms_matches_postgresql(dbms))
	{
		*body = "";
		return true;
	}
	logical = loader_keep(mf->ld, loader_logical_path(mf->logical, path, relative));
	*physical = loader_keep(mf->ld, loader_find(mf->ld, logical, false,
												master_place(mf, n), n->line,
												&failed));
	if (failed)
		return false;
	if (*physical == NULL)
	{
		master_error(mf, n, "sqlFile \"%s\" not found in the search path", logical);
		return false;
	}
	data = changelog_read_file(*physical, &len);
	if (data == NULL)
		return false;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		*body = master_expand(mf, data + 3);
	else
		*body = master_expand(mf, data);
	pfree(data);
	return true;
}

/* Add validCheckSum values: one scalar, or a list of them */
static void
add_valid_checksums(MasterFile *mf, const MasterNode *n, Changeset *cs)
{
	if (n->value)
	{
		cs->valid_checksums = cs->valid_checksums
			? repalloc(cs->valid_checksums, (cs->nvalid_checksums + 1) * sizeof(char *))
			: palloc(sizeof(char *));
		cs->valid_checksums[cs->nvalid_checksums++] = pstrdup(master_expand(mf, n->value));
	}
	for (int i = 0; i < n->nchildren; i++)
		add_valid_checksums(mf, n->children[i], cs);
}

/* <rollback>: SQL text, one sqlFile, a changeSetId reference, or empty */
static bool
handle_rollback(MasterFile *mf, const MasterNode *n, Changeset *cs)
{
	char	   *text = n->value ? master_expand(mf, n->value) : NULL;
	StringInfoData buf;

	initStringInfo(&buf);
	if (text)
		appendStringInfoString(&buf, text);
	for (int i = 0; i < n->nchildren; i++)
	{
		const MasterNode *c = n->children[i];
		const char *name = c->name ? c->name : "";

		if (strcmp(name, "sqlFile") == 0)
		{
			char	   *body,
					   *physical,
					   *delimiter;
			bool		split,
						strip;

			if (!read_sqlfile(mf, c, &body, &physical, &split, &strip, &delimiter))
			{
				pfree(buf.data);
				return false;
			}
			appendStringInfoString(&buf, body);
			cs->rollback_split_statements = split;
			cs->rollback_end_delimiter = OWN(delimiter);
		}
		else if (strcmp(name, "changeSetId") == 0 || strcmp(name, "changeSetAuthor") == 0 ||
				 strcmp(name, "changeSetPath") == 0)
		{
			char	  **dst = name[9] == 'I' ? &cs->rollback_ref_id :
				name[9] == 'A' ? &cs->rollback_ref_author : &cs->rollback_ref_path;
			char	   *value;

			if (!master_get_str(mf, n, name, &value))
			{
				pfree(buf.data);
				return false;
			}
			*dst = OWN(value);
		}
		else if (c->name == NULL && c->value && c->nchildren == 0)
			appendStringInfoString(&buf, c->value);
		else
		{
			master_error(mf, c, "unsupported change type %s in rollback", master_node_name(c));
			changelog_hint("Convert it to formatted SQL: pgchange deploys SQL changesets.");
			pfree(buf.data);
			return false;
		}
	}
	cs->rollback = buf.data;
	return true;
}

/*
 * <changeSet>: one changeset whose body is its sqlFile (or empty).  One for
 * another dbms is skipped while reading, as Liquibase skips it.
 */
bool
master_changeset(MasterFile *mf, const MasterNode *n)
{
	Changeset  *cs;
	Changelog	discard = {0};
	char	   *dbms,
			   *id,
			   *author,
			   *context,
			   *labels,
			   *logical,
			   *run_order,
			   *run_with;
	const MasterNode *sqlfile = NULL;
	bool		ok;

	if (!master_get_str(mf, n, "dbms", &dbms))
		return false;
	if (!dbms_matches_postgresql(dbms))
		return true;			/* Liquibase skips it while parsing */

	cs = changeset_new(CSF_LIQUIBASE_SQL);
	cs->file = pstrdup(mf->physical);
	cs->line = n->line;
	cs->body_line = 1;
	cs->dbms = OWN(dbms);
	ok = master_get_str(mf, n, "id", &id) &&
		master_get_str(mf, n, "author", &author) &&
		master_get_context(mf, n, &context) &&
		master_get_str(mf, n, "labels", &labels) &&
		master_get_str(mf, n, "logicalFilePath", &logical) &&
		master_get_str(mf, n, "runOrder", &run_order) &&
		master_get_str(mf, n, "runWith", &run_with) &&
		master_get_bool(mf, n, "runOnChange", false, &cs->run_on_change) &&
		master_get_bool(mf, n, "alwaysRun", false, &cs->run_always) &&
		master_get_bool(mf, n, "runAlways", cs->run_always, &cs->run_always) &&
		master_get_bool(mf, n, "failOnError", true, &cs->fail_on_error) &&
		master_get_bool(mf, n, "runInTransaction", true, &cs->run_in_transaction) &&
		master_get_bool(mf, n, "ignore", false, &cs->ignore);
	if (ok && (id == NULL || author == NULL))
	{
		master_error(mf, n, "changeSet needs an id and an author");
		ok = false;
	}
	if (ok && (run_order || (run_with && pg_strcasecmp(run_with, "jdbc") != 0)))
	{
		master_error(mf, n, "changeSet %s is not supported", run_order ? "runOrder" : "runWith");
		ok = false;
	}
	if (ok)
	{
		cs->id = pstrdup(id);
		cs->author = pstrdup(author);
		cs->path = logical ? loader_logical_path(NULL, logical, false) : pstrdup(mf->cs_path);
		cs->contexts = changelog_filter_and(mf->contexts, context);
		cs->labels = changelog_filter_and(mf->labels, labels);
	}

	for (int i = 0; ok && i < n->nchildren; i++)
	{
		const MasterNode *c = n->children[i];
		const char *name = c->name ? c->name : "";
		bool		known = false;

		for (int k = 0; changeset_keys[k] && !known; k++)
			known = strcmp(name, changeset_keys[k]) == 0;

		if (!known && !c->is_element)
		{
			master_error(mf, c, "unknown attribute \"%s\" in changeSet", master_node_name(c));
			ok = false;
		}
		else if (strcmp(name, "comment") == 0)
			cs->comment = c->value ? pstrdup(master_expand(mf, c->value)) : NULL;
		else if (strcmp(name, "validCheckSum") == 0)
			add_valid_checksums(mf, c, cs);
		else if (strcmp(name, "rollback") == 0)
			ok = handle_rollback(mf, c, cs);
		else if (strcmp(name, "preConditions") == 0)
			ok = handle_changeset_preconditions(mf, c, cs);
		else if (strcmp(name, "changes") == 0 || !known)
		{
			/* YAML / JSON list the changes under "changes"; XML inline */
			int			nchanges = strcmp(name, "changes") == 0 ? c->nchildren : 1;

			for (int j = 0; ok && j < nchanges; j++)
			{
				const MasterNode *ch = strcmp(name, "changes") == 0 ? c->children[j] : c;

				if (ch->name && strcmp(ch->name, "tagDatabase") == 0)
				{
					/* Liquibase's tagDatabase: the changeSet's only change */
					char	   *tag;

					ok = master_get_str(mf, ch, "tag", &tag);
					if (ok && (tag == NULL || *tag == '\0' || cs->tag))
					{
						master_error(mf, ch, cs->tag ? "changeSet has a second tagDatabase" :
									 "tagDatabase needs a tag");
						ok = false;
					}
					if (ok)
						cs->tag = pstrdup(tag);
				}
				else if (ch->name == NULL || strcmp(ch->name, "sqlFile") != 0)
				{
					master_error(mf, ch, "unsupported change type %s", master_node_name(ch));
					changelog_hint("Convert it to formatted SQL: pgchange deploys SQL changesets.");
					ok = false;
				}
				else if (sqlfile)
				{
					master_error(mf, ch, "changeSet %s holds more than one sqlFile", cs->id);
					changelog_hint("Give each sqlFile its own changeSet.");
					ok = false;
				}
				else
					sqlfile = ch;
			}
		}
	}
	if (ok && sqlfile && cs->tag)
	{
		master_error(mf, n, "changeSet %s holds tagDatabase and sqlFile", cs->id);
		changelog_hint("tagDatabase must be the only change of its changeSet; give the sqlFile a changeSet of its own.");
		ok = false;
	}
	if (ok && sqlfile)
	{
		char	   *body,
				   *physical,
				   *delimiter;

		ok = read_sqlfile(mf, sqlfile, &body, &physical, &cs->split_statements,
						  &cs->strip_comments, &delimiter);
		if (ok)
		{
			cs->body = pstrdup(body);
			cs->body_file = OWN(physical);
			cs->end_delimiter = OWN(delimiter);
		}
	}
	if (!ok)
	{
		/* changelog_free() knows how to free a changeset */
		changelog_append(&discard, cs);
		changelog_free(&discard);
		return false;
	}
	if (cs->body == NULL)
		cs->body = pstrdup("");
	changelog_append(mf->ld->out, cs);
	return true;
}
