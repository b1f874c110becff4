-- pgTAP: the design, style, naming and privilege rules
-- (create-table-without-primary-key, too-many-columns, prefer-*,
-- identifier-too-long, name-must-match, name-must-not-match, grant-*).
-- Every fixture of this family (tests/fixtures/policy/helpers.sql) goes
-- through pgchange.lint() and the event trigger; warnings are recorded in
-- pgchange.violations and never block, error-level rules block with PC001.
\ir ../fixtures/policy/setup.sql
\ir ../fixtures/policy/helpers.sql
BEGIN;
SELECT plan((SELECT 9 + count(*)::int + count(*) FILTER (WHERE runtime)::int
				 + count(*) FILTER (WHERE runtime AND fires
									AND pg_temp.severity(rule) = 'error')::int
			   FROM pg_temp.policy_fixtures() WHERE family = 'style'));
SET LOCAL lock_timeout = '10s';
\set family style
\ir ../fixtures/policy/family_tests.sql

-- a warning is recorded with everything a reader needs, and the DDL runs
CREATE TABLE pol_events (at timestamp);
SELECT results_eq(
	$$SELECT rule, severity, message, object, blocked, phase FROM pgchange.violations
	   WHERE statement = 'CREATE TABLE pol_events (at timestamp)' ORDER BY rule$$,
	$$VALUES ('create-table-without-primary-key', 'warn', 'table pol_events has no primary key',
			  'pol_events', false, 'ddl_command_start'),
			 ('prefer-timestamptz', 'warn', 'column pol_events.at is timestamp without time zone',
			  'pol_events.at', false, 'ddl_command_start')$$,
	'warnings are recorded in pgchange.violations, not blocked');
SELECT has_table('public', 'pol_events', 'a warning does not stop the statement');

-- the parameters are settings
SELECT is((SELECT array_agg(rule) FROM pgchange.lint(
			'CREATE TABLE pol_w (id bigint PRIMARY KEY, a text, b text)',
			'{"rules": {"too-many-columns": {"max_columns": 2}}}')),
	'{too-many-columns}', 'too-many-columns: max_columns is a parameter');
SELECT is((SELECT array_agg(message) FROM pgchange.lint(
			'CREATE TABLE "Pol-X" (id bigint PRIMARY KEY)',
			'{"rules": {"name-must-match": {"severity": "warn", "pattern": "^([A-Z][a-zA-Z-]*|id)$"}}}')),
	NULL, 'name-must-match: the pattern is a parameter');
SELECT is((SELECT array_agg(rule) FROM pgchange.lint('CREATE TABLE "PolBad" (id bigint PRIMARY KEY)',
			'{"rules": {"name-must-match": "off"}}')),
	NULL, 'name-must-match: off, it says nothing');

-- identifiers are measured in the text: the parse tree holds them truncated
SELECT results_eq(
	$$SELECT message, object FROM pgchange.lint('CREATE TABLE pol_' || repeat('x', 60) || ' (id bigint PRIMARY KEY)')$$,
	$$VALUES ('identifier "pol_xxxxxxxxxxxxxxxx..." is 64 bytes long, more than the 63 PostgreSQL keeps',
			  'pol_' || repeat('x', 59))$$,
	'identifier-too-long: the message gives the length, the object the name PostgreSQL would use');
SELECT results_eq(
	$$SELECT state, violations FROM pg_temp.trigger_run('CREATE TABLE pol_' || repeat('x', 60) || ' (id bigint PRIMARY KEY)')$$,
	$$VALUES ('', ARRAY['identifier-too-long: identifier "pol_xxxxxxxxxxxxxxxx..." is 64 bytes long, more than the 63 PostgreSQL keeps'])$$,
	'identifier-too-long: a warning at run time with the same message, the statement runs');
SELECT is(pg_temp.lint_rules(format(
			E'CREATE TABLE pol_c (id bigint PRIMARY KEY); -- %s\nCOMMENT ON TABLE pol_c IS $x$%s$x$',
			repeat('c', 70), repeat('d', 70))), '{}',
	'identifier-too-long: comments and dollar-quoted strings are not identifiers');

-- GRANT: what it grants on, to whom
SELECT is((SELECT array_agg(message ORDER BY rule) FROM pgchange.lint('GRANT ALL ON pol_small, pol_empty TO PUBLIC')),
	'{"granting ALL PRIVILEGES on table pol_small, pol_empty to PUBLIC","granting to PUBLIC gives every role access to table pol_small, pol_empty"}',
	'grant-all, grant-to-public: the messages name the objects and grantees');

SELECT * FROM finish();
ROLLBACK;
\ir ../fixtures/policy/cleanup.sql
