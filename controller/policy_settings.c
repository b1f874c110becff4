/*-------------------------------------------------------------------------
 *
 * policy_settings.c
 *	  Reading and validating checks-settings files (see policy_settings.h).
 *
 * The format is the server's (pgchange.policy_push validates it again):
 *	 { "rules": { "<rule>": "<severity>" | {"severity": ..., <param>: ...} },
 *	   "large_table_rows": N, "large_table_bytes": N,
 *	   "outside_deployment": "off" | "log" | "block",
 *	   "projects": { "<project>": { the same keys but "projects" } } }
 * Rule ids, parameters and their ranges come from the catalogue.  Regular
 * expressions are only checked to be strings here: the server compiles
 * them with its own engine (the one that will run them) when the settings
 * are pushed or linted with.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "changelog_sql.h"
#include "common/logging.h"
#include "lib/stringinfo.h"
#include "policy_settings.h"

#define SEVERITY_CHOICES "off, info, warn, error"
#define TOP_KEYS "rules, large_table_rows, large_table_bytes, outside_deployment, projects"
#define PROJECT_KEYS "rules, large_table_rows, large_table_bytes, outside_deployment"

/* limits of the global thresholds: those of the rules' min_rows/min_bytes */
#define MAX_LARGE_TABLE_ROWS	INT64_C(1000000000000)
#define MAX_LARGE_TABLE_BYTES	INT64_C(1000000000000000)

static void add_error(PolicyErrors *errs, const char *where, const char *path,
					  const char *fmt,...) pg_attribute_printf(4, 5);

void
policy_errors_free(PolicyErrors *errs)
{
	for (int i = 0; i < errs->count; i++)
		pfree(errs->msgs[i]);
	if (errs->msgs)
		pfree(errs->msgs);
	memset(errs, 0, sizeof(*errs));
}

/* Append "WHERE: PATH: message" (no PATH part when path is NULL) */
static void
add_error(PolicyErrors *errs, const char *where, const char *path,
		  const char *fmt,...)
{
	StringInfoData buf;
	va_list		ap;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s: ", where);
	if (path)
		appendStringInfo(&buf, "%s: ", path);
	for (;;)
	{
		int			needed;

		va_start(ap, fmt);
		needed = appendStringInfoVA(&buf, fmt, ap);
		va_end(ap);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	if (errs->count == errs->capacity)
	{
		errs->capacity = errs->capacity ? errs->capacity * 2 : 8;
		errs->msgs = errs->msgs ? repalloc(errs->msgs, sizeof(char *) * errs->capacity)
			: palloc(sizeof(char *) * errs->capacity);
	}
	errs->msgs[errs->count++] = buf.data;
}

bool
policy_blank_comments(char *text, int *bad_line)
{
	int			line = 1;
	char	   *p = text;

	while (*p)
	{
		if (*p == '"')
		{
			/* a string: skip it whole, escapes included */
			for (p++; *p && *p != '"'; p++)
			{
				if (*p == '\\' && p[1])
					p++;
				else if (*p == '\n')
					line++;		/* invalid JSON; cJSON will say where */
			}
			if (*p)
				p++;
		}
		else if (p[0] == '/' && p[1] == '/')
		{
			while (*p && *p != '\n')
				*p++ = ' ';
		}
		else if (p[0] == '/' && p[1] == '*')
		{
			int			start = line;

			p[0] = p[1] = ' ';
			p += 2;
			while (*p && !(p[0] == '*' && p[1] == '/'))
			{
				if (*p == '\n')
					line++;
				else
					*p = ' ';
				p++;
			}
			if (*p == '\0')
			{
				*bad_line = start;
				return false;
			}
			p[0] = p[1] = ' ';
			p += 2;
		}
		else
		{
			if (*p == '\n')
				line++;
			p++;
		}
	}
	return true;
}

/*
 * PATH.key, the key quoted as a JSON string unless it is a plain
 * identifier: $.rules."drop-table".severity, as the server writes it.
 */
static char *
path_key(const char *path, const char *key)
{
	bool		plain = (*key != '\0' && !isdigit((unsigned char) *key));
	char	   *result;

	for (const char *k = key; *k && plain; k++)
		plain = isalnum((unsigned char) *k) || *k == '_';
	if (plain)
		return psprintf("%s.%s", path, key);
	else
	{
		cJSON	   *s = cJSON_CreateString(key);
		char	   *quoted = cJSON_PrintUnformatted(s);

		result = psprintf("%s.%s", path, quoted ? quoted : "\"\"");
		cJSON_free(quoted);
		cJSON_Delete(s);
		return result;
	}
}

/* Is this member's key used by an earlier member of the same object? */
static bool
duplicate_key(const cJSON *object, const cJSON *member)
{
	for (const cJSON *c = object->child; c && c != member; c = c->next)
		if (strcmp(c->string, member->string) == 0)
			return true;
	return false;
}

/* "a string", "an object", ... as the server names JSON types */
static const char *
type_name(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsObject(v))
		return "an object";
	return "an array";
}

/* An integer within [min, max], or an error */
static void
check_int(const cJSON *v, int64_t min, int64_t max, const char *where,
		  const char *path, PolicyErrors *errs)
{
	char	   *text;

	if (!cJSON_IsNumber(v))
	{
		add_error(errs, where, path, "expected an integer, found %s", type_name(v));
		return;
	}
	text = cJSON_PrintUnformatted(v);
	if (v->valuedouble != floor(v->valuedouble))
		add_error(errs, where, path, "expected an integer, found %s", text);
	else if (v->valuedouble < (double) min || v->valuedouble > (double) max)
		add_error(errs, where, path, "%s is out of range [" INT64_FORMAT ", " INT64_FORMAT "]",
				  text, min, max);
	cJSON_free(text);
}

static void
check_severity(const cJSON *v, const char *where, const char *path, PolicyErrors *errs)
{
	PolicySeverity s;

	if (!cJSON_IsString(v) || !policy_severity_parse(v->valuestring, &s))
		add_error(errs, where, path, "expected one of " SEVERITY_CHOICES);
}

static void
check_string(const cJSON *v, bool nonempty, const char *where, const char *path,
			 PolicyErrors *errs)
{
	if (!cJSON_IsString(v) || (nonempty && v->valuestring[0] == '\0'))
		add_error(errs, where, path, "expected a %sstring, found %s",
				  nonempty ? "non-empty " : "", type_name(v));
}

/* A user rule's id: lower-case kebab case, not a built-in one, unique */
static void
check_custom_id(const cJSON *list, const cJSON *item, const cJSON *id,
				const char *where, const char *path, PolicyErrors *errs)
{
	const char *s = id->valuestring;

	if (!cJSON_IsString(id))
		add_error(errs, where, path, "expected a string, found %s", type_name(id));
	else if (s[0] == '\0' || s[0] == '-' || strlen(s) > 63 ||
			 strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
		add_error(errs, where, path, "expected a rule id of lower-case letters, digits and hyphens (at most 63)");
	else if (policy_rule_find(s))
		add_error(errs, where, path, "\"%s\" is a built-in rule id", s);
	else
	{
		const cJSON *other;

		cJSON_ArrayForEach(other, list)
		{
			const cJSON *oid = cJSON_GetObjectItemCaseSensitive(other, "id");

			if (other == item)
				break;
			if (cJSON_IsString(oid) && strcmp(oid->valuestring, s) == 0)
			{
				add_error(errs, where, path, "rule id \"%s\" is used twice", s);
				break;
			}
		}
	}
}

/* statement-regex's list of {id, pattern, message, severity, detail, hint} */
static void
check_custom_rules(const cJSON *v, const char *where, const char *path,
				   PolicyErrors *errs)
{
	int			i = 0;
	const cJSON *item;

	if (!cJSON_IsArray(v))
	{
		add_error(errs, where, path, "expected an array, found %s", type_name(v));
		return;
	}
	cJSON_ArrayForEach(item, v)
	{
		char	   *ipath = psprintf("%s[%d]", path, i++);
		const cJSON *m;

		if (!cJSON_IsObject(item))
		{
			add_error(errs, where, ipath, "expected an object, found %s", type_name(item));
			pfree(ipath);
			continue;
		}
		cJSON_ArrayForEach(m, item)
		{
			char	   *mpath = path_key(ipath, m->string);

			if (duplicate_key(item, m))
				add_error(errs, where, mpath, "duplicate key");
			else if (strcmp(m->string, "id") == 0)
				check_custom_id(v, item, m, where, mpath, errs);
			else if (strcmp(m->string, "pattern") == 0)
			{
				if (!cJSON_IsString(m))
					add_error(errs, where, mpath, "expected a regular expression (string), found %s",
							  type_name(m));
			}
			else if (strcmp(m->string, "message") == 0)
				check_string(m, true, where, mpath, errs);
			else if (strcmp(m->string, "severity") == 0)
				check_severity(m, where, mpath, errs);
			else if (strcmp(m->string, "detail") == 0 || strcmp(m->string, "hint") == 0)
				check_string(m, false, where, mpath, errs);
			else
				add_error(errs, where, mpath, "unknown key (known: id, pattern, message, severity, detail, hint)");
			pfree(mpath);
		}
		for (int k = 0; k < 3; k++)
		{
			const char *required = k == 0 ? "id" : k == 1 ? "pattern" : "message";

			if (!cJSON_HasObjectItem(item, required))
				add_error(errs, where, ipath, "missing \"%s\"", required);
		}
		pfree(ipath);
	}
}

/* One parameter value of a rule, by the catalogue's type; null: unset */
static void
check_param(const PolicyParam *param, const cJSON *v, const char *where,
			const char *path, PolicyErrors *errs)
{
	if (cJSON_IsNull(v))
		return;
	switch (param->type)
	{
		case POLICY_PARAM_INT:
			check_int(v, param->min, param->max, where, path, errs);
			break;
		case POLICY_PARAM_STRING:
			check_string(v, false, where, path, errs);
			break;
		case POLICY_PARAM_REGEX:
			if (!cJSON_IsString(v))
				add_error(errs, where, path, "expected a regular expression (string), found %s",
						  type_name(v));
			break;
		case POLICY_PARAM_BOOL:
			if (!cJSON_IsBool(v))
				add_error(errs, where, path, "expected a boolean, found %s", type_name(v));
			break;
		case POLICY_PARAM_CUSTOM_RULES:
			check_custom_rules(v, where, path, errs);
			break;
	}
}

/* The names of a rule's parameters, for "unknown parameter" messages */
static char *
param_names(const PolicyRuleInfo *rule)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "severity");
	for (int i = 0; i < POLICY_MAX_PARAMS && rule->params[i].name; i++)
		appendStringInfo(&buf, ", %s", rule->params[i].name);
	return buf.data;
}

/* "rules" -> "<id>": a severity, or an object of severity and parameters */
static void
check_rule(const cJSON *v, const char *where, const char *path, PolicyErrors *errs)
{
	const PolicyRuleInfo *rule = policy_rule_find(v->string);
	const cJSON *m;

	if (rule == NULL)
	{
		add_error(errs, where, path, "unknown rule (pgchange policy show lists them)");
		return;
	}
	if (cJSON_IsString(v))
	{
		check_severity(v, where, path, errs);
		return;
	}
	if (!cJSON_IsObject(v))
	{
		add_error(errs, where, path, "expected a severity (" SEVERITY_CHOICES ") or an object, found %s",
				  type_name(v));
		return;
	}
	cJSON_ArrayForEach(m, v)
	{
		char	   *mpath = path_key(path, m->string);
		const PolicyParam *param;

		if (duplicate_key(v, m))
			add_error(errs, where, mpath, "duplicate key");
		else if (strcmp(m->string, "severity") == 0)
			check_severity(m, where, mpath, errs);
		else if ((param = policy_param_find(rule, m->string)) != NULL)
			check_param(param, m, where, mpath, errs);
		else
		{
			char	   *names = param_names(rule);

			add_error(errs, where, mpath, "unknown parameter (known: %s)", names);
			pfree(names);
		}
		pfree(mpath);
	}
}

/* The global document (top true), one of its "projects", or a project's */
static void
check_settings_object(const cJSON *doc, const char *where, const char *path,
					  bool top, PolicyErrors *errs)
{
	const cJSON *m;

	if (!cJSON_IsObject(doc))
	{
		if (strcmp(path, "$") == 0)
			add_error(errs, where, path, "expected an object");
		else
			add_error(errs, where, path, "expected an object, found %s", type_name(doc));
		return;
	}
	cJSON_ArrayForEach(m, doc)
	{
		char	   *mpath = path_key(path, m->string);

		if (duplicate_key(doc, m))
			add_error(errs, where, mpath, "duplicate key");
		else if (strcmp(m->string, POLICY_KEY_RULES) == 0)
		{
			const cJSON *rules = cJSON_IsObject(m) ? m : NULL;
			const cJSON *r;

			if (rules == NULL)
				add_error(errs, where, mpath, "expected an object, found %s", type_name(m));
			cJSON_ArrayForEach(r, rules)
			{
				char	   *rpath = path_key(mpath, r->string);

				if (duplicate_key(m, r))
					add_error(errs, where, rpath, "duplicate key");
				else
					check_rule(r, where, rpath, errs);
				pfree(rpath);
			}
		}
		else if (strcmp(m->string, POLICY_KEY_LARGE_TABLE_ROWS) == 0)
			check_int(m, 0, MAX_LARGE_TABLE_ROWS, where, mpath, errs);
		else if (strcmp(m->string, POLICY_KEY_LARGE_TABLE_BYTES) == 0)
			check_int(m, 0, MAX_LARGE_TABLE_BYTES, where, mpath, errs);
		else if (strcmp(m->string, POLICY_KEY_OUTSIDE_DEPLOYMENT) == 0)
		{
			if (!cJSON_IsString(m) || (strcmp(m->valuestring, "off") != 0 &&
									   strcmp(m->valuestring, "log") != 0 &&
									   strcmp(m->valuestring, "block") != 0))
				add_error(errs, where, mpath, "expected one of off, log, block");
		}
		else if (strcmp(m->string, POLICY_KEY_PROJECTS) == 0 && top)
		{
			const cJSON *projects = cJSON_IsObject(m) ? m : NULL;
			const cJSON *p;

			if (projects == NULL)
				add_error(errs, where, mpath, "expected an object, found %s", type_name(m));
			cJSON_ArrayForEach(p, projects)
			{
				char	   *ppath = path_key(mpath, p->string);

				if (duplicate_key(m, p))
					add_error(errs, where, ppath, "duplicate key");
				else if (p->string[0] == '\0' || strlen(p->string) > 200)
					add_error(errs, where, ppath, "a project name has 1 to 200 characters");
				else
					check_settings_object(p, where, ppath, false, errs);
				pfree(ppath);
			}
		}
		else if (strcmp(m->string, POLICY_KEY_PROJECTS) == 0)
			add_error(errs, where, mpath, "\"projects\" is allowed only at the top of the global settings");
		else
			add_error(errs, where, mpath, "unknown key (known: %s)", top ? TOP_KEYS : PROJECT_KEYS);
		pfree(mpath);
	}
}

bool
policy_settings_validate(const cJSON *doc, bool global, const char *where,
						 PolicyErrors *errs)
{
	int			before = errs->count;

	check_settings_object(doc, where, "$", global, errs);
	return errs->count == before;
}

cJSON *
policy_settings_parse(const char *where, char *text, bool global, PolicyErrors *errs)
{
	int			bad_line = 0;
	const char *end = NULL;
	cJSON	   *doc;

	if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
		memset(text, ' ', 3);	/* cJSON does not skip a BOM */
	if (!policy_blank_comments(text, &bad_line))
	{
		char	   *w = psprintf("%s:%d", where, bad_line);

		add_error(errs, w, NULL, "unterminated /* comment");
		pfree(w);
		return NULL;
	}
	doc = cJSON_ParseWithOpts(text, &end, true);
	if (doc == NULL)
	{
		int			line = 1;
		char	   *w;

		if (end == NULL || end < text)
			end = cJSON_GetErrorPtr();
		for (const char *p = text; end && p < end && *p; p++)
			if (*p == '\n')
				line++;
		w = psprintf("%s:%d", where, line);
		if (end == NULL || *end == '\0')
			add_error(errs, w, NULL, "invalid JSON: unexpected end of file");
		else
			add_error(errs, w, NULL, "invalid JSON near \"%.*s\"",
					  (int) Min(strcspn(end, "\r\n"), 20), end);
		pfree(w);
		return NULL;
	}
	if (!policy_settings_validate(doc, global, where, errs))
	{
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

cJSON *
policy_settings_load(const char *path, bool global)
{
	size_t		len;
	char	   *text = changelog_read_file(path, &len);
	PolicyErrors errs = {0};
	cJSON	   *doc;

	if (text == NULL)
		return NULL;
	doc = policy_settings_parse(path, text, global, &errs);
	for (int i = 0; i < errs.count; i++)
		pg_log_error("%s", errs.msgs[i]);
	if (doc == NULL)
		pg_log_error_hint("\"pgchange policy show\" lists the rules and their parameters; docs/policies.md describes the settings file.");
	policy_errors_free(&errs);
	pfree(text);
	return doc;
}

/* The severity of a rule in a settings object's "rules", if it sets one */
static bool
rule_severity_in(const cJSON *obj, const char *rule, PolicySeverity *severity)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(obj, POLICY_KEY_RULES);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(rules, rule);

	if (cJSON_IsObject(r))
		r = cJSON_GetObjectItemCaseSensitive(r, "severity");
	return cJSON_IsString(r) && policy_severity_parse(r->valuestring, severity);
}

bool
policy_settings_rule_severity(const cJSON *doc, const char *project,
							  const char *rule, PolicySeverity *severity)
{
	bool		found = rule_severity_in(doc, rule, severity);

	if (project)
	{
		const cJSON *projects = cJSON_GetObjectItemCaseSensitive(doc, POLICY_KEY_PROJECTS);
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(projects, project);

		if (p && rule_severity_in(p, rule, severity))
			found = true;
	}
	return found;
}
