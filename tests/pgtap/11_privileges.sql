-- pgTAP: roles and privileges.  Who may execute every function and read
-- every table and view; that nobody writes the tables directly; that
-- freezes and breaking a live lock are for pgchange_admin; that every
-- SECURITY DEFINER function pins its search_path; that only version() and
-- checksum() are open to PUBLIC; and that hostile project names are data.
BEGIN;
SELECT plan(209);

CREATE ROLE regress_priv_a IN ROLE pgchange_deployer;
CREATE ROLE regress_priv_b IN ROLE pgchange_deployer;
CREATE ROLE regress_priv_admin IN ROLE pgchange_admin;
CREATE ROLE regress_priv_reader IN ROLE pgchange_reader;
CREATE ROLE regress_priv_nobody;

-- ------------------------------------------------------------------ roles --
SELECT has_role(r, format('role %s exists', r))
  FROM unnest(ARRAY['pgchange_reader', 'pgchange_deployer', 'pgchange_admin']::name[]) AS r;
SELECT is_member_of('pgchange_reader', 'pgchange_deployer', 'a deployer is a reader');
SELECT is_member_of('pgchange_deployer', 'pgchange_admin', 'an admin is a deployer');
SELECT ok(NOT pg_has_role('pgchange_reader', 'pgchange_deployer', 'MEMBER'),
	'a reader is not a deployer');
SELECT ok(NOT pg_has_role('pgchange_deployer', 'pgchange_admin', 'MEMBER'),
	'a deployer is not an admin');
SELECT is((SELECT bool_or(rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)
			 FROM pg_roles WHERE rolname IN ('pgchange_reader', 'pgchange_deployer', 'pgchange_admin')),
	false, 'the pgchange roles are group roles without login or other attributes');

-- ----------------------------------------------------- function privileges --
-- Any function, present or future: EXECUTE goes to the pgchange roles
-- only (PUBLIC is checked below), never to another role.
SELECT is_empty(
	$$SELECT p.oid::regprocedure, a.grantee::regrole
		FROM pg_proc p, aclexplode(p.proacl) AS a
	   WHERE p.pronamespace = 'pgchange'::regnamespace AND a.grantee <> 0
		 AND a.grantee <> p.proowner
		 AND a.grantee::regrole::text NOT IN ('pgchange_reader', 'pgchange_deployer', 'pgchange_admin')$$,
	'functions in pgchange grant EXECUTE to pgchange roles only');
SELECT is_empty(
	$$SELECT p.oid::regprocedure FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace AND p.proacl IS NULL$$,
	'no function in pgchange has the default ACL (EXECUTE for PUBLIC)');

-- The core (registry, lock, freezes, checksums, validation), function by
-- function.  Level needed to execute: 0 everyone, 1 reader, 2 deployer,
-- 3 admin, 4 nobody (internal helpers, reached only through the others).
SELECT function_privs_are('pgchange', f.name, f.args, r.role,
		CASE WHEN r.level >= f.level THEN ARRAY['EXECUTE'] ELSE ARRAY[]::name[] END,
		format('%s %s execute pgchange.%s(%s)', r.role,
			   CASE WHEN r.level >= f.level THEN 'may' ELSE 'may not' END,
			   f.name, array_to_string(f.args, ', ')))
  FROM (VALUES
		('version', ARRAY[]::name[], 0),
		('checksum', ARRAY['text'], 0),
		('lock_status', ARRAY[]::name[], 1),
		('validate', ARRAY['text', 'jsonb'], 1),
		('lock', ARRAY['text', 'text', 'text', 'interval', 'interval'], 2),
		('lock_heartbeat', ARRAY['text', 'interval'], 2),
		('unlock', ARRAY['text', 'boolean'], 2),
		('begin_deployment', ARRAY['text', 'text', 'jsonb', 'text', 'text'], 2),
		('finish_deployment', ARRAY['bigint', 'text', 'text'], 2),
		('record_changeset', ARRAY['text', 'bigint', 'text', 'text', 'text', 'text', 'text',
								   'interval', 'text', 'text', 'text', 'text', 'text',
								   'text[]', 'boolean', 'text'], 2),
		('set_identity_mode', ARRAY['text', 'text'], 2),
		('freeze', ARRAY['text', 'text', 'timestamptz'], 3),
		('unfreeze', ARRAY['text'], 3),
		('event_log_append_only', ARRAY[]::name[], 4),
		('_event', ARRAY['text', 'text', 'jsonb', 'bigint'], 4),
		('_ensure_project', ARRAY['text'], 4),
		('_is_admin', ARRAY[]::name[], 4),
		('_backend_alive', ARRAY['integer', 'timestamptz'], 4),
		('_try_lock', ARRAY['text', 'text', 'text', 'interval'], 4),
		('_require_lock', ARRAY['text'], 4)) AS f(name, args, level)
  CROSS JOIN (VALUES ('public'::name, 0), ('pgchange_reader', 1),
					 ('pgchange_deployer', 2), ('pgchange_admin', 3)) AS r(role, level)
 ORDER BY f.level, f.name, r.level;

SELECT bag_eq(
	$$SELECT p.oid::regprocedure::text FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace
		 AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
	$$VALUES ('pgchange.version()'), ('pgchange.checksum(text)'), ('pgchange.split_sql(text)')$$,
	'PUBLIC may execute version() and checksum() and no other function of the schema');
SELECT bag_eq(
	$$SELECT p.oid::regprocedure::text FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace
		 AND has_function_privilege('regress_priv_nobody', p.oid, 'EXECUTE')$$,
	$$VALUES ('pgchange.version()'), ('pgchange.checksum(text)'), ('pgchange.split_sql(text)')$$,
	'so does a role that is in no pgchange role');

-- a SECURITY DEFINER function without a pinned search_path can be made to
-- call objects the caller planted: fail for any, present or future
SELECT is_empty(
	$$SELECT p.oid::regprocedure FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace AND p.prosecdef
		 AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
	'every SECURITY DEFINER function in pgchange has search_path=pg_catalog, pg_temp');
SELECT cmp_ok((SELECT count(*) FROM pg_proc p
				WHERE p.pronamespace = 'pgchange'::regnamespace AND p.prosecdef),
	'>=', 11::bigint, 'the check above saw the SECURITY DEFINER functions');
SELECT is_empty(
	$$SELECT p.oid::regprocedure FROM pg_proc p
	   JOIN pg_language l ON l.oid = p.prolang
	   WHERE p.pronamespace = 'pgchange'::regnamespace AND l.lanname IN ('sql', 'plpgsql')
		 AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)$$,
	'every SQL and PL/pgSQL function in pgchange pins its search_path too');
SELECT is_empty(
	$$SELECT p.oid::regprocedure FROM pg_proc p
	   WHERE p.pronamespace = 'pgchange'::regnamespace AND p.prosecdef
		 AND NOT (SELECT rolsuper FROM pg_roles WHERE oid = p.proowner)$$,
	'the SECURITY DEFINER functions are owned by a superuser (the extension''s owner)');

-- ------------------------------------------------ table and view privileges --
SELECT schema_privs_are('pgchange', r, ARRAY['USAGE'],
		format('%s may look up names in schema pgchange but not create objects there', r))
  FROM unnest(ARRAY['public', 'pgchange_reader', 'pgchange_deployer', 'pgchange_admin']::name[]) AS r;

SELECT table_privs_are('pgchange', t, r.role,
		CASE WHEN r.level >= 1 THEN ARRAY['SELECT'] ELSE ARRAY[]::name[] END,
		format('%s may %s pgchange.%s', r.role,
			   CASE WHEN r.level >= 1 THEN 'only read' ELSE 'not read or write' END, t))
  FROM unnest(ARRAY['projects', 'deployment_log', 'registry', 'event_log', 'lock_lease',
					'freeze_window', 'history', 'deployments', 'events']::name[]) AS t
  CROSS JOIN (VALUES ('public'::name, 0), ('pgchange_reader', 1),
					 ('pgchange_deployer', 2), ('pgchange_admin', 3)) AS r(role, level)
 ORDER BY t, r.level;

-- Any table, view or sequence, present or future: PUBLIC gets nothing, the
-- pgchange roles at most SELECT.
SELECT is_empty(
	$$SELECT c.oid::regclass, r.role FROM pg_class c
	   CROSS JOIN unnest(ARRAY['public', 'pgchange_reader', 'pgchange_deployer', 'pgchange_admin']) AS r(role)
	   WHERE c.relnamespace = 'pgchange'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
		 AND (has_table_privilege(r.role, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
			  OR (r.role = 'public' AND has_table_privilege(r.role, c.oid, 'SELECT')))$$,
	'no table or view in pgchange is writable by a pgchange role, or readable by PUBLIC');
SELECT is_empty(
	$$SELECT c.relname, r.role FROM pg_class c
	   CROSS JOIN unnest(ARRAY['public', 'pgchange_reader', 'pgchange_deployer', 'pgchange_admin']) AS r(role)
	   WHERE c.relnamespace = 'pgchange'::regnamespace AND c.relkind = 'S'
		 AND has_sequence_privilege(r.role, c.oid, 'USAGE, SELECT, UPDATE')$$,
	'nobody but the owner may use the sequences of the schema');

-- ---------------------------------------------- nobody writes the tables --
SET SESSION AUTHORIZATION regress_priv_a;
SELECT throws_ok(format(s.stmt, t), '42501', format('permission denied for table %s', t),
		format('a deployer cannot %s pgchange.%s directly', s.verb, t))
  FROM unnest(ARRAY['registry', 'event_log', 'lock_lease', 'deployment_log', 'projects',
					'freeze_window']) AS t
  CROSS JOIN (VALUES
		('INSERT into', $$INSERT INTO pgchange.%I DEFAULT VALUES$$),
		('UPDATE', $$UPDATE pgchange.%I SET project = 'x'$$),
		('DELETE from', $$DELETE FROM pgchange.%I$$),
		('TRUNCATE', $$TRUNCATE pgchange.%I$$)) AS s(verb, stmt)
 ORDER BY t, s.verb;
SELECT throws_ok($$SELECT nextval('pgchange.exec_order_seq')$$, '42501',
	'permission denied for sequence exec_order_seq', 'a deployer cannot draw execution orders');
SELECT throws_ok($$SELECT pgchange._event('app', 'lock', '{}')$$, '42501',
	'permission denied for function _event', 'a deployer cannot forge events through the helper');

-- ------------------------------------------------------------------ reader --
SET SESSION AUTHORIZATION regress_priv_reader;
SELECT lives_ok(format('SELECT * FROM pgchange.%I', v), format('a reader can read pgchange.%s', v))
  FROM unnest(ARRAY['history', 'deployments', 'events']) AS v;
SELECT lives_ok($$SELECT * FROM pgchange.lock_status()$$, 'a reader can see the locks');
SELECT lives_ok($$SELECT * FROM pgchange.validate('app', '[]')$$, 'a reader can validate');
SELECT throws_ok($$SELECT pgchange.lock('app')$$, '42501',
	'permission denied for function lock', 'a reader cannot take the lock');
SELECT throws_ok($$SELECT pgchange.unlock('app')$$, '42501',
	'permission denied for function unlock', 'a reader cannot release a lock');
SELECT throws_ok($$INSERT INTO pgchange.event_log (kind) VALUES ('lock')$$, '42501',
	'permission denied for table event_log', 'a reader cannot write events');
SET SESSION AUTHORIZATION regress_priv_nobody;
SELECT throws_ok($$SELECT * FROM pgchange.history$$, '42501',
	'permission denied for view history', 'a role outside pgchange cannot read the history');
SELECT throws_ok($$SELECT * FROM pgchange.lock_status()$$, '42501',
	'permission denied for function lock_status', 'nor see the locks');
SELECT is(pgchange.checksum('SELECT 1'), '1:' || encode(sha256('SELECT 1'), 'hex'),
	'but it can compute a checksum');

-- ---------------------------------------------------- freezes are for admins --
SET SESSION AUTHORIZATION regress_priv_a;
SELECT throws_ok($$SELECT pgchange.freeze('app', 'close')$$, '42501',
	'permission denied for function freeze', 'a deployer cannot freeze deployments');
SELECT throws_ok($$SELECT pgchange.unfreeze('app')$$, '42501',
	'permission denied for function unfreeze', 'a deployer cannot end a freeze');
-- The functions check membership themselves too, so a stray GRANT EXECUTE
-- does not hand out freezes.
RESET SESSION AUTHORIZATION;
GRANT EXECUTE ON FUNCTION pgchange.freeze(text, text, timestamptz), pgchange.unfreeze(text)
	TO regress_priv_b;
SET SESSION AUTHORIZATION regress_priv_b;
SELECT throws_ok($$SELECT pgchange.freeze('app', 'close')$$, '42501',
	'only pgchange_admin can freeze deployments',
	'with EXECUTE granted, a non-admin still cannot freeze');
SELECT throws_ok($$SELECT pgchange.unfreeze('app')$$, '42501',
	'only pgchange_admin can end a freeze',
	'with EXECUTE granted, a non-admin still cannot end a freeze');
RESET SESSION AUTHORIZATION;
REVOKE EXECUTE ON FUNCTION pgchange.freeze(text, text, timestamptz), pgchange.unfreeze(text)
	FROM regress_priv_b;
SET SESSION AUTHORIZATION regress_priv_admin;
SELECT lives_ok($$SELECT pgchange.freeze('app', 'quarter-end close')$$, 'an admin can freeze');
SELECT is(pgchange.unfreeze('app'), true, 'an admin can end the freeze');

-- ----------------------------------------- breaking another role's live lock --
-- One session, two roles: SET SESSION AUTHORIZATION changes session_user
-- but not the backend, so role a's lock is held by a live backend (this
-- one) and is "another role's live lock" for role b.
SET SESSION AUTHORIZATION regress_priv_a;
SELECT is(pgchange.lock('app', 'ci job a', 'release 1'), 'acquired', 'deployer a takes the lock');
SET SESSION AUTHORIZATION regress_priv_b;
SELECT results_eq(
	$$SELECT holder_role, holder_alive, state FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('regress_priv_a'::name, true, 'locked')$$,
	'seen from role b, the lock is held by role a in a live backend');
SELECT throws_ok($$SELECT pgchange.unlock('app')$$, '55P03',
	'the lock of project ''app'' is held by ''ci job a'', not by this role',
	'deployer b cannot release deployer a''s lock');
SELECT throws_ok($$SELECT pgchange.unlock('app', force => true)$$, '42501',
	'only pgchange_admin can break another role''s live lock',
	'deployer b cannot break it with force either');
SELECT throws_ok($$SELECT pgchange.lock_heartbeat('app')$$, '55P03',
	'this role does not hold the lock of project ''app''', 'deployer b cannot renew it');
SET SESSION AUTHORIZATION regress_priv_admin;
SELECT throws_ok($$SELECT pgchange.unlock('app')$$, '55P03',
	'the lock of project ''app'' is held by ''ci job a'', not by this role',
	'an admin breaks a lock only when saying force => true');
SELECT is(pgchange.unlock('app', force => true), true, 'an admin breaks it with force => true');
RESET SESSION AUTHORIZATION;
SELECT results_eq(
	$$SELECT actor, detail->>'holder_role', detail->>'owner', detail->>'reason', (detail->>'holder_pid')::int
		FROM pgchange.events WHERE project = 'app' AND kind = 'lock_broken'$$,
	$$VALUES ('regress_priv_admin'::name, 'regress_priv_a', 'ci job a', 'release 1', pg_backend_pid())$$,
	'the break is a lock_broken event by the admin, naming the previous holder');
SELECT is((SELECT state FROM pgchange.lock_status() WHERE project = 'app'), 'free',
	'the lock is free after the break');

-- -------------------------------------------------------- hostile project names --
SET SESSION AUTHORIZATION regress_priv_a;
SELECT is(pgchange.lock(n, 'o'), 'acquired', format('project name %s is data', d))
  FROM (VALUES ($$x'); DROP TABLE pgchange.registry; --$$, 'with a quote and a semicolon'),
			   ('"; SELECT pg_sleep(10); --', 'with a double quote'),
			   (E'back\\slash %s %I $$', 'with a backslash, format codes and dollars'),
			   ('déploiement 🚀 发布', 'in unicode'),
			   (repeat('x', 200), 'of 200 characters'),
			   (repeat('é', 200), 'of 200 two-byte characters')) AS h(n, d);
SELECT bag_eq(
	$$SELECT project, owner FROM pgchange.lock_status() WHERE state = 'locked'$$,
	format($$VALUES (%L, 'o'), (%L, 'o'), (%L, 'o'), (%L, 'o'), (%L, 'o'), (%L, 'o')$$,
		   $q$x'); DROP TABLE pgchange.registry; --$q$, '"; SELECT pg_sleep(10); --',
		   E'back\\slash %s %I $$', 'déploiement 🚀 发布', repeat('x', 200), repeat('é', 200)),
	'hostile names are stored exactly as given');
SELECT has_table('pgchange', 'registry', 'and the registry is still there');
SELECT is(pgchange.unlock($$x'); DROP TABLE pgchange.registry; --$$), true,
	'a hostile name is unlocked like any other');
SELECT throws_ok($$SELECT pgchange.lock(repeat('x', 201))$$, '22023',
	format('invalid project name %s', quote_literal(repeat('x', 201))),
	'a project name of 201 characters is refused');
SELECT throws_ok($$SELECT pgchange.lock('')$$, '22023', 'invalid project name ''''',
	'an empty project name is refused');
SELECT throws_ok($$SELECT pgchange.lock(E'bad\nname')$$, '22023', E'invalid project name ''bad\nname''',
	'a project name with a control character is refused');
SELECT throws_ok($$SELECT pgchange.lock(NULL)$$, '22023', 'invalid project name NULL',
	'a NULL project is refused by lock');
SELECT throws_ok($$SELECT pgchange.set_identity_mode(NULL, 'path')$$, '22023', 'invalid project name NULL',
	'a NULL project is refused by set_identity_mode');
SELECT is(pgchange.unlock(NULL), false, 'unlock of a NULL project releases nothing');
SELECT throws_ok($$SELECT pgchange.lock_heartbeat(NULL)$$, '55P03', 'this role does not hold the lock of project NULL',
	'lock_heartbeat of a NULL project holds nothing');
SET SESSION AUTHORIZATION regress_priv_admin;
SELECT throws_ok(format($$SELECT pgchange.freeze(%L, 'r')$$, repeat('x', 201)), '22023',
	format('invalid project name %s', quote_literal(repeat('x', 201))),
	'freeze refuses a project name of 201 characters');
SELECT throws_ok($$SELECT pgchange.freeze(NULL, 'r')$$, '22023', 'invalid project name NULL',
	'freeze refuses a NULL project');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM pgchange.projects WHERE length(project) > 200 OR project = ''),
	0::bigint, 'no refused name became a project');

SELECT * FROM finish();
ROLLBACK;
