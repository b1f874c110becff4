-- pgTAP: the registry.  Its shape, changeset identity (project, id,
-- author) and the 'path' identity mode, deployments and their statuses,
-- record_changeset and its rules, the event history and its append-only
-- guard, atomic bookkeeping, and validate().
BEGIN;
SELECT plan(82);

CREATE ROLE regress_reg_ci IN ROLE pgchange_deployer;
CREATE ROLE regress_reg_ci2 IN ROLE pgchange_deployer;
CREATE ROLE regress_reg_admin IN ROLE pgchange_admin;
CREATE ROLE regress_reg_reader IN ROLE pgchange_reader;
-- where the deployer's changesets create their objects
CREATE SCHEMA regress_app AUTHORIZATION regress_reg_ci;

-- ---------------------------------------------------------------- shape --
SELECT has_table('pgchange', t, format('table pgchange.%s exists', t))
  FROM unnest(ARRAY['projects', 'deployment_log', 'registry', 'event_log', 'lock_lease',
					'freeze_window']::name[]) AS t;
SELECT has_view('pgchange', v, format('view pgchange.%s exists', v))
  FROM unnest(ARRAY['history', 'deployments', 'events']::name[]) AS v;
SELECT columns_are('pgchange', 'history',
	ARRAY['project', 'exec_order', 'changeset_id', 'author', 'path', 'exec_type',
		  'applied_at', 'applied_by', 'duration', 'checksum', 'tag', 'comment',
		  'deployment_id', 'deployment_metadata'],
	'pgchange.history has the documented columns');
SELECT columns_are('pgchange', 'deployments',
	ARRAY['deployment_id', 'project', 'kind', 'status', 'started_at', 'finished_at',
		  'duration', 'deployed_by', 'client_host', 'client_addr', 'application_name',
		  'controller_version', 'metadata', 'error', 'changesets'],
	'pgchange.deployments has the documented columns');
SELECT columns_are('pgchange', 'events',
	ARRAY['event_id', 'at', 'project', 'kind', 'actor', 'backend_pid', 'client_addr',
		  'application_name', 'deployment_id', 'detail'],
	'pgchange.events has the documented columns');
SELECT columns_are('pgchange', 'registry',
	ARRAY['project', 'changeset_id', 'author', 'identity_path', 'path', 'checksum',
		  'description', 'comment', 'contexts', 'labels', 'tag', 'exec_order',
		  'deployment_id', 'applied_at', 'applied_by', 'duration', 'exec_type',
		  'rollback_sql', 'rollback_checksum', 'rollback_statements',
		  'rollback_in_transaction', 'verify_sql'],
	'pgchange.registry has the documented columns');
SELECT col_is_pk('pgchange', 'registry',
	ARRAY['project', 'changeset_id', 'author', 'identity_path'],
	'the registry key is (project, id, author) plus identity_path, which is empty unless the mode is path');
SELECT ok(NOT EXISTS (SELECT FROM pg_index i
					   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
					  WHERE i.indrelid = 'pgchange.registry'::regclass AND i.indisprimary
						AND a.attname = 'path'),
	'the path is not part of the registry key');

-- ------------------------------------------------- recording needs the lock --
SET SESSION AUTHORIZATION regress_reg_ci;
SELECT throws_ok($$SELECT pgchange.begin_deployment('shop')$$, '55P03',
	'this role does not hold the deploy lock of project ''shop''',
	'begin_deployment without the lock fails');
SELECT throws_ok($$SELECT pgchange.record_changeset('shop', 1, '1', 'alice', 'a.sql', '1:00')$$,
	'55P03', 'this role does not hold the deploy lock of project ''shop''',
	'record_changeset without the lock fails');
SELECT is(pgchange.lock('shop', 'ci job 1', 'release 1'), 'acquired', 'the deployer takes the lock');
SELECT throws_ok($$SELECT pgchange.begin_deployment('shop', metadata => '"not an object"')$$,
	'22023', 'deployment metadata must be a JSON object', 'metadata that is a string is refused');
SELECT throws_ok($$SELECT pgchange.begin_deployment('shop', metadata => '[1, 2]')$$,
	'22023', 'deployment metadata must be a JSON object', 'metadata that is an array is refused');
SELECT throws_ok($$SELECT pgchange.record_changeset('shop', -1, '1', 'alice', 'a.sql', '1:00')$$,
	'55000', 'deployment -1 of project ''shop'' is not running',
	'record_changeset needs a running deployment');

SELECT pgchange.begin_deployment('shop',
	metadata => '{"git_sha": "4f2a9c1", "environment": "staging"}',
	controller_version => '0.2.0', client_host => 'runner-7') AS dep \gset
SELECT results_eq(
	format($$SELECT project, kind, status, deployed_by, controller_version, client_host,
					metadata, finished_at IS NULL, changesets
			   FROM pgchange.deployments WHERE deployment_id = %s$$, :dep),
	$$VALUES ('shop', 'deploy', 'running', 'regress_reg_ci'::name, '0.2.0', 'runner-7',
			  '{"git_sha": "4f2a9c1", "environment": "staging"}'::jsonb, true, 0::bigint)$$,
	'begin_deployment opens a running deployment with who, what and its metadata');

-- ------------------------------------------------------- record_changeset --
SELECT throws_ok(format($$SELECT pgchange.record_changeset('shop', %s, '9', 'alice', 'x.sql',
												  '1:00', exec_type => 'ran')$$, :dep),
	'22023', 'invalid exec type ''ran''', 'an unknown exec type is refused');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('shop', %s, '9', 'alice', 'x.sql',
												  'not a checksum')$$, :dep),
	'22023', 'invalid checksum ''not a checksum''', 'a malformed checksum is refused');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('shop', %s, '9', 'alice', 'x.sql',
												  '1:00', exec_type => NULL)$$, :dep),
	'22023', NULL, 'a NULL exec type is refused as an invalid parameter');

SELECT cmp_ok(pgchange.record_changeset('shop', :dep, '1', 'alice', 'db/001.sql',
										pgchange.checksum('SELECT 1;'), description => 'first'),
			  '>', 0::bigint, 'executed: record_changeset returns the execution order');
SELECT cmp_ok(pgchange.record_changeset('shop', :dep, '1', 'alice', 'moved/001.sql',
										pgchange.checksum('SELECT 1;'), exec_type => 'reran'),
			  '>', 0::bigint, 'reran: the same id and author under another path');
SELECT results_eq(
	$$SELECT changeset_id, author, path, exec_type FROM pgchange.history WHERE project = 'shop'$$,
	$$VALUES ('1', 'alice', 'moved/001.sql', 'reran')$$,
	'identity is (project, id, author): a new path updates the one row, it never adds one');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('shop', %s, '1', 'bob', 'db/001.sql',
												 '1:01')$$, :dep),
	'the same id by another author is another changeset');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('shop', %s, '3', 'bob', 'db/003.sql',
												 pgchange.checksum('SELECT 3;'), exec_type => 'mark_ran')$$, :dep),
	'mark_ran is recorded');
SELECT lives_ok(format($$SELECT pgchange.record_changeset('shop', %s, '4', 'bob', 'db/004.sql',
												 '1:04', exec_type => 'failed')$$, :dep),
	'failed is recorded');
SELECT results_eq(
	$$SELECT changeset_id, author, exec_type, applied_by FROM pgchange.history
	   WHERE project = 'shop' ORDER BY exec_order$$,
	$$VALUES ('1', 'alice', 'reran', 'regress_reg_ci'::name), ('1', 'bob', 'executed', 'regress_reg_ci'),
			 ('3', 'bob', 'mark_ran', 'regress_reg_ci'), ('4', 'bob', 'failed', 'regress_reg_ci')$$,
	'history lists the changesets in execution order with their exec types');
SELECT is((SELECT changesets FROM pgchange.deployments WHERE deployment_id = :dep), 4::bigint,
	'the deployments view counts the changesets of the run');

-- --------------------------------------------------------- identity mode --
SELECT throws_ok($$SELECT pgchange.set_identity_mode('shop', 'path')$$, '55000',
	'cannot change the identity mode of project ''shop'' after changesets were applied',
	'the identity mode is fixed once changesets were applied');
SELECT lives_ok($$SELECT pgchange.set_identity_mode('shop', 'id_author')$$,
	'setting the mode a project already has is a no-op, even after deploys');
SELECT throws_ok($$SELECT pgchange.set_identity_mode('legacy', 'bogus')$$, '22023',
	'invalid identity mode ''bogus''', 'an unknown identity mode is refused');
SELECT throws_ok($$SELECT pgchange.set_identity_mode('legacy', NULL)$$, '22023', NULL,
	'a NULL identity mode is refused as an invalid parameter');
SELECT lives_ok($$SELECT pgchange.set_identity_mode('legacy', 'path')$$,
	'the path identity mode is chosen before the first deploy');
SELECT is((SELECT identity_mode FROM pgchange.projects WHERE project = 'legacy'), 'path',
	'the project records its identity mode');
SELECT is(pgchange.lock('legacy', 'ci job 1'), 'acquired', 'the deployer locks the second project');
SELECT pgchange.begin_deployment('legacy') AS dep2 \gset
SELECT lives_ok(format($$SELECT pgchange.record_changeset('legacy', %1$s, '1', 'alice', 'a/tables.sql', '1:aa'),
							   pgchange.record_changeset('legacy', %1$s, '1', 'alice', 'b/views.sql', '1:bb'),
							   pgchange.record_changeset('legacy', %1$s, '1', 'alice', 'a/tables.sql', '1:ab')$$,
						:dep2),
	'in path mode one id:author is recorded under two paths');
SELECT results_eq(
	$$SELECT path, checksum FROM pgchange.history WHERE project = 'legacy' ORDER BY path$$,
	$$VALUES ('a/tables.sql', '1:ab'), ('b/views.sql', '1:bb')$$,
	'path mode: two paths are two rows, the same path again updates its row');

-- ---------------------------------------------------- finish_deployment --
SELECT throws_ok(format($$SELECT pgchange.finish_deployment(%s, 'done')$$, :dep), '22023',
	'invalid deployment status ''done''', 'an unknown final status is refused');
SELECT throws_ok(format($$SELECT pgchange.finish_deployment(%s, NULL)$$, :dep), '22023', NULL,
	'a NULL final status is refused as an invalid parameter');
SELECT throws_ok($$SELECT pgchange.begin_deployment('shop', kind => 'bogus')$$, '22023', NULL,
	'an unknown deployment kind is refused as an invalid parameter');
SET SESSION AUTHORIZATION regress_reg_ci2;
SELECT throws_ok(format($$SELECT pgchange.finish_deployment(%s, 'succeeded')$$, :dep), '42501',
	format('deployment %s belongs to role regress_reg_ci', :dep),
	'another deployer cannot close someone else''s deployment');
SET SESSION AUTHORIZATION regress_reg_ci;
SELECT lives_ok(format($$SELECT pgchange.finish_deployment(%s, 'succeeded')$$, :dep),
	'the deployer closes its deployment');
SELECT results_eq(
	format($$SELECT status, finished_at IS NOT NULL, duration IS NOT NULL, error
			   FROM pgchange.deployments WHERE deployment_id = %s$$, :dep),
	$$VALUES ('succeeded', true, true, NULL::text)$$,
	'a finished deployment has its status, end and duration');
SELECT throws_ok(format($$SELECT pgchange.finish_deployment(%s, 'failed')$$, :dep), '55000',
	format('deployment %s is not running', :dep), 'a deployment is finished only once');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('shop', %s, '5', 'bob', 'db/005.sql', '1:05')$$, :dep),
	'55000', format('deployment %s of project ''shop'' is not running', :dep),
	'nothing is recorded into a finished deployment');
SET SESSION AUTHORIZATION regress_reg_admin;
SELECT lives_ok(format($$SELECT pgchange.finish_deployment(%s, 'aborted', 'runner lost')$$, :dep2),
	'an admin may close another role''s deployment');
SELECT is((SELECT status || ': ' || error FROM pgchange.deployments WHERE deployment_id = :dep2),
	'aborted: runner lost', 'the aborted deployment keeps its error');

-- ------------------------------------------------------------- the events --
RESET SESSION AUTHORIZATION;
SELECT results_eq(
	format($$SELECT kind, actor, detail->>'id', detail->>'exec_type'
			   FROM pgchange.events WHERE deployment_id = %s ORDER BY event_id$$, :dep),
	$$VALUES ('deploy_start', 'regress_reg_ci'::name, NULL, NULL),
			 ('changeset', 'regress_reg_ci', '1', 'executed'),
			 ('rerun', 'regress_reg_ci', '1', 'reran'),
			 ('changeset', 'regress_reg_ci', '1', 'executed'),
			 ('mark_ran', 'regress_reg_ci', '3', 'mark_ran'),
			 ('changeset', 'regress_reg_ci', '4', 'failed'),
			 ('deploy_end', 'regress_reg_ci', NULL, NULL)$$,
	'the event log has deploy_start, changeset, rerun, mark_ran and deploy_end, by the session user');
SELECT is((SELECT detail FROM pgchange.events WHERE deployment_id = :dep AND kind = 'deploy_end'),
	'{"error": null, "status": "succeeded"}'::jsonb, 'deploy_end records the status');
SELECT is((SELECT detail->'metadata' FROM pgchange.events WHERE deployment_id = :dep AND kind = 'deploy_start'),
	'{"git_sha": "4f2a9c1", "environment": "staging"}'::jsonb, 'deploy_start records the metadata');
SELECT is((SELECT actor::text FROM pgchange.events WHERE deployment_id = :dep2 AND kind = 'deploy_end'),
	'regress_reg_admin', 'the actor is the session user who acted, not the deployment''s owner');
SELECT results_eq(
	$$SELECT kind, actor, detail FROM pgchange.events
	   WHERE project = 'legacy' AND kind IN ('project', 'identity_mode') ORDER BY event_id$$,
	$$VALUES ('project', 'regress_reg_ci'::name, '{}'::jsonb),
			 ('identity_mode', 'regress_reg_ci', '{"to": "path", "from": "id_author"}'::jsonb)$$,
	'a new project and an identity mode change are events too');

-- the event log is append-only, even for a superuser
SELECT throws_ok($$UPDATE pgchange.event_log SET actor = 'someone else'$$, '42501',
	'pgchange.event_log is append-only', 'UPDATE of the event log is refused, even for the superuser');
SELECT throws_ok($$DELETE FROM pgchange.event_log$$, '42501',
	'pgchange.event_log is append-only', 'DELETE from the event log is refused, even for the superuser');
SELECT throws_ok($$TRUNCATE pgchange.event_log$$, '42501',
	'pgchange.event_log is append-only', 'TRUNCATE of the event log is refused, even for the superuser');
SELECT throws_ok($$TRUNCATE pgchange.event_log CASCADE$$, '42501',
	'pgchange.event_log is append-only', 'TRUNCATE ... CASCADE is refused too');

-- --------------------------------------------------------------- atomicity --
-- A changeset and its registry row commit or roll back together.  The
-- savepoint stands for the changeset's transaction; no assertion runs
-- inside it, because pgTAP's own bookkeeping would roll back with it.
SET SESSION AUTHORIZATION regress_reg_ci;
SELECT pgchange.begin_deployment('shop') AS dep3 \gset
SAVEPOINT changeset;
CREATE TABLE regress_app.customer (id bigint PRIMARY KEY);
SELECT pgchange.record_changeset('shop', :dep3, '10', 'alice', 'db/010.sql',
	pgchange.checksum('CREATE TABLE regress_app.customer (id bigint PRIMARY KEY);')) AS ord \gset
ROLLBACK TO SAVEPOINT changeset;
SELECT is(to_regclass('regress_app.customer'), NULL, 'rolled back: the table does not exist');
SELECT is_empty($$SELECT FROM pgchange.registry WHERE project = 'shop' AND changeset_id = '10'$$,
	'rolled back: the registry row does not exist either');
SELECT is_empty($$SELECT FROM pgchange.events WHERE project = 'shop' AND detail->>'id' = '10'$$,
	'rolled back: neither does its event');
SAVEPOINT changeset;
CREATE TABLE regress_app.customer (id bigint PRIMARY KEY);
SELECT pgchange.record_changeset('shop', :dep3, '10', 'alice', 'db/010.sql',
	pgchange.checksum('CREATE TABLE regress_app.customer (id bigint PRIMARY KEY);')) AS ord \gset
RELEASE SAVEPOINT changeset;
SELECT isnt(to_regclass('regress_app.customer'), NULL, 'committed: the table exists');
SELECT results_eq(
	$$SELECT changeset_id, exec_type FROM pgchange.registry WHERE project = 'shop' AND changeset_id = '10'$$,
	$$VALUES ('10', 'executed')$$, 'committed: its registry row exists');

-- ----------------------------------------------------------------- validate --
-- The registry of 'shop' now holds 1/alice (SELECT 1;), 1/bob, 3/bob
-- (mark_ran, SELECT 3;), 4/bob (failed) and 10/alice.
SET SESSION AUTHORIZATION regress_reg_reader;
SELECT results_eq(
	format($$SELECT seq, changeset_id, author, status, applied_checksum IS NOT NULL
			   FROM pgchange.validate('shop', %L)$$,
		   jsonb_build_array(
			   jsonb_build_object('id', '1', 'author', 'alice', 'path', 'moved/001.sql',
								  'checksum', pgchange.checksum(E'SELECT  1 ; -- reformatted\n')),
			   jsonb_build_object('id', '2', 'author', 'alice', 'checksum', '1:02'),
			   jsonb_build_object('id', '3', 'author', 'bob', 'checksum', pgchange.checksum('SELECT 33;')),
			   jsonb_build_object('id', '4', 'author', 'bob', 'checksum', '1:04'),
			   jsonb_build_object('id', '10', 'author', 'alice',
								  'checksum', pgchange.checksum('CREATE TABLE regress_app.customer (id bigint PRIMARY KEY);')),
			   jsonb_build_object('id', '11', 'author', 'alice', 'checksum', '1:11'))),
	$$VALUES (0, '1', 'alice', 'ok', true),
			 (1, '2', 'alice', 'out_of_order', false),
			 (2, '3', 'bob', 'changed', true),
			 (3, '4', 'bob', 'out_of_order', false),
			 (4, '10', 'alice', 'ok', true),
			 (5, '11', 'alice', 'pending', false),
			 (NULL, '1', 'bob', 'missing_from_files', true)$$,
	'validate: ok (cosmetic edit), out_of_order, changed, a failed run is not applied, pending, missing_from_files');
SELECT results_eq(
	format($$SELECT changeset_id, status FROM pgchange.validate('shop', %L) WHERE seq IS NOT NULL$$,
		   jsonb_build_array(
			   jsonb_build_object('id', '3', 'author', 'bob', 'checksum', '1:33',
								  'valid_checksums', jsonb_build_array(pgchange.checksum('SELECT 3;'))),
			   jsonb_build_object('id', '1', 'author', 'bob', 'checksum', '1:99',
								  'valid_checksums', jsonb_build_array('ANY')),
			   jsonb_build_object('id', '10', 'author', 'alice', 'checksum', '1:99',
								  'valid_checksums', jsonb_build_array('1:98')))),
	$$VALUES ('3', 'ok'), ('1', 'ok'), ('10', 'changed')$$,
	'validate: valid_checksums accepts a listed applied checksum, or any with "ANY"');
SELECT results_eq(
	$$SELECT seq, status FROM pgchange.validate('nosuch', '[{"id": "1", "author": "a", "checksum": "1:00"}]')$$,
	$$VALUES (0, 'pending')$$, 'validate: everything is pending for an unknown project');
SELECT results_eq(
	$$SELECT seq, path, status FROM pgchange.validate('legacy', '[
		{"id": "1", "author": "alice", "path": "a/tables.sql", "checksum": "1:ab"},
		{"id": "1", "author": "alice", "path": "b/views.sql", "checksum": "1:bc"},
		{"id": "1", "author": "alice", "path": "c/new.sql", "checksum": "1:cc"}]')$$,
	$$VALUES (0, 'a/tables.sql', 'ok'), (1, 'b/views.sql', 'changed'), (2, 'c/new.sql', 'pending')$$,
	'validate in path mode matches on the path too');
SELECT throws_ok($$SELECT * FROM pgchange.validate('shop', '{"id": "1"}')$$, '22023',
	'the manifest must be a JSON array', 'validate refuses a manifest that is not an array');
SELECT throws_ok($$SELECT * FROM pgchange.validate('shop', NULL)$$, '22023',
	'the manifest must be a JSON array', 'validate refuses a NULL manifest');
SELECT throws_ok($$SELECT * FROM pgchange.validate('shop', '[{"id": 1, "author": "a", "checksum": "1:00"}]')$$,
	'22023', 'invalid manifest entry {"id": 1, "author": "a", "checksum": "1:00"}',
	'validate names a manifest entry whose id is not a string');
SELECT throws_ok($$SELECT * FROM pgchange.validate('shop', '[{"id": "1", "author": "a"}]')$$,
	'22023', 'invalid manifest entry {"id": "1", "author": "a"}',
	'validate names a manifest entry without a checksum');
SELECT throws_ok($$SELECT * FROM pgchange.validate('shop', '[{"id": "1", "author": "a", "checksum": "1:00", "path": 7}]')$$,
	'22023', 'invalid manifest entry {"id": "1", "path": 7, "author": "a", "checksum": "1:00"}',
	'validate names a manifest entry whose path is not a string');

-- Rows come back in changelog order whatever plan the join gets: 400
-- changesets recorded in the reverse of their changelog order, with fresh
-- statistics, make the planner hash the manifest side of the join.
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_reg_ci;
SELECT is(pgchange.lock('big', 'ci'), 'acquired', 'a third project for the ordering check');
SELECT pgchange.begin_deployment('big') AS dep4 \gset
SELECT count(pgchange.record_changeset('big', :dep4, 'c' || i, 'alice', 'big.sql', '1:' || md5(i::text))) AS n
	FROM generate_series(400, 1, -1) AS i \gset
RESET SESSION AUTHORIZATION;
ANALYZE pgchange.registry;
SELECT is(
	(SELECT min(v.ordinality) FROM pgchange.validate('big',
		(SELECT jsonb_agg(jsonb_build_object('id', 'c' || i, 'author', 'alice', 'checksum', '1:' || md5(i::text))
						  ORDER BY i)
		   FROM generate_series(1, 405) AS i)) WITH ORDINALITY AS v
	  WHERE v.seq IS DISTINCT FROM v.ordinality - 1),
	NULL,
	'validate returns the rows in changelog order, whatever the join plan (have: first row out of order)');

-- ------------------------------------------------------ hostile identities --
SET SESSION AUTHORIZATION regress_reg_ci;
SELECT lives_ok(format($$SELECT pgchange.record_changeset('shop', %s, %L, %L, %L, '1:0a')$$, :dep3,
					   $q$x'); DROP TABLE pgchange.registry; --$q$, 'ünïcødé "quoted" author',
					   E'db/we\\ird;path''.sql'),
	'ids, authors and paths with quotes, semicolons and unicode are data');
SELECT results_eq(
	format($$SELECT changeset_id, author, path FROM pgchange.history WHERE deployment_id = %s AND checksum = '1:0a'$$, :dep3),
	format($$VALUES (%L, %L, %L)$$, $q$x'); DROP TABLE pgchange.registry; --$q$, 'ünïcødé "quoted" author',
		   E'db/we\\ird;path''.sql'),
	'and come back exactly as given');
SELECT throws_ok(format($$SELECT pgchange.record_changeset('shop', %s, '', 'alice', 'e.sql', '1:0e')$$, :dep3),
	'23514', NULL, 'an empty changeset id is refused');

-- Last, because a failure here really empties the event log: the guard
-- must also hold when a superuser turns ordinary triggers off.
RESET SESSION AUTHORIZATION;
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$DELETE FROM pgchange.event_log$$, '42501', 'pgchange.event_log is append-only',
	'DELETE is refused even with session_replication_role = replica');
SELECT throws_ok($$TRUNCATE pgchange.event_log$$, '42501', 'pgchange.event_log is append-only',
	'TRUNCATE is refused even with session_replication_role = replica');
RESET session_replication_role;

SELECT * FROM finish();
ROLLBACK;
