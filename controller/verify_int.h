/*-------------------------------------------------------------------------
 *
 * verify_int.h
 *	  Internal to verification: shared by verify.c (options, what to run,
 *	  the command flows), verify_run.c (running it) and verify_report.c
 *	  (human and JSON reports).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_VERIFY_INT_H
#define PGCHANGE_VERIFY_INT_H

#include "verify.h"

/* One applied changeset's verify SQL */
typedef struct VerifyItem
{
	char	   *name;			/* path::id::author */
	char	   *file;			/* where the SQL was read; NULL: the registry */
	int			line;			/* its first line in file */
	char	   *sql;
	bool		mark_ran;		/* recorded as mark_ran: not verified */
} VerifyItem;

/* Everything a verification runs */
typedef struct VerifyWork
{
	VerifyItem *items;			/* in the order the changesets ran */
	int			nitems;
	char	   *dir;			/* the verify directory, NULL if none */
	char	  **files;			/* its *.sql files, in name order */
	int			nfiles;
} VerifyWork;

/* verify.c */
extern bool verify_rollback_on_failure(void);
extern const char *verify_junit_path(void);
/* what to run; an exit code (usage: no verify directory, error: no pgTAP) */
extern int	verify_collect(PGconn *conn, const GlobalOptions *g, const Plan *plan,
						   VerifyWork *w);
extern void verify_work_free(VerifyWork *w);

/*
 * verify_run.c: run everything into rep (allocated here).  false if the
 * connection failed or the run was cancelled (logged); failing tests are
 * not an error, they are in rep.
 */
extern bool verify_run(PGconn *conn, const GlobalOptions *g, const VerifyWork *w,
					   VerifyReport *rep);

/* verify_report.c */
extern void verify_report_print(const GlobalOptions *g, const VerifyReport *rep);
extern struct cJSON *verify_report_json(const VerifyReport *rep);

#endif							/* PGCHANGE_VERIFY_INT_H */
