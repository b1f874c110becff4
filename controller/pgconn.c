/*-------------------------------------------------------------------------
 *
 * pgconn.c
 *	  Connecting, parameterised queries and the extension version handshake.
 *
 * Every query the controller sends goes through pgc_exec with bound
 * parameters; no value is ever interpolated into SQL text.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <unistd.h>

#include "common/logging.h"
#include "common/string.h"
#include "exitcodes.h"
#include "lib/stringinfo.h"
#include "output.h"
#include "pgconn.h"

static bool extension_info_acceptable(PGconn *conn, const ExtensionInfo *info);

/*
 * Connect with the given conninfo or URI, libpq defaults filling the rest
 * (PG* variables, service file, .pgpass).  Prompts for a password, as psql
 * does, only when the server asks for one and stdin is a terminal.
 */
PGconn *
pgc_connect(const GlobalOptions *g)
{
	const char *keywords[] = {"dbname", "fallback_application_name", "password", NULL};
	const char *values[] = {g->dbname, "pgchange", NULL, NULL};
	char	   *password = NULL;
	PGconn	   *conn;

	for (;;)
	{
		values[2] = password;
		conn = PQconnectdbParams(keywords, values, true);
		if (conn == NULL)
		{
			pg_log_error("out of memory while connecting");
			return NULL;
		}
		if (PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) &&
			password == NULL && isatty(fileno(stdin)))
		{
			PQfinish(conn);
			password = simple_prompt("Password: ", false);
			continue;
		}
		break;
	}
	if (password)
	{
		memset(password, 0, strlen(password));
		free(password);
	}

	if (PQstatus(conn) == CONNECTION_BAD)
	{
		/* libpq's message never contains the password */
		pg_log_error("could not connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	out_set_encoding(PQclientEncoding(conn));
	pg_log_info("connected to database \"%s\" as \"%s\" (server %d)",
				PQdb(conn), PQuser(conn), PQserverVersion(conn));
	return conn;
}

void
pgc_log_result_error(const PGresult *res, PGconn *conn)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;

	if (msg)
		pg_log_error("%s", msg);
	else
		pg_log_error("%s", PQerrorMessage(conn));
	if (detail)
		pg_log_error_detail("%s", detail);
	if (hint)
		pg_log_error_hint("%s", hint);
}

bool
pgc_sqlstate_is(const PGresult *res, const char *state)
{
	const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return s != NULL && strncmp(s, state, strlen(state)) == 0;
}

int
pgc_fail_exit(PGresult *res, PGconn *conn)
{
	int			rc = PGC_EXIT_ERROR;

	if (pgc_sqlstate_is(res, "55P03"))
		rc = PGC_EXIT_LOCK;
	else if (pgc_sqlstate_is(res, "PC"))
		rc = PGC_EXIT_POLICY;	/* the policy engine's class: PC001, PC002 */
	else if (pgc_sqlstate_is(res, "22"))
		rc = PGC_EXIT_USAGE;
	pgc_log_result_error(res, conn);
	PQclear(res);
	return rc;
}

/* pgc_exec's verdict on a result: res, or NULL after logging and freeing it */
static PGresult *
expect_status(PGconn *conn, PGresult *res, ExecStatusType expected, const char *sql)
{
	if (res != NULL && PQresultStatus(res) == expected)
		return res;
	if (res != NULL && PQresultStatus(res) != PGRES_FATAL_ERROR &&
		PQresultStatus(res) != PGRES_NONFATAL_ERROR)
		pg_log_error("unexpected result status %s for query: %s",
					 PQresStatus(PQresultStatus(res)), sql);
	else
		pgc_log_result_error(res, conn);
	PQclear(res);
	return NULL;
}

PGresult *
pgc_exec(PGconn *conn, ExecStatusType expected, const char *sql,
		 int nparams, const char *const *params)
{
	pg_log_debug("query: %s", sql);
	return expect_status(conn, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0),
						 expected, sql);
}

bool
pgc_send(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	pg_log_debug("query: %s", sql);
	if (PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return true;
	pgc_log_result_error(NULL, conn);
	return false;
}

PGresult *
pgc_result(PGconn *conn, ExecStatusType expected, const char *sql)
{
	PGresult   *res = NULL;
	PGresult   *next;

	/* as PQexec: the last result counts */
	while ((next = PQgetResult(conn)) != NULL)
	{
		PQclear(res);
		res = next;
	}
	return expect_status(conn, res, expected, sql);
}

bool
pgc_command(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res;

	pg_log_debug("query: %s", sql);
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
						PQresultStatus(res) == PGRES_TUPLES_OK))
	{
		PQclear(res);
		return true;
	}
	pgc_log_result_error(res, conn);
	PQclear(res);
	return false;
}

static char *
dup_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : pg_strdup(PQgetvalue(res, row, col));
}

bool
pgc_extension_info(PGconn *conn, ExtensionInfo *info)
{
	PGresult   *res;

	memset(info, 0, sizeof(*info));
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT a.default_version, e.extversion "
				   "FROM (SELECT 1) AS one "
				   "LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = 'pgchange' "
				   "LEFT JOIN pg_catalog.pg_extension e ON e.extname = 'pgchange'",
				   0, NULL);
	if (res == NULL)
		return false;
	info->default_version = dup_or_null(res, 0, 0);
	info->installed_version = dup_or_null(res, 0, 1);
	info->available = info->default_version != NULL;
	info->installed = info->installed_version != NULL;
	PQclear(res);

	if (info->installed)
	{
		/* the library may be newer or older than the installed SQL */
		res = PQexec(conn, "SELECT pgchange.version()");
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			info->library_version = dup_or_null(res, 0, 0);
		else
			info->library_error = pg_strdup(PQresultErrorMessage(res));
		PQclear(res);
	}
	return true;
}

void
pgc_extension_info_free(ExtensionInfo *info)
{
	pg_free(info->default_version);
	pg_free(info->installed_version);
	pg_free(info->library_version);
	pg_free(info->library_error);
	memset(info, 0, sizeof(*info));
}

bool
pgc_require_extension(PGconn *conn)
{
	Handshake	hs = {0};
	bool		ok = pgc_handshake(conn, &hs);

	pgc_handshake_free(&hs);
	return ok;
}

/*
 * The slow way, one question at a time, each failure logged with its own
 * message and hint: after the one-round-trip query of pgc_handshake
 * failed, to say why.
 */
static bool
handshake_stepwise(PGconn *conn, Handshake *hs)
{
	ExtensionInfo info;
	bool		ok;
	PGresult   *res;

	if (!pgc_extension_info(conn, &info))
		return false;
	ok = extension_info_acceptable(conn, &info);
	pgc_extension_info_free(&info);
	if (!ok)
		return false;
	if (hs->project)
	{
		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT identity_mode FROM pgchange.projects WHERE project = $1",
					   1, &hs->project);
		if (res == NULL)
			return false;
		if (PQntuples(res) == 1)
			hs->identity_mode = dup_or_null(res, 0, 0);
		PQclear(res);
	}
	if (hs->interval)
	{
		res = pgc_exec(conn, PGRES_TUPLES_OK,
					   "SELECT extract(epoch FROM $1::interval)::float8", 1, &hs->interval);
		if (res == NULL)
		{
			hs->bad_interval = true;
			return false;
		}
		hs->interval_s = atof(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return true;
}

/*
 * One round trip for the common case: the installed version from
 * pg_extension (not pg_available_extensions, which reads every control
 * file of the server), the library's, and what the command asked for.
 * If the query fails (no extension, no privilege, a bad interval) or the
 * versions do not match, the stepwise checks say why.
 */
bool
pgc_handshake(PGconn *conn, Handshake *hs)
{
	StringInfoData sql;
	const char *params[2];
	int			nparams = 0;
	PGresult   *res;
	bool		ok = false;

	hs->identity_mode = NULL;
	hs->interval_s = 0;
	hs->bad_interval = false;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT e.extversion, pgchange.version()");
	if (hs->project)
	{
		params[nparams++] = hs->project;
		appendStringInfo(&sql, ", (SELECT p.identity_mode FROM pgchange.projects p WHERE p.project = $%d)",
						 nparams);
	}
	if (hs->interval)
	{
		params[nparams++] = hs->interval;
		appendStringInfo(&sql, ", extract(epoch FROM $%d::interval)::float8", nparams);
	}
	appendStringInfoString(&sql, " FROM pg_catalog.pg_extension e WHERE e.extname = 'pgchange'");

	pg_log_debug("query: %s", sql.data);
	res = PQexecParams(conn, sql.data, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		strcmp(PQgetvalue(res, 0, 0), PGCHANGE_VERSION) == 0 &&
		strcmp(PQgetvalue(res, 0, 1), PGCHANGE_VERSION) == 0)
	{
		int			c = 2;

		if (hs->project)
			hs->identity_mode = dup_or_null(res, 0, c++);
		if (hs->interval)
			hs->interval_s = atof(PQgetvalue(res, 0, c++));
		ok = true;
	}
	else
		pg_log_debug("one-round-trip handshake failed: %s", PQresultErrorMessage(res));
	PQclear(res);
	pfree(sql.data);
	return ok || handshake_stepwise(conn, hs);
}

void
pgc_handshake_free(Handshake *hs)
{
	pg_free(hs->identity_mode);
	hs->identity_mode = NULL;
}

/*
 * The checks of pgc_require_extension, each failure logged with its fix.
 */
static bool
extension_info_acceptable(PGconn *conn, const ExtensionInfo *info_p)
{
	const ExtensionInfo info = *info_p;

	if (!info.installed)
	{
		pg_log_error("extension \"pgchange\" is not installed in database \"%s\"", PQdb(conn));
		pg_log_error_hint("Run \"pgchange init\" to install it.");
		return false;
	}
	if (strcmp(info.installed_version, PGCHANGE_VERSION) != 0)
	{
		pg_log_error("extension \"pgchange\" version %s does not match the controller's version %s",
					 info.installed_version, PGCHANGE_VERSION);
		pg_log_error_hint("Run \"pgchange init\" to update the extension, or use a pgchange controller of version %s.",
						  info.installed_version);
		return false;
	}
	if (info.library_error)
	{
		pg_log_error("could not call pgchange.version(): %s", info.library_error);
		pg_log_error_hint("Check that role \"%s\" may use schema pgchange; \"pgchange init\" restores the extension's grants.",
						  PQuser(conn));
		return false;
	}
	if (info.library_version == NULL || strcmp(info.library_version, PGCHANGE_VERSION) != 0)
	{
		pg_log_error("the server's pgchange library is version %s, the controller is %s",
					 info.library_version ? info.library_version : "unknown", PGCHANGE_VERSION);
		pg_log_error_hint("Install pgchange %s on the database server and restart sessions that loaded the old library.",
						  PGCHANGE_VERSION);
		return false;
	}
	return true;
}

void
pgc_print_literal(PGconn *conn, const char *s)
{
	char	   *lit = s ? PQescapeLiteral(conn, s, strlen(s)) : NULL;

	printf("%s", lit ? lit : "NULL");
	if (lit)
		PQfreemem(lit);
}
