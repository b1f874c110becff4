/*-------------------------------------------------------------------------
 *
 * policy_settings.c
 *	  Policy settings: validation of a settings document (errors name the
 *	  JSON path), the overlay of the layers, and the effective settings as
 *	  a document again (pgchange.policy_show()).
 *
 * A settings document is a JSON object:
 *	  {"rules": {"<rule-id>": "error" | {"severity": "warn", <param>: ...}},
 *	   "large_table_rows": N, "large_table_bytes": N,
 *	   "outside_deployment": "off" | "log" | "block",
 *	   "projects": {"<project>": {the same keys except "projects"}}}
 * Effective settings are the catalogue defaults, overlaid by the global
 * document, by its "projects" member for the project, by the project's own
 * document and by an explicit argument, in that order.  A JSON null as a
 * parameter value means "unset": the catalogue default applies.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation_d.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "regex/regex.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "policy.h"

/* ranges of the global thresholds (the same as the rules' min_rows / min_bytes) */
#define MAX_LARGE_TABLE_ROWS	INT64CONST(1000000000000)
#define MAX_LARGE_TABLE_BYTES	INT64CONST(1000000000000000)

static const char *const outside_names[] = {"off", "log", "block"};

/* ------------------------------------------------------------------ */
/* JSON paths and errors                                               */
/* ------------------------------------------------------------------ */

/* path + ".key", quoting the key as a JSON string unless it is a plain word */
static char *
path_key(const char *path, const char *key, int keylen)
{
	char	   *k = pnstrdup(key, keylen);
	bool		plain = keylen > 0 && !isdigit((unsigned char) k[0]);
	StringInfoData buf;

	for (int i = 0; i < keylen && plain; i++)
		if (!(isalnum((unsigned char) k[i]) || k[i] == '_'))
			plain = false;
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.", path);
	if (plain)
		appendStringInfoString(&buf, k);
	else
		escape_json(&buf, k);
	return buf.data;
}

static void
invalid(const char *path, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid policy settings: %s: %s", path, problem),
			 errhint("Correct the settings document (see docs/policies.md) and push it again with pgchange.policy_push().")));
}

static const char *
type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "an object" : "an array";
		default:
			return "a JSON value";
	}
}

static void
expected(const char *path, const char *what, const JsonbValue *v)
{
	invalid(path, psprintf("expected %s, found %s", what, type_name(v)));
}

static bool
is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

static char *
string_of(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static bool
key_is(const JsonbValue *k, const char *name)
{
	return k->val.string.len == (int) strlen(name) &&
		memcmp(k->val.string.val, name, k->val.string.len) == 0;
}

/* an integer in [min, max], or an ERROR naming path */
static int64
int_value(const char *path, const JsonbValue *v, int64 min, int64 max)
{
	char	   *text;
	char	   *end;
	int64		result;

	if (v->type != jbvNumeric)
		expected(path, "an integer", v);
	text = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(v->val.numeric)));
	errno = 0;
	result = (int64) strtoll(text, &end, 10);
	if (*end != '\0')
		invalid(path, psprintf("expected an integer, found %s", text));
	if (errno == ERANGE || result < min || result > max)
		invalid(path, psprintf("%s is out of range [" INT64_FORMAT ", " INT64_FORMAT "]",
							   text, min, max));
	return result;
}

static PolicySeverity
severity_value(const char *path, const JsonbValue *v)
{
	PolicySeverity sev;

	if (v->type != jbvString || !policy_severity_parse(string_of(v), &sev))
		invalid(path, "expected one of off, info, warn, error");
	return sev;
}

/* compile with the server's regex engine (as the ~ operator does) */
static void
check_regex(const char *path, const JsonbValue *v)
{
	pg_wchar   *wide;
	int			wlen;
	regex_t		re;
	int			rc;

	if (v->type != jbvString)
		expected(path, "a regular expression (string)", v);
	wide = palloc((v->val.string.len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(v->val.string.val, wide, v->val.string.len);
	rc = pg_regcomp(&re, wide, wlen, REG_ADVANCED, DEFAULT_COLLATION_OID);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, &re, msg, sizeof(msg));
		invalid(path, psprintf("invalid regular expression: %s", msg));
	}
	pg_regfree(&re);
	pfree(wide);
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/* statement-regex: [{"id", "pattern", "message", "severity", "detail", "hint"}] */
static void
validate_custom_rules(const char *path, const JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n = 0;
	List	   *ids = NIL;

	if (!is_array(v))
		expected(path, "an array", v);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		char	   *epath;
		JsonbIterator *oit;
		JsonbValue	k,
					val;
		JsonbIteratorToken otok;
		bool		has_id = false,
					has_pattern = false,
					has_message = false;

		if (tok != WJB_ELEM)
			continue;
		epath = psprintf("%s[%d]", path, n++);
		if (!is_object(&elem))
			expected(epath, "an object", &elem);
		oit = JsonbIteratorInit(elem.val.binary.data);
		while ((otok = JsonbIteratorNext(&oit, &k, true)) != WJB_DONE)
		{
			char	   *kpath;

			if (otok != WJB_KEY)
				continue;
			(void) JsonbIteratorNext(&oit, &val, true);
			kpath = path_key(epath, k.val.string.val, k.val.string.len);
			if (key_is(&k, "id"))
			{
				char	   *id;
				ListCell   *lc;

				if (val.type != jbvString)
					expected(kpath, "a string", &val);
				id = string_of(&val);
				if (strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(id) ||
					id[0] == '\0' || id[0] == '-' || strlen(id) > 63)
					invalid(kpath, "expected a rule id of lower-case letters, digits and hyphens (at most 63)");
				if (policy_rule_find(id))
					invalid(kpath, psprintf("\"%s\" is a built-in rule id", id));
				foreach(lc, ids)
					if (strcmp(lfirst(lc), id) == 0)
						invalid(kpath, psprintf("rule id \"%s\" is used twice", id));
				ids = lappend(ids, id);
				has_id = true;
			}
			else if (key_is(&k, "pattern"))
			{
				check_regex(kpath, &val);
				has_pattern = true;
			}
			else if (key_is(&k, "message"))
			{
				if (val.type != jbvString || val.val.string.len == 0)
					expected(kpath, "a non-empty string", &val);
				has_message = true;
			}
			else if (key_is(&k, "severity"))
				(void) severity_value(kpath, &val);
			else if (key_is(&k, "detail") || key_is(&k, "hint"))
			{
				if (val.type != jbvString)
					expected(kpath, "a string", &val);
			}
			else
				invalid(kpath, "unknown key (known: id, pattern, message, severity, detail, hint)");
		}
		if (!has_id || !has_pattern || !has_message)
			invalid(epath, psprintf("missing \"%s\"",
									!has_id ? "id" : !has_pattern ? "pattern" : "message"));
	}
}

static char *
known_params(const PolicyRuleInfo *info)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "severity");
	for (int i = 0; i < POLICY_MAX_PARAMS && info->params[i].name; i++)
		appendStringInfo(&buf, ", %s", info->params[i].name);
	return buf.data;
}

static void
validate_param(const char *path, const PolicyParam *param, const JsonbValue *v)
{
	if (v->type == jbvNull)
		return;					/* unset: the default applies */
	switch (param->type)
	{
		case POLICY_PARAM_INT:
			(void) int_value(path, v, param->min, param->max);
			break;
		case POLICY_PARAM_STRING:
			if (v->type != jbvString)
				expected(path, "a string", v);
			break;
		case POLICY_PARAM_REGEX:
			check_regex(path, v);
			break;
		case POLICY_PARAM_BOOL:
			if (v->type != jbvBool)
				expected(path, "a boolean", v);
			break;
		case POLICY_PARAM_CUSTOM_RULES:
			validate_custom_rules(path, v);
			break;
	}
}

static void
validate_rules(const char *path, const JsonbValue *v)
{
	JsonbIterator *it;
	JsonbValue	k,
				val;
	JsonbIteratorToken tok;

	if (!is_object(v))
		expected(path, "an object", v);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *id;
		char	   *rpath;
		const PolicyRuleInfo *info;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &val, true);
		id = string_of(&k);
		rpath = path_key(path, k.val.string.val, k.val.string.len);
		info = policy_rule_find(id);
		if (info == NULL)
			invalid(rpath, "unknown rule (pgchange.policy_rules() lists them)");
		if (val.type == jbvString)
			(void) severity_value(rpath, &val);
		else if (is_object(&val))
		{
			JsonbIterator *pit = JsonbIteratorInit(val.val.binary.data);
			JsonbValue	pk,
						pv;
			JsonbIteratorToken ptok;

			while ((ptok = JsonbIteratorNext(&pit, &pk, true)) != WJB_DONE)
			{
				char	   *pname;
				char	   *ppath;
				const PolicyParam *param;

				if (ptok != WJB_KEY)
					continue;
				(void) JsonbIteratorNext(&pit, &pv, true);
				pname = string_of(&pk);
				ppath = path_key(rpath, pk.val.string.val, pk.val.string.len);
				if (strcmp(pname, "severity") == 0)
				{
					(void) severity_value(ppath, &pv);
					continue;
				}
				param = policy_param_find(info, pname);
				if (param == NULL)
					invalid(ppath, psprintf("unknown parameter (known: %s)", known_params(info)));
				validate_param(ppath, param, &pv);
			}
		}
		else
			invalid(rpath, psprintf("expected a severity (off, info, warn, error) or an object, found %s",
									type_name(&val)));
	}
}

static void
validate_level(const char *path, JsonbContainer *c, bool projects)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	k,
				val;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *kpath;

		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &val, true);
		kpath = path_key(path, k.val.string.val, k.val.string.len);
		if (key_is(&k, POLICY_KEY_RULES))
			validate_rules(kpath, &val);
		else if (key_is(&k, POLICY_KEY_LARGE_TABLE_ROWS))
			(void) int_value(kpath, &val, 0, MAX_LARGE_TABLE_ROWS);
		else if (key_is(&k, POLICY_KEY_LARGE_TABLE_BYTES))
			(void) int_value(kpath, &val, 0, MAX_LARGE_TABLE_BYTES);
		else if (key_is(&k, POLICY_KEY_OUTSIDE_DEPLOYMENT))
		{
			char	   *s = val.type == jbvString ? string_of(&val) : "";

			if (strcmp(s, "off") != 0 && strcmp(s, "log") != 0 && strcmp(s, "block") != 0)
				invalid(kpath, "expected one of off, log, block");
		}
		else if (key_is(&k, POLICY_KEY_PROJECTS) && projects)
		{
			JsonbIterator *pit;
			JsonbValue	pk,
						pv;
			JsonbIteratorToken ptok;

			if (!is_object(&val))
				expected(kpath, "an object", &val);
			pit = JsonbIteratorInit(val.val.binary.data);
			while ((ptok = JsonbIteratorNext(&pit, &pk, true)) != WJB_DONE)
			{
				char	   *ppath;

				if (ptok != WJB_KEY)
					continue;
				(void) JsonbIteratorNext(&pit, &pv, true);
				ppath = path_key(kpath, pk.val.string.val, pk.val.string.len);
				if (pk.val.string.len == 0 || pk.val.string.len > 200)
					invalid(ppath, "a project name has 1 to 200 characters");
				if (!is_object(&pv))
					expected(ppath, "an object", &pv);
				validate_level(ppath, pv.val.binary.data, false);
			}
		}
		else if (key_is(&k, POLICY_KEY_PROJECTS))
			invalid(kpath, "\"projects\" is allowed only at the top of the global settings");
		else
			invalid(kpath, projects
					? "unknown key (known: rules, large_table_rows, large_table_bytes, outside_deployment, projects)"
					: "unknown key (known: rules, large_table_rows, large_table_bytes, outside_deployment)");
	}
}

void
policy_settings_validate_doc(Jsonb *settings, bool projects)
{
	if (!JB_ROOT_IS_OBJECT(settings) || JB_ROOT_IS_SCALAR(settings))
		invalid("$", "expected an object");
	validate_level("$", &settings->root, projects);
}

void
policy_settings_validate(Jsonb *settings)
{
	policy_settings_validate_doc(settings, true);
}

/* ------------------------------------------------------------------ */
/* Overlay                                                             */
/* ------------------------------------------------------------------ */

PolicySettings *
policy_settings_defaults(void)
{
	PolicySettings *s = palloc0(sizeof(PolicySettings));
	const PolicyRuleInfo *rules = policy_rules(&s->nrules);

	s->rules = palloc0(sizeof(PolicyRuleSetting) * s->nrules);
	for (int i = 0; i < s->nrules; i++)
	{
		s->rules[i].info = &rules[i];
		s->rules[i].severity = rules[i].default_severity;
		s->rules[i].params = NULL;
	}
	s->large_table_rows = POLICY_DEFAULT_LARGE_TABLE_ROWS;
	s->large_table_bytes = POLICY_DEFAULT_LARGE_TABLE_BYTES;
	s->outside_deployment = POLICY_OUTSIDE_LOG;
	return s;
}

const PolicyRuleSetting *
policy_rule_setting(const PolicySettings *settings, const char *rule)
{
	const PolicyRuleInfo *info = policy_rule_find(rule);
	int			n;
	const PolicyRuleInfo *base = policy_rules(&n);

	if (info == NULL || settings == NULL)
		return NULL;
	return &settings->rules[info - base];
}

PolicySeverity
policy_severity_of(const PolicySettings *settings, const char *rule)
{
	const PolicyRuleSetting *rs = policy_rule_setting(settings, rule);

	return rs ? rs->severity : POLICY_OFF;
}

static PolicyRuleSetting *
setting_mut(PolicySettings *settings, const JsonbValue *key)
{
	char	   *id = string_of(key);

	return (PolicyRuleSetting *) policy_rule_setting(settings, id);
}

/*
 * Overlay one level.  Documents were validated when stored, but a stored
 * document may name a rule a later version removed: such entries are
 * skipped, never an error in the middle of someone's DDL.
 */
static void
apply_level(PolicySettings *s, JsonbContainer *c, const char *project)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue	k,
				val;
	JsonbIteratorToken tok;
	JsonbContainer *project_level = NULL;

	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		(void) JsonbIteratorNext(&it, &val, true);
		if (key_is(&k, POLICY_KEY_RULES) && is_object(&val))
		{
			JsonbIterator *rit = JsonbIteratorInit(val.val.binary.data);
			JsonbValue	rk,
						rv;
			JsonbIteratorToken rtok;

			while ((rtok = JsonbIteratorNext(&rit, &rk, true)) != WJB_DONE)
			{
				PolicyRuleSetting *rs;
				PolicySeverity sev;

				if (rtok != WJB_KEY)
					continue;
				(void) JsonbIteratorNext(&rit, &rv, true);
				rs = setting_mut(s, &rk);
				if (rs == NULL)
					continue;
				if (rv.type == jbvString)
				{
					if (policy_severity_parse(string_of(&rv), &sev))
						rs->severity = sev;
				}
				else if (is_object(&rv))
				{
					Jsonb	   *obj = JsonbValueToJsonb(&rv);
					JsonbValue	sv;

					if (getKeyJsonValueFromContainer(&obj->root, "severity", 8, &sv) &&
						sv.type == jbvString && policy_severity_parse(string_of(&sv), &sev))
						rs->severity = sev;
					rs->params = rs->params == NULL ? obj
						: DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
															 JsonbPGetDatum(rs->params),
															 JsonbPGetDatum(obj)));
				}
			}
		}
		else if (key_is(&k, POLICY_KEY_LARGE_TABLE_ROWS) && val.type == jbvNumeric)
			s->large_table_rows = DatumGetInt64(DirectFunctionCall1(numeric_int8,
																	NumericGetDatum(val.val.numeric)));
		else if (key_is(&k, POLICY_KEY_LARGE_TABLE_BYTES) && val.type == jbvNumeric)
			s->large_table_bytes = DatumGetInt64(DirectFunctionCall1(numeric_int8,
																	 NumericGetDatum(val.val.numeric)));
		else if (key_is(&k, POLICY_KEY_OUTSIDE_DEPLOYMENT) && val.type == jbvString)
		{
			char	   *o = string_of(&val);

			for (int i = 0; i < (int) lengthof(outside_names); i++)
				if (strcmp(o, outside_names[i]) == 0)
					s->outside_deployment = (PolicyOutsideDeployment) i;
		}
		else if (key_is(&k, POLICY_KEY_PROJECTS) && project && is_object(&val))
		{
			JsonbValue	pv;

			if (getKeyJsonValueFromContainer(val.val.binary.data, project,
											 (int) strlen(project), &pv) &&
				is_object(&pv))
				project_level = pv.val.binary.data;
		}
	}
	/* the project's part of this document overrides its top level */
	if (project_level)
		apply_level(s, project_level, NULL);
}

void
policy_settings_apply(PolicySettings *settings, Jsonb *doc, const char *project)
{
	if (doc == NULL || !JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		return;
	apply_level(settings, &doc->root, project);
}

/*
 * Effective settings: catalogue defaults <- global document <- its
 * "projects"->project <- the project's own document <- overrides.  The
 * stored documents are read as the extension's owner, so any role that may
 * lint or run DDL gets the same effective settings.
 */
PolicySettings *
policy_settings_build(Jsonb *global, Jsonb *own, Jsonb *overrides, const char *project)
{
	PolicySettings *s = policy_settings_defaults();

	if (project && project[0] == '\0')
		project = NULL;
	policy_settings_apply(s, global, project);
	policy_settings_apply(s, own, NULL);
	policy_settings_apply(s, overrides, project);
	return s;
}

PolicySettings *
policy_settings_load(const char *project, Jsonb *overrides)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext outer = CurrentMemoryContext;
	Jsonb	   *global = NULL;
	Jsonb	   *own = NULL;

	if (project && project[0] == '\0')
		project = NULL;
	if (overrides)
		policy_settings_validate_doc(overrides, true);

	if (policy_schema_exists())
	{
		PolicyAsOwner as;
		Oid			argtypes[1] = {TEXTOID};
		Datum		values[1];
		char		nulls[1] = {project ? ' ' : 'n'};
		int			ret;

		values[0] = project ? CStringGetTextDatum(project) : (Datum) 0;
		policy_as_owner_begin(&as);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = policy_spi_execute(&plan,
								 "SELECT s.scope, s.settings FROM pgchange.policy_settings s "
								 "WHERE s.scope = '' OR s.scope = $1",
								 1, argtypes, values, nulls, true);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "reading pgchange.policy_settings failed: %s",
				 SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			char	   *scope = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
			MemoryContext old;
			Jsonb	   *doc;

			if (isnull)
				continue;
			old = MemoryContextSwitchTo(outer);
			doc = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(old);
			if (scope[0] == '\0')
				global = doc;
			else
				own = doc;
		}
		SPI_finish();
		policy_as_owner_end(&as);
	}
	return policy_settings_build(global, own, overrides, project);
}

/* ------------------------------------------------------------------ */
/* Parameters and the effective document                               */
/* ------------------------------------------------------------------ */

static Jsonb *
jsonb_from_text(const char *text)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

Jsonb *
policy_settings_param(const PolicySettings *settings, const char *rule, const char *name)
{
	const PolicyRuleSetting *rs = policy_rule_setting(settings, rule);
	const PolicyParam *param;
	JsonbValue	v;

	if (rs == NULL)
		return NULL;
	param = policy_param_find(rs->info, name);
	if (param == NULL)
		return NULL;
	if (rs->params &&
		getKeyJsonValueFromContainer(&rs->params->root, name, (int) strlen(name), &v) &&
		v.type != jbvNull)
		return JsonbValueToJsonb(&v);
	return param->default_value ? jsonb_from_text(param->default_value) : NULL;
}

Jsonb *
policy_settings_to_jsonb(const PolicySettings *settings)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"rules\": {");
	for (int i = 0; i < settings->nrules; i++)
	{
		const PolicyRuleSetting *rs = &settings->rules[i];

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, rs->info->id);
		appendStringInfoString(&buf, ": {\"severity\": ");
		escape_json(&buf, policy_severity_name(rs->severity));
		for (int p = 0; p < POLICY_MAX_PARAMS && rs->info->params[p].name; p++)
		{
			Jsonb	   *value = policy_settings_param(settings, rs->info->id,
													  rs->info->params[p].name);

			appendStringInfoString(&buf, ", ");
			escape_json(&buf, rs->info->params[p].name);
			appendStringInfoString(&buf, ": ");
			if (value)
				(void) JsonbToCString(&buf, &value->root, VARSIZE(value));
			else
				appendStringInfoString(&buf, "null");
		}
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfo(&buf, "}, \"large_table_rows\": " INT64_FORMAT
					 ", \"large_table_bytes\": " INT64_FORMAT
					 ", \"outside_deployment\": \"%s\"}",
					 settings->large_table_rows, settings->large_table_bytes,
					 outside_names[settings->outside_deployment]);
	return jsonb_from_text(buf.data);
}
