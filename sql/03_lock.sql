-- The deploy lock, freezes and their errors.
-- Errors carrying times and pids are shown through pg_temp.err(), which
-- catches them and masks the variable parts.
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hin text;
BEGIN
	EXECUTE stmt;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
	RETURN regexp_replace(regexp_replace(
		format(E'%s: %s\nDETAIL: %s\nHINT: %s', st, msg, det, hin),
		'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?)?', '<time>', 'g'),
		'pid \d+', 'pid <pid>', 'g');
END
$$;

DROP ROLE IF EXISTS regress_alice, regress_bob, regress_admin;
CREATE ROLE regress_alice IN ROLE pgchange_deployer;
CREATE ROLE regress_bob IN ROLE pgchange_deployer;
CREATE ROLE regress_admin IN ROLE pgchange_admin;
GRANT CREATE ON SCHEMA public TO regress_alice, regress_bob;

SET SESSION AUTHORIZATION regress_alice;
SELECT pgchange.lock('app', 'ci job 17', 'release 2.4', lease => '10 minutes');
-- re-entrant in the same session: renewed, not counted
SELECT pgchange.lock('app', 'ci job 17', 'release 2.4');
SELECT project, state, owner, reason, holder_role, pid = pg_backend_pid() AS my_pid,
       holder_alive, lease_until > now() + '4 minutes' AS lease_renewed_for_default_5min
  FROM pgchange.lock_status();
SELECT pgchange.lock_heartbeat('app', '20 minutes') > now() + '19 minutes' AS renewed;

-- another role cannot take it, and is told who holds it and why
SET SESSION AUTHORIZATION regress_bob;
SELECT pg_temp.err($$SELECT pgchange.lock('app', 'bob laptop', 'hotfix')$$);
-- waiting polls and gives up after the wait
SELECT pg_temp.err($$SELECT pgchange.lock('app', 'bob laptop', 'hotfix', wait => '0.2 s')$$);
SELECT pg_temp.err($$SELECT pgchange.lock_heartbeat('app')$$);
SELECT pg_temp.err($$SELECT pgchange.unlock('app')$$);
SELECT pg_temp.err($$SELECT pgchange.unlock('app', force => true)$$);
SELECT pg_temp.err($$SELECT pgchange.freeze('app', 'close')$$);

-- an admin breaks it; that is recorded
SET SESSION AUTHORIZATION regress_admin;
SELECT pgchange.unlock('app', force => true);
SELECT kind, actor, detail->>'owner' AS owner, detail->>'holder_role' AS holder
  FROM pgchange.events WHERE kind = 'lock_broken';

-- the holder's lease expired: the next taker takes it over
SET SESSION AUTHORIZATION regress_alice;
SELECT pgchange.lock('app', 'ci job 18', 'release 2.5');
RESET SESSION AUTHORIZATION;
UPDATE pgchange.lock_lease SET lease_until = now() - interval '1 second';
SET SESSION AUTHORIZATION regress_bob;
SELECT pgchange.lock('app', 'bob laptop', 'hotfix');
SELECT detail->>'previous_owner' AS previous, detail->>'cause' AS cause
  FROM pgchange.events WHERE kind = 'lock_taken_over';
SELECT pgchange.unlock('app');
SELECT pgchange.unlock('app') AS unlock_when_free;

-- a freeze blocks deployers, shows the reason and the end
SET SESSION AUTHORIZATION regress_admin;
SELECT pgchange.freeze('app', 'quarter-end close', '2999-01-01 00:00+00');
SET SESSION AUTHORIZATION regress_alice;
SELECT pg_temp.err($$SELECT pgchange.lock('app', 'ci job 19')$$);
SELECT project, state, frozen_by, freeze_reason FROM pgchange.lock_status();
SET SESSION AUTHORIZATION regress_admin;
-- the freezer may still deploy during the freeze (the planned maintenance)
SELECT pgchange.lock('app', 'dba', 'maintenance');
SELECT pgchange.unlock('app');
SELECT pgchange.unfreeze('app');
SELECT pgchange.unfreeze('app') AS unfreeze_when_not_frozen;
SET SESSION AUTHORIZATION regress_alice;
SELECT pgchange.lock('app', 'ci job 19');
SELECT pgchange.unlock('app');

-- bad input
SELECT pg_temp.err($$SELECT pgchange.lock('app', lease => '0')$$);
SELECT pg_temp.err($$SELECT pgchange.lock('app', lease => NULL)$$);
SELECT pg_temp.err($$SELECT pgchange.lock(NULL)$$);
SELECT pg_temp.err($$SELECT pgchange.lock(repeat('x', 201))$$);
SELECT pg_temp.err($$SELECT pgchange.lock(E'bad\nname')$$);
SET SESSION AUTHORIZATION regress_admin;
SELECT pg_temp.err($$SELECT pgchange.freeze('app', '  ')$$);
SELECT pg_temp.err($$SELECT pgchange.freeze('app', 'x', '2000-01-01')$$);
-- hostile names are data, never SQL
SELECT pgchange.lock($$x'); DROP TABLE pgchange.registry; --$$, 'o');
SELECT pgchange.unlock($$x'); DROP TABLE pgchange.registry; --$$);
SELECT count(*) >= 0 AS registry_still_there FROM pgchange.registry;

-- the history of all that
RESET SESSION AUTHORIZATION;
SELECT project, kind, actor FROM pgchange.events ORDER BY event_id;
DROP OWNED BY regress_alice, regress_bob, regress_admin;
DROP ROLE regress_alice, regress_bob, regress_admin;
