/*-------------------------------------------------------------------------
 *
 * junit.c
 *	  The JUnit XML report of a verification, written with libxml2's
 *	  xmlTextWriter: the library escapes, pgchange only makes sure that what
 *	  it hands over is UTF-8 without the control characters XML 1.0
 *	  forbids (test output comes from the database and may hold any byte).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "junit.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "xmllib.h"

/* the writer and whether every call so far succeeded */
typedef struct JWriter
{
	xmlTextWriterPtr w;
	bool		ok;
} JWriter;

/*
 * A copy of s that XML 1.0 accepts: invalid UTF-8 sequences and control
 * characters other than tab, newline and carriage return become '?'.
 */
static char *
xml_safe(const char *s)
{
	size_t		n = strlen(s);
	char	   *out = palloc(n + 1);
	size_t		o = 0;

	for (size_t i = 0; i < n;)
	{
		const unsigned char *c = (const unsigned char *) s + i;
		int			len = pg_utf_mblen(c);

		if (*c < 0x80)
		{
			out[o++] = (*c < 0x20 && *c != '\t' && *c != '\n' && *c != '\r') || *c == 0x7f
				? '?' : (char) *c;
			i++;
		}
		else if (i + len <= n && pg_utf8_islegal(c, len))
		{
			memcpy(out + o, c, len);
			o += len;
			i += len;
		}
		else
		{
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

static void
start(JWriter *jw, const char *element)
{
	if (jw->ok && xmlTextWriterStartElement(jw->w, BAD_CAST element) < 0)
		jw->ok = false;
}

static void
end(JWriter *jw)
{
	if (jw->ok && xmlTextWriterEndElement(jw->w) < 0)
		jw->ok = false;
}

static void
attr(JWriter *jw, const char *name, const char *value)
{
	char	   *safe;

	if (!jw->ok || value == NULL)
		return;
	safe = xml_safe(value);
	if (xmlTextWriterWriteAttribute(jw->w, BAD_CAST name, BAD_CAST safe) < 0)
		jw->ok = false;
	pfree(safe);
}

static void
attr_int(JWriter *jw, const char *name, int value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%d", value);
	attr(jw, name, buf);
}

/* seconds with a '.' whatever the locale: JUnit readers expect one */
static void
attr_time(JWriter *jw, double ms)
{
	char		buf[64];
	long long	whole = (long long) (ms < 0 ? 0 : ms + 0.5);

	snprintf(buf, sizeof(buf), "%lld.%03lld", whole / 1000, whole % 1000);
	attr(jw, "time", buf);
}

static void
write_text(JWriter *jw, const char *value)
{
	char	   *safe;

	if (!jw->ok || value == NULL || *value == '\0')
		return;
	safe = xml_safe(value);
	if (xmlTextWriterWriteString(jw->w, BAD_CAST safe) < 0)
		jw->ok = false;
	pfree(safe);
}

/* <failure>, <skipped> or nothing, by status */
static void
write_case(JWriter *jw, const VerifySuite *s, const VerifyCase *c)
{
	start(jw, "testcase");
	attr(jw, "name", c->name);
	attr(jw, "classname", s->is_changesets ? "changesets" : s->name);
	if (c->ms >= 0)
		attr_time(jw, c->ms);
	switch (c->status)
	{
		case VC_PASSED:
			break;
		case VC_FAILED:
			start(jw, "failure");
			attr(jw, "message", c->message ? c->message : "failed");
			attr(jw, "type", s->is_changesets ? "verify" : "tap");
			write_text(jw, c->details);
			end(jw);
			break;
		case VC_SKIPPED:
		case VC_TODO:
			start(jw, "skipped");
			attr(jw, "message", c->message);
			end(jw);
			break;
	}
	end(jw);
}

static void
write_suite(JWriter *jw, const VerifyReport *rep, const VerifySuite *s)
{
	start(jw, "testsuite");
	attr(jw, "name", s->name);
	attr_int(jw, "tests", s->ncases + (s->nerrors > 0 ? 1 : 0));
	attr_int(jw, "failures", s->failed);
	attr_int(jw, "errors", s->nerrors > 0 ? 1 : 0);
	attr_int(jw, "skipped", s->skipped + s->todo);
	attr_time(jw, s->ms);
	attr(jw, "timestamp", rep->timestamp);
	for (int i = 0; i < s->ncases; i++)
		write_case(jw, s, &s->cases[i]);
	if (s->nerrors > 0)
	{
		/* what failed the suite as a whole: one test case of its own */
		StringInfoData all;

		initStringInfo(&all);
		for (int i = 0; i < s->nerrors; i++)
			appendStringInfo(&all, "%s%s", i ? "\n" : "", s->errors[i]);
		start(jw, "testcase");
		attr(jw, "name", "(file)");
		attr(jw, "classname", s->name);
		start(jw, "error");
		attr(jw, "message", s->errors[0]);
		attr(jw, "type", "tap");
		write_text(jw, all.data);
		end(jw);
		end(jw);
		pfree(all.data);
	}
	if (s->diagnostics)
	{
		start(jw, "system-out");
		write_text(jw, s->diagnostics);
		end(jw);
	}
	end(jw);
}

bool
junit_write(const char *path, const VerifyReport *rep)
{
	JWriter		jw;
	const char *load_error;

	/* libxml2 is loaded only now, when a report is to be written */
	if (!xmllib_load(&load_error))
	{
		pg_log_error("could not write JUnit file \"%s\": %s", path, load_error);
		pg_log_error_hint("Install libxml2 (Debian and Ubuntu: apt-get install libxml2), or leave out --junit.");
		return false;
	}
	jw.w = xmlNewTextWriterFilename(path, 0);
	if (jw.w == NULL)
	{
		pg_log_error("could not write JUnit file \"%s\": %m", path);
		return false;
	}
	jw.ok = xmlTextWriterSetIndent(jw.w, 1) >= 0 &&
		xmlTextWriterStartDocument(jw.w, NULL, "UTF-8", NULL) >= 0;
	start(&jw, "testsuites");
	attr(&jw, "name", "pgchange verify");
	attr_int(&jw, "tests", rep->tests + rep->errors);
	attr_int(&jw, "failures", rep->failed);
	attr_int(&jw, "errors", rep->errors);
	attr_int(&jw, "skipped", rep->skipped + rep->todo);
	attr_time(&jw, rep->ms);
	attr(&jw, "timestamp", rep->timestamp);
	for (int i = 0; i < rep->nsuites; i++)
		write_suite(&jw, rep, &rep->suites[i]);
	end(&jw);
	if (jw.ok && xmlTextWriterEndDocument(jw.w) < 0)
		jw.ok = false;
	xmlFreeTextWriter(jw.w);
	if (!jw.ok)
		pg_log_error("could not write JUnit file \"%s\"", path);
	return jw.ok;
}
