/*-------------------------------------------------------------------------
 *
 * verify_report.c
 *	  A verification's report for people (a psql-style table of the suites
 *	  through output.c, then every failure with its diagnostics) and for
 *	  machines (--json).  The JUnit report is junit.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "catalog/pg_type_d.h"
#include "output.h"
#include "verify_int.h"

static const char *
status_name(VerifyCaseStatus st)
{
	switch (st)
	{
		case VC_PASSED:
			return "passed";
		case VC_FAILED:
			return "failed";
		case VC_SKIPPED:
			return "skipped";
		case VC_TODO:
			return "todo";
	}
	return "?";
}

static bool
suite_ok(const VerifySuite *s)
{
	return s->failed == 0 && s->nerrors == 0;
}

/* the suites as a result set, for output.c's psql-style table */
static PGresult *
suites_result(const VerifyReport *rep)
{
	static const char *const names[] = {
		"suite", "tests", "passed", "failed", "skipped", "todo", "ms", "result"
	};
	PGresAttDesc attrs[lengthof(names)];
	PGresult   *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

	if (res == NULL)
		return NULL;
	for (int i = 0; i < lengthof(names); i++)
	{
		memset(&attrs[i], 0, sizeof(attrs[i]));
		attrs[i].name = (char *) names[i];
		attrs[i].typid = (i == 0 || i == lengthof(names) - 1) ? TEXTOID : INT4OID;
		attrs[i].typlen = -1;
		attrs[i].atttypmod = -1;
	}
	if (!PQsetResultAttrs(res, lengthof(names), attrs))
	{
		PQclear(res);
		return NULL;
	}
	for (int r = 0; r < rep->nsuites; r++)
	{
		const VerifySuite *s = &rep->suites[r];
		char		v[7][32];
		const char *result = suite_ok(s) ? "ok" : "failed";

		snprintf(v[0], sizeof(v[0]), "%d", s->ncases);
		snprintf(v[1], sizeof(v[1]), "%d", s->passed);
		snprintf(v[2], sizeof(v[2]), "%d", s->failed);
		snprintf(v[3], sizeof(v[3]), "%d", s->skipped);
		snprintf(v[4], sizeof(v[4]), "%d", s->todo);
		snprintf(v[5], sizeof(v[5]), "%.0f", s->ms);
		if (!PQsetvalue(res, r, 0, s->name, (int) strlen(s->name)) ||
			!PQsetvalue(res, r, 7, (char *) result, (int) strlen(result)))
		{
			PQclear(res);
			return NULL;
		}
		for (int c = 0; c < 6; c++)
			if (!PQsetvalue(res, r, c + 1, v[c], (int) strlen(v[c])))
			{
				PQclear(res);
				return NULL;
			}
	}
	return res;
}

/* lines of text, each indented */
static void
print_indented(const char *text, int indent)
{
	const char *p = text;

	while (p && *p)
	{
		const char *nl = strchr(p, '\n');
		int			n = nl ? (int) (nl - p) : (int) strlen(p);

		printf("%*s%.*s\n", indent, "", n, p);
		p = nl ? nl + 1 : NULL;
	}
}

void
verify_report_print(const GlobalOptions *g, const VerifyReport *rep)
{
	bool		header = false;

	if (!g->quiet && rep->nsuites > 0)
	{
		PGresult   *res = suites_result(rep);
		char	   *title = psprintf("Verification of project \"%s\" in database \"%s\"",
									 rep->project, rep->database);

		if (res)
			out_result(g, res, title);
		PQclear(res);
		pfree(title);
	}

	/* the failures, -q or not: they are what a failed run is about */
	for (int i = 0; i < rep->nsuites; i++)
	{
		const VerifySuite *s = &rep->suites[i];

		if (suite_ok(s))
			continue;
		if (!header)
			printf("Failures:\n");
		header = true;
		printf("%s\n", s->name);
		for (int c = 0; c < s->ncases; c++)
		{
			const VerifyCase *vc = &s->cases[c];

			if (vc->status != VC_FAILED)
				continue;
			if (s->is_changesets)
				printf("  %s: %s\n", vc->name, vc->message);
			else
				printf("  %s\n", vc->message);
			if (vc->details)
				print_indented(vc->details, 6);
		}
		for (int e = 0; e < s->nerrors; e++)
			print_indented(s->errors[e], 2);
		if (s->diagnostics)
			print_indented(s->diagnostics, 2);
	}
	if (rep->ok && !g->quiet)
	{
		if (rep->nsuites == 0)
			printf("nothing to verify: no changeset has verify SQL and there are no pgTAP files\n");
		else
			printf("verification passed: %d test(s) in %d suite(s), %d skipped, %d todo (%.0f ms)\n",
				   rep->tests, rep->nsuites, rep->skipped, rep->todo, rep->ms);
	}
}

cJSON *
verify_report_json(const VerifyReport *rep)
{
	cJSON	   *o = cJSON_CreateObject();
	cJSON	   *suites = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "project", rep->project);
	cJSON_AddStringToObject(o, "database", rep->database ? rep->database : "");
	cJSON_AddStringToObject(o, "started_at", rep->timestamp ? rep->timestamp : "");
	cJSON_AddBoolToObject(o, "ok", rep->ok);
	cJSON_AddNumberToObject(o, "tests", rep->tests);
	cJSON_AddNumberToObject(o, "passed", rep->passed);
	cJSON_AddNumberToObject(o, "failed", rep->failed);
	cJSON_AddNumberToObject(o, "skipped", rep->skipped);
	cJSON_AddNumberToObject(o, "todo", rep->todo);
	cJSON_AddNumberToObject(o, "errors", rep->errors);
	cJSON_AddNumberToObject(o, "ms", rep->ms);
	for (int i = 0; i < rep->nsuites; i++)
	{
		const VerifySuite *s = &rep->suites[i];
		cJSON	   *js = cJSON_CreateObject();
		cJSON	   *cases = cJSON_CreateArray();
		cJSON	   *errors = cJSON_CreateArray();

		cJSON_AddStringToObject(js, "name", s->name);
		cJSON_AddStringToObject(js, "kind", s->is_changesets ? "changesets" : "pgtap");
		cJSON_AddBoolToObject(js, "ok", suite_ok(s));
		cJSON_AddNumberToObject(js, "tests", s->ncases);
		cJSON_AddNumberToObject(js, "passed", s->passed);
		cJSON_AddNumberToObject(js, "failed", s->failed);
		cJSON_AddNumberToObject(js, "skipped", s->skipped);
		cJSON_AddNumberToObject(js, "todo", s->todo);
		cJSON_AddNumberToObject(js, "ms", s->ms);
		for (int e = 0; e < s->nerrors; e++)
			cJSON_AddItemToArray(errors, cJSON_CreateString(s->errors[e]));
		cJSON_AddItemToObject(js, "errors", errors);
		if (s->diagnostics)
			cJSON_AddStringToObject(js, "diagnostics", s->diagnostics);
		else
			cJSON_AddNullToObject(js, "diagnostics");
		for (int c = 0; c < s->ncases; c++)
		{
			const VerifyCase *vc = &s->cases[c];
			cJSON	   *jc = cJSON_CreateObject();

			cJSON_AddStringToObject(jc, "name", vc->name);
			cJSON_AddStringToObject(jc, "status", status_name(vc->status));
			if (vc->message)
				cJSON_AddStringToObject(jc, "message", vc->message);
			else
				cJSON_AddNullToObject(jc, "message");
			if (vc->details)
				cJSON_AddStringToObject(jc, "details", vc->details);
			else
				cJSON_AddNullToObject(jc, "details");
			if (vc->ms >= 0)
				cJSON_AddNumberToObject(jc, "ms", vc->ms);
			cJSON_AddItemToArray(cases, jc);
		}
		cJSON_AddItemToObject(js, "cases", cases);
		cJSON_AddItemToArray(suites, js);
	}
	cJSON_AddItemToObject(o, "suites", suites);
	return o;
}
