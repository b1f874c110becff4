/*-------------------------------------------------------------------------
 *
 * verify_run.c
 *	  Running a verification: each changeset's verify SQL, then each pgTAP
 *	  file, every one in a transaction of its own that is rolled back.
 *
 * A pgTAP file is run the way pg_prove runs it through psql with
 * ON_ERROR_STOP, but without psql: psql's own lexer (fe_utils/psqlscan)
 * finds the psql meta-commands ("\set ECHO none", "\pset ..."), which
 * are dropped; the server's parser (pgchange.split_sql) splits the rest
 * into statements; their transaction control (the file's own BEGIN and
 * ROLLBACK) is not sent, so nothing can commit; the one-column text rows
 * the statements return are the TAP, read by tap_parse.c.  A failing
 * statement stops the file, as ON_ERROR_STOP does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>

#include "common/logging.h"
#include "common/string.h"
#include "fe_utils/cancel.h"
#include "fe_utils/psqlscan.h"
#include "lib/stringinfo.h"
#include "pgconn.h"
#include "portability/instr_time.h"
#include "tap_parse.h"
#include "verify_int.h"

static VerifyCase *
add_case(VerifySuite *s, const char *name)
{
	VerifyCase *c;

	if (s->ncases == s->capacity)
	{
		s->capacity = s->capacity ? s->capacity * 2 : 16;
		s->cases = pg_realloc(s->cases, s->capacity * sizeof(VerifyCase));
	}
	c = &s->cases[s->ncases++];
	memset(c, 0, sizeof(*c));
	c->name = pg_strdup(name);
	c->ms = -1;
	return c;
}

static void
add_error(VerifySuite *s, const char *msg)
{
	s->errors = pg_realloc(s->errors, (s->nerrors + 1) * sizeof(char *));
	s->errors[s->nerrors++] = pg_strdup(msg);
}

/* run a statement without logging its failure: the report says it */
static PGresult *
run_quiet(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res;

	pg_log_debug("query: %s", sql);
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	/* COPY to or from the client has nobody to talk to here: end it */
	if (PQresultStatus(res) == PGRES_COPY_IN)
		(void) PQputCopyEnd(conn, "COPY FROM STDIN is not supported in verification");
	else if (PQresultStatus(res) == PGRES_COPY_OUT)
	{
		char	   *buf;

		while (PQgetCopyData(conn, &buf, 0) > 0)
			PQfreemem(buf);
	}
	if (PQresultStatus(res) == PGRES_COPY_IN || PQresultStatus(res) == PGRES_COPY_OUT)
	{
		PGresult   *next;

		PQclear(res);
		res = NULL;
		while ((next = PQgetResult(conn)) != NULL)
		{
			PQclear(res);
			res = next;
		}
	}
	return res;
}

static bool
result_failed(const PGresult *res)
{
	return PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK;
}

/* line within sql of a 1-based character position, in the client encoding */
static int
line_of_position(PGconn *conn, const char *sql, int position)
{
	int			line = 1;
	int			enc = PQclientEncoding(conn);
	const char *p = sql;

	for (int c = 1; c < position && *p; c++)
	{
		if (*p == '\n')
			line++;
		p += PQmblenBounded(p, enc);
	}
	return line;
}

/*
 * A failed result as text, as psql shows it: "FILE:LINE: ERROR:  message",
 * then DETAIL, HINT and CONTEXT lines.  line is where sql starts in file;
 * the error's position in sql (the statement's, or with parsed the
 * position in what pgchange.split_sql parsed) moves it to the line at
 * fault.  *primary gets the message alone.
 */
static char *
describe_error(PGconn *conn, const PGresult *res, const char *file, int line,
			   const char *sql, bool parsed, char **primary)
{
	StringInfoData buf;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *pos = PQresultErrorField(res, parsed ? PG_DIAG_INTERNAL_POSITION
										 : PG_DIAG_STATEMENT_POSITION);
	const char *fields[] = {"DETAIL", "HINT", "CONTEXT"};
	const int	codes[] = {PG_DIAG_MESSAGE_DETAIL, PG_DIAG_MESSAGE_HINT, PG_DIAG_CONTEXT};

	if (pos && sql)
		line += line_of_position(conn, sql, atoi(pos)) - 1;
	initStringInfo(&buf);
	if (file)
		appendStringInfo(&buf, "%s:%d: ", file, line);
	if (msg)
		appendStringInfo(&buf, "%s:  %s", sev ? sev : "ERROR", msg);
	else
	{
		char	   *m = pg_strdup(PQerrorMessage(conn));

		(void) pg_strip_crlf(m);
		appendStringInfoString(&buf, *m ? m : "the statement failed");
		pg_free(m);
	}
	for (int i = 0; i < lengthof(fields); i++)
	{
		const char *v = PQresultErrorField(res, codes[i]);

		/* split_sql's own context says nothing the line does not */
		if (v && !(parsed && codes[i] == PG_DIAG_CONTEXT))
			appendStringInfo(&buf, "\n%s:  %s", fields[i], v);
	}
	if (primary)
		*primary = pg_strdup(msg ? msg : "the statement failed");
	return buf.data;
}

/* BEGIN, or ROLLBACK whatever state the transaction is in */
static bool
begin_txn(PGconn *conn)
{
	return pgc_command(conn, "BEGIN", 0, NULL);
}

static bool
rollback_txn(PGconn *conn)
{
	if (PQtransactionStatus(conn) == PQTRANS_IDLE)
		return true;
	return pgc_command(conn, "ROLLBACK", 0, NULL);
}

/* The statements of sql, by the server's parser */
static PGresult *
split_statements(PGconn *conn, const char *sql)
{
	const char *params[1] = {sql};

	return run_quiet(conn, "SELECT line, sql, no_transaction FROM pgchange.split_sql($1) "
					 "ORDER BY statement", 1, params);
}

static bool
is_transaction_control(const char *no_transaction)
{
	return strncmp(no_transaction, "transaction control", 19) == 0;
}

/* one changeset's verify SQL: passes when it runs without error */
static bool
run_changeset_verify(PGconn *conn, const VerifyItem *item, VerifySuite *s)
{
	VerifyCase *c = add_case(s, item->name);
	PGresult   *split;
	instr_time	t0,
				t1;
	bool		connection_ok = true;

	if (item->mark_ran)
	{
		c->status = VC_SKIPPED;
		c->message = pg_strdup("recorded as mark_ran: it never ran here");
		s->skipped++;
		return true;
	}
	INSTR_TIME_SET_CURRENT(t0);
	c->status = VC_PASSED;
	split = split_statements(conn, item->sql);
	if (result_failed(split))
	{
		c->status = VC_FAILED;
		c->details = describe_error(conn, split, item->file, item->line, item->sql, true,
									&c->message);
	}
	for (int i = 0; c->status == VC_PASSED && i < PQntuples(split); i++)
	{
		if (!PQgetisnull(split, i, 2))
		{
			c->status = VC_FAILED;
			c->message = psprintf("%s cannot run in verification, which runs in a transaction that is rolled back",
								  PQgetvalue(split, i, 2));
			c->details = item->file
				? psprintf("%s:%d: %s", item->file, item->line + atoi(PQgetvalue(split, i, 0)) - 1, c->message)
				: psprintf("statement %d: %s", i + 1, c->message);
		}
	}
	if (c->status == VC_PASSED)
	{
		if (!begin_txn(conn))
			connection_ok = false;
		for (int i = 0; connection_ok && i < PQntuples(split); i++)
		{
			const char *stmt = PQgetvalue(split, i, 1);
			PGresult   *res = run_quiet(conn, stmt, 0, NULL);

			if (result_failed(res))
			{
				c->status = VC_FAILED;
				c->details = describe_error(conn, res, item->file,
											item->line + atoi(PQgetvalue(split, i, 0)) - 1,
											stmt, false, &c->message);
				if (item->file == NULL)
				{
					char	   *d = psprintf("statement %d of the verify SQL kept in the registry: %s",
											 i + 1, c->details);

					pg_free(c->details);
					c->details = d;
				}
				PQclear(res);
				break;
			}
			PQclear(res);
		}
		if (!rollback_txn(conn))
			connection_ok = false;
	}
	PQclear(split);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	c->ms = INSTR_TIME_GET_MILLISEC(t1);
	s->ms += c->ms;
	if (c->status == VC_PASSED)
		s->passed++;
	else
		s->failed++;
	return connection_ok && PQstatus(conn) == CONNECTION_OK;
}

/* a file's contents; NULL after adding the reason to tap */
static char *
read_whole_file(const char *path, TapResult *tap)
{
	FILE	   *f = fopen(path, "rb");
	StringInfoData buf;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
	{
		tap_parse_problem(tap, "could not open \"%s\": %m", path);
		return NULL;
	}
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, (int) n);
	if (ferror(f) || memchr(buf.data, '\0', buf.len) != NULL)
	{
		tap_parse_problem(tap, ferror(f) ? "could not read \"%s\": %m" : "\"%s\" is not a text file",
						  path);
		fclose(f);
		pfree(buf.data);
		return NULL;
	}
	fclose(f);
	return buf.data;
}

/*
 * The file with its psql meta-command lines blanked, line numbers kept.
 * psql's lexer decides what is a meta-command: a backslash outside
 * quotes, comments and dollar-quoted bodies.  A meta-command must be on a
 * line of its own, between statements; \i and \ir cannot be followed
 * without psql.  NULL after adding the reason to tap.
 */
static char *
drop_meta_commands(PGconn *conn, const char *path, const char *text, TapResult *tap)
{
	static const PsqlScanCallbacks no_variables = {NULL};
	PsqlScanState scan = psql_scan_create(&no_variables);
	PQExpBuffer pending = createPQExpBuffer();
	const char *ss = PQparameterStatus(conn, "standard_conforming_strings");
	bool		std_strings = ss == NULL || strcmp(ss, "on") == 0;
	StringInfoData out;
	const char *p = text;
	bool		ok = true;

	initStringInfo(&out);
	for (int lineno = 1; ok && p && *p; lineno++)
	{
		const char *nl = strchr(p, '\n');
		char	   *line = nl ? pnstrdup(p, nl - p) : pstrdup(p);
		const char *first = line + strspn(line, " \t\r");

		p = nl ? nl + 1 : NULL;
		if (pending->len == 0 && !psql_scan_in_quote(scan) && *first == '\\')
		{
			size_t		len = strcspn(first + 1, " \t\r");

			if ((len == 1 && first[1] == 'i') || (len == 2 && strncmp(first + 1, "ir", 2) == 0) ||
				(len == 7 && strncmp(first + 1, "include", 7) == 0) ||
				(len == 16 && strncmp(first + 1, "include_relative", 16) == 0))
			{
				tap_parse_problem(tap, "%s:%d: psql's %.*s cannot be followed: pgchange runs the file without psql",
								  path, lineno, (int) len + 1, first);
				ok = false;
			}
			else
				pg_log_debug("%s:%d: psql meta-command ignored: %s", path, lineno, first);
			appendStringInfoChar(&out, '\n');
			pfree(line);
			continue;
		}
		psql_scan_setup(scan, line, (int) strlen(line), PQclientEncoding(conn), std_strings);
		for (;;)
		{
			promptStatus_t prompt;
			PsqlScanResult r = psql_scan(scan, pending, &prompt);

			if (r == PSCAN_SEMICOLON)
			{
				resetPQExpBuffer(pending);
				continue;
			}
			if (r == PSCAN_BACKSLASH)
			{
				tap_parse_problem(tap, "%s:%d: a psql meta-command must be on a line of its own, between statements",
								  path, lineno);
				ok = false;
			}
			break;
		}
		psql_scan_finish(scan);
		if (pending->len > 0)
			appendPQExpBufferChar(pending, '\n');
		appendStringInfo(&out, "%s\n", line);
		pfree(line);
	}
	psql_scan_destroy(scan);
	destroyPQExpBuffer(pending);
	if (!ok)
	{
		pfree(out.data);
		return NULL;
	}
	return out.data;
}

/* the TAP in a statement's result: one text column, one or more lines a row */
static void
collect_tap(const PGresult *res, TapResult *tap)
{
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 1)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		if (!PQgetisnull(res, r, 0))
			tap_parse_text(tap, PQgetvalue(res, r, 0));
}

/*
 * Run one pgTAP file into tap.  Returns false when the run must stop:
 * the connection failed or Ctrl-C.
 */
static bool
run_tap_file(PGconn *conn, const char *path, TapResult *tap)
{
	char	   *text = read_whole_file(path, tap);
	char	   *sql = text ? drop_meta_commands(conn, path, text, tap) : NULL;
	PGresult   *split;
	bool		go_on = true;

	pg_free(text);
	if (sql == NULL)
		return true;
	split = split_statements(conn, sql);
	if (result_failed(split))
	{
		char	   *d = describe_error(conn, split, path, 1, sql, true, NULL);

		tap_parse_problem(tap, "%s", d);
		pg_free(d);
	}
	else if (!begin_txn(conn))
		go_on = false;
	else
	{
		for (int i = 0; i < PQntuples(split); i++)
		{
			int			line = atoi(PQgetvalue(split, i, 0));
			const char *stmt = PQgetvalue(split, i, 1);
			PGresult   *res;

			if (CancelRequested)
			{
				tap_parse_problem(tap, "canceled");
				go_on = false;
				break;
			}
			if (!PQgetisnull(split, i, 2))
			{
				if (is_transaction_control(PQgetvalue(split, i, 2)))
				{
					pg_log_debug("%s:%d: not sent, the file runs in one transaction that is rolled back: %s",
								 path, line, stmt);
					continue;
				}
				tap_parse_problem(tap, "%s:%d: %s cannot run in verification, which runs in a transaction that is rolled back",
								  path, line, PQgetvalue(split, i, 2));
				break;
			}
			res = run_quiet(conn, stmt, 0, NULL);
			if (result_failed(res))
			{
				char	   *d = describe_error(conn, res, path, line, stmt, false, NULL);

				/* as psql with ON_ERROR_STOP: the rest of the file does not run */
				tap_parse_problem(tap, "%s", d);
				pg_free(d);
				PQclear(res);
				if (PQstatus(conn) != CONNECTION_OK)
					go_on = false;
				break;
			}
			collect_tap(res, tap);
			PQclear(res);
		}
		if (!rollback_txn(conn))
			go_on = false;
	}
	PQclear(split);
	pg_free(sql);
	return go_on;
}

/* a file's TAP as a suite of the report */
static void
tap_to_suite(const TapResult *tap, VerifySuite *s)
{
	for (int i = 0; i < tap->ntests; i++)
	{
		const TapTest *t = &tap->tests[i];
		char	   *name = *t->description ? psprintf("%d - %s", t->number, t->description)
			: psprintf("%d", t->number);
		VerifyCase *c = add_case(s, name);

		if (tap_test_failed(t))
		{
			c->status = VC_FAILED;
			c->message = psprintf("not ok %s", name);
			c->details = t->diagnostics ? pg_strdup(t->diagnostics) : NULL;
			s->failed++;
		}
		else if (t->directive == TAP_DIRECTIVE_SKIP)
		{
			c->status = VC_SKIPPED;
			c->message = pg_strdup(t->reason ? t->reason : "skipped");
			s->skipped++;
		}
		else if (t->directive == TAP_DIRECTIVE_TODO)
		{
			c->status = VC_TODO;
			c->message = psprintf("TODO%s%s%s", t->ok ? " (passed)" : "",
								  t->reason ? ": " : "", t->reason ? t->reason : "");
			s->todo++;
		}
		else
		{
			c->status = VC_PASSED;
			s->passed++;
		}
		pfree(name);
	}
	if (tap->skip_all && tap->ntests == 0)
	{
		VerifyCase *c = add_case(s, "(file)");

		c->status = VC_SKIPPED;
		c->message = psprintf("every test skipped%s%s", *tap->skip_all ? ": " : "", tap->skip_all);
		s->skipped++;
	}
	for (int i = 0; i < tap->nproblems; i++)
		add_error(s, tap->problems[i]);
	if (tap->diagnostics)
		s->diagnostics = pg_strdup(tap->diagnostics);
}

/* notices of the tests (RAISE NOTICE, pgTAP's own) are for -v only */
static void
notice_to_log(void *arg, const char *message)
{
	char	   *m = pg_strdup(message);

	(void) pg_strip_crlf(m);
	pg_log_info("%s", m);
	pg_free(m);
}

static VerifySuite *
add_suite(VerifyReport *rep, const char *name)
{
	VerifySuite *s;

	rep->suites = pg_realloc(rep->suites, (rep->nsuites + 1) * sizeof(VerifySuite));
	s = &rep->suites[rep->nsuites++];
	memset(s, 0, sizeof(*s));
	s->name = pg_strdup(name);
	return s;
}

bool
verify_run(PGconn *conn, const GlobalOptions *g, const VerifyWork *w, VerifyReport *rep)
{
	PQnoticeProcessor old = PQsetNoticeProcessor(conn, notice_to_log, NULL);
	instr_time	t0,
				t1;
	time_t		now = time(NULL);
	char		stamp[32];
	bool		go_on = true;

	memset(rep, 0, sizeof(*rep));
	rep->project = g->project;
	rep->database = pg_strdup(PQdb(conn));
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime(&now));
	rep->timestamp = pg_strdup(stamp);
	INSTR_TIME_SET_CURRENT(t0);

	if (w->nitems > 0)
	{
		VerifySuite *s = add_suite(rep, "changesets (verify SQL)");

		s->is_changesets = true;
		for (int i = 0; go_on && i < w->nitems; i++)
		{
			go_on = run_changeset_verify(conn, &w->items[i], s) && !CancelRequested;
			pg_log_info("verified %s", w->items[i].name);
		}
	}
	for (int i = 0; go_on && i < w->nfiles; i++)
	{
		VerifySuite *s = add_suite(rep, w->files[i]);
		TapResult	tap;
		instr_time	f0,
					f1;

		INSTR_TIME_SET_CURRENT(f0);
		tap_parse_init(&tap);
		go_on = run_tap_file(conn, w->files[i], &tap);
		tap_parse_finish(&tap);
		tap_to_suite(&tap, s);
		tap_parse_free(&tap);
		INSTR_TIME_SET_CURRENT(f1);
		INSTR_TIME_SUBTRACT(f1, f0);
		s->ms = INSTR_TIME_GET_MILLISEC(f1);
		pg_log_info("ran %s", w->files[i]);
	}

	for (int i = 0; i < rep->nsuites; i++)
	{
		const VerifySuite *s = &rep->suites[i];

		rep->tests += s->ncases;
		rep->passed += s->passed;
		rep->failed += s->failed;
		rep->skipped += s->skipped;
		rep->todo += s->todo;
		rep->errors += s->nerrors > 0 ? 1 : 0;
	}
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	rep->ms = INSTR_TIME_GET_MILLISEC(t1);
	rep->ok = go_on && rep->failed == 0 && rep->errors == 0;
	PQsetNoticeProcessor(conn, old, NULL);

	if (!go_on)
	{
		if (CancelRequested)
			pg_log_error("verification canceled");
		else
			pg_log_error("verification stopped: %s", PQerrorMessage(conn));
	}
	return go_on;
}

void
verify_report_free(VerifyReport *rep)
{
	for (int i = 0; i < rep->nsuites; i++)
	{
		VerifySuite *s = &rep->suites[i];

		for (int c = 0; c < s->ncases; c++)
		{
			pg_free(s->cases[c].name);
			pg_free(s->cases[c].message);
			pg_free(s->cases[c].details);
		}
		pg_free(s->cases);
		for (int e = 0; e < s->nerrors; e++)
			pg_free(s->errors[e]);
		pg_free(s->errors);
		pg_free(s->diagnostics);
		pg_free(s->name);
	}
	pg_free(rep->suites);
	pg_free(rep->database);
	pg_free(rep->timestamp);
	memset(rep, 0, sizeof(*rep));
}
