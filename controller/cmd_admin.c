/*-------------------------------------------------------------------------
 *
 * cmd_admin.c
 *	  Commands that set up and check a target database: init and ping.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "exitcodes.h"
#include "output.h"
#include "pgconn.h"

/*
 * ping: connect, report server, extension and library versions; fail with
 * a hint naming `pgchange init` when the extension is missing or stale.
 */
static int
ping_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	ExtensionInfo info;
	OutRecord  *rec;
	PGresult   *res;
	bool		ok;

	if (argc > 0)
		return cli_usage_error(&cmd_ping, NULL, "too many arguments: \"%s\"", argv[0]);
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;
	if (!pgc_extension_info(conn, &info))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}
	res = pgc_exec(conn, PGRES_TUPLES_OK,
				   "SELECT pg_catalog.current_setting('server_version'), "
				   "pg_catalog.current_database(), current_user", 0, NULL);
	if (res == NULL)
	{
		pgc_extension_info_free(&info);
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}

	ok = info.installed &&
		strcmp(info.installed_version, PGCHANGE_VERSION) == 0 &&
		info.library_version && strcmp(info.library_version, PGCHANGE_VERSION) == 0;

	rec = out_record_new();
	out_record_str(rec, "server_version", "server", PQgetvalue(res, 0, 0));
	out_record_int(rec, "server_version_num", "server version number", PQserverVersion(conn));
	out_record_str(rec, "database", "database", PQgetvalue(res, 0, 1));
	out_record_str(rec, "user", "user", PQgetvalue(res, 0, 2));
	out_record_str(rec, "extension_version", "extension", info.installed_version);
	out_record_str(rec, "library_version", "library", info.library_version);
	out_record_str(rec, "controller_version", "controller", PGCHANGE_VERSION);
	out_record_bool(rec, "ok", "ok", ok);
	PQclear(res);
	out_record_emit(g, rec);

	/* the same checks, now with their messages and hints */
	pgc_extension_info_free(&info);
	ok = pgc_require_extension(conn);
	PQfinish(conn);
	return ok ? PGC_EXIT_OK : PGC_EXIT_ERROR;
}

const Command cmd_ping = {
	.name = "ping",
	.summary = "connect and report server, extension and controller versions",
	.usage =
	"Usage:\n  pgchange ping [-d CONNINFO]\n\n"
	"Exits 0 when the pgchange extension is installed in the database and its\n"
	"version matches the controller's, 1 otherwise (with a hint).\n",
	.run = ping_run,
};

/*
 * init: create the extension, or update it to the controller's version.
 */
static int
init_run(const GlobalOptions *g, int argc, char **argv)
{
	PGconn	   *conn;
	ExtensionInfo info;
	const char *params[1] = {PGCHANGE_VERSION};
	const char *action;
	int			rc = PGC_EXIT_OK;

	if (argc > 0)
		return cli_usage_error(&cmd_init, NULL, "too many arguments: \"%s\"", argv[0]);
	if ((conn = pgc_connect(g)) == NULL)
		return PGC_EXIT_ERROR;

	/*
	 * Two CI jobs may init the same database at once: check and create in
	 * one transaction, serialised by a transaction-level advisory lock, so
	 * the second sees the first's work instead of failing on a duplicate.
	 */
	if (!pgc_command(conn, "BEGIN", 0, NULL) ||
		!pgc_command(conn, "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgchange.init'))", 0, NULL) ||
		!pgc_extension_info(conn, &info))
	{
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}

	if (!info.available)
	{
		pg_log_error("extension \"pgchange\" is not available on the server");
		pg_log_error_hint("Install pgchange %s on the database server (\"make install\" or the package), then run \"pgchange init\" again.",
						  PGCHANGE_VERSION);
		PQfinish(conn);
		return PGC_EXIT_ERROR;
	}

	if (!info.installed)
	{
		/* utility statements take no parameters: quote the version server-side */
		PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
								   "SELECT pg_catalog.format('CREATE EXTENSION pgchange VERSION %L', $1::text)",
								   1, params);

		if (res == NULL || !pgc_command(conn, PQgetvalue(res, 0, 0), 0, NULL))
			rc = PGC_EXIT_ERROR;
		PQclear(res);
		action = "created";
	}
	else if (strcmp(info.installed_version, PGCHANGE_VERSION) != 0)
	{
		PGresult   *res = pgc_exec(conn, PGRES_TUPLES_OK,
								   "SELECT pg_catalog.format('ALTER EXTENSION pgchange UPDATE TO %L', $1::text)",
								   1, params);

		if (res == NULL || !pgc_command(conn, PQgetvalue(res, 0, 0), 0, NULL))
		{
			rc = PGC_EXIT_ERROR;
			pg_log_error_hint("An extension newer than the controller cannot be downgraded; use a pgchange controller of version %s.",
							  info.installed_version);
		}
		action = "updated";
	}
	else
		action = "unchanged";

	if (rc == PGC_EXIT_OK && !pgc_command(conn, "COMMIT", 0, NULL))
		rc = PGC_EXIT_ERROR;

	if (rc == PGC_EXIT_OK)
	{
		OutRecord  *rec = out_record_new();

		out_record_str(rec, "action", "action", action);
		out_record_str(rec, "previous_version", "previous version", info.installed_version);
		out_record_str(rec, "extension_version", "extension", PGCHANGE_VERSION);
		out_record_str(rec, "database", "database", PQdb(conn));
		out_record_emit(g, rec);
	}
	pgc_extension_info_free(&info);
	PQfinish(conn);
	return rc;
}

const Command cmd_init = {
	.name = "init",
	.summary = "install the pgchange extension in a database, or update it",
	.usage =
	"Usage:\n  pgchange init [-d CONNINFO]\n\n"
	"Runs CREATE EXTENSION pgchange, or ALTER EXTENSION pgchange UPDATE when an\n"
	"older version is installed, so the database speaks the controller's version.\n"
	"Needs a role allowed to create the extension (a superuser).\n",
	.run = init_run,
};
