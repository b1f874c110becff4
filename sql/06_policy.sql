-- The policy engine's SQL API: lint(), settings validation (errors name the
-- JSON path), policy_push / policy_show / policy_rules, privileges.
\set SHOW_CONTEXT never
SET datestyle = 'ISO, YMD';
DROP ROLE IF EXISTS regress_pol_admin, regress_pol_deployer, regress_pol_reader;
CREATE ROLE regress_pol_admin IN ROLE pgchange_admin;
CREATE ROLE regress_pol_deployer IN ROLE pgchange_deployer;
CREATE ROLE regress_pol_reader IN ROLE pgchange_reader;

-- ------------------------------------------------------------ the catalogue --
-- every rule with its default severity and scope
SELECT rule, severity, default_severity, scope FROM pgchange.policy_rules();
SELECT rule, params FROM pgchange.policy_rules() WHERE params <> '{}' ORDER BY rule;

-- --------------------------------------------------------------------- lint --
-- with default settings statement-regex is off: nothing to report
SELECT count(*) FROM pgchange.lint('DROP TABLE orders CASCADE');
-- statement-regex: custom rules over the statement text, one row per match,
-- line and location of each statement, comments before it skipped
SELECT rule, severity, message, detail, hint, statement, object, location, line
  FROM pgchange.lint($sql$
-- a comment
CREATE TABLE a (id bigint);
/* block */ DROP TABLE a CASCADE;

  drop   view v  CASCADE ;
SELECT 'CASCADE';
$sql$, settings => '{"rules": {"statement-regex": {"severity": "warn", "rules": [
	{"id": "no-cascade", "pattern": "(?i)\\mcascade\\M", "message": "CASCADE drops more than it names",
	 "hint": "Drop the dependent objects explicitly."},
	{"id": "no-drop-view", "pattern": "(?i)^drop\\s+view", "message": "view dropped", "severity": "error"},
	{"id": "quiet", "pattern": ".", "message": "off", "severity": "off"}]}}}');
-- the same SQL through split_sql() starts each statement on the same line
SELECT statement, line FROM pgchange.split_sql($sql$
-- a comment
CREATE TABLE a (id bigint);
/* block */ DROP TABLE a CASCADE;
$sql$);
-- empty and NULL text
SELECT count(*) FROM pgchange.lint('');
SELECT count(*) FROM pgchange.lint(NULL);
-- nothing executed, nothing recorded
SELECT count(*) FROM pgchange.lint('CREATE TABLE lint_only (id int); DROP SCHEMA public CASCADE');
SELECT to_regclass('lint_only') IS NULL AS not_created;
SELECT count(*) AS violations_recorded FROM pgchange.violations WHERE statement ~ 'lint_only';
-- a syntax error: the position is in the linted text (internal query)
\set VERBOSITY default
\set SHOW_CONTEXT always
SELECT * FROM pgchange.lint(E'CREATE TABLE ok (id int);\nCREATE TABEL broken (id int);');
\set SHOW_CONTEXT never
-- a settings argument is validated like a pushed document
SELECT * FROM pgchange.lint('SELECT 1', '{"rules": {"no-such-rule": "error"}}');

-- -------------------------------------------------------- settings validation --
-- each invalid document is refused with the JSON path of the problem
SELECT pgchange._policy_validate(doc::jsonb, true)
  FROM (VALUES ('[]')) AS t(doc);
SELECT pgchange._policy_validate('"error"', true);
SELECT pgchange._policy_validate('{"rulez": {}}', true);
SELECT pgchange._policy_validate('{"rules": []}', true);
SELECT pgchange._policy_validate('{"rules": {"drop-tabel": "error"}}', true);
SELECT pgchange._policy_validate('{"rules": {"drop-table": "fatal"}}', true);
SELECT pgchange._policy_validate('{"rules": {"drop-table": {"severity": "fatal"}}}', true);
SELECT pgchange._policy_validate('{"rules": {"drop-table": 3}}', true);
SELECT pgchange._policy_validate('{"rules": {"drop-table": {"min_rows": 5}}}', true);
SELECT pgchange._policy_validate('{"rules": {"too-many-columns": {"max_columns": "50"}}}', true);
SELECT pgchange._policy_validate('{"rules": {"too-many-columns": {"max_columns": 0}}}', true);
SELECT pgchange._policy_validate('{"rules": {"too-many-columns": {"max_columns": 1601}}}', true);
SELECT pgchange._policy_validate('{"rules": {"too-many-columns": {"max_columns": 2.5}}}', true);
SELECT pgchange._policy_validate('{"rules": {"create-index-non-concurrently": {"min_rows": -1}}}', true);
SELECT pgchange._policy_validate('{"rules": {"name-must-match": {"pattern": "(unclosed"}}}', true);
SELECT pgchange._policy_validate('{"rules": {"name-must-match": {"pattern": 7}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": {}}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "x", "pattern": "a"}]}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "drop-table", "pattern": "a", "message": "m"}]}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "Bad Id", "pattern": "a", "message": "m"}]}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "x", "pattern": "a", "message": "m"}, {"id": "x", "pattern": "b", "message": "m"}]}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "x", "pattern": "a", "message": "m", "level": 1}]}}}', true);
SELECT pgchange._policy_validate('{"rules": {"statement-regex": {"rules": [{"id": "x", "pattern": "[z-a]", "message": "m"}]}}}', true);
SELECT pgchange._policy_validate('{"large_table_rows": "many"}', true);
SELECT pgchange._policy_validate('{"large_table_rows": 1e13}', true);
SELECT pgchange._policy_validate('{"large_table_bytes": -5}', true);
SELECT pgchange._policy_validate('{"outside_deployment": "deny"}', true);
SELECT pgchange._policy_validate('{"projects": []}', true);
SELECT pgchange._policy_validate('{"projects": {"my app": {"rules": {"truncate": "loud"}}}}', true);
SELECT pgchange._policy_validate('{"projects": {"app": {"projects": {}}}}', true);
SELECT pgchange._policy_validate('{"projects": {"app": {"large_table_rows": 10}}}', false);
-- valid: every form at once, null meaning "the default"
SELECT pgchange._policy_validate('{
	"rules": {"drop-table": "warn", "truncate": {"severity": "info"},
			  "create-index-non-concurrently": {"min_rows": 1000, "min_bytes": null},
			  "name-must-match": {"severity": "error", "pattern": "^[a-z_]+$"},
			  "statement-regex": {"rules": [{"id": "no-cascade", "pattern": "cascade",
											 "message": "no", "severity": "error",
											 "detail": "d", "hint": "h"}]}},
	"large_table_rows": 0, "large_table_bytes": 1000000000000000,
	"outside_deployment": "block",
	"projects": {"app": {"rules": {"drop-table": "off"}, "outside_deployment": "log"}}}', true);

-- --------------------------------------------------------- push and show --
-- only an admin pushes; a deployer cannot even call it
SET SESSION AUTHORIZATION regress_pol_deployer;
SELECT pgchange.policy_push('{}');
-- a reader sees the effective settings
SET SESSION AUTHORIZATION regress_pol_reader;
SELECT jsonb_pretty(pgchange.policy_show() - 'rules') AS global_defaults;
SELECT pgchange.policy_show()->'rules'->'too-many-columns' AS too_many_columns;
SELECT count(*) AS reader_may_lint FROM pgchange.lint('SELECT 1');
SET SESSION AUTHORIZATION regress_pol_admin;
SELECT pgchange.policy_push('{"rules": {"drop-table": "oops"}}');
SELECT pgchange.policy_push('{
	"rules": {"drop-table": "warn", "too-many-columns": {"max_columns": 20},
			  "statement-regex": {"severity": "warn", "rules": [
				{"id": "no-cascade", "pattern": "(?i)cascade", "message": "CASCADE"}]}},
	"large_table_rows": 5000,
	"projects": {"app": {"rules": {"drop-table": "info", "too-many-columns": {"max_columns": 30}},
						 "large_table_rows": 6000}}}');
-- a project's own document: no nested projects
SELECT pgchange.policy_push('{"projects": {}}', 'app');
SELECT pgchange.policy_push('{"rules": {"too-many-columns": {"severity": "error"}}, "outside_deployment": "off"}', 'app');
RESET SESSION AUTHORIZATION;
SELECT scope, settings->'rules' ? 'drop-table' AS has_drop_table, pushed_by
  FROM pgchange.policy_settings ORDER BY scope;
SELECT kind, actor, project, detail->'settings' ? 'rules' AS has_settings
  FROM pgchange.events WHERE kind = 'policy' ORDER BY event_id;
-- layers: defaults <- global <- global.projects.app <- app's own <- argument
SELECT p.project, s->'rules'->'drop-table'->>'severity' AS drop_table,
	   s->'rules'->'too-many-columns' AS too_many_columns,
	   s->'large_table_rows' AS rows, s->>'outside_deployment' AS outside
  FROM (VALUES (NULL), ('app'), ('other')) AS p(project),
	   LATERAL pgchange.policy_show(p.project) AS s;
SELECT rule, severity, default_severity, params FROM pgchange.policy_rules('app')
 WHERE rule IN ('drop-table', 'too-many-columns', 'truncate');
-- lint uses the stored settings of the project, then the argument on top
SELECT rule, severity FROM pgchange.lint('DROP TABLE t CASCADE', project => 'app');
SELECT rule, severity FROM pgchange.lint('DROP TABLE t CASCADE',
	'{"rules": {"statement-regex": "error"}}', 'app');
SELECT rule, severity FROM pgchange.lint('DROP TABLE t CASCADE',
	'{"projects": {"app": {"rules": {"statement-regex": "off"}}}}', 'app');
-- back to the defaults
SET SESSION AUTHORIZATION regress_pol_admin;
SELECT pgchange.policy_push('{}');
SELECT pgchange.policy_push('{}', 'app');
RESET SESSION AUTHORIZATION;
SELECT pgchange.policy_show() = pgchange.policy_show('app') AS defaults_again;

-- ------------------------------------------------------------- privileges --
SET SESSION AUTHORIZATION regress_pol_reader;
SELECT pgchange._policy_validate('{}', true);
SELECT count(*) >= 0 AS reader_reads_violations FROM pgchange.violations;
SELECT count(*) >= 0 AS reader_reads_ddl_log FROM pgchange.ddl_log;
INSERT INTO pgchange.policy_settings (scope, settings) VALUES ('x', '{}');
RESET SESSION AUTHORIZATION;
CREATE ROLE regress_pol_nobody;
SET SESSION AUTHORIZATION regress_pol_nobody;
SELECT * FROM pgchange.lint('SELECT 1');
SELECT pgchange.policy_show();
RESET SESSION AUTHORIZATION;

-- ----------------------------------------------- the event triggers' errors --
-- The exact form the controller relies on: SQLSTATE PC001, "[rule] message",
-- the rule's detail and hint; PC002 for guard mode.  (Behaviour: pgTAP.)
SELECT pgchange.policy_push('{"outside_deployment": "log", "rules": {"statement-regex": {"severity": "error", "rules": [
	{"id": "no-cascade", "pattern": "(?i)\\mcascade\\M", "message": "CASCADE drops more than it names",
	 "detail": "Dependent objects go too.", "hint": "Drop them explicitly."}]}}}');
CREATE TABLE pol_t (id int);
DROP TABLE pol_t CASCADE;
\echo :LAST_ERROR_SQLSTATE
SELECT rule, severity, message, statement, phase, blocked, project, username
  FROM pgchange.violations WHERE rule = 'no-cascade';
SELECT pgchange.policy_push('{"outside_deployment": "block"}');
DROP TABLE pol_t;
\echo :LAST_ERROR_SQLSTATE
SELECT command_tag, statement, objects, blocked FROM pgchange.ddl_log WHERE statement ~ 'pol_t' ORDER BY ddl_id;
SET pgchange.break_glass = 'cleaning up after the test';
DROP TABLE pol_t;
RESET pgchange.break_glass;
SELECT command_tag, statement, objects, blocked, break_glass
  FROM pgchange.ddl_log WHERE statement ~ 'pol_t' ORDER BY ddl_id;
SELECT pgchange.policy_push('{}');

DROP ROLE regress_pol_admin, regress_pol_deployer, regress_pol_reader, regress_pol_nobody;
