-- pgTAP: the deploy lock and freezes, in one session.  Re-entrancy,
-- lock_status(), the busy error with its detail and hint, takeover of a
-- stale lock (lease expired, holder backend gone), heartbeats, lease
-- limits, freezes, and the events all of that leaves.
--
-- One session plays several roles with SET SESSION AUTHORIZATION: the lock
-- binds to (backend, role), so role a's lock held by this very backend is
-- a live lock of another role for role b.  A holder in another live
-- backend is faked by pointing the lease at the checkpointer's pid.
BEGIN;
SELECT plan(79);
-- messages show intervals in this style
SET LOCAL intervalstyle = 'postgres';

CREATE ROLE regress_lock_a IN ROLE pgchange_deployer;
CREATE ROLE regress_lock_b IN ROLE pgchange_deployer;
CREATE ROLE regress_lock_admin IN ROLE pgchange_admin;
CREATE ROLE regress_lock_admin2 IN ROLE pgchange_admin;

-- pgTAP's throws_ok checks the message only: this returns all four parts
CREATE FUNCTION pg_temp.catch(stmt text, OUT st text, OUT msg text, OUT det text, OUT hin text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
END
$$;

SELECT is(pg_get_function_result('pgchange.lock_status()'::regprocedure),
	'TABLE(project text, state text, owner text, reason text, holder_role name, pid integer, '
	'client_addr inet, application_name text, since timestamp with time zone, '
	'lease_until timestamp with time zone, holder_alive boolean, '
	'frozen_until timestamp with time zone, frozen_by name, freeze_reason text)',
	'lock_status() has the documented columns');

-- ------------------------------------------------------------ re-entrancy --
SET SESSION AUTHORIZATION regress_lock_a;
SELECT is(pgchange.lock('app', 'ci job a', 'release 1', lease => '10 minutes'), 'acquired',
	'lock returns acquired');
SELECT results_eq(
	$$SELECT state, owner, reason, holder_role, pid, holder_alive, application_name,
			 frozen_until, frozen_by, freeze_reason
		FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('locked', 'ci job a', 'release 1', 'regress_lock_a'::name, pg_backend_pid(), true,
			  current_setting('application_name'), NULL::timestamptz, NULL::name, NULL::text)$$,
	'lock_status: locked, by whom, why, this backend, holder alive, not frozen');
SELECT ok((SELECT lease_until BETWEEN now() + '10 minutes' AND clock_timestamp() + '10 minutes'
			 FROM pgchange.lock_status() WHERE project = 'app'),
	'lease_until is now() + the lease');
SELECT since AS since1 FROM pgchange.lock_status() WHERE project = 'app' \gset
SELECT is(pgchange.lock('app', 'ci job a', 'release 1'), 'renewed',
	'taking it again in the same session renews it');
SELECT ok((SELECT lease_until BETWEEN now() + '5 minutes' AND clock_timestamp() + '5 minutes'
			 FROM pgchange.lock_status() WHERE project = 'app'),
	'renewing sets the new lease (the default 5 minutes)');
SELECT is((SELECT since FROM pgchange.lock_status() WHERE project = 'app'), :'since1'::timestamptz,
	'renewing keeps the time it was first acquired');
SELECT is((SELECT count(*) FROM pgchange.events WHERE project = 'app' AND kind = 'lock'), 1::bigint,
	'a renewal is not a new lock event');
SELECT is(pgchange.unlock('app'), true, 'a single unlock releases it');
SELECT results_eq(
	$$SELECT state, owner, pid, holder_alive, lease_until FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('free', NULL::text, NULL::int, NULL::boolean, NULL::timestamptz)$$,
	'lock_status: free, with nobody holding it');
SELECT is(pgchange.unlock('app'), false, 'unlock of a free lock returns false');
SELECT is(pgchange.lock('app', reason => 'release 2'), 'acquired',
	'lock without an owner is acquired again');
SELECT is((SELECT owner FROM pgchange.lock_status() WHERE project = 'app'), 'regress_lock_a',
	'the owner defaults to the session user');

-- ------------------------------------------------------------------ busy --
SET SESSION AUTHORIZATION regress_lock_b;
SELECT throws_ok($$SELECT pgchange.lock('app', 'ci job b', 'hotfix')$$, '55P03',
	'project ''app'' is locked by ''regress_lock_a''',
	'another role gets 55P03 naming the holder');
SELECT matches((pg_temp.catch($$SELECT pgchange.lock('app', 'ci job b', 'hotfix')$$)).det,
	format('^Held since .* by role regress_lock_a \(pid %s(, application [^)]*)?\) for: release 2\. The lease ends at .* unless renewed\.$',
		   pg_backend_pid()),
	'the detail says since when, which role and pid, and the reason');
SELECT matches((pg_temp.catch($$SELECT pgchange.lock('app', 'ci job b', 'hotfix')$$)).hin,
	'unlock\(''app'', force => true\)', 'the hint names unlock(..., force => true)');
SELECT matches((pg_temp.catch($$SELECT pgchange.lock('app', 'ci job b', 'hotfix')$$)).hin,
	'wait =>', 'the hint mentions waiting');
SELECT clock_timestamp() AS t0 \gset
SELECT throws_ok($$SELECT pgchange.lock('app', 'ci job b', 'hotfix', wait => '0.3 s')$$, '55P03',
	'project ''app'' is locked by ''regress_lock_a''', 'waiting for a held lock gives up with 55P03');
SELECT cmp_ok(clock_timestamp() - :'t0'::timestamptz, '>=', '0.3 s'::interval,
	'and only after the wait');
SELECT results_eq(
	$$SELECT holder_role, state FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('regress_lock_a'::name, 'locked')$$, 'the busy attempts changed nothing');

-- the same role in another live backend is busy too: re-entrancy is per session
RESET SESSION AUTHORIZATION;
UPDATE pgchange.lock_lease
   SET (holder_pid, holder_backend_start) =
	   (SELECT pid, backend_start FROM pg_stat_activity WHERE backend_type = 'checkpointer')
 WHERE project = 'app';
SET SESSION AUTHORIZATION regress_lock_a;
SELECT throws_ok($$SELECT pgchange.lock('app', 'ci job a2')$$, '55P03',
	'project ''app'' is locked by ''regress_lock_a''',
	'the holder''s role in another live backend cannot take it');
SELECT results_eq(
	$$SELECT state, holder_alive, pid <> pg_backend_pid() FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('locked', true, true)$$, 'lock_status shows the other backend as alive');

-- -------------------------------------------------------------- heartbeat --
RESET SESSION AUTHORIZATION;
UPDATE pgchange.lock_lease SET holder_pid = pg_backend_pid(),
	   holder_backend_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
 WHERE project = 'app';
SET SESSION AUTHORIZATION regress_lock_a;
SELECT ok(pgchange.lock_heartbeat('app', '20 minutes')
			BETWEEN now() + '20 minutes' AND clock_timestamp() + '20 minutes',
	'lock_heartbeat returns the new end of the lease');
SELECT ok((SELECT lease_until > now() + '19 minutes' FROM pgchange.lock_status() WHERE project = 'app'),
	'and extends lease_until');
SELECT ok((SELECT heartbeat_at >= now() FROM pgchange.lock_lease WHERE project = 'app'),
	'and records the heartbeat');
SET SESSION AUTHORIZATION regress_lock_b;
SELECT throws_ok($$SELECT pgchange.lock_heartbeat('app')$$, '55P03',
	'this role does not hold the lock of project ''app''', 'a role that does not hold it cannot renew it');
SELECT is((pg_temp.catch($$SELECT pgchange.lock_heartbeat('app')$$)).det,
	'It is held by regress_lock_a (role regress_lock_a).', 'the detail says who holds it');
SELECT is((pg_temp.catch($$SELECT pgchange.lock_heartbeat('free project')$$)).det,
	'Nobody holds it.', 'renewing a lock nobody holds says so');

-- ----------------------------------------------------------------- leases --
SELECT throws_ok($$SELECT pgchange.lock('app', lease => '0')$$, '22023',
	'invalid lease ''00:00:00''', 'a lease of 0 is refused');
SELECT throws_ok($$SELECT pgchange.lock('app', lease => '0.5 s')$$, '22023',
	'invalid lease ''00:00:00.5''', 'a lease under a second is refused');
SELECT throws_ok($$SELECT pgchange.lock('app', lease => NULL)$$, '22023',
	'invalid lease NULL', 'a NULL lease is refused');
SELECT throws_ok($$SELECT pgchange.lock('app', lease => '8 days')$$, '22023',
	'invalid lease ''8 days''', 'a lease over 7 days is refused');
SELECT is((pg_temp.catch($$SELECT pgchange.lock('app', lease => '8 days')$$)).det,
	'A lease lasts from 1 second to 7 days.', 'the detail gives the limits');
SELECT throws_ok($$SELECT pgchange.lock_heartbeat('app', '8 days')$$, '22023',
	'invalid lease ''8 days''', 'lock_heartbeat refuses a lease over 7 days');
SELECT throws_ok($$SELECT pgchange.lock_heartbeat('app', NULL)$$, '22023',
	'invalid lease NULL', 'lock_heartbeat refuses a NULL lease');
SELECT is(pgchange.lock('edge1', lease => '1 second'), 'acquired', 'a lease of 1 second is the minimum');
SELECT is(pgchange.lock('edge7', lease => '7 days'), 'acquired', 'a lease of 7 days is the maximum');

-- ------------------------------------------------ stale lock: lease expired --
RESET SESSION AUTHORIZATION;
UPDATE pgchange.lock_lease SET lease_until = clock_timestamp() - interval '1 second'
 WHERE project = 'app';
SELECT results_eq(
	$$SELECT state, holder_alive FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('stale (lease expired)', true)$$, 'an expired lease shows as stale');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT throws_ok($$SELECT pgchange.lock_heartbeat('app')$$, '55P03',
	'this role does not hold the lock of project ''app''', 'the holder cannot renew an expired lease');
SELECT is((pg_temp.catch($$SELECT pgchange.lock_heartbeat('app')$$)).det, 'Its lease expired.',
	'and is told why');
SET SESSION AUTHORIZATION regress_lock_b;
SELECT is(pgchange.lock('app', 'ci job b', 'hotfix'), 'taken_over',
	'another role takes over a lock whose lease expired');
SELECT results_eq(
	$$SELECT actor, detail->>'cause', detail->>'previous_owner', detail->>'previous_role',
			 (detail->>'previous_pid')::int, detail->>'previous_reason'
		FROM pgchange.events WHERE project = 'app' AND kind = 'lock_taken_over'$$,
	$$VALUES ('regress_lock_b'::name, 'lease expired', 'regress_lock_a', 'regress_lock_a',
			  pg_backend_pid(), 'release 2')$$,
	'a lock_taken_over event records the cause and the previous holder');
SELECT results_eq(
	$$SELECT owner, holder_role, state FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('ci job b', 'regress_lock_b'::name, 'locked')$$, 'the new holder holds it');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT is((pg_temp.catch($$SELECT pgchange.lock_heartbeat('app')$$)).det,
	'It is held by ci job b (role regress_lock_b).',
	'the previous holder learns at its next heartbeat that it lost the lock');

-- ------------------------------------------ stale lock: holder backend gone --
RESET SESSION AUTHORIZATION;
-- 2147483647 is beyond any operating system's pid range
UPDATE pgchange.lock_lease SET holder_pid = 2147483647 WHERE project = 'app';
SELECT results_eq(
	$$SELECT state, holder_alive, lease_until > now() FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('stale (holder gone)', false, true)$$,
	'a lock whose holder backend is gone shows as stale, lease or not');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT is(pgchange.lock('app', 'ci job a', 'release 3'), 'taken_over',
	'a lock whose holder backend is gone is free at once');
SELECT results_eq(
	$$SELECT actor, detail->>'cause', detail->>'previous_owner', (detail->>'previous_pid')::int
		FROM pgchange.events WHERE project = 'app' AND kind = 'lock_taken_over' ORDER BY event_id DESC LIMIT 1$$,
	$$VALUES ('regress_lock_a'::name, 'holder backend gone', 'ci job b', 2147483647)$$,
	'the takeover records the cause holder backend gone');
SELECT is(pgchange.unlock('app'), true, 'the new holder releases it');

-- ---------------------------------------------------------------- freezes --
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT throws_ok($$SELECT pgchange.freeze('app', NULL)$$, '22023', 'a freeze needs a reason',
	'a freeze without a reason is refused');
SELECT throws_ok($$SELECT pgchange.freeze('app', '   ')$$, '22023', 'a freeze needs a reason',
	'a blank reason is no reason');
SELECT throws_ok($$SELECT pgchange.freeze('app', 'close', now() - interval '1 hour')$$, '22023',
	'the end of a freeze must be in the future', 'a freeze that already ended is refused');
SELECT lives_ok($$SELECT pgchange.freeze('app', 'quarter-end close', '2999-01-01 00:00+00')$$,
	'an admin freezes a project with a reason and an end');
SELECT results_eq(
	$$SELECT state, frozen_until, frozen_by, freeze_reason FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('frozen', '2999-01-01 00:00+00'::timestamptz, 'regress_lock_admin'::name, 'quarter-end close')$$,
	'lock_status shows the freeze, its end, author and reason');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT throws_ok($$SELECT pgchange.lock('app', 'ci job a')$$, '55P03',
	'deployments of project ''app'' are frozen until ' || '2999-01-01 00:00+00'::timestamptz::text,
	'a deployer cannot lock a frozen project');
SELECT matches((pg_temp.catch($$SELECT pgchange.lock('app', 'ci job a')$$)).det,
	'^Frozen by regress_lock_admin since .*: quarter-end close$', 'the detail gives who, since when and why');
SELECT matches((pg_temp.catch($$SELECT pgchange.lock('app', 'ci job a')$$)).hin,
	'pgchange\.unfreeze\(''app''\)', 'the hint names unfreeze');
SET SESSION AUTHORIZATION regress_lock_admin2;
SELECT throws_ok($$SELECT pgchange.lock('app', 'other dba')$$, '55P03',
	'deployments of project ''app'' are frozen until ' || '2999-01-01 00:00+00'::timestamptz::text,
	'another admin cannot lock it either');
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT is(pgchange.lock('app', 'dba', 'maintenance'), 'acquired', 'the freezer can still lock');
SELECT results_eq(
	$$SELECT state, holder_role, frozen_by FROM pgchange.lock_status() WHERE project = 'app'$$,
	$$VALUES ('locked', 'regress_lock_admin'::name, 'regress_lock_admin'::name)$$,
	'while the freezer holds it the state is locked, and the freeze still shows');
SELECT is(pgchange.unlock('app'), true, 'the freezer releases the lock');
SELECT lives_ok($$SELECT pgchange.freeze('app', 'incident 42')$$, 'a freeze is replaced, here by one without an end');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT throws_ok($$SELECT pgchange.lock('app')$$, '55P03',
	'deployments of project ''app'' are frozen until further notice', 'a freeze without an end');
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT is(pgchange.unfreeze('app'), true, 'unfreeze ends it');
SELECT is(pgchange.unfreeze('app'), false, 'unfreeze of a project that is not frozen returns false');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT is(pgchange.lock('app', 'ci job a'), 'acquired', 'after the unfreeze the deployer locks');
SELECT is(pgchange.unlock('app'), true, 'and unlocks');
-- a freeze whose end has passed blocks nobody
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT lives_ok($$SELECT pgchange.freeze('app', 'short', clock_timestamp() + interval '1 hour')$$,
	'a short freeze');
RESET SESSION AUTHORIZATION;
UPDATE pgchange.freeze_window SET frozen_until = clock_timestamp() - interval '1 second' WHERE project = 'app';
SET SESSION AUTHORIZATION regress_lock_a;
SELECT is(pgchange.lock('app', 'ci job a'), 'acquired', 'a freeze that has ended blocks nobody');
SELECT is((SELECT state FROM pgchange.lock_status() WHERE project = 'app'), 'locked',
	'and lock_status no longer shows it');
SELECT is(pgchange.unlock('app'), true, 'unlock');
-- a freeze set while a deploy holds the lock stops its renewals, not its heartbeats
SELECT is(pgchange.lock('app', 'ci job a'), 'acquired', 'a deploy holds the lock');
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT lives_ok($$SELECT pgchange.freeze('app', 'stop after this one')$$, 'a freeze during a deploy');
SET SESSION AUTHORIZATION regress_lock_a;
SELECT lives_ok($$SELECT pgchange.lock_heartbeat('app')$$, 'the running deploy keeps its lease');
SELECT throws_ok($$SELECT pgchange.lock('app', 'ci job a')$$, '55P03',
	'deployments of project ''app'' are frozen until further notice',
	'but taking the lock again is refused');
SELECT is(pgchange.unlock('app'), true, 'the deploy releases its lock during the freeze');
SET SESSION AUTHORIZATION regress_lock_admin;
SELECT is(pgchange.unfreeze('app'), true, 'unfreeze');

-- ----------------------------------------------------------------- events --
RESET SESSION AUTHORIZATION;
SELECT results_eq(
	$$SELECT kind, actor, coalesce(detail->>'owner', detail->>'reason', detail->>'cause')
		FROM pgchange.events WHERE project = 'app' ORDER BY event_id$$,
	$$VALUES ('project', 'regress_lock_a'::name, NULL),
			 ('lock', 'regress_lock_a', 'ci job a'),
			 ('unlock', 'regress_lock_a', 'ci job a'),
			 ('lock', 'regress_lock_a', 'regress_lock_a'),
			 ('lock_taken_over', 'regress_lock_b', 'lease expired'),
			 ('lock', 'regress_lock_b', 'ci job b'),
			 ('lock_taken_over', 'regress_lock_a', 'holder backend gone'),
			 ('lock', 'regress_lock_a', 'ci job a'),
			 ('unlock', 'regress_lock_a', 'ci job a'),
			 ('freeze', 'regress_lock_admin', 'quarter-end close'),
			 ('lock', 'regress_lock_admin', 'dba'),
			 ('unlock', 'regress_lock_admin', 'dba'),
			 ('freeze', 'regress_lock_admin', 'incident 42'),
			 ('unfreeze', 'regress_lock_admin', NULL),
			 ('lock', 'regress_lock_a', 'ci job a'),
			 ('unlock', 'regress_lock_a', 'ci job a'),
			 ('freeze', 'regress_lock_admin', 'short'),
			 ('lock', 'regress_lock_a', 'ci job a'),
			 ('unlock', 'regress_lock_a', 'ci job a'),
			 ('lock', 'regress_lock_a', 'ci job a'),
			 ('freeze', 'regress_lock_admin', 'stop after this one'),
			 ('unlock', 'regress_lock_a', 'ci job a'),
			 ('unfreeze', 'regress_lock_admin', NULL)$$,
	'every lock, unlock, takeover, freeze and unfreeze is an event, by the session user');
SELECT is((SELECT detail FROM pgchange.events WHERE project = 'app' AND kind = 'lock' ORDER BY event_id LIMIT 1),
	'{"owner": "ci job a", "lease": "00:10:00", "reason": "release 1"}'::jsonb,
	'a lock event records owner, reason and lease');
SELECT results_eq(
	$$SELECT detail->>'reason', (detail->>'until')::timestamptz FROM pgchange.events
	   WHERE project = 'app' AND kind = 'freeze' ORDER BY event_id LIMIT 1$$,
	$$VALUES ('quarter-end close', '2999-01-01 00:00+00'::timestamptz)$$,
	'a freeze event records the reason and the end');

SELECT * FROM finish();
ROLLBACK;
