/*-------------------------------------------------------------------------
 *
 * changelog_sql_finish.c
 *	  Formatted SQL reader: completing a changeset once its last line is
 *	  read (rollback forms, Liquibase's body rules) and the duplicate check
 *	  of a file's changesets.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <ctype.h>

#include "changelog_sql.h"
#include "changelog_sql_int.h"
#include "lib/stringinfo.h"

/*
 * Find the last "key:" (case-insensitive) in text and return its value up
 * to the next blank, as the rollback-reference regexes do; NULL if absent.
 */
char *
sqlreader_find_last_value(const char *text, const char *key)
{
	const char *found = NULL;
	size_t		klen = strlen(key);

	for (const char *s = text; *s; s++)
		if (pg_strncasecmp(s, key, klen) == 0)
			found = s + klen;
	if (found == NULL || *found == '\0' || isspace((unsigned char) *found))
		return NULL;
	{
		const char *e = found;

		while (*e && !isspace((unsigned char) *e))
			e++;
		return pnstrdup(found, e - found);
	}
}

/* Case-insensitive substring test. */
static bool
contains_ci(const char *text, const char *word)
{
	for (; *text; text++)
		if (cl_has_prefix_ci(text, word))
			return true;
	return false;
}

/* Does text hold only ';' and blanks (what "--rollback ;" means)? */
static bool
only_semicolons(const char *text)
{
	for (; *text; text++)
		if (*text != ';' && !isspace((unsigned char) *text))
			return false;
	return true;
}

/* Turn the collected rollback text into cs->rollback or a reference. */
static bool
finish_rollback(SqlReader *r, Changeset *cs)
{
	char	   *text = cl_trim(pstrdup(r->rollback.data));
	bool		one_line = strchr(text, '\n') == NULL;

	if (*text == '\0')
	{
		pfree(text);
		return true;
	}
	/* "not required" / "empty" only on a single line, as Liquibase's regex */
	if (one_line && (cl_has_prefix_ci(text, "not required") ||
					 cl_has_prefix_ci(text, "empty")))
		cs->rollback = pstrdup("");
	else if (contains_ci(text, "changesetid"))
	{
		cs->rollback_ref_id = sqlreader_find_last_value(text, "changesetid:");
		cs->rollback_ref_author = sqlreader_find_last_value(text, "changesetauthor:");
		cs->rollback_ref_path = sqlreader_find_last_value(text, "changesetpath:");
		if (cs->rollback_ref_id == NULL || cs->rollback_ref_author == NULL)
		{
			changelog_error(r->file, r->rollback_line,
							"--rollback reference needs both changesetId and changesetAuthor");
			changelog_hint("Write it as \"--rollback changesetId:<id> changesetAuthor:<author> [changesetPath:<path>]\".");
			pfree(text);
			return false;
		}
		if (cs->rollback_ref_path == NULL)
		{
			/* without a path the changeset must be earlier in this file */
			bool		found = false;

			for (int i = 0; i < r->result.count && !found; i++)
				found = strcmp(r->result.items[i]->id, cs->rollback_ref_id) == 0 &&
					strcmp(r->result.items[i]->author, cs->rollback_ref_author) == 0;
			if (!found)
			{
				changelog_error(r->file, r->rollback_line,
								"--rollback refers to changeset %s:%s, which is not defined earlier in this file",
								cs->rollback_ref_author, cs->rollback_ref_id);
				changelog_hint("Add changesetPath:<path> to refer to a changeset in another file.");
				pfree(text);
				return false;
			}
		}
	}
	else if (only_semicolons(text))
		cs->rollback = pstrdup("");
	else
		cs->rollback = sqlreader_subst(r, text);
	pfree(text);
	return true;
}

/*
 * Finish the changeset being read: trim and substitute its body, settle
 * rollback and verify, check for a duplicate id:author, and keep it.
 */
bool
sqlreader_finish_changeset(SqlReader *r)
{
	Changeset  *cs = r->cs;
	char	   *body;

	if (cs == NULL)
		return true;
	r->cs = NULL;

	/* trailing blanks go, as Liquibase trims the body */
	while (r->body.len > 0 && isspace((unsigned char) r->body.data[r->body.len - 1]))
		r->body.data[--r->body.len] = '\0';
	if (r->body.len == 0)
	{
		changelog_error(r->file, cs->line, "changeset %s:%s has no SQL",
						cs->author, cs->id);
		changelog_hint("Every changeset needs at least one statement; Liquibase rejects an empty one too.");
		changelog_append(&r->result, cs);	/* freed with the rest */
		return false;
	}
	body = sqlreader_subst(r, r->body.data);
	cs->body = body;
	cs->body_line = r->body_line;

	changelog_append(&r->result, cs);
	if (!finish_rollback(r, cs))
		return false;
	if (r->has_verify)
	{
		char	   *v = cl_trim(pstrdup(r->verify.data));

		cs->verify = sqlreader_subst(r, v);
		cs->verify_line = r->verify_line;
		pfree(v);
	}
	return true;
}

/* qsort: by id, author, then line, so a duplicate follows its first definition */
static int
id_author_line_cmp(const void *a, const void *b)
{
	const Changeset *x = *(Changeset *const *) a;
	const Changeset *y = *(Changeset *const *) b;
	int			c = strcmp(x->id, y->id);

	if (c == 0)
		c = strcmp(x->author, y->author);
	if (c == 0)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

/*
 * The same id:author twice in the file: report the first redefinition in
 * file order.  Sorting keeps this O(n log n) for changelogs of 10,000+.
 */
bool
sqlreader_check_file_duplicates(SqlReader *r)
{
	Changeset **sorted;
	const Changeset *first = NULL;
	const Changeset *dup = NULL;

	if (r->result.count < 2)
		return true;
	sorted = palloc(r->result.count * sizeof(Changeset *));
	memcpy(sorted, r->result.items, r->result.count * sizeof(Changeset *));
	qsort(sorted, r->result.count, sizeof(Changeset *), id_author_line_cmp);
	for (int i = 0; i + 1 < r->result.count; i++)
	{
		const Changeset *o = sorted[i];
		const Changeset *cs = sorted[i + 1];

		/* a group's second member, sorted by line, is its first redefinition */
		if (strcmp(o->id, cs->id) != 0 || strcmp(o->author, cs->author) != 0 ||
			(i > 0 && strcmp(sorted[i - 1]->id, o->id) == 0 &&
			 strcmp(sorted[i - 1]->author, o->author) == 0))
			continue;
		if (dup == NULL || cs->line < dup->line)
		{
			first = o;
			dup = cs;
		}
	}
	pfree(sorted);
	if (dup == NULL)
		return true;
	changelog_error(r->file, dup->line,
					"changeset %s:%s is defined twice in this file, at lines %d and %d",
					dup->author, dup->id, first->line, dup->line);
	changelog_hint("Give one of them another id.");
	return false;
}

