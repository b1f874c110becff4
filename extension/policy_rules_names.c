/*-------------------------------------------------------------------------
 *
 * policy_rules_names.c
 *	  Policy rules about names: identifier-too-long, name-must-match and
 *	  name-must-not-match (listed in the style table, policy_rules_style.c).
 *	  See docs/policies.md for each rule's reason and safe alternative.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "common/keywords.h"
#include "parser/scanner.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "policy.h"
#include "policy_rules_util.h"

/* -------------------------------------------------------------- identifiers -- */

/* bytes of an identifier token starting at p, 0 when it is none we measure */
static int
identifier_bytes(const char *p)
{
	int			n = 0;

	if (*p == '"')
	{
		/* quoted: "" stands for one quote character */
		for (p++; *p; p++, n++)
		{
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				break;
		}
		return n;
	}
	/* scan.l's ident_start / ident_cont */
	if (!(isalpha((unsigned char) *p) || *p == '_' || IS_HIGHBIT_SET(*p)))
		return 0;
	while (isalnum((unsigned char) p[n]) || p[n] == '_' || p[n] == '$' ||
		   IS_HIGHBIT_SET(p[n]))
		n++;
	return n;
}

/*
 * A cheap filter before the scanner: a quoted name, or a stretch of
 * NAMEDATALEN bytes without a character that ends an unquoted name.
 */
static bool
may_hold_long_identifier(const char *s, int len)
{
	int			run = 0;

	if (len < NAMEDATALEN)
		return false;
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '"')
			return true;
		run = (s[i] && strchr(" \t\r\n,;()'.=:", s[i])) ? 0 : run + 1;
		if (run >= NAMEDATALEN)
			return true;
	}
	return false;
}

/*
 * The raw parser has already truncated every identifier (with a NOTICE),
 * so this rule reads the statement text: the server's scanner finds the
 * tokens (so literals and comments are skipped), and an identifier token
 * longer than NAMEDATALEN - 1 bytes is reported once per name.
 */
void
rule_identifier_too_long(PolicyContext *ctx, Node *stmt)
{
	const char *src = ctx->source_text;
	int			start = ctx->stmt_location > 0 ? ctx->stmt_location : 0;
	int			len;
	char	   *sql;
	core_yy_extra_type yyextra;
	core_yyscan_t scanner;
	List	   *seen = NIL;
	int			nestlevel;

	if (src == NULL)
		return;
	len = ctx->stmt_len > 0 ? ctx->stmt_len : (int) strlen(src + start);
	if (!may_hold_long_identifier(src + start, len))
		return;
	sql = pnstrdup(src + start, len);

	/* the scanner repeats the parser's truncation NOTICEs: keep them quiet */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("client_min_messages", "warning", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	scanner = scanner_init(sql, &yyextra, &ScanKeywords, ScanKeywordTokens);
	for (;;)
	{
		core_YYSTYPE yylval;
		YYLTYPE		yylloc;
		int			n;

		if (core_yylex(&yylval, &yylloc, scanner) == 0)
			break;
		n = identifier_bytes(sql + yylloc);
		if (n < NAMEDATALEN || list_member(seen, makeString(yylval.str)))
			continue;
		seen = lappend(seen, makeString(yylval.str));
		policy_report(ctx, "identifier-too-long", yylval.str,
					  "PostgreSQL truncates identifiers to 63 bytes, so the object gets another name than the one written, and two long names that differ only at the end collide.",
					  "Shorten the name to at most 63 bytes.",
					  "identifier \"%s...\" is %d bytes long, more than the 63 PostgreSQL keeps",
					  pnstrdup(yylval.str, 20), n);
	}
	scanner_finish(scanner);
	AtEOXact_GUC(true, nestlevel);
}

/* ------------------------------------------------------------------ names -- */

/* a name a statement gives to an object */
typedef struct CreatedName
{
	const char *kind;			/* "table", "column", ... */
	const char *name;
	char	   *object;			/* identity for the report */
} CreatedName;

static void
add_name(List **names, const char *kind, const char *name, char *object)
{
	CreatedName *n;

	if (name == NULL)
		return;
	n = palloc(sizeof(CreatedName));
	n->kind = kind;
	n->name = name;
	n->object = object ? object : pstrdup(quote_identifier(name));
	*names = lappend(*names, n);
}

/* the names of a column definition and its named constraints */
static void
add_column_names(List **names, const char *rel, ColumnDef *col)
{
	ListCell   *lc;

	add_name(names, "column", col->colname, rule_column_name(rel, col->colname));
	foreach(lc, col->constraints)
		if (IsA(lfirst(lc), Constraint))
			add_name(names, "constraint", ((Constraint *) lfirst(lc))->conname, NULL);
}

/* the names that stmt creates or renames to, as CreatedName * */
static void
collect_names(Node *stmt, List **names)
{
	ListCell   *lc;

	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
			{
				/* CreateForeignTableStmt starts with a CreateStmt */
				CreateStmt *cs = (CreateStmt *) stmt;
				char	   *rel = rule_relation_name(NULL, cs->relation);

				add_name(names, IsA(stmt, CreateStmt) ? "table" : "foreign table",
						 cs->relation->relname, rel);
				foreach(lc, cs->tableElts)
				{
					if (IsA(lfirst(lc), ColumnDef))
						add_column_names(names, rel, (ColumnDef *) lfirst(lc));
					else if (IsA(lfirst(lc), Constraint))
						add_name(names, "constraint",
								 ((Constraint *) lfirst(lc))->conname, NULL);
				}
				break;
			}
		case T_CreateTableAsStmt:
			{
				RangeVar   *rv = ((CreateTableAsStmt *) stmt)->into->rel;

				add_name(names,
						 ((CreateTableAsStmt *) stmt)->objtype == OBJECT_MATVIEW ?
						 "materialized view" : "table",
						 rv->relname, rule_relation_name(NULL, rv));
				break;
			}
		case T_ViewStmt:
			add_name(names, "view", ((ViewStmt *) stmt)->view->relname,
					 rule_relation_name(NULL, ((ViewStmt *) stmt)->view));
			break;
		case T_IndexStmt:
			add_name(names, "index", ((IndexStmt *) stmt)->idxname, NULL);
			break;
		case T_CreateSeqStmt:
			add_name(names, "sequence", ((CreateSeqStmt *) stmt)->sequence->relname,
					 rule_relation_name(NULL, ((CreateSeqStmt *) stmt)->sequence));
			break;
		case T_CreateSchemaStmt:
			add_name(names, "schema", ((CreateSchemaStmt *) stmt)->schemaname, NULL);
			foreach(lc, ((CreateSchemaStmt *) stmt)->schemaElts)
				collect_names(lfirst(lc), names);
			break;
		case T_CreateFunctionStmt:
			add_name(names,
					 ((CreateFunctionStmt *) stmt)->is_procedure ? "procedure" : "function",
					 strVal(llast(((CreateFunctionStmt *) stmt)->funcname)),
					 NameListToQuotedString(((CreateFunctionStmt *) stmt)->funcname));
			break;
		case T_CompositeTypeStmt:
			add_name(names, "type", ((CompositeTypeStmt *) stmt)->typevar->relname,
					 rule_relation_name(NULL, ((CompositeTypeStmt *) stmt)->typevar));
			break;
		case T_CreateEnumStmt:
			add_name(names, "type", strVal(llast(((CreateEnumStmt *) stmt)->typeName)),
					 NameListToQuotedString(((CreateEnumStmt *) stmt)->typeName));
			break;
		case T_CreateRangeStmt:
			add_name(names, "type", strVal(llast(((CreateRangeStmt *) stmt)->typeName)),
					 NameListToQuotedString(((CreateRangeStmt *) stmt)->typeName));
			break;
		case T_CreateDomainStmt:
			add_name(names, "domain", strVal(llast(((CreateDomainStmt *) stmt)->domainname)),
					 NameListToQuotedString(((CreateDomainStmt *) stmt)->domainname));
			break;
		case T_CreateTrigStmt:
			add_name(names, "trigger", ((CreateTrigStmt *) stmt)->trigname, NULL);
			break;
		case T_AlterTableStmt:
			{
				AlterTableStmt *as = (AlterTableStmt *) stmt;
				char	   *rel = rule_relation_name(NULL, as->relation);

				foreach(lc, as->cmds)
				{
					AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

					if (cmd->subtype == AT_AddColumn)
						add_column_names(names, rel, (ColumnDef *) cmd->def);
					else if (cmd->subtype == AT_AddConstraint)
						add_name(names, "constraint",
								 ((Constraint *) cmd->def)->conname, NULL);
				}
				break;
			}
		case T_RenameStmt:
			add_name(names, rule_object_kind(((RenameStmt *) stmt)->renameType),
					 ((RenameStmt *) stmt)->newname, NULL);
			break;
		default:
			break;
	}
}

static void
check_names(PolicyContext *ctx, Node *stmt, const char *rule, bool must_match)
{
	char	   *pattern = policy_param_string(ctx, rule, "pattern");
	List	   *names = NIL;
	ListCell   *lc;

	if (pattern == NULL)
		return;
	collect_names(stmt, &names);
	foreach(lc, names)
	{
		CreatedName *n = (CreatedName *) lfirst(lc);

		if (rule_regex_match(pattern, n->name) == must_match)
			continue;
		if (must_match)
			policy_report(ctx, rule, n->object,
						  psprintf("The project's naming policy requires names of the form %s.", pattern),
						  psprintf("Rename the %s to match %s, or change this rule's pattern in the settings.",
								   n->kind, pattern),
						  "%s name \"%s\" does not match the required pattern",
						  n->kind, n->name);
		else
			policy_report(ctx, rule, n->object,
						  psprintf("The project's naming policy forbids names matching %s.", pattern),
						  psprintf("Rename the %s so that it does not match %s, or change this rule's pattern in the settings.",
								   n->kind, pattern),
						  "%s name \"%s\" matches a forbidden pattern",
						  n->kind, n->name);
	}
}

void
rule_name_must_match(PolicyContext *ctx, Node *stmt)
{
	check_names(ctx, stmt, "name-must-match", true);
}

void
rule_name_must_not_match(PolicyContext *ctx, Node *stmt)
{
	check_names(ctx, stmt, "name-must-not-match", false);
}
