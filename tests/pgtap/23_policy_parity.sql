-- pgTAP: one engine, two entry points.  For every fixture statement of the
-- rule tests (tests/fixtures/policy/helpers.sql) that PostgreSQL fires the
-- ddl_command_start event trigger for, pgchange.lint() and the event
-- trigger report the same rules with the same messages.
--
-- Every rule is at "warn", so nothing blocks and each statement really
-- runs (then is rolled back); the violations are read inside the
-- transaction before the rollback.  Two rules stay at "error": their
-- statements fail by themselves after ddl_command_start (PostgreSQL
-- refuses CONCURRENTLY in a transaction block, and a NOT NULL column
-- without default on a table with rows), which would take warnings
-- recorded in the transaction with them; blocked, they are recorded by
-- the engine's background worker instead.
--
-- Not compared, because no event trigger fires for them: TRUNCATE and
-- REINDEX (the truncate rule and REINDEX CONCURRENTLY are lint-only), and
-- CONCURRENTLY outside a transaction block, which cannot run in a function
-- (21_policy_locking.sql runs it at top level).
\ir ../fixtures/policy/setup.sql
\ir ../fixtures/policy/helpers.sql
BEGIN;
SELECT plan((SELECT 2 + count(*)::int FROM pg_temp.policy_fixtures() WHERE runtime));
SET LOCAL lock_timeout = '10s';

SELECT lives_ok($$SELECT pgchange.policy_push(jsonb_build_object(
		'large_table_rows', 1000,
		'rules', (SELECT jsonb_object_agg(rule,
					 CASE WHEN rule IN ('concurrently-in-transaction', 'add-column-not-null-without-default')
						  THEN 'error' ELSE 'warn' END)
					FROM pgchange.policy_rules())
				 || '{"too-many-columns": {"severity": "warn", "max_columns": 15},
					  "name-must-not-match": {"severity": "warn", "pattern": "^tmp_"}}'))$$,
	'parity settings: every rule at warn');
SELECT is((SELECT count(*)::int FROM pgchange.policy_rules() WHERE severity = 'warn'),
	(SELECT count(*)::int - 2 FROM pgchange.policy_rules()), 'every other rule is at warn');

-- "ran" or the SQLSTATE, then the violations: nothing but the two rules
-- at error may block
SELECT is((SELECT format('%s %s', coalesce(nullif(r.state, ''), 'ran'), r.violations)
			 FROM pg_temp.trigger_run(f.sql) r),
		  format('%s %s',
				 CASE WHEN f.lint && '{concurrently-in-transaction,add-column-not-null-without-default}'
					  THEN 'PC001' ELSE 'ran' END,
				 pg_temp.lint_messages(f.sql)),
		  format('same rules and messages: %s', left(f.sql, 100)))
  FROM pg_temp.policy_fixtures() f WHERE f.runtime;

SELECT * FROM finish();
ROLLBACK;
\ir ../fixtures/policy/cleanup.sql
