-- pgTAP: the policy rules about locking or rewriting a large table, and
-- CONCURRENTLY where it cannot run.  Every fixture of this family
-- (tests/fixtures/policy/helpers.sql) goes through pgchange.lint() and the
-- event trigger, against pol_big (2,000 rows, analysed) with
-- large_table_rows 1000.  The live facts are the point: the same CREATE
-- INDEX passes on an empty table and on a table created in the same
-- transaction and is blocked above the threshold; a type change passes
-- when it is binary-coercible for the current column type; a default
-- passes when pg_proc says it is not volatile; SET NOT NULL passes with a
-- validated CHECK (col IS NOT NULL); a NOT NULL column without default
-- only fails on a table with rows.
\ir ../fixtures/policy/setup.sql
\ir ../fixtures/policy/helpers.sql

-- CONCURRENTLY outside a transaction block, as a changeset with
-- runInTransaction:false runs it: passes the event trigger (checked below)
CREATE INDEX CONCURRENTLY pol_big_cic_idx ON pol_big (i);
DROP INDEX CONCURRENTLY pol_big_c_idx;

-- a deployment that created and filled a table in an earlier transaction
SELECT pgchange.lock('pol_rules', 'pgTAP 21_policy_locking') IS NOT NULL AS locked \gset
SELECT pgchange.begin_deployment('pol_rules') AS pol_dep \gset
CREATE TABLE pol_dep (id bigint PRIMARY KEY, n int);
INSERT INTO pol_dep SELECT g, g FROM generate_series(1, 2000) g;
ANALYZE pol_dep;

BEGIN;
SELECT plan((SELECT 18 + count(*)::int + count(*) FILTER (WHERE runtime)::int
				  + count(*) FILTER (WHERE runtime AND fires
									 AND pg_temp.severity(rule) = 'error')::int
			   FROM pg_temp.policy_fixtures() WHERE family = 'locking'));
SET LOCAL lock_timeout = '10s';
\set family locking
\ir ../fixtures/policy/family_tests.sql

SELECT has_index('public', 'pol_big', 'pol_big_cic_idx', ARRAY['i'],
	'concurrently-in-transaction: CREATE INDEX CONCURRENTLY outside a transaction block ran');
SELECT hasnt_index('public', 'pol_big', 'pol_big_c_idx',
	'concurrently-in-transaction: DROP INDEX CONCURRENTLY outside a transaction block ran');
SELECT is_empty($$SELECT rule FROM pgchange.violations
				   WHERE statement IN ('CREATE INDEX CONCURRENTLY pol_big_cic_idx ON pol_big (i)',
									   'DROP INDEX CONCURRENTLY pol_big_c_idx')
					 AND rule IN (SELECT rule FROM pgchange.policy_rules() WHERE scope = 'statement')$$,
	'concurrently-in-transaction: nothing reported for CONCURRENTLY outside a transaction block');

-- the threshold is a live fact and a setting
SELECT is(pg_temp.lint_rules('CREATE INDEX ON pol_big (n)'), '{create-index-non-concurrently}',
	'create-index-non-concurrently: 2000 rows are large with large_table_rows 1000');
SELECT is((SELECT array_agg(rule) FROM pgchange.lint('CREATE INDEX ON pol_big (n)', '{"large_table_rows": 3000}')),
	NULL, 'create-index-non-concurrently: 2000 rows are not large with large_table_rows 3000');
SELECT is((SELECT array_agg(rule) FROM pgchange.lint('CREATE INDEX ON pol_big (n)',
			'{"rules": {"create-index-non-concurrently": {"min_rows": 5000}}}')),
	NULL, 'create-index-non-concurrently: the rule''s min_rows overrides large_table_rows');
SELECT is((SELECT array_agg(rule) FROM pgchange.lint('CREATE INDEX ON pol_big (n)',
			'{"large_table_rows": 1000000, "rules": {"create-index-non-concurrently": {"min_bytes": 8192}}}')),
	'{create-index-non-concurrently}', 'create-index-non-concurrently: min_bytes makes a table large by its size');
SELECT matches((SELECT detail FROM pgchange.lint('CREATE INDEX ON pol_big (n)')),
	'about 2000 rows', 'create-index-non-concurrently: the detail gives the live row estimate');

-- a table created in this transaction stays harmless however big it grows
CREATE TABLE pol_tx (id bigint PRIMARY KEY, n int);
INSERT INTO pol_tx SELECT g, g FROM generate_series(1, 5000) g;
ANALYZE pol_tx;
SELECT lives_ok('CREATE INDEX pol_tx_n_idx ON pol_tx (n)',
	'create-index-non-concurrently: passes on a table created in the same transaction, 5000 rows');
SELECT throws_ok('CREATE INDEX pol_big_n_idx ON pol_big (n)', 'PC001',
	'[create-index-non-concurrently] creating index pol_big_n_idx without CONCURRENTLY blocks writes to large table public.pol_big',
	'create-index-non-concurrently: the same statement on an established large table is blocked');

-- ... or in the same deployment, in an earlier transaction
SELECT lives_ok('CREATE INDEX pol_dep_n_idx ON pol_dep (n)',
	'create-index-non-concurrently: passes on a table the running deployment created in an earlier transaction');
SELECT is(pg_temp.lint_rules('CREATE INDEX ON pol_dep (n)'), '{create-index-non-concurrently}',
	'create-index-non-concurrently: lint, which sees no deployment, reports it (the deploy''s trigger decides)');
SELECT pgchange.finish_deployment(:pol_dep, 'succeeded') IS NULL AS finished \gset
SELECT throws_ok('CREATE INDEX pol_dep_n2_idx ON pol_dep (n)', 'PC001', NULL,
	'create-index-non-concurrently: once the deployment finished, its tables are established');

-- timestamp -> timestamptz rewrites unless the session time zone is UTC,
-- PostgreSQL's own test
SET LOCAL TimeZone = 'UTC';
SELECT is(pg_temp.lint_rules('ALTER TABLE pol_big ALTER COLUMN at TYPE timestamptz'), '{}',
	'alter-column-type: timestamp to timestamptz does not rewrite when TimeZone is UTC');
SET LOCAL TimeZone = 'Europe/Paris';
SELECT is(pg_temp.lint_rules('ALTER TABLE pol_big ALTER COLUMN at TYPE timestamptz'), '{alter-column-type}',
	'alter-column-type: timestamp to timestamptz rewrites when TimeZone is not UTC');

-- pg_proc decides volatility, by name and argument count
SELECT is(pg_temp.lint_rules('ALTER TABLE pol_big ADD COLUMN r float DEFAULT random()'),
	'{add-column-volatile-default}', 'add-column-volatile-default: random() is volatile');
SELECT is(pg_temp.lint_rules('ALTER TABLE pol_big ADD COLUMN r text DEFAULT pol_undefined_function()'),
	'{add-column-volatile-default}', 'add-column-volatile-default: a function pg_proc does not know counts as volatile');

-- validating the CHECK is what makes SET NOT NULL cheap
ALTER TABLE pol_big VALIDATE CONSTRAINT pol_big_e_nn;
SELECT is(pg_temp.lint_rules('ALTER TABLE pol_big ALTER COLUMN e SET NOT NULL'), '{}',
	'set-not-null: passes once the CHECK (e IS NOT NULL) is validated');

SELECT * FROM finish();
ROLLBACK;
\o /dev/null
SELECT pgchange.finish_deployment(:pol_dep, 'succeeded');
SELECT pgchange.unlock('pol_rules');
\o
\ir ../fixtures/policy/cleanup.sql
