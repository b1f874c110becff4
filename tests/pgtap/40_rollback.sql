-- pgTAP: rolling back through the SQL API.  rollback_plan() (targets,
-- order, actions, what blocks, partly run changesets), run_rollback() (the
-- stored SQL, the caller's rights, the undo and the registry change in one
-- transaction, what it refuses), record_rollback() and
-- record_rollback_progress(), tags declared at deploy time (unique per
-- project), and who may call what.
BEGIN;
SELECT plan(54);

CREATE ROLE regress_rb_ci IN ROLE pgchange_deployer;
CREATE ROLE regress_rb_reader IN ROLE pgchange_reader;
CREATE SCHEMA regress_rb AUTHORIZATION regress_rb_ci;
-- a table the deployer may not drop: its rollback must fail with its rights
CREATE TABLE public.regress_rb_owned_by_admin (id int);

SET SESSION AUTHORIZATION regress_rb_ci;
SET search_path = regress_rb, public;
SELECT is(pgchange.lock('rb', 'pgtap'), 'acquired', 'the deployer takes the lock');
SELECT pgchange.begin_deployment('rb') AS dep \gset

-- deploy: 1 and 2 with rollbacks (2 tagged), 3 marked ran, 4 with an
-- empty rollback, 5 without, 6 non-transactional
SELECT pgchange.run_changeset('rb', :dep, '1', 'alice', 'rb.sql', pgchange.checksum('CREATE TABLE t1 ()'),
	'CREATE TABLE t1 ()', rollback_sql => 'DROP TABLE t1;') AS o1 \gset
SELECT lives_ok(format($$SELECT pgchange.run_changeset('rb', %s, '2', 'alice', 'rb.sql', '1:02',
	'CREATE TABLE t2 (id int); INSERT INTO t2 VALUES (1)', rollback_sql => 'DROP TABLE t2;', tag => 'v1')$$, :dep),
	'run_changeset records a declared tag');
SELECT is((SELECT tag FROM pgchange.registry WHERE project = 'rb' AND changeset_id = '2'), 'v1',
	'on the changeset that declares it');
SELECT is((SELECT count(*) FROM pgchange.events WHERE project = 'rb' AND kind = 'tag'), 1::bigint,
	'with a tag event');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('rb', %s, '9', 'alice', 'rb.sql', '1:09', tag => 'v1')$$, :dep),
	'23505', 'tag ''v1'' already exists in project ''rb''', 'a declared tag taken in the project is refused');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('rb', %s, '9', 'alice', 'rb.sql', '1:09', tag => '  ')$$, :dep),
	'22023', 'invalid tag ''  ''', 'a blank tag is refused');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('rb', %s, '2', 'alice', 'rb.sql', '1:02',
	exec_type => 'reran', rollback_sql => 'DROP TABLE t2;', tag => 'v1')$$, :dep),
	'the changeset carrying a tag may record it again (a rerun)');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('rb', %s, '3', 'alice', 'rb.sql', '1:03',
	exec_type => 'mark_ran')$$, :dep), 'a marked-ran changeset without rollback');
SELECT lives_ok(format($$SELECT pgchange.run_changeset('rb', %s, '4', 'alice', 'rb.sql', '1:04',
	'CREATE TABLE t4 ()', rollback_sql => '')$$, :dep), 'a changeset with an empty rollback');
SELECT lives_ok(format($$SELECT pgchange.run_changeset('rb', %s, '5', 'alice', 'rb.sql', '1:05',
	'CREATE TABLE t5 ()')$$, :dep), 'a changeset without rollback');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('rb', %s, '6', 'alice', 'rb.sql', '1:06',
	rollback_sql => 'DROP INDEX CONCURRENTLY i6;', rollback_statements => ARRAY['DROP INDEX CONCURRENTLY i6;'],
	rollback_in_transaction => false)$$, :dep), 'a changeset that ran outside a transaction');
SELECT is((SELECT rollback_checksum FROM pgchange.registry WHERE project = 'rb' AND changeset_id = '1'),
	pgchange.checksum('DROP TABLE t1;'), 'the rollback checksum is computed when it is recorded');

-- ----------------------------------------------------------- rollback_plan --
SELECT results_eq(
	$$SELECT step, changeset_id, action, coalesce(reason, '') FROM pgchange.rollback_plan('rb', count => 10)$$,
	$$VALUES (1, '6', 'rollback', ''), (2, '5', 'blocked', 'no rollback was recorded when it was deployed'),
			 (3, '4', 'unrecord', 'empty rollback: nothing to undo'),
			 (4, '3', 'unrecord', 'marked ran: nothing was executed'),
			 (5, '2', 'rollback', ''), (6, '1', 'rollback', '')$$,
	'rollback_plan: newest first, with what each step does and what blocks');
SELECT results_eq(
	$$SELECT changeset_id FROM pgchange.rollback_plan('rb', to_tag => 'v1')$$,
	$$VALUES ('6'), ('5'), ('4'), ('3')$$,
	'to_tag: everything applied after the tagged changeset, which stays');
SELECT results_eq(
	$$SELECT changeset_id FROM pgchange.rollback_plan('rb', count => 2)$$,
	$$VALUES ('6'), ('5')$$, 'count: the last N');
SELECT results_eq(
	format($$SELECT count(*) FROM pgchange.rollback_plan('rb', deployment => %s)$$, :dep),
	$$VALUES (6::bigint)$$, 'deployment: what that deployment applied');
SELECT is_empty(
	$$SELECT * FROM pgchange.rollback_plan('rb', to_date => 'infinity')$$,
	'to_date: nothing was applied after infinity');
SELECT results_eq(
	$$SELECT rollback_statements, rollback_in_transaction FROM pgchange.rollback_plan('rb', count => 1)$$,
	$$VALUES (ARRAY['DROP INDEX CONCURRENTLY i6;'], false)$$,
	'the plan has the stored statements and where they run');
SELECT throws_ok($$SELECT * FROM pgchange.rollback_plan('rb')$$, '22023',
	'a rollback needs exactly one target', 'no target is refused');
SELECT throws_ok($$SELECT * FROM pgchange.rollback_plan('rb', count => 1, to_tag => 'v1')$$, '22023',
	'a rollback needs exactly one target', 'two targets are refused');
SELECT throws_ok($$SELECT * FROM pgchange.rollback_plan('rb', count => 0)$$, '22023',
	'invalid rollback count 0', 'a count below 1 is refused');
SELECT throws_ok($$SELECT * FROM pgchange.rollback_plan('rb', to_tag => 'nope')$$, '22023',
	'tag ''nope'' does not exist in project ''rb''', 'an unknown tag is refused');
SELECT throws_ok($$SELECT * FROM pgchange.rollback_plan('rb', deployment => -1)$$, '22023',
	'deployment -1 of project ''rb'' does not exist', 'an unknown deployment is refused');

-- ------------------------------------------------------------ run_rollback --
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '6', 'alice')$$, :dep), '25001',
	'the rollback of changeset 6 by alice cannot run inside a transaction block',
	'a rollback recorded outside a transaction is refused inside one');
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '5', 'alice')$$, :dep), '55000',
	'changeset 5 by alice has no rollback', 'a changeset without rollback cannot be rolled back');
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '42', 'alice')$$, :dep), 'P0002',
	'changeset 42 by alice is not applied in project ''rb''', 'an unknown changeset is refused');
SELECT is(pgchange.run_rollback('rb', :dep, '4', 'alice'), 0, 'an empty rollback runs nothing');
SELECT ok(to_regclass('t4') IS NOT NULL, 'and leaves its table');
SELECT is(pgchange.run_rollback('rb', :dep, '3', 'alice'), 0, 'a marked-ran changeset runs nothing');
SELECT results_eq($$SELECT changeset_id FROM pgchange.registry WHERE project = 'rb' ORDER BY exec_order$$,
	$$VALUES ('1'), ('2'), ('5'), ('6')$$, 'both are unrecorded');

-- the stored SQL runs, and failing, undoes nothing
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '1', 'alice', lock_timeout => 'soon')$$, :dep),
	'22023', NULL, 'a bad lock_timeout is refused');
SELECT is(pgchange.run_rollback('rb', :dep, '2', 'alice'), 1, 'run_rollback runs the stored SQL');
SELECT ok(to_regclass('t2') IS NULL, 'which dropped t2');
SELECT is((SELECT count(*) FROM pgchange.registry WHERE project = 'rb' AND changeset_id = '2'), 0::bigint,
	'and unrecorded it, its tag with it');
SELECT is((SELECT detail->>'tag' FROM pgchange.events WHERE project = 'rb' AND kind = 'rollback'
			AND detail->>'id' = '2'), 'v1', 'the rollback event keeps the tag and the rest of the row');

RESET SESSION AUTHORIZATION;
UPDATE pgchange.registry SET rollback_sql = 'DROP TABLE t1; DROP TABLE public.regress_rb_owned_by_admin;'
 WHERE project = 'rb' AND changeset_id = '1';
SET SESSION AUTHORIZATION regress_rb_ci;
SET search_path = regress_rb, public;
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '1', 'alice')$$, :dep), '42501',
	'must be owner of table regress_rb_owned_by_admin', 'a rollback runs with the caller''s rights');
SELECT ok(to_regclass('t1') IS NOT NULL, 'and what it did before failing is undone');
SELECT is((SELECT count(*) FROM pgchange.registry WHERE project = 'rb' AND changeset_id = '1'), 1::bigint,
	'and the changeset stays recorded');

-- --------------------------------------------- the bookkeeping functions --
SELECT lives_ok(format($$SELECT pgchange.record_rollback_progress('rb', %s, '6', 'alice', '', 0, 1)$$, :dep),
	'record_rollback_progress starts the progress of a statement-by-statement rollback');
SELECT results_eq($$SELECT kind, statements_done, statements_total, rollback_sql FROM pgchange.progress WHERE project = 'rb'$$,
	$$VALUES ('rollback', 0, 1, 'DROP INDEX CONCURRENTLY i6;')$$, 'from the registry row');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('rb', %s, '6', 'alice', 'rb.sql', '1:06')$$, :dep),
	'55000', 'changeset 6 by alice is partly rolled back', 'a partly rolled back changeset cannot be deployed');
SELECT throws_ok(format($$SELECT pgchange.record_rollback_progress('rb', %s, '6', 'alice', '', 2, 1)$$, :dep),
	'22023', 'invalid progress 2 of 1', 'progress beyond the total is refused');
SELECT is(pgchange.record_rollback('rb', :dep, '6', 'alice'),
	(SELECT exec_order FROM pgchange.history WHERE project = 'rb' AND changeset_id = '6'),
	'record_rollback unrecords a changeset undone by hand, returning its execution order');
SELECT is_empty($$SELECT * FROM pgchange.progress WHERE project = 'rb'$$, 'and clears its progress');

-- a partly run changeset keeps its rollback in its progress
SELECT lives_ok(format($$SELECT pgchange.record_progress('rb', %s, '7', 'alice', 'rb.sql', '1:07', 1, 2,
	'DROP TABLE IF EXISTS t7;', NULL, false)$$, :dep), 'record_progress keeps the rollback');
SELECT results_eq($$SELECT changeset_id, exec_type, action, reason FROM pgchange.rollback_plan('rb', count => 1)$$,
	$$VALUES ('7', 'partial', 'rollback', 'partly run: its rollback undoes what was done')$$,
	'a partly run changeset comes first in the plan');
SELECT is(pgchange.record_rollback('rb', :dep, '7', 'alice'), NULL, 'and can be unrecorded');
SELECT is((SELECT detail->>'exec_type' FROM pgchange.events WHERE kind = 'rollback' AND detail->>'id' = '7'),
	'partial', 'which the event history says');
SELECT throws_ok(format($$SELECT pgchange.record_rollback('rb', %s, '7', 'alice')$$, :dep), 'P0002',
	'changeset 7 by alice is not applied in project ''rb''', 'twice is an error');

-- ------------------------------------------------------------- privileges --
SELECT pgchange.finish_deployment(:dep, 'succeeded') \gset
SELECT throws_ok(format($$SELECT pgchange.record_rollback('rb', %s, '1', 'alice')$$, :dep), '55000',
	NULL, 'record_rollback needs a running deployment');
SELECT pgchange.unlock('rb') \gset
SELECT pgchange.lock('rb', 'again') \gset
SELECT pgchange.begin_deployment('rb', 'rollback') AS dep2 \gset
SELECT pgchange.unlock('rb') \gset
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '1', 'alice')$$, :dep2), '55P03',
	'this role does not hold the deploy lock of project ''rb''', 'run_rollback needs the lock');
SET SESSION AUTHORIZATION regress_rb_reader;
SELECT is((SELECT count(*) FROM pgchange.rollback_plan('rb', count => 5)), 2::bigint,
	'a reader may look at a rollback plan');
SELECT throws_ok(format($$SELECT pgchange.run_rollback('rb', %s, '1', 'alice')$$, :dep2), '42501', NULL,
	'but may not run a rollback');
RESET SESSION AUTHORIZATION;
SELECT is_empty(
	$$SELECT p.oid::regprocedure FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace
		 AND p.proname IN ('rollback_plan', 'run_rollback', 'record_rollback', 'record_rollback_progress')
		 AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
	'PUBLIC may execute none of the rollback functions');

SELECT * FROM finish();
ROLLBACK;
