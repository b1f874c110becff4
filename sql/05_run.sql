-- pgchange.run_changeset() and pgchange.split_sql().
\set SHOW_CONTEXT never
SET datestyle = 'ISO, YMD';

-- split_sql: the server's parser, lines, and what cannot run in a transaction
SELECT * FROM pgchange.split_sql($$
CREATE TABLE a (id int);  -- a comment; with a semicolon
/* block */ CREATE INDEX CONCURRENTLY a_id ON a (id);
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1; $f$;
VACUUM a;
ANALYZE a;
DROP INDEX CONCURRENTLY a_id;
ALTER TABLE a DETACH PARTITION b CONCURRENTLY;
COMMIT;
SELECT ';' AS "x;y"
$$);
SELECT * FROM pgchange.split_sql('');
\set SHOW_CONTEXT always
SELECT * FROM pgchange.split_sql('SELECT 1; SELEC 2;');
\set SHOW_CONTEXT never

-- run_changeset runs with the caller's rights, records in the same transaction
DROP ROLE IF EXISTS regress_runner;
CREATE ROLE regress_runner IN ROLE pgchange_deployer;
GRANT CREATE ON SCHEMA public TO regress_runner;
SET SESSION AUTHORIZATION regress_runner;
SELECT pgchange.lock('run', 'regress');
SELECT pgchange.begin_deployment('run') AS dep \gset
SELECT pgchange.run_changeset('run', :dep, '1', 'alice', 'run.sql',
	pgchange.checksum('CREATE TABLE t1 (id int); SET search_path = nowhere; INSERT INTO public.t1 VALUES (1);'),
	'CREATE TABLE t1 (id int); SET search_path = nowhere; INSERT INTO public.t1 VALUES (1);') > 0 AS ran;
-- the SET inside the changeset did not leak
SHOW search_path;
SELECT changeset_id, exec_type, duration IS NOT NULL AS timed FROM pgchange.history WHERE project = 'run';
-- a failure: the statement, its number and line are in the context
\set SHOW_CONTEXT always
SELECT pgchange.run_changeset('run', :dep, '2', 'alice', 'run.sql', '1:00',
	E'CREATE TABLE t2 (id int PRIMARY KEY);\nINSERT INTO t2 VALUES (1);\n\nINSERT INTO t2 VALUES (1);');
SELECT to_regclass('t2') IS NULL AS rolled_back;
-- a syntax error points into the body
SELECT pgchange.run_changeset('run', :dep, '3', 'alice', 'run.sql', '1:00',
	E'SELECT 1;\nSELEC 2;');
-- the caller's rights, not the extension owner's
SELECT pgchange.run_changeset('run', :dep, '4', 'alice', 'run.sql', '1:00',
	'CREATE ROLE regress_evil SUPERUSER');
SELECT pgchange.run_changeset('run', :dep, '5', 'alice', 'run.sql', '1:00',
	'SELECT 1', lock_timeout => 'not a duration');
SELECT pgchange.run_changeset('run', :dep, NULL, 'alice', 'run.sql', '1:00', 'SELECT 1');
-- statements that cannot run in a transaction block are refused before any runs
SELECT pgchange.run_changeset('run', :dep, '7', 'alice', 'run.sql', '1:00',
	E'CREATE TABLE t7 (id int);\nCOMMIT;');
SELECT pgchange.run_changeset('run', :dep, '7', 'alice', 'run.sql', '1:00',
	E'CREATE TABLE t7 (id int);\n\nCREATE INDEX CONCURRENTLY t7_id ON t7 (id);');
SELECT to_regclass('t7') IS NULL AS nothing_ran;
\set SHOW_CONTEXT never
-- progress and tag
SELECT pgchange.record_progress('run', :dep, '6', 'alice', 'run.sql', '1:06', 1, 3);
SELECT changeset_id, statements_done, statements_total FROM pgchange.progress;
SELECT pgchange.record_progress('run', :dep, '6', 'alice', 'run.sql', '1:06', 4, 3);
SELECT pgchange.run_changeset('run', :dep, '6', 'alice', 'run.sql', '1:06', 'SELECT 1') > 0 AS ran;
SELECT count(*) AS progress_left FROM pgchange.progress;
SELECT * FROM pgchange.tag('run', 'v1');
SELECT * FROM pgchange.tag('run', 'v1');
SELECT * FROM pgchange.tag('empty-project', 'v1');
SELECT pgchange.finish_deployment(:dep, 'succeeded');
SELECT pgchange.unlock('run');
RESET SESSION AUTHORIZATION;
-- cleanup outside a deployment drops data: the policy engine refuses that
-- unless an admin breaks the glass with a reason
SET pgchange.break_glass = 'regress cleanup';
DROP TABLE t1;
DROP OWNED BY regress_runner;
RESET pgchange.break_glass;
DROP ROLE regress_runner;
