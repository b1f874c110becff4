-- pgTAP: what verification keeps in the database.  registry.verify_sql
-- and pgchange.record_verify(): it needs the lock, stores the verify SQL of
-- the changesets one deployment recorded (and only those), clears what a
-- rerun no longer has, follows the project's identity mode, and refuses
-- malformed input.
BEGIN;
SELECT plan(16);

CREATE ROLE regress_ver_ci IN ROLE pgchange_deployer;
CREATE ROLE regress_ver_reader IN ROLE pgchange_reader;

SELECT has_column('pgchange', 'registry', 'verify_sql', 'registry.verify_sql exists');
SELECT col_type_is('pgchange', 'registry', 'verify_sql', 'text', 'it is text');
SELECT has_function('pgchange', 'record_verify', ARRAY['text', 'bigint', 'jsonb'],
	'pgchange.record_verify(text, bigint, jsonb) exists');
SELECT function_privs_are('pgchange', 'record_verify', ARRAY['text', 'bigint', 'jsonb'],
	'regress_ver_reader', ARRAY[]::text[], 'a reader may not record verify SQL');

SET SESSION AUTHORIZATION regress_ver_ci;
SELECT throws_ok($$SELECT pgchange.record_verify('vshop', 1, '[]')$$, '55P03', NULL,
	'record_verify needs the deploy lock');
SELECT is(pgchange.lock('vshop', 'ci'), 'acquired', 'take the lock');
SELECT pgchange.begin_deployment('vshop') AS dep1 \gset
SELECT pgchange.record_changeset('vshop', :dep1, '1', 'alice', 'a.sql', '1:01');
SELECT pgchange.record_changeset('vshop', :dep1, '2', 'alice', 'a.sql', '1:02');
SELECT pgchange.finish_deployment(:dep1, 'succeeded');
SELECT pgchange.begin_deployment('vshop') AS dep2 \gset
SELECT pgchange.record_changeset('vshop', :dep2, '3', 'bob', 'b.sql', '1:03');

SELECT is(pgchange.record_verify('vshop', :dep1, $$[
		{"id": "1", "author": "alice", "path": "a.sql", "verify": "SELECT 1/count(*) FROM t"},
		{"id": "3", "author": "bob", "verify": "SELECT 3"}]$$), 1,
	'record_verify stores the verify SQL of the deployment''s changesets, and says how many have one');
SELECT results_eq(
	$$SELECT changeset_id, verify_sql FROM pgchange.registry WHERE project = 'vshop' ORDER BY exec_order$$,
	$$VALUES ('1', 'SELECT 1/count(*) FROM t'), ('2', NULL), ('3', NULL)$$,
	'only rows of that deployment change: 3 was recorded by another one');

-- a rerun in a later deployment whose changeset no longer has verify SQL
SELECT pgchange.record_changeset('vshop', :dep2, '1', 'alice', 'a.sql', '1:11', exec_type => 'reran');
SELECT is(pgchange.record_verify('vshop', :dep2, '[{"id": "3", "author": "bob", "verify": "SELECT 3"}]'), 1,
	'the second deployment has one');
SELECT results_eq(
	$$SELECT changeset_id, verify_sql FROM pgchange.registry WHERE project = 'vshop' ORDER BY changeset_id$$,
	$$VALUES ('1', NULL), ('2', NULL), ('3', 'SELECT 3')$$,
	'the rerun changeset lost the verify SQL its file no longer has');

-- malformed input
SELECT throws_ok(format($$SELECT pgchange.record_verify('vshop', %s, '{}')$$, :dep2), '22023',
	'the verify list must be a JSON array', 'an object is not a list');
SELECT throws_ok(format($$SELECT pgchange.record_verify('vshop', %s, '[{"id": "1", "author": "alice"}]')$$, :dep2),
	'22023', NULL, 'an entry without verify is refused');
SELECT throws_ok(format($$SELECT pgchange.record_verify('vshop', %s, '[{"id": 1, "author": "a", "verify": "x"}]')$$, :dep2),
	'22023', NULL, 'an id that is not a string is refused');
SELECT throws_ok($$SELECT pgchange.record_verify('vshop', -5, '[]')$$, 'P0002',
	'deployment -5 of project ''vshop'' does not exist', 'an unknown deployment is refused');
SELECT pgchange.finish_deployment(:dep2, 'succeeded');

-- the path identity mode: path is part of the match
SELECT pgchange.unlock('vshop');
RESET SESSION AUTHORIZATION;
SELECT pgchange.set_identity_mode('vpath', 'path');
SET SESSION AUTHORIZATION regress_ver_ci;
SELECT pgchange.lock('vpath', 'ci');
SELECT pgchange.begin_deployment('vpath') AS dep3 \gset
SELECT pgchange.record_changeset('vpath', :dep3, '1', 'alice', 'x/a.sql', '1:01');
SELECT pgchange.record_changeset('vpath', :dep3, '1', 'alice', 'y/a.sql', '1:02');
SELECT is(pgchange.record_verify('vpath', :dep3,
		'[{"id": "1", "author": "alice", "path": "y/a.sql", "verify": "SELECT 2"}]'), 1,
	'path identity: one of the two same-named changesets matches');
SELECT results_eq(
	$$SELECT path, verify_sql FROM pgchange.registry WHERE project = 'vpath' ORDER BY path$$,
	$$VALUES ('x/a.sql', NULL), ('y/a.sql', 'SELECT 2')$$,
	'the one with that path');

RESET SESSION AUTHORIZATION;
SELECT * FROM finish();
ROLLBACK;
