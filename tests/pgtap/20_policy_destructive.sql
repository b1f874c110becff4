-- pgTAP: the policy rules about destroying data and breaking running
-- clients (drop-table, drop-column, drop-schema, truncate, rename-table,
-- rename-column).  Every fixture of tests/fixtures/policy/helpers.sql of
-- this family goes through pgchange.lint() and through the event trigger:
-- the statements that fire a rule and the near misses that must not (a
-- table created in the same transaction or earlier in the linted SQL, a
-- temporary table, an empty schema, an object that does not exist).
\ir ../fixtures/policy/setup.sql
\ir ../fixtures/policy/helpers.sql
BEGIN;
SELECT plan((SELECT 3 + count(*)::int + count(*) FILTER (WHERE runtime)::int
				  + count(*) FILTER (WHERE runtime AND fires
									 AND pg_temp.severity(rule) = 'error')::int
			   FROM pg_temp.policy_fixtures() WHERE family = 'destructive'));
\set family destructive
\ir ../fixtures/policy/family_tests.sql

-- the blocking error names the rule and says why and what to do instead
SELECT throws_ok('DROP TABLE pol_small', 'PC001',
	'[drop-table] dropping table public.pol_small destroys its data',
	'drop-table: the error names the rule and the table');
SELECT results_eq(
	$$SELECT message, detail IS NOT NULL, hint, object FROM pgchange.lint('ALTER TABLE pol_small RENAME COLUMN x TO y')$$,
	$$VALUES ('renaming column public.pol_small.x to y breaks clients that use the old name', true,
			  'Add the new column, write to both and backfill, move readers to it, then drop the old column in a later changeset.',
			  'public.pol_small.x')$$,
	'rename-column: message, detail, hint and object');

-- PostgreSQL fires no event trigger for TRUNCATE: lint and pgchange check
-- are where the truncate rule holds (docs/policies.md says so)
SELECT lives_ok('TRUNCATE pol_small', 'truncate: not seen at run time (no event trigger for TRUNCATE)');

SELECT * FROM finish();
ROLLBACK;
\ir ../fixtures/policy/cleanup.sql
