-- Deployments, recording changesets atomically, identity, validate().
SET datestyle = 'ISO, YMD';
\set SHOW_CONTEXT never
DROP ROLE IF EXISTS regress_ci, regress_reader;
CREATE ROLE regress_ci IN ROLE pgchange_deployer;
CREATE ROLE regress_reader IN ROLE pgchange_reader;
GRANT CREATE ON SCHEMA public TO regress_ci;
SET SESSION AUTHORIZATION regress_ci;

-- recording needs the lock
SELECT pgchange.begin_deployment('shop');
SELECT pgchange.lock('shop', 'ci', 'deploy');
SELECT pgchange.begin_deployment('shop', metadata => '"not an object"');
SELECT pgchange.begin_deployment('shop', metadata => '{"git_sha": "4f2a9c1", "env": "staging"}',
                                 controller_version => '0.2.0', client_host => 'runner-7') AS dep \gset

-- a changeset and its record commit together ...
BEGIN;
CREATE TABLE public.customer (id bigint PRIMARY KEY);
SELECT pgchange.record_changeset('shop', :dep, '1', 'alice', 'db/001.sql',
                                 pgchange.checksum('CREATE TABLE public.customer (id bigint PRIMARY KEY);'),
                                 description => 'customer table') > 0 AS recorded;
COMMIT;
-- ... or roll back together
BEGIN;
CREATE TABLE public.orders (id bigint PRIMARY KEY);
SELECT pgchange.record_changeset('shop', :dep, '2', 'alice', 'db/002.sql',
                                 pgchange.checksum('CREATE TABLE public.orders (id bigint PRIMARY KEY);')) > 0 AS recorded;
ROLLBACK;
SELECT to_regclass('public.customer') IS NOT NULL AS customer_exists,
       to_regclass('public.orders') IS NOT NULL AS orders_exists;
SELECT changeset_id, author, path, exec_type FROM pgchange.history WHERE project = 'shop';

-- identity is (project, id, author): the same changeset under a new path
-- is the same row (a renamed folder never re-runs anything)
SELECT pgchange.record_changeset('shop', :dep, '1', 'alice', 'moved/001.sql',
                                 pgchange.checksum('CREATE TABLE public.customer (id bigint PRIMARY KEY);'),
                                 exec_type => 'reran') > 0 AS recorded;
SELECT changeset_id, path, exec_type FROM pgchange.history WHERE project = 'shop';
SELECT pgchange.record_changeset('shop', :dep, '9', 'alice', 'x.sql', '1:00', exec_type => 'ran');
SELECT pgchange.record_changeset('shop', :dep, '9', 'alice', 'x.sql', 'not a checksum');
-- the mode cannot change once changesets are applied
SELECT pgchange.set_identity_mode('shop', 'path');

-- a second deploy: mark one as ran, another applied out of order later
SELECT pgchange.record_changeset('shop', :dep, '3', 'bob', 'db/003.sql',
                                 pgchange.checksum('SELECT 3;'), exec_type => 'mark_ran') > 0 AS recorded;
SELECT pgchange.finish_deployment(:dep, 'succeeded');
SELECT pgchange.finish_deployment(:dep, 'succeeded');
SELECT project, kind, status, deployed_by, client_host, controller_version, metadata, changesets
  FROM pgchange.deployments WHERE project = 'shop';

-- validate: the changelog has 1 (re-indented), 2 (never applied, before 3),
-- 3 (edited), 4 (new); the registry has 1 and 3
SELECT seq, changeset_id, author, status FROM pgchange.validate('shop', ($$[
  {"id": "1", "author": "alice", "path": "moved/001.sql",
   "checksum": "$$ || pgchange.checksum(E'CREATE TABLE public.customer (\n  id bigint PRIMARY KEY\n);') || $$"},
  {"id": "2", "author": "alice", "path": "db/002.sql", "checksum": "1:02"},
  {"id": "3", "author": "bob", "path": "db/003.sql", "checksum": "$$ || pgchange.checksum('SELECT 33;') || $$"},
  {"id": "4", "author": "bob", "path": "db/004.sql", "checksum": "1:04"}
]$$)::jsonb) ORDER BY seq NULLS LAST;
-- an accepted old checksum, and a changeset missing from the files
SELECT seq, changeset_id, status FROM pgchange.validate('shop', ($$[
  {"id": "3", "author": "bob", "path": "db/003.sql", "checksum": "1:33",
   "valid_checksums": ["$$ || pgchange.checksum('SELECT 3;') || $$"]}
]$$)::jsonb) ORDER BY seq NULLS LAST;
SELECT seq, changeset_id, status FROM pgchange.validate('shop', $$[
  {"id": "3", "author": "bob", "checksum": "1:33", "valid_checksums": ["ANY"]}]$$) ORDER BY seq NULLS LAST;
-- bad manifests
SELECT * FROM pgchange.validate('shop', '{"id": "1"}');
SELECT * FROM pgchange.validate('shop', '[{"id": 1, "author": "a", "checksum": "1:00"}]');
-- an unknown project has everything pending
SELECT seq, status FROM pgchange.validate('nosuch', '[{"id": "1", "author": "a", "checksum": "1:00"}]');

-- path identity: set before the first deploy; then one id:author per path
SELECT pgchange.set_identity_mode('legacy', 'path');
SELECT pgchange.set_identity_mode('legacy', 'bogus');
SELECT pgchange.lock('legacy', 'ci');
SELECT pgchange.begin_deployment('legacy') AS dep2 \gset
SELECT pgchange.record_changeset('legacy', :dep2, '1', 'agalimianov', 'a/tables.sql', '1:aa') > 0 AS r1,
       pgchange.record_changeset('legacy', :dep2, '1', 'agalimianov', 'b/views.sql', '1:bb') > 0 AS r2;
SELECT changeset_id, author, path FROM pgchange.history WHERE project = 'legacy' ORDER BY exec_order;
SELECT seq, path, status FROM pgchange.validate('legacy', $$[
  {"id": "1", "author": "agalimianov", "path": "a/tables.sql", "checksum": "1:aa"},
  {"id": "1", "author": "agalimianov", "path": "b/views.sql", "checksum": "1:bc"}]$$);
SELECT pgchange.finish_deployment(:dep2, 'failed', 'changeset b/views.sql::1::agalimianov failed');
SELECT pgchange.unlock('legacy'), pgchange.unlock('shop');

-- a reader reads the views and nothing else
SET SESSION AUTHORIZATION regress_reader;
SELECT count(*) > 0 AS can_read FROM pgchange.history;
SELECT count(*) > 0 AS can_read FROM pgchange.events;
SELECT pgchange.lock('shop');
DELETE FROM pgchange.registry;
-- nobody edits the event history, not even its owner
RESET SESSION AUTHORIZATION;
UPDATE pgchange.event_log SET actor = 'someone else';
DELETE FROM pgchange.event_log;
TRUNCATE pgchange.event_log;
SET SESSION AUTHORIZATION regress_ci;
UPDATE pgchange.registry SET checksum = '1:00';
RESET SESSION AUTHORIZATION;
SELECT kind, actor, detail->>'id' AS id, detail->>'exec_type' AS exec_type
  FROM pgchange.events WHERE project IN ('shop', 'legacy') ORDER BY event_id;
DROP TABLE public.customer;
DROP OWNED BY regress_ci, regress_reader;
DROP ROLE regress_ci, regress_reader;
