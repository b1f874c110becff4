/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  The policy engine's core: the rule loop shared by pgchange.lint() and
 *	  the event triggers, reporting, rule parameters, the engine's own
 *	  statement-regex rule, and pgchange.policy_show() / policy_rules() /
 *	  _policy_validate().
 *
 * Rules are called in catalogue order, so a statement yields the same
 * violations in the same order on both paths.  A rule that is "off" in the
 * effective settings is not called at all.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "pgchange.h"
#include "policy.h"

PG_FUNCTION_INFO_V1(pgchange_policy_show);
PG_FUNCTION_INFO_V1(pgchange_policy_rules);
PG_FUNCTION_INFO_V1(pgchange_policy_validate);

/* every rule implementation, indexed like the catalogue (NULL: none) */
static PolicyRuleFn *rule_fns = NULL;

static const PolicyRuleImpl *const rule_tables[] = {
	policy_rules_destructive,
	policy_rules_locking,
	policy_rules_style,
	policy_rules_engine,
};

/*
 * Index the implementations by catalogue position, once per backend.  An
 * implementation naming a rule the catalogue lacks, or two for one rule,
 * is a build mistake: say so loudly rather than run half the rules.
 */
static void
build_rule_index(void)
{
	int			n;
	const PolicyRuleInfo *base = policy_rules(&n);
	PolicyRuleFn *fns;

	if (rule_fns)
		return;
	fns = MemoryContextAllocZero(TopMemoryContext, sizeof(PolicyRuleFn) * n);
	for (int t = 0; t < (int) lengthof(rule_tables); t++)
		for (const PolicyRuleImpl *impl = rule_tables[t]; impl->id; impl++)
		{
			const PolicyRuleInfo *info = policy_rule_find(impl->id);

			if (info == NULL)
				elog(ERROR, "policy rule \"%s\" has an implementation but is not in the catalogue",
					 impl->id);
			if (fns[info - base])
				elog(ERROR, "policy rule \"%s\" has two implementations", impl->id);
			fns[info - base] = impl->fn;
		}
	rule_fns = fns;
}

PolicyContext *
policy_context_new(PolicyPhase phase, const PolicySettings *settings,
				   const char *source_text)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "pgchange policy evaluation",
											  ALLOCSET_DEFAULT_SIZES);
	PolicyContext *ctx = MemoryContextAllocZero(cxt, sizeof(PolicyContext));

	ctx->phase = phase;
	ctx->settings = settings;
	ctx->source_text = source_text;
	ctx->stmt_location = -1;
	ctx->stmt_len = 0;
	ctx->in_transaction_block = true;
	ctx->cxt = cxt;
	return ctx;
}

void
policy_evaluate_statement(PolicyContext *ctx, Node *stmt, int location, int len)
{
	int			n;
	const PolicyRuleInfo *rules = policy_rules(&n);
	MemoryContext old;

	build_rule_index();
	ctx->stmt_location = location;
	ctx->stmt_len = len;
	old = MemoryContextSwitchTo(ctx->cxt);
	for (int i = 0; i < n; i++)
	{
		if (rule_fns[i] == NULL || rules[i].scope != POLICY_SCOPE_STATEMENT ||
			ctx->settings->rules[i].severity == POLICY_OFF)
			continue;
		ctx->rule_running = rules[i].id;
		rule_fns[i] (ctx, stmt);
	}
	ctx->rule_running = NULL;
	MemoryContextSwitchTo(old);
}

/* ------------------------------------------------------------------ */
/* Statement text                                                      */
/* ------------------------------------------------------------------ */

/* 1-based line of offset in text */
int
policy_line_of(const char *text, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && text[i]; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

/* skip whitespace and comments: a statement starts at its first token */
int
policy_skip_blank(const char *s, int pos, int end)
{
	while (pos < end)
	{
		if (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r' ||
			s[pos] == '\f')
			pos++;
		else if (s[pos] == '-' && pos + 1 < end && s[pos + 1] == '-')
		{
			while (pos < end && s[pos] != '\n')
				pos++;
		}
		else if (s[pos] == '/' && pos + 1 < end && s[pos + 1] == '*')
		{
			int			depth = 1;

			pos += 2;
			while (pos < end && depth > 0)
			{
				if (s[pos] == '/' && pos + 1 < end && s[pos + 1] == '*')
					depth++, pos += 2;
				else if (s[pos] == '*' && pos + 1 < end && s[pos + 1] == '/')
					depth--, pos += 2;
				else
					pos++;
			}
		}
		else
			break;
	}
	return pos;
}

/*
 * The text of the statement at [location, location + len) of source (len
 * 0: to the end), from its first token, trailing blanks removed; *start is
 * set to its offset.  Lint and the event triggers both use this, so a rule
 * over the text (statement-regex) sees the same string on both paths.
 */
char *
policy_statement_text(const char *source, int location, int len, int *start)
{
	int			total;
	int			end;
	int			s;

	if (source == NULL)
	{
		*start = -1;
		return NULL;
	}
	total = (int) strlen(source);
	if (location < 0 || location > total)
		location = 0;
	end = len > 0 ? Min(location + len, total) : total;
	s = policy_skip_blank(source, location, end);
	while (end > s && (source[end - 1] == ' ' || source[end - 1] == '\t' ||
					   source[end - 1] == '\n' || source[end - 1] == '\r' ||
					   source[end - 1] == ';'))
		end--;
	*start = s;
	return pnstrdup(source + s, end - s);
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

PolicySeverity
policy_severity(const PolicyContext *ctx, const char *rule)
{
	const PolicyRuleSetting *rs = policy_rule_setting(ctx->settings, rule);

	return rs ? rs->severity : POLICY_OFF;
}

void
policy_report_as(PolicyContext *ctx, const char *rule, PolicySeverity severity,
				 const char *object, const char *message, const char *detail,
				 const char *hint)
{
	MemoryContext old;
	PolicyViolation *v;
	int			start;

	if (severity == POLICY_OFF)
		return;
	old = MemoryContextSwitchTo(ctx->cxt);
	v = palloc0(sizeof(PolicyViolation));
	v->rule = pstrdup(rule);
	v->severity = severity;
	v->message = pstrdup(message);
	v->detail = detail ? pstrdup(detail) : NULL;
	v->hint = hint ? pstrdup(hint) : NULL;
	v->object = object ? pstrdup(object) : NULL;
	v->statement = policy_statement_text(ctx->source_text, ctx->stmt_location,
										 ctx->stmt_len, &start);
	v->location = start;
	ctx->violations = lappend(ctx->violations, v);
	MemoryContextSwitchTo(old);
}

void
policy_report(PolicyContext *ctx, const char *rule, const char *object,
			  const char *detail, const char *hint, const char *fmt,...)
{
	PolicySeverity severity = policy_severity(ctx, rule);
	StringInfoData buf;

	if (severity == POLICY_OFF)
		return;
	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	policy_report_as(ctx, rule, severity, object, buf.data, detail, hint);
	pfree(buf.data);
}

bool
policy_reported(const PolicyContext *ctx, const char *rule, const char *object)
{
	ListCell   *lc;

	foreach(lc, ctx->violations)
	{
		PolicyViolation *v = lfirst(lc);

		if ((rule == NULL || strcmp(v->rule, rule) == 0) &&
			((object == NULL && v->object == NULL) ||
			 (object && v->object && strcmp(object, v->object) == 0)))
			return true;
	}
	return false;
}

PolicySeverity
policy_max_severity(const PolicyContext *ctx)
{
	PolicySeverity max = POLICY_OFF;
	ListCell   *lc;

	foreach(lc, ctx->violations)
		max = Max(max, ((PolicyViolation *) lfirst(lc))->severity);
	return max;
}

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

int64
policy_param_int(const PolicyContext *ctx, const char *rule, const char *name)
{
	Jsonb	   *v = policy_settings_param(ctx->settings, rule, name);
	JsonbValue	scalar;

	if (v && JB_ROOT_IS_SCALAR(v) && JsonbExtractScalar(&v->root, &scalar) &&
		scalar.type == jbvNumeric)
		return DatumGetInt64(DirectFunctionCall1(numeric_int8,
												 NumericGetDatum(scalar.val.numeric)));
	/* the size thresholds fall back to the global ones */
	if (strcmp(name, "min_rows") == 0)
		return ctx->settings->large_table_rows;
	if (strcmp(name, "min_bytes") == 0)
		return ctx->settings->large_table_bytes;
	return 0;
}

char *
policy_param_string(const PolicyContext *ctx, const char *rule, const char *name)
{
	Jsonb	   *v = policy_settings_param(ctx->settings, rule, name);
	JsonbValue	scalar;

	if (v && JB_ROOT_IS_SCALAR(v) && JsonbExtractScalar(&v->root, &scalar) &&
		scalar.type == jbvString)
		return pnstrdup(scalar.val.string.val, scalar.val.string.len);
	return NULL;
}

Jsonb *
policy_param_jsonb(const PolicyContext *ctx, const char *rule, const char *name)
{
	return policy_settings_param(ctx->settings, rule, name);
}

/* ------------------------------------------------------------------ */
/* Running as the extension's owner                                    */
/* ------------------------------------------------------------------ */

bool
policy_schema_exists(void)
{
	return OidIsValid(get_namespace_oid("pgchange", true));
}

/* the owner of schema pgchange: the role that created the extension */
Oid
policy_owner(void)
{
	Oid			nsp = get_namespace_oid("pgchange", false);
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

void
policy_as_owner_begin(PolicyAsOwner *st)
{
	Oid			owner = policy_owner();

	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(owner, st->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	st->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* an ERROR in between needs no cleanup: (sub)transaction abort restores both */
void
policy_as_owner_end(PolicyAsOwner *st)
{
	AtEOXact_GUC(true, st->save_nestlevel);
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}

/*
 * Execute one of the engine's fixed queries through a plan prepared once
 * per backend (the event triggers run for every DDL statement: parsing
 * and planning their queries each time would cost more than the rules).
 * The plan cache replans after changes to the tables.  Caller is
 * connected to SPI.
 */
int
policy_spi_execute(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
				   Datum *values, const char *nulls, bool read_only)
{
	int			ret;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	ret = SPI_execute_plan(*plan, values, nulls, read_only, 0);
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", sql, SPI_result_code_string(ret));
	return ret;
}

/* ------------------------------------------------------------------ */
/* statement-regex: user-defined rules over the statement text         */
/* ------------------------------------------------------------------ */

static char *
member_string(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, (int) strlen(key), &v) &&
		v.type == jbvString)
		return pnstrdup(v.val.string.val, v.val.string.len);
	return NULL;
}

/*
 * Each custom rule {id, pattern, message, severity, detail, hint} matches
 * its pattern (an ARE, as with ~) against the statement text from its
 * first token.  A violation carries the custom rule's id; its severity is
 * its own, else that of statement-regex.
 */
static void
rule_statement_regex(PolicyContext *ctx, Node *stmt)
{
	Jsonb	   *rules = policy_param_jsonb(ctx, "statement-regex", "rules");
	PolicySeverity dflt = policy_severity(ctx, "statement-regex");
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	text	   *stmt_text = NULL;
	int			start;

	if (rules == NULL || !JB_ROOT_IS_ARRAY(rules) || JB_ROOT_IS_SCALAR(rules))
		return;
	it = JsonbIteratorInit(&rules->root);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		JsonbContainer *obj;
		char	   *id;
		char	   *pattern;
		char	   *sevname;
		PolicySeverity sev = dflt;

		if (tok != WJB_ELEM || elem.type != jbvBinary ||
			!JsonContainerIsObject(elem.val.binary.data))
			continue;
		obj = elem.val.binary.data;
		id = member_string(obj, "id");
		pattern = member_string(obj, "pattern");
		sevname = member_string(obj, "severity");
		if (id == NULL || pattern == NULL)
			continue;
		if (sevname && !policy_severity_parse(sevname, &sev))
			continue;
		if (sev == POLICY_OFF)
			continue;
		if (stmt_text == NULL)
		{
			char	   *s = policy_statement_text(ctx->source_text, ctx->stmt_location,
												  ctx->stmt_len, &start);

			if (s == NULL)
				return;
			stmt_text = cstring_to_text(s);
		}
		if (DatumGetBool(DirectFunctionCall2Coll(textregexeq, DEFAULT_COLLATION_OID,
												 PointerGetDatum(stmt_text),
												 CStringGetTextDatum(pattern))))
		{
			char	   *message = member_string(obj, "message");

			policy_report_as(ctx, id, sev, NULL, message ? message : id,
							 member_string(obj, "detail"), member_string(obj, "hint"));
		}
	}
}

const PolicyRuleImpl policy_rules_engine[] = {
	{"statement-regex", rule_statement_regex},
	{NULL, NULL}
};

/* ------------------------------------------------------------------ */
/* SQL functions                                                       */
/* ------------------------------------------------------------------ */

static char *
project_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* pgchange.policy_show(project text DEFAULT NULL) returns jsonb */
Datum
pgchange_policy_show(PG_FUNCTION_ARGS)
{
	PolicySettings *s = policy_settings_load(project_arg(fcinfo, 0), NULL);

	PG_RETURN_JSONB_P(policy_settings_to_jsonb(s));
}

/*
 * pgchange.policy_rules(project text DEFAULT NULL) returns table (rule,
 * severity, default_severity, scope, summary, params jsonb): the
 * catalogue with the effective severity and parameters.
 */
Datum
pgchange_policy_rules(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PolicySettings *s = policy_settings_load(project_arg(fcinfo, 0), NULL);

	pgchange_init_srf(fcinfo);
	for (int i = 0; i < s->nrules; i++)
	{
		const PolicyRuleInfo *info = s->rules[i].info;
		StringInfoData params;
		Datum		values[6];
		bool		nulls[6] = {0};

		initStringInfo(&params);
		appendStringInfoChar(&params, '{');
		for (int p = 0; p < POLICY_MAX_PARAMS && info->params[p].name; p++)
		{
			Jsonb	   *v = policy_settings_param(s, info->id, info->params[p].name);

			if (p > 0)
				appendStringInfoString(&params, ", ");
			escape_json(&params, info->params[p].name);
			appendStringInfoString(&params, ": ");
			if (v)
				(void) JsonbToCString(&params, &v->root, VARSIZE(v));
			else
				appendStringInfoString(&params, "null");
		}
		appendStringInfoChar(&params, '}');

		values[0] = CStringGetTextDatum(info->id);
		values[1] = CStringGetTextDatum(policy_severity_name(s->rules[i].severity));
		values[2] = CStringGetTextDatum(policy_severity_name(info->default_severity));
		values[3] = CStringGetTextDatum(policy_scope_name(info->scope));
		values[4] = CStringGetTextDatum(info->summary);
		values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(params.data));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * pgchange._policy_validate(settings jsonb, projects boolean) returns void:
 * ERROR naming the JSON path of the first problem.  Internal: called by
 * pgchange.policy_push().
 */
Datum
pgchange_policy_validate(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("policy settings must not be null"),
				 errhint("Push '{}' to go back to the defaults.")));
	policy_settings_validate_doc(PG_GETARG_JSONB_P(0), PG_ARGISNULL(1) || PG_GETARG_BOOL(1));
	PG_RETURN_VOID();
}
