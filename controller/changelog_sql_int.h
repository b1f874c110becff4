/*-------------------------------------------------------------------------
 *
 * changelog_sql_int.h
 *	  Internals of the Liquibase formatted SQL reader, shared by
 *	  changelog_sql.c (lines, changesets, rollbacks),
 *	  changelog_sql_attrs.c (--changeset attributes) and
 *	  changelog_sql_precond.c (preconditions).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHANGELOG_SQL_INT_H
#define PGCHANGE_CHANGELOG_SQL_INT_H

#include "changelog.h"
#include "lib/stringinfo.h"

/* The state of reading one formatted SQL file */
typedef struct SqlReader
{
	const char *file;			/* path as given, for messages */
	char	  **lines;			/* the file's lines, CR and LF removed */
	int			nlines;
	int			pos;			/* index of the line being handled */

	const char *logical_path;	/* caller's logical path, or NULL */
	char	   *header_path;	/* logicalFilePath from the header (wins over
								 * logical_path), or NULL */
	const char *include_contexts;
	const char *include_labels;

	PropertyList *props;		/* global properties: caller's or own_props */
	PropertyList own_props;
	PropertyList local_props;	/* --property ... global:false */

	Changelog	result;			/* finished changesets of this file */

	/* the changeset being read, and what has been collected for it */
	Changeset  *cs;
	StringInfoData body;
	int			body_line;		/* line of the first body line */
	StringInfoData rollback;
	int			rollback_line;	/* first rollback line, for messages */
	StringInfoData verify;
	bool		has_verify;
	int			verify_line;	/* first line of the verify SQL */
} SqlReader;

/* changelog_sql.c */
extern char *sqlreader_subst(SqlReader *r, const char *text);
extern bool cl_has_prefix_ci(const char *s, const char *prefix);

/* changelog_sql_finish.c: a changeset complete, a file's duplicates */
extern char *sqlreader_find_last_value(const char *text, const char *key);
extern bool sqlreader_finish_changeset(SqlReader *r);
extern bool sqlreader_check_file_duplicates(SqlReader *r);

/* changelog_sql_attrs.c: the attributes of a --changeset line */
extern bool sqlreader_apply_attributes(SqlReader *r, Changeset *cs, int lineno, const char *attrs);

/* changelog_sql_precond.c: --preconditions and --precondition-* lines */
extern bool sqlreader_parse_preconditions(SqlReader *r, int lineno, const char *args);
extern bool sqlreader_parse_precondition(SqlReader *r, int lineno, const char *rest);

#endif							/* PGCHANGE_CHANGELOG_SQL_INT_H */
