-- pgTAP: the policy engine's event triggers.  Blocking with SQLSTATE PC001
-- and the rule's detail and hint; violations recorded, the blocked ones
-- too (by a background worker, so they survive the rollback); facts (a
-- large table, a table created here); sql_drop and table_rewrite; guard
-- mode (log, block, temporary tables, deployments); break-glass; drift;
-- and every way a deployer might try to switch the policies off.
--
-- Rules under test are the engine's own (statement-regex, table-rewrite,
-- lock-timeout-missing, the sql_drop part of drop-table / drop-column);
-- every other statement-scope rule is switched off by the settings below,
-- so this file tests the engine whatever rules exist.
--
-- "Not created here" needs tables from an earlier transaction: the fixtures
-- are committed first and dropped at the end (under break-glass).

SET client_min_messages = warning;
SET pgchange.break_glass = 'pgTAP 30_policy_engine fixtures';
DROP SCHEMA IF EXISTS pol_fix CASCADE;
DROP SCHEMA IF EXISTS pol_s CASCADE;
RESET pgchange.break_glass;
CREATE SCHEMA pol_fix;
CREATE TABLE pol_fix.big (id int, v text);
INSERT INTO pol_fix.big SELECT i, 'row ' || i FROM generate_series(1, 2000) AS i;
CREATE TABLE pol_fix.small (id int);
INSERT INTO pol_fix.small VALUES (1);
ANALYZE pol_fix.big, pol_fix.small;
CREATE TYPE pol_fix.mood AS ENUM ('ok', 'meh');
CREATE TABLE pol_fix.typed (id int, m pol_fix.mood);
CREATE SCHEMA pol_s;
CREATE TABLE pol_s.t (id int);
RESET client_min_messages;

BEGIN;
SELECT plan(75);
SET LOCAL client_min_messages = warning;

CREATE ROLE regress_pe_deployer IN ROLE pgchange_deployer;
CREATE ROLE regress_pe_admin IN ROLE pgchange_admin;
GRANT CREATE, USAGE ON SCHEMA public, pol_fix TO regress_pe_deployer, regress_pe_admin;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO regress_pe_deployer', current_database()); END $$;

-- the error's four parts (throws_ok checks the message only)
CREATE FUNCTION pg_temp.catch(stmt text, OUT st text, OUT msg text, OUT det text, OUT hin text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
END
$$;
-- settings with every statement-scope rule off (and the runtime ones that
-- would report the fixtures all along), then extra on top
CREATE FUNCTION pg_temp.settings(extra jsonb) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT jsonb_build_object('rules',
			(SELECT jsonb_object_agg(r.rule, 'off') FROM pgchange.policy_rules() r
			  WHERE r.scope = 'statement' OR r.rule IN ('lock-timeout-missing', 'table-rewrite'))
			|| coalesce(extra->'rules', '{}'))
		|| (extra - 'rules')
$$;
CREATE FUNCTION pg_temp.push(extra jsonb) RETURNS void
LANGUAGE sql AS $$ SELECT pgchange.policy_push(pg_temp.settings(extra)) $$;
CREATE FUNCTION pg_temp.violations_since(since bigint)
RETURNS TABLE (rule text, severity text, blocked boolean, phase text, object text)
LANGUAGE sql AS $$
	SELECT v.rule, v.severity, v.blocked, v.phase, v.object FROM pgchange.violations v
	 WHERE v.violation_id > since ORDER BY v.violation_id
$$;
CREATE TEMP TABLE mark (id bigint);
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
	DELETE FROM mark;
	INSERT INTO mark SELECT coalesce(max(violation_id), 0) FROM pgchange.violations;
$$;
CREATE FUNCTION pg_temp.since() RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM mark $$;
GRANT SELECT ON mark TO PUBLIC;

-- ------------------------------------------------------- the triggers --
SELECT bag_eq(
	$$SELECT evtname::text, evtevent::text, evtenabled::text FROM pg_event_trigger
	   WHERE evtname LIKE 'pgchange_policy_%'$$,
	$$VALUES ('pgchange_policy_ddl_start', 'ddl_command_start', 'A'),
			 ('pgchange_policy_ddl_end', 'ddl_command_end', 'A'),
			 ('pgchange_policy_sql_drop', 'sql_drop', 'A'),
			 ('pgchange_policy_table_rewrite', 'table_rewrite', 'A')$$,
	'four event triggers, ENABLE ALWAYS');
SELECT is((SELECT count(*) FROM pg_depend d JOIN pg_event_trigger t ON t.oid = d.objid
			WHERE d.classid = 'pg_event_trigger'::regclass AND d.deptype = 'e'
			  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgchange')),
	4::bigint, 'they are members of the extension');
SELECT is((SELECT bool_and(r.rolsuper) FROM pg_event_trigger t JOIN pg_roles r ON r.oid = t.evtowner
			WHERE t.evtname LIKE 'pgchange_policy_%'),
	true, 'they are owned by a superuser');
SELECT is((SELECT count(*) FROM pgchange.ddl_log WHERE statement ~ 'pgchange\.'),
	0::bigint, 'the extension''s own install script was not logged as DDL');

-- --------------------------------------------------- blocking and recording --
SELECT pg_temp.push('{"rules": {"statement-regex": {"severity": "error", "rules": [
	{"id": "no-cascade", "pattern": "(?i)\\mcascade\\M", "message": "CASCADE drops more than it names",
	 "detail": "Dependent objects go too.", "hint": "Drop them explicitly."},
	{"id": "warn-comment", "pattern": "(?i)^comment", "message": "a comment", "severity": "warn"}]}}}');
SELECT pg_temp.mark();
CREATE TABLE pol_a (id int);
SELECT results_eq($$SELECT * FROM pg_temp.catch('DROP TABLE pol_a CASCADE')$$,
	$$VALUES ('PC001', '[no-cascade] CASCADE drops more than it names',
			  'Dependent objects go too.', 'Drop them explicitly.')$$,
	'an error-level violation blocks with PC001, "[rule] message", the rule''s detail and hint');
SELECT has_table('pol_a', 'the blocked DROP did nothing');
SELECT results_eq($$SELECT rule, severity, blocked, phase FROM pg_temp.violations_since(pg_temp.since())$$,
	$$VALUES ('no-cascade', 'error', true, 'ddl_command_start')$$,
	'the blocked violation is recorded although its statement failed');
SELECT results_eq(
	$$SELECT statement, username, effective_user, pid, project FROM pgchange.violations
	   WHERE violation_id > pg_temp.since()$$,
	$$VALUES ('DROP TABLE pol_a CASCADE', session_user, current_user, pg_backend_pid(), NULL::text)$$,
	'with the statement, who and which backend, and no project outside a deployment');
SELECT pg_temp.mark();
COMMENT ON TABLE pol_a IS 'x';
SELECT results_eq($$SELECT rule, severity, blocked FROM pg_temp.violations_since(pg_temp.since())$$,
	$$VALUES ('warn-comment', 'warn', false)$$,
	'a warning does not block and is recorded in the transaction');
SELECT pg_temp.mark();
SELECT throws_ok($q$DO $do$ BEGIN EXECUTE 'DROP TABLE pol_a CASCADE'; END $do$$q$, 'PC001',
	'[no-cascade] CASCADE drops more than it names', 'DDL from a DO block is checked too');
SELECT is((SELECT statement FROM pgchange.violations WHERE violation_id > pg_temp.since()),
	'DROP TABLE pol_a CASCADE', 'with the text of the dynamic statement');
SELECT pg_temp.mark();
SELECT throws_ok($q$DO $do$ BEGIN EXECUTE 'CREATE TABLE pol_m (id int); DROP TABLE pol_m CASCADE'; END $do$$q$,
	'PC001', NULL, 'a statement of a multi-statement string is blocked');
SELECT results_eq($$SELECT statement, location FROM pgchange.violations WHERE violation_id > pg_temp.since()$$,
	$$VALUES ('DROP TABLE pol_m CASCADE', 29)$$,
	'its violation has its own text and its offset in the string');
SELECT throws_ok($$SELECT pgchange.run_changeset('none', 0, '1', 'a', 'a.sql', '1:00', 'DROP TABLE pol_a CASCADE')$$,
	'PC001', '[no-cascade] CASCADE drops more than it names',
	'and from run_changeset(), before anything is recorded');
SET LOCAL session_replication_role = replica;
SELECT throws_ok('DROP TABLE pol_a CASCADE', 'PC001', NULL,
	'session_replication_role = replica does not switch them off (superuser)');
RESET session_replication_role;
SELECT lives_ok('DROP TABLE pol_a', 'the same statement without the pattern runs');

-- -------------------------------------------------------- table_rewrite --
SELECT pg_temp.push('{"large_table_rows": 1000, "rules": {"table-rewrite": "error"}}');
SELECT results_eq(
	$$SELECT st, msg FROM pg_temp.catch('ALTER TABLE pol_fix.big ALTER COLUMN id TYPE bigint')$$,
	$$VALUES ('PC001', '[table-rewrite] ALTER TABLE rewrites table pol_fix.big (cause: a column type change)')$$,
	'a rewrite of a table above the row threshold is blocked');
SELECT matches((pg_temp.catch('ALTER TABLE pol_fix.big ALTER COLUMN id TYPE bigint')).det,
	'^A rewrite copies all of pol_fix\.big \(about 2000 rows, [0-9]+ bytes\)',
	'its detail gives the live row estimate and size');
SELECT throws_ok('ALTER TABLE pol_fix.big ADD COLUMN r float8 DEFAULT random()', 'PC001',
	'[table-rewrite] ALTER TABLE rewrites table pol_fix.big (cause: a new column''s default)',
	'whatever causes the rewrite');
SELECT lives_ok('ALTER TABLE pol_fix.big ALTER COLUMN v TYPE varchar',
	'a binary-coercible type change does not rewrite and passes');
SELECT lives_ok('ALTER TABLE pol_fix.small ALTER COLUMN id TYPE bigint',
	'near miss: the same rewrite of a table below the threshold passes');
CREATE TABLE pol_new AS SELECT i AS id FROM generate_series(1, 5000) AS i;
ANALYZE pol_new;
SELECT lives_ok('ALTER TABLE pol_new ALTER COLUMN id TYPE bigint',
	'near miss: a large table created in this transaction may be rewritten');
SELECT pg_temp.push('{"large_table_rows": 1000000, "large_table_bytes": 8192, "rules": {"table-rewrite": "error"}}');
SELECT throws_ok('ALTER TABLE pol_fix.big ALTER COLUMN id TYPE bigint', 'PC001', NULL,
	'the byte threshold applies too (large_table_bytes)');
SELECT pg_temp.push('{"large_table_rows": 1000, "rules": {"table-rewrite": {"severity": "warn", "min_rows": 3000}}}');
SELECT pg_temp.mark();
SELECT lives_ok('ALTER TABLE pol_fix.big ALTER COLUMN id TYPE bigint',
	'the rule''s own min_rows overrides the global threshold');
SELECT is_empty($$SELECT * FROM pg_temp.violations_since(pg_temp.since())$$,
	'and nothing is reported below it');
SELECT pg_temp.push('{"large_table_rows": 1000, "rules": {"table-rewrite": "warn"}}');
SELECT pg_temp.mark();
ALTER TABLE pol_fix.big ALTER COLUMN id TYPE int;
SELECT results_eq($$SELECT rule, severity, blocked, phase, object FROM pg_temp.violations_since(pg_temp.since())$$,
	$$VALUES ('table-rewrite', 'warn', false, 'table_rewrite', 'pol_fix.big')$$,
	'as a warning it is recorded once, at table_rewrite, and does not block');

-- ------------------------------------------------------------- sql_drop --
SELECT pg_temp.push('{"rules": {"drop-table": "error", "drop-column": "error"}}');
SELECT throws_ok('DROP SCHEMA pol_s CASCADE', 'PC001', '[drop-table] table pol_s.t is dropped by CASCADE',
	'a table dropped by CASCADE is a drop-table violation (sql_drop)');
SELECT has_table('pol_s', 't', 'and it is still there');
SELECT throws_ok('DROP TYPE pol_fix.mood CASCADE', 'PC001',
	'[drop-column] column pol_fix.typed.m is dropped by CASCADE',
	'a column dropped by CASCADE is a drop-column violation');
CREATE ROLE regress_pe_owner;
CREATE TABLE pol_owned (id int);
ALTER TABLE pol_owned OWNER TO regress_pe_owner;
SELECT throws_ok('DROP OWNED BY regress_pe_owner', 'PC001',
	'[drop-table] table public.pol_owned is dropped by DROP OWNED',
	'DROP OWNED dropping a table is a drop-table violation');
CREATE SCHEMA pol_empty;
SELECT lives_ok('DROP SCHEMA pol_empty CASCADE', 'near miss: CASCADE that takes no table passes');
CREATE TEMP TABLE pol_tmp (id int);
CREATE TEMP VIEW pol_tmpv AS SELECT * FROM pol_tmp;
SELECT lives_ok('DROP TABLE pol_tmp CASCADE', 'near miss: temporary objects are not reported');

-- ------------------------------------------------- lock-timeout-missing --
SELECT pg_temp.push('{"rules": {"lock-timeout-missing": "warn"}}');
SET LOCAL lock_timeout = 0;
SELECT pg_temp.mark();
ALTER TABLE pol_fix.big ADD COLUMN w int;
SELECT results_eq($$SELECT rule, severity, object FROM pg_temp.violations_since(pg_temp.since())$$,
	$$VALUES ('lock-timeout-missing', 'warn', 'pol_fix.big')$$,
	'DDL on an existing table without lock_timeout is reported');
SELECT pg_temp.mark();
CREATE TABLE pol_b (id int);
ALTER TABLE pol_b ADD COLUMN w int;
SELECT is_empty($$SELECT * FROM pg_temp.violations_since(pg_temp.since())$$,
	'near miss: not on a table created in this transaction');
SET LOCAL lock_timeout = '2s';
ALTER TABLE pol_fix.big ADD COLUMN w2 int;
SELECT is_empty($$SELECT * FROM pg_temp.violations_since(pg_temp.since())$$,
	'near miss: not with lock_timeout set');

-- --------------------------------------------------------- guard mode --
SELECT pg_temp.push('{}');
CREATE TABLE pol_logged (id int);
SELECT results_eq(
	$$SELECT command_tag, statement, objects, blocked, username FROM pgchange.ddl_log
	   WHERE statement LIKE 'CREATE TABLE pol_logged%'$$,
	$$VALUES ('CREATE TABLE', 'CREATE TABLE pol_logged (id int)',
			  '[{"type": "table", "identity": "public.pol_logged"}]'::jsonb, false, session_user)$$,
	'outside a deployment DDL is logged in ddl_log (the default, "log")');
CREATE TEMP TABLE pol_tmp2 (id int);
SELECT is_empty($$SELECT 1 FROM pgchange.ddl_log WHERE statement LIKE '%pol_tmp2%'$$,
	'temporary tables are not logged');
SELECT pg_temp.push('{"outside_deployment": "off"}');
CREATE TABLE pol_unlogged (id int);
SELECT is_empty($$SELECT 1 FROM pgchange.ddl_log WHERE statement LIKE '%pol_unlogged%'$$,
	'outside_deployment "off" logs nothing');
SELECT pg_temp.push('{"outside_deployment": "block"}');
-- (a DateStyle the background worker does not share: times still arrive right)
SET LOCAL datestyle = 'SQL, DMY';
SET LOCAL timezone = 'Asia/Kolkata';
SELECT results_eq($$SELECT st, msg FROM pg_temp.catch('CREATE TABLE pol_refused (id int)')$$,
	$$VALUES ('PC002', '[ddl-outside-deployment] CREATE TABLE outside a pgchange deployment is refused')$$,
	'"block" refuses DDL outside a deployment with PC002');
SELECT results_eq(
	$$SELECT command_tag, blocked, at BETWEEN now() AND clock_timestamp() FROM pgchange.ddl_log
	   WHERE statement = 'CREATE TABLE pol_refused (id int)'$$,
	$$VALUES ('CREATE TABLE', true, true)$$,
	'and the refusal is recorded, at the right time, although its transaction failed');
RESET datestyle;
RESET timezone;
SELECT throws_ok('DROP EXTENSION pgchange', 'PC002', NULL,
	'a superuser cannot drop the extension in block mode either');
SELECT lives_ok('CREATE TEMP TABLE pol_tmp3 (id int)', 'temporary tables are allowed in block mode');
SELECT lives_ok('SELECT count(*) FROM pol_fix.big', 'queries and DML are not DDL');

-- in a deployment: the lock and a running deployment
SELECT pgchange.lock('pol_app', 'pgtap') AS lock \gset
SELECT pgchange.begin_deployment('pol_app') AS dep \gset
SELECT lives_ok('CREATE TABLE pol_deployed (id int)', 'in a deployment DDL is allowed in block mode');
SELECT is_empty($$SELECT 1 FROM pgchange.ddl_log WHERE statement LIKE '%pol_deployed%'$$,
	'and is not drift');
SELECT pg_temp.push('{"outside_deployment": "block", "rules": {"statement-regex": {"severity": "warn", "rules": [
	{"id": "any-table", "pattern": "(?i)^create table", "message": "a table"}]}}}');
SELECT pg_temp.mark();
SELECT lives_ok(format($$SELECT pgchange.run_changeset('pol_app', %s, 'c1', 'alice', 'c1.sql', pgchange.checksum('CREATE TABLE pol_c1 (id int)'), 'CREATE TABLE pol_c1 (id int)')$$, :dep),
	'a changeset runs');
SELECT results_eq($$SELECT rule, project, changeset, deployment_id FROM pgchange.violations WHERE violation_id > pg_temp.since()$$,
	format($$VALUES ('any-table', 'pol_app', 'c1:alice', %s::bigint)$$, :dep),
	'its violations name the project, changeset and deployment');
SELECT pg_temp.mark();
SELECT pgchange.record_progress('pol_app', :dep, 'c2', 'bob', 'c2.sql', '1:00', 0, 2) IS NULL AS progress \gset
CREATE TABLE pol_c2 (id int);
SELECT results_eq($$SELECT changeset FROM pgchange.violations WHERE violation_id > pg_temp.since()$$,
	$$VALUES ('c2:bob')$$,
	'a statement the controller runs itself is attributed through its progress row');
SELECT pgchange.finish_deployment(:dep, 'succeeded') IS NULL AS finished \gset
SELECT throws_ok('CREATE TABLE pol_after (id int)', 'PC002', NULL,
	'once the deployment finished, the lock alone does not count');
SELECT pgchange.unlock('pol_app') AS unlocked \gset

-- ---------------------------------------------------------- break-glass --
SET SESSION AUTHORIZATION regress_pe_admin;
SET pgchange.break_glass = 'incident 42';
SELECT lives_ok('CREATE TABLE pol_glass (id int)', 'an admin breaking glass is not refused');
RESET pgchange.break_glass;
RESET SESSION AUTHORIZATION;
SELECT results_eq(
	$$SELECT blocked, break_glass, username FROM pgchange.ddl_log WHERE statement LIKE 'CREATE TABLE pol_glass%'$$,
	$$VALUES (false, 'incident 42', 'regress_pe_admin'::name)$$,
	'and the DDL is logged with the reason');
SELECT pg_temp.push('{"outside_deployment": "log", "rules": {"statement-regex": {"severity": "error", "rules": [
	{"id": "no-cascade", "pattern": "(?i)\\mcascade\\M", "message": "CASCADE"}]}}}');
SELECT pg_temp.mark();
SET SESSION AUTHORIZATION regress_pe_admin;
SET pgchange.break_glass = 'incident 43';
SELECT lives_ok('DROP TABLE pol_glass CASCADE', 'error-level rules do not block under break-glass');
RESET pgchange.break_glass;
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT rule, blocked, break_glass FROM pgchange.violations WHERE violation_id > pg_temp.since()$$,
	$$VALUES ('no-cascade', false, 'incident 43')$$,
	'the violation is recorded, not blocked, with the reason');
SELECT pg_temp.push('{"outside_deployment": "block"}');
SELECT pg_temp.mark();
SET SESSION AUTHORIZATION regress_pe_deployer;
SET pgchange.break_glass = 'let me';
SELECT throws_ok('CREATE TABLE pol_sneak (id int)', 'PC002', NULL,
	'a deployer setting break_glass is still refused');
RESET pgchange.break_glass;
RESET SESSION AUTHORIZATION;
SELECT bag_eq($$SELECT rule, blocked FROM pgchange.violations WHERE violation_id > pg_temp.since()$$,
	$$VALUES ('break-glass-refused', false), ('ddl-outside-deployment', true)$$,
	'and the attempt is recorded');

-- ----------------------------------------------------- bypass attempts --
-- in "log" mode, so that what refuses is the privilege system
SELECT pg_temp.push('{}');
SET SESSION AUTHORIZATION regress_pe_deployer;
SELECT throws_ok('ALTER EVENT TRIGGER pgchange_policy_ddl_start DISABLE', '42501', NULL,
	'a deployer cannot disable an event trigger');
SELECT throws_ok('ALTER EVENT TRIGGER pgchange_policy_ddl_start ENABLE REPLICA', '42501', NULL,
	'nor make it fire only for replicas');
SELECT throws_ok('DROP EVENT TRIGGER pgchange_policy_ddl_start', '42501', NULL,
	'nor drop it');
SELECT throws_ok('ALTER EVENT TRIGGER pgchange_policy_ddl_start OWNER TO regress_pe_deployer', '42501', NULL,
	'nor take it over');
SELECT throws_ok('SET session_replication_role = replica', '42501', NULL,
	'nor set session_replication_role');
SELECT throws_ok('DROP EXTENSION pgchange', '42501', NULL, 'nor drop the extension');
SELECT throws_ok('ALTER EXTENSION pgchange DROP EVENT TRIGGER pgchange_policy_ddl_start', '42501', NULL,
	'nor take the trigger out of the extension');
SELECT throws_ok('ALTER EXTENSION pgchange UPDATE', '42501', NULL, 'nor update the extension');
SELECT throws_ok($$SELECT pgchange.policy_push('{"outside_deployment": "off"}')$$, '42501', NULL,
	'nor push settings');
SELECT throws_ok('UPDATE pgchange.policy_settings SET settings = ''{}''', '42501', NULL,
	'nor write the settings table');
SELECT throws_ok('DELETE FROM pgchange.violations', '42501', NULL, 'nor erase violations');
SELECT throws_ok('DELETE FROM pgchange.ddl_log', '42501', NULL, 'nor the DDL log');
RESET SESSION AUTHORIZATION;

-- search_path attacks: objects planted by the deployer, found first
SET SESSION AUTHORIZATION regress_pe_deployer;
CREATE SCHEMA pol_evil;
CREATE FUNCTION pol_evil.yes(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR pol_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pol_evil.yes);
CREATE FUNCTION pol_evil._is_admin() RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION pol_evil.pg_has_role(name, text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION pol_evil.pg_backend_pid() RETURNS int LANGUAGE sql AS 'SELECT 0';
RESET SESSION AUTHORIZATION;
-- a stray GRANT EXECUTE does not make a deployer an admin either
GRANT EXECUTE ON FUNCTION pgchange.policy_push(jsonb, text) TO regress_pe_deployer;
SELECT pg_temp.push('{"outside_deployment": "block"}');
SET SESSION AUTHORIZATION regress_pe_deployer;
-- (pgTAP itself would use the planted "=": results go through psql variables)
SET search_path = pol_evil, pg_catalog, pgchange, public;
SELECT e.st AS evil_create_st FROM pg_temp.catch('CREATE TABLE public.pol_evil_t (id int)') e \gset
SELECT e.st AS evil_push_st, e.msg AS evil_push_msg FROM pg_temp.catch($$SELECT pgchange.policy_push('{}')$$) e \gset
RESET search_path;
RESET SESSION AUTHORIZATION;
SELECT is(:'evil_create_st'::text, 'PC002',
	'planted operators and functions first in search_path do not fool the deployment check');
SELECT is((:'evil_push_st' || ' ' || :'evil_push_msg')::text, '42501 only pgchange_admin can change policy settings',
	'nor the admin check of policy_push(), even with EXECUTE granted');

-- ---------------------------------------------------------------- drift --
SELECT pg_temp.push('{}');
CREATE TABLE pol_drift1 (id int);
SELECT ok((SELECT bool_or(statement LIKE 'CREATE TABLE pol_drift1%') FROM pgchange.drift()),
	'drift() lists DDL run outside deployments');
SELECT ok(NOT (SELECT coalesce(bool_or(statement LIKE 'CREATE TABLE pol_refused%'), false) FROM pgchange.drift()),
	'but not refused DDL, which changed nothing');
SELECT pgchange.lock('pol_app', 'pgtap') AS lock \gset
SELECT pgchange.begin_deployment('pol_app') AS dep2 \gset
SELECT pgchange.finish_deployment(:dep2, 'succeeded') IS NULL AS finished \gset
SELECT pgchange.unlock('pol_app') AS unlocked \gset
CREATE TABLE pol_drift2 (id int);
SELECT results_eq($$SELECT statement FROM pgchange.drift('pol_app') WHERE statement LIKE 'CREATE TABLE pol_drift%'$$,
	$$VALUES ('CREATE TABLE pol_drift2 (id int)')$$,
	'drift(project) starts after the project''s last finished deployment');
SELECT results_eq($$SELECT statement FROM pgchange.drift() WHERE statement LIKE 'CREATE TABLE pol_drift%'$$,
	$$VALUES ('CREATE TABLE pol_drift2 (id int)')$$,
	'drift() after the last deployment of any project');
SELECT ok((SELECT bool_or(statement LIKE 'CREATE TABLE pol_drift1%') FROM pgchange.drift('pol_other')),
	'a project never deployed sees everything');
SET SESSION AUTHORIZATION regress_pe_deployer;
SELECT lives_ok('SELECT * FROM pgchange.drift()', 'a deployer (a reader) may see the drift');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;

-- fixtures go, whatever the settings are now
SET client_min_messages = warning;
SET pgchange.break_glass = 'pgTAP 30_policy_engine cleanup';
DROP SCHEMA IF EXISTS pol_fix CASCADE;
DROP SCHEMA IF EXISTS pol_s CASCADE;
RESET pgchange.break_glass;
