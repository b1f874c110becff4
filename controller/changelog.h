/*-------------------------------------------------------------------------
 *
 * changelog.h
 *	  The changeset model: what every changelog reader produces and what
 *	  deploy, status, validate and rollback consume.
 *
 * Readers (one file per format) append to a Changelog in deploy order.  On
 * bad input they report with pg_log_error("FILE:LINE: ...") (plus
 * pg_log_error_hint where a fix can be named) and return false; the caller
 * picks the exit code.  Nothing is applied before the whole changelog has
 * been read without error.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_CHANGELOG_H
#define PGCHANGE_CHANGELOG_H

#include <stdbool.h>

typedef enum ChangesetFormat
{
	CSF_LIQUIBASE_SQL,			/* --liquibase formatted sql */
	CSF_GOOSE					/* goose -- +goose Up/Down */
} ChangesetFormat;

typedef enum PreconditionFail
{
	PRECOND_HALT,				/* Liquibase default for onFail and onError */
	PRECOND_CONTINUE,			/* skip now, try again next deploy */
	PRECOND_MARK_RAN,			/* record as mark_ran without running */
	PRECOND_WARN				/* warn and run anyway */
} PreconditionFail;

typedef enum PreconditionKind
{
	PRECOND_SQL_CHECK,			/* --precondition-sql-check expectedResult:X SQL */
	PRECOND_TABLE_EXISTS,		/* --precondition-table-exists [schemaName:S] tableName:T */
	PRECOND_VIEW_EXISTS			/* --precondition-view-exists [schemaName:S] viewName:V */
} PreconditionKind;

typedef struct Precondition
{
	PreconditionKind kind;
	char	   *sql;			/* SQL_CHECK: the query */
	char	   *expected;		/* SQL_CHECK: expectedResult, as text */
	char	   *schema;			/* *_EXISTS: NULL means current schema */
	char	   *name;			/* *_EXISTS: table or view name */
	int			line;
} Precondition;

typedef struct Changeset
{
	ChangesetFormat format;

	/* identity: (project, id, author); goose has no author ("goose") */
	char	   *id;
	char	   *author;

	char	   *path;			/* logical path recorded in the registry */
	char	   *file;			/* physical file, for messages */
	int			line;			/* line of the --changeset / +goose Up */

	char	   *body;			/* SQL to run, properties already substituted */
	int			body_line;		/* file line where body starts */

	/* rollback: NULL when none given; "" for "empty" / "not required" */
	char	   *rollback;
	char	   *rollback_ref_id;	/* --rollback changesetId:X changesetAuthor:Y */
	char	   *rollback_ref_author;
	char	   *verify;			/* --verify block (#6), NULL if none */
	int			verify_line;	/* the line its SQL starts on */

	char	   *comment;
	char	   *contexts;		/* expression as written, NULL if none */
	char	   *labels;			/* expression as written, NULL if none */
	char	   *dbms;			/* as written, NULL if none */
	char	   *end_delimiter;	/* NULL means ";" */

	bool		run_on_change;
	bool		run_always;
	bool		fail_on_error;	/* default true */
	bool		run_in_transaction; /* default true */
	bool		split_statements;	/* default true */
	bool		strip_comments; /* default true, as Liquibase 4.28 parses it */
	bool		ignore;

	/* preconditions, all must hold */
	Precondition *preconditions;
	int			npreconditions;
	PreconditionFail on_fail;
	PreconditionFail on_error;

	/* --validCheckSum values; "ANY" accepts every checksum */
	char	  **valid_checksums;
	int			nvalid_checksums;

	/*
	 * Statements as the source format itself splits them (goose: line-final
	 * ';' outside StatementBegin/End), each with its first line; NULL when
	 * the deployer splits the body with PostgreSQL's own lexer instead.
	 */
	char	  **statements;
	int		   *statement_lines;
	int			nstatements;
	char	  **down_statements;	/* goose Down, split the same way */
	int			ndown_statements;

	/* goose only */
	bool		goose_envsub;	/* body had ENVSUB ON regions expanded */

	/* added by the formatted-SQL / goose readers */
	char	   *rollback_ref_path;	/* --rollback ... changesetPath:Z, else NULL */
	bool		rollback_split_statements;	/* rollbackSplitStatements, default
											 * true */
	char	   *rollback_end_delimiter; /* rollbackEndDelimiter, NULL means ";" */
	int		   *down_statement_lines;	/* goose: first line of each Down
										 * statement */

	/* added by the root loader (changelog_root.c) */
	char	   *body_file;		/* file the body was read from when it is not
								 * file (a master's <sqlFile>), else NULL;
								 * body_line counts in it */

	/* tagDatabase (masters) or --tag (formatted SQL): tag the database
	 * once this changeset is applied; NULL if none */
	char	   *tag;
} Changeset;

typedef struct Changelog
{
	Changeset **items;
	int			count;
	int			capacity;
} Changelog;

/* A property set: --property lines, <property> in masters, -D on the CLI */
typedef struct PropertyList
{
	char	  **names;
	char	  **values;
	char	  **contexts;		/* NULL entry: any context */
	int			count;
	int			capacity;

	/*
	 * The run's --contexts and --labels, set by changelog_load(): a
	 * definition whose context or labels they exclude is dropped (see
	 * properties_applies()).  NULL: every definition applies.
	 */
	const char *run_contexts;
	const char *run_labels;
} PropertyList;

/*
 * Identity: (project, id, author) by default, so renaming a folder never
 * re-runs anything.  Liquibase changelogs that reuse one id:author in
 * several files (Liquibase keys on the path too) need the project to
 * include the logical path in identity; the loader reports such reuse as
 * an error naming both places, with a hint to switch that mode on.
 */
extern Changeset *changeset_new(ChangesetFormat format);
extern void changelog_append(Changelog *cl, Changeset *cs);
extern void changelog_free(Changelog *cl);

#endif							/* PGCHANGE_CHANGELOG_H */
