/*-------------------------------------------------------------------------
 *
 * pgconn.h
 *	  The controller's one libpq module: connecting, parameterised queries,
 *	  and the version handshake with the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGCHANGE_PGCONN_H
#define PGCHANGE_PGCONN_H

#include "cli.h"
#include "libpq-fe.h"

typedef struct ExtensionInfo
{
	bool		available;		/* control file present on the server */
	char	   *default_version;	/* what CREATE EXTENSION would install */
	bool		installed;
	char	   *installed_version;	/* pg_extension.extversion */
	char	   *library_version;	/* pgchange.version(), NULL if not callable */
	char	   *library_error;	/* why pgchange.version() could not be called */
} ExtensionInfo;

/* Connect as psql would; NULL (error logged) on failure */
extern PGconn *pgc_connect(const GlobalOptions *g);

/*
 * Run a parameterised query (all parameters text, NULL allowed) and return
 * its result if the status is the expected one; otherwise log the error
 * (message, detail, hint) and return NULL.
 */
extern PGresult *pgc_exec(PGconn *conn, ExecStatusType expected,
						  const char *sql, int nparams, const char *const *params);

/*
 * pgc_exec in two halves: send the query (false after logging), then wait
 * for its result.  In between, the caller may free the parameters, which
 * libpq has copied: a manifest of 10,000 changesets need not be in memory
 * twice while the result arrives.
 */
extern bool pgc_send(PGconn *conn, const char *sql, int nparams,
					 const char *const *params);
extern PGresult *pgc_result(PGconn *conn, ExecStatusType expected, const char *sql);

/* Run a statement whose rows, if any, are not needed; false on error */
extern bool pgc_command(PGconn *conn, const char *sql, int nparams,
						const char *const *params);

/* Log a failed result in PostgreSQL's own layout: error, detail, hint */
extern void pgc_log_result_error(const PGresult *res, PGconn *conn);

/* Does a failed result's SQLSTATE start with state (a class such as "22")? */
/* print a string as an SQL literal (PQescapeLiteral), NULL as NULL: --dry-run output */
extern void pgc_print_literal(PGconn *conn, const char *s);

extern bool pgc_sqlstate_is(const PGresult *res, const char *state);

/*
 * Log a failed result, free it, and return the exit code its SQLSTATE
 * means: lock not available (held, or frozen) "lock"; blocked by a policy
 * (class PC) "policy"; a bad value from the command line (class 22)
 * "usage"; anything else "error".
 */
extern int	pgc_fail_exit(PGresult *res, PGconn *conn);

/* Learn about the pgchange extension in the connected database */
extern bool pgc_extension_info(PGconn *conn, ExtensionInfo *info);
extern void pgc_extension_info_free(ExtensionInfo *info);

/*
 * Require that the extension is installed and speaks the controller's
 * version; logs an error with the fixing command as hint when not.
 */
extern bool pgc_require_extension(PGconn *conn);

/*
 * What a command needs to know before it starts, asked together with the
 * version check of pgc_require_extension in one round trip.
 */
typedef struct Handshake
{
	/* in: NULL for what is not needed */
	const char *project;		/* read this project's identity mode */
	const char *interval;		/* convert this interval to seconds */
	/* out */
	char	   *identity_mode;	/* as stored; NULL for a new project */
	double		interval_s;		/* seconds of interval */
	bool		bad_interval;	/* interval is not a valid interval */
} Handshake;

/*
 * pgc_require_extension, and the project's identity mode and an interval
 * in seconds.  False after logging what failed (bad_interval set when the
 * interval was what failed).  Free with pgc_handshake_free.
 */
extern bool pgc_handshake(PGconn *conn, Handshake *hs);
extern void pgc_handshake_free(Handshake *hs);

#endif							/* PGCHANGE_PGCONN_H */
