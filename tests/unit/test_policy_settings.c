/*-------------------------------------------------------------------------
 *
 * test_policy_settings.c
 *	  Unit tests of controller/policy_settings.c: comments blanked with
 *	  lines kept, syntax errors at FILE:LINE, every validation error named
 *	  by its JSON path (fixtures in tests/fixtures/policy/settings), and the
 *	  severity a document gives a rule for a project.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <cjson/cJSON.h>

#include "changelog_sql.h"
#include "common/logging.h"
#include "policy_settings.h"
#include "tap.h"

static const char *srcdir;

/*
 * Parse a fixture as global settings (or a project's own); its errors in
 * errs, the document or NULL returned.
 */
static cJSON *
parse_fixture_as(const char *name, bool global, PolicyErrors *errs)
{
	char	   *path = psprintf("%s/tests/fixtures/policy/settings/%s", srcdir, name);
	size_t		len;
	char	   *text = changelog_read_file(path, &len);
	cJSON	   *doc;

	memset(errs, 0, sizeof(*errs));
	if (text == NULL)
	{
		ok(0, "read fixture %s", name);
		return NULL;
	}
	doc = policy_settings_parse(name, text, global, errs);
	pfree(text);
	pfree(path);
	return doc;
}

static cJSON *
parse_fixture(const char *name, PolicyErrors *errs)
{
	return parse_fixture_as(name, true, errs);
}

/* The fixture fails with exactly these errors, in this order */
static void
expect_errors_as(const char *name, bool global, const char *const *expected)
{
	PolicyErrors errs;
	cJSON	   *doc = parse_fixture_as(name, global, &errs);
	int			n = 0;

	while (expected[n])
		n++;
	ok(doc == NULL, "%s is refused", name);
	is_int(errs.count, n, "%s: %d errors", name, n);
	for (int i = 0; i < Max(n, errs.count); i++)
		is_str(i < errs.count ? errs.msgs[i] : NULL, i < n ? expected[i] : NULL,
			   "%s: error %d", name, i + 1);
	cJSON_Delete(doc);
	policy_errors_free(&errs);
}

static void
expect_errors(const char *name, const char *const *expected)
{
	expect_errors_as(name, true, expected);
}

static void
test_blank_comments(void)
{
	char		text[] = "{\"a\": \"x//y\", // c1\n \"b\": /* c2\n c3 */ 1, \"c\": \"/*\\\"*/\"}";
	char		open[] = "{ /* a\n b\n";
	int			bad = 0;

	ok(policy_blank_comments(text, &bad), "comments blanked");
	is_str(text, "{\"a\": \"x//y\",      \n \"b\":      \n       1, \"c\": \"/*\\\"*/\"}",
		   "comments become spaces, newlines stay, strings are untouched");
	ok(!policy_blank_comments(open, &bad), "an unterminated block comment is refused");
	is_int(bad, 1, "the line where it starts is reported");
}

static void
test_good(void)
{
	PolicyErrors errs;
	cJSON	   *doc = parse_fixture("good.json", &errs);
	PolicySeverity s = POLICY_OFF;
	const cJSON *pattern;

	ok(doc != NULL, "good.json is valid (null parameters mean the default)");
	is_int(errs.count, 0, "good.json: no errors");
	for (int i = 0; i < errs.count; i++)
		printf("#   %s\n", errs.msgs[i]);
	if (doc == NULL)
		return;
	pattern = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "rules"),
													  "name-must-not-match"), "pattern");
	is_str(cJSON_IsString(pattern) ? pattern->valuestring : NULL, "^tmp_|//|/\\*",
		   "comment markers inside a string are kept");

	ok(policy_settings_rule_severity(doc, NULL, "drop-table", &s) && s == POLICY_WARN,
	   "global severity of a rule given as a string");
	ok(policy_settings_rule_severity(doc, "shop", "drop-table", &s) && s == POLICY_ERROR,
	   "a project's override wins");
	ok(policy_settings_rule_severity(doc, "billing-eu", "drop-table", &s) && s == POLICY_WARN,
	   "a project without an override gets the global one");
	ok(policy_settings_rule_severity(doc, "shop", "changeset-without-context", &s) && s == POLICY_OFF,
	   "a project may switch a rule off");
	ok(policy_settings_rule_severity(doc, "other", "too-many-columns", &s) && s == POLICY_ERROR,
	   "severity inside a rule object");
	ok(!policy_settings_rule_severity(doc, "shop", "drop-column", &s),
	   "a rule the document does not mention");
	ok(!policy_settings_rule_severity(doc, NULL, "create-index-non-concurrently", &s),
	   "a rule object with parameters only sets no severity");
	cJSON_Delete(doc);
	policy_errors_free(&errs);
}

static void
test_errors(void)
{
	static const char *const bad_values[] = {
		"bad_values.json: $.large_table_rows: -1 is out of range [0, 1000000000000]",
		"bad_values.json: $.large_table_bytes: expected an integer, found 1.5",
		"bad_values.json: $.outside_deployment: expected one of off, log, block",
		"bad_values.json: $.rules.\"drop-table\".severity: expected one of off, info, warn, error",
		"bad_values.json: $.rules.\"drop-column\": expected one of off, info, warn, error",
		"bad_values.json: $.rules.\"too-many-columns\".max_columns: 1601 is out of range [1, 1600]",
		"bad_values.json: $.rules.\"prefer-text\": expected a severity (off, info, warn, error) or an object, found a boolean",
		"bad_values.json: $.rules.\"name-must-match\".pattern: expected a regular expression (string), found a number",
		"bad_values.json: $.rules.\"statement-regex\".rules[0]: missing \"pattern\"",
		"bad_values.json: $.rules.\"statement-regex\".rules[1]: expected an object, found a string",
		"bad_values.json: $.rules.\"statement-regex\".rules[2].id: expected a rule id of lower-case letters, digits and hyphens (at most 63)",
		"bad_values.json: $.rules.\"statement-regex\".rules[2].message: expected a non-empty string, found a string",
		"bad_values.json: $.rules.\"statement-regex\".rules[2].level: unknown key (known: id, pattern, message, severity, detail, hint)",
		"bad_values.json: $.rules.\"statement-regex\".rules[3].id: \"drop-table\" is a built-in rule id",
		"bad_values.json: $.rules.\"statement-regex\".rules[5].id: rule id \"dup\" is used twice",
		"bad_values.json: $.rules.\"statement-regex\".rules[5].hint: expected a string, found a number",
		NULL
	};
	static const char *const unknown_keys[] = {
		"unknown_keys.json: $.rules.\"drop-tabel\": unknown rule (pgchange policy show lists them)",
		"unknown_keys.json: $.rules.\"drop-table\".min_rows: unknown parameter (known: severity)",
		"unknown_keys.json: $.rules.\"create-index-non-concurrently\".max_rows: unknown parameter (known: severity, min_rows, min_bytes)",
		"unknown_keys.json: $.\"outside-deployment\": unknown key (known: rules, large_table_rows, large_table_bytes, outside_deployment, projects)",
		"unknown_keys.json: $.projects.shop.projects: \"projects\" is allowed only at the top of the global settings",
		"unknown_keys.json: $.projects.shop.rules.\"drop-table\": duplicate key",
		"unknown_keys.json: $.projects.web: expected an object, found an array",
		NULL
	};
	static const char *const project[] = {
		"project.json: $.projects: \"projects\" is allowed only at the top of the global settings",
		NULL
	};
	static const char *const syntax[] = {
		"syntax_error.json:5: invalid JSON near \"\"rules\": {}\"",
		NULL
	};
	static const char *const unterminated[] = {
		"unterminated_comment.json:3: unterminated /* comment",
		NULL
	};
	static const char *const not_object[] = {
		"not_an_object.json: $: expected an object",
		NULL
	};

	expect_errors("bad_values.json", bad_values);
	expect_errors("unknown_keys.json", unknown_keys);
	expect_errors("syntax_error.json", syntax);
	expect_errors("unterminated_comment.json", unterminated);
	expect_errors("not_an_object.json", not_object);
	expect_errors_as("project.json", false, project);
}

static void
test_load(void)
{
	char	   *good = psprintf("%s/tests/fixtures/policy/settings/good.json", srcdir);
	cJSON	   *doc;

	doc = policy_settings_load(good, true);
	ok(doc != NULL, "policy_settings_load reads a valid file");
	cJSON_Delete(doc);
	ok(policy_settings_load("/nonexistent/policy.json", true) == NULL,
	   "policy_settings_load refuses a missing file");
	pfree(good);
}

int
main(int argc pg_attribute_unused(), char **argv)
{
	const char *unit;

	pg_logging_init(argv[0]);
	srcdir = getenv("PGCHANGE_SRCDIR");
	if (srcdir == NULL)
	{
		/* built as <src>/tests/unit/test_x: the repository is two up */
		unit = strstr(argv[0], "tests/unit/");
		srcdir = (unit == NULL || unit == argv[0]) ? "." :
			pnstrdup(argv[0], unit - argv[0] - 1);
	}

	test_blank_comments();
	test_good();
	test_errors();
	test_load();
	return done_testing();
}
