/* pgchange--0.1.0--0.2.0.sql: the registry, the deploy lock, freezes,
 * checksums, validation, roles and privileges. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgchange UPDATE TO '0.2.0'" to load this file. \quit

/*
 * Roles.  Roles are cluster-wide and outlive the extension, so they are
 * created only when missing (a second database reuses them) and are not
 * dropped by DROP EXTENSION.  admin > deployer > reader.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgchange_reader') THEN
		CREATE ROLE pgchange_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgchange_deployer') THEN
		CREATE ROLE pgchange_deployer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgchange_admin') THEN
		CREATE ROLE pgchange_admin NOLOGIN;
	END IF;
	IF NOT pg_catalog.pg_has_role('pgchange_deployer', 'pgchange_reader', 'MEMBER') THEN
		GRANT pgchange_reader TO pgchange_deployer;
	END IF;
	IF NOT pg_catalog.pg_has_role('pgchange_admin', 'pgchange_deployer', 'MEMBER') THEN
		GRANT pgchange_deployer TO pgchange_admin;
	END IF;
END
$roles$;

/* ------------------------------------------------------------------ */
/* Tables.  Nobody writes them directly: every change goes through the */
/* SECURITY DEFINER functions below, which record who did it.          */
/* ------------------------------------------------------------------ */

CREATE TABLE pgchange.projects (
	project		text PRIMARY KEY
		CHECK (length(project) BETWEEN 1 AND 200 AND project !~ '[[:cntrl:]]'),
	-- 'id_author': identity (project, id, author); 'path': the logical path
	-- is part of identity too (Liquibase changelogs that reuse ids)
	identity_mode text NOT NULL DEFAULT 'id_author'
		CHECK (identity_mode IN ('id_author', 'path')),
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by	name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE pgchange.projects IS
  'independent changelogs deployed into this database';

CREATE TABLE pgchange.deployment_log (
	deployment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	project		text NOT NULL REFERENCES pgchange.projects,
	kind		text NOT NULL DEFAULT 'deploy'
		CHECK (kind IN ('deploy', 'rollback', 'mark_ran', 'verify')),
	status		text NOT NULL DEFAULT 'running'
		CHECK (status IN ('running', 'succeeded', 'failed', 'aborted')),
	started_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	finished_at timestamptz,
	deployed_by name NOT NULL DEFAULT session_user,
	controller_version text,
	client_host text,
	client_addr inet DEFAULT pg_catalog.inet_client_addr(),
	application_name text,
	metadata	jsonb NOT NULL DEFAULT '{}',
	error		text,
	CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX ON pgchange.deployment_log (project, started_at);
COMMENT ON TABLE pgchange.deployment_log IS
  'one row per deploy / rollback run, with who ran it from where';

CREATE TABLE pgchange.registry (
	project		text NOT NULL REFERENCES pgchange.projects,
	changeset_id text NOT NULL CHECK (changeset_id <> ''),
	author		text NOT NULL,
	-- '' unless the project's identity mode is 'path'
	identity_path text NOT NULL DEFAULT '',
	path		text NOT NULL,
	checksum	text NOT NULL CHECK (checksum ~ '^[0-9]+:[0-9a-f]+$'),
	description text,
	comment		text,
	contexts	text,
	labels		text,
	tag			text,
	exec_order	bigint NOT NULL,
	deployment_id bigint REFERENCES pgchange.deployment_log,
	applied_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	applied_by	name NOT NULL DEFAULT session_user,
	duration	interval,
	exec_type	text NOT NULL
		CHECK (exec_type IN ('executed', 'reran', 'mark_ran', 'failed')),
	rollback_sql text,
	rollback_checksum text CHECK (rollback_checksum ~ '^[0-9]+:[0-9a-f]+$'),
	PRIMARY KEY (project, changeset_id, author, identity_path),
	UNIQUE (project, exec_order),
	UNIQUE (project, tag)
);
COMMENT ON TABLE pgchange.registry IS
  'changesets applied to this database: identity (project, id, author), checksum, when, by whom';

CREATE SEQUENCE pgchange.exec_order_seq;

CREATE TABLE pgchange.event_log (
	event_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	project		text,
	kind		text NOT NULL CHECK (kind IN (
		'project', 'identity_mode', 'deploy_start', 'deploy_end', 'changeset',
		'rerun', 'rollback', 'mark_ran', 'tag', 'lock', 'unlock', 'lock_taken_over',
		'lock_broken', 'freeze', 'unfreeze', 'policy')),
	actor		name NOT NULL DEFAULT session_user,
	backend_pid int DEFAULT pg_catalog.pg_backend_pid(),
	client_addr inet DEFAULT pg_catalog.inet_client_addr(),
	application_name text DEFAULT pg_catalog.current_setting('application_name'),
	deployment_id bigint,
	detail		jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ON pgchange.event_log (project, at);
COMMENT ON TABLE pgchange.event_log IS
  'append-only history of deploys, reruns, rollbacks, tags, locks, freezes and policy changes';

-- Append-only, even for the table owner: a trigger refuses UPDATE, DELETE
-- and TRUNCATE.  (A superuser can still disable the trigger; that is
-- visible in the catalog and in the server log.)
CREATE FUNCTION pgchange.event_log_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'pgchange.event_log is append-only'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('%s on the event history is refused.', TG_OP),
			  HINT = 'Events are never changed or removed; add a new event instead.';
END
$$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON pgchange.event_log
	FOR EACH ROW EXECUTE FUNCTION pgchange.event_log_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON pgchange.event_log
	FOR EACH STATEMENT EXECUTE FUNCTION pgchange.event_log_append_only();
-- also under session_replication_role = replica
ALTER TABLE pgchange.event_log ENABLE ALWAYS TRIGGER append_only,
	ENABLE ALWAYS TRIGGER append_only_truncate;

CREATE TABLE pgchange.lock_lease (
	project		text PRIMARY KEY REFERENCES pgchange.projects,
	-- all NULL while the lock is free: the row itself is permanent, so
	-- taking the lock never inserts (and never waits on another insert)
	owner		text,
	reason		text,
	holder_role name,
	holder_pid	int,
	holder_backend_start timestamptz,
	client_addr inet,
	application_name text,
	acquired_at timestamptz,
	heartbeat_at timestamptz,
	lease_until timestamptz,
	CHECK ((owner IS NULL) = (holder_pid IS NULL)
		   AND (owner IS NULL) = (lease_until IS NULL))
);
COMMENT ON TABLE pgchange.lock_lease IS
  'the deploy lock of each project: bound to the holder''s backend, with a lease';

CREATE TABLE pgchange.freeze_window (
	project		text PRIMARY KEY REFERENCES pgchange.projects,
	reason		text NOT NULL,
	frozen_by	name NOT NULL,
	frozen_at	timestamptz NOT NULL,
	frozen_until timestamptz
);
COMMENT ON TABLE pgchange.freeze_window IS
  'deployment freezes: while one is active nobody but its author can take the lock';

/* ------------------------------------------------------------------ */
/* Internal helpers                                                    */
/* ------------------------------------------------------------------ */

-- Append an event (internal; not granted to anyone)
CREATE FUNCTION pgchange._event(p_project text, p_kind text, p_detail jsonb,
								p_deployment_id bigint DEFAULT NULL)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	INSERT INTO pgchange.event_log (project, kind, detail, deployment_id)
	VALUES (p_project, p_kind, coalesce(p_detail, '{}'), p_deployment_id);
$$;

-- Register a project the first time it is seen
CREATE FUNCTION pgchange._ensure_project(p_project text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_project IS NULL OR length(p_project) NOT BETWEEN 1 AND 200
	   OR p_project ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION 'invalid project name %', coalesce(quote_literal(p_project), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A project name has 1 to 200 characters and no control characters.';
	END IF;
	IF EXISTS (SELECT FROM pgchange.projects p WHERE p.project = p_project) THEN
		RETURN;
	END IF;
	INSERT INTO pgchange.projects (project) VALUES (p_project) ON CONFLICT DO NOTHING;
	IF FOUND THEN
		INSERT INTO pgchange.lock_lease (project) VALUES (p_project);
		PERFORM pgchange._event(p_project, 'project', '{}');
	END IF;
END
$$;

-- Is the caller (the session's role, whatever SECURITY DEFINER does) an admin?
CREATE FUNCTION pgchange._is_admin()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_has_role(session_user, 'pgchange_admin', 'MEMBER')
		OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user);
$$;

-- Is the backend (pid, start time) still there?  Clears the statistics
-- snapshot first: within one transaction pg_stat_activity is otherwise
-- frozen, and a waiter would never see the holder die.
CREATE FUNCTION pgchange._backend_alive(p_pid int, p_start timestamptz)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_stat_clear_snapshot();
	RETURN EXISTS (SELECT FROM pg_stat_activity
				   WHERE pid = p_pid AND backend_start = p_start);
END
$$;

/* ------------------------------------------------------------------ */
/* Checksums                                                           */
/* ------------------------------------------------------------------ */

CREATE FUNCTION pgchange.checksum(body text)
RETURNS text
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgchange_checksum';
COMMENT ON FUNCTION pgchange.checksum(text) IS
  '"1:" and the hex SHA-256 of the normalised body (comments dropped, whitespace folded outside literals)';

/* ------------------------------------------------------------------ */
/* Projects                                                            */
/* ------------------------------------------------------------------ */

CREATE FUNCTION pgchange.set_identity_mode(project text, mode text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	old_mode text;
BEGIN
	IF mode IS NULL OR mode NOT IN ('id_author', 'path') THEN
		RAISE EXCEPTION 'invalid identity mode %', coalesce(quote_literal(mode), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''id_author'' (the default) or ''path''.';
	END IF;
	PERFORM pgchange._ensure_project(p_project);
	SELECT identity_mode INTO old_mode FROM pgchange.projects p
	 WHERE p.project = p_project FOR UPDATE;
	IF old_mode = mode THEN
		RETURN;
	END IF;
	IF EXISTS (SELECT FROM pgchange.registry r WHERE r.project = p_project) THEN
		RAISE EXCEPTION 'cannot change the identity mode of project % after changesets were applied',
			quote_literal(p_project)
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Applied changesets are recorded under the current identity mode.',
				  HINT = 'Choose the identity mode before the first deploy of the project.';
	END IF;
	UPDATE pgchange.projects p SET identity_mode = mode WHERE p.project = p_project;
	PERFORM pgchange._event(p_project, 'identity_mode',
							jsonb_build_object('from', old_mode, 'to', mode));
END
$$;
COMMENT ON FUNCTION pgchange.set_identity_mode(text, text) IS
  'make the logical path part of changeset identity (''path'') or not (''id_author''), before the first deploy';

/* ------------------------------------------------------------------ */
/* The deploy lock                                                     */
/* ------------------------------------------------------------------ */

/*
 * Try once to take the lock; internal.  Returns 'acquired', 'renewed'
 * (this backend already held it) or 'taken_over' (the previous holder's
 * backend was gone or its lease had expired), or NULL when someone else
 * holds it.  A freeze raises at once.
 *
 * Never waits: the busy check is a plain read, and the claim locks the
 * lease row NOWAIT inside a subtransaction that is rolled back when the
 * claim fails, so a polling waiter holds no row lock while it sleeps and
 * the holder's unlock never queues behind it.
 */
CREATE FUNCTION pgchange._try_lock(p_project text, p_owner text, p_reason text,
								   p_lease interval)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cur pgchange.lock_lease;
	fz pgchange.freeze_window;
	my_start timestamptz;
	result text;
BEGIN
	SELECT * INTO fz FROM pgchange.freeze_window f
	 WHERE f.project = p_project
	   AND (f.frozen_until IS NULL OR f.frozen_until > clock_timestamp());
	IF FOUND AND fz.frozen_by <> session_user THEN
		RAISE EXCEPTION 'deployments of project % are frozen %', quote_literal(p_project),
			CASE WHEN fz.frozen_until IS NULL THEN 'until further notice'
				 ELSE 'until ' || fz.frozen_until::text END
			USING ERRCODE = 'lock_not_available',
				  DETAIL = format('Frozen by %s since %s: %s', fz.frozen_by, fz.frozen_at, fz.reason),
				  HINT = format('Wait for the freeze to end, or ask %s or a pgchange_admin to run SELECT pgchange.unfreeze(%L).',
								fz.frozen_by, p_project);
	END IF;

	SELECT backend_start INTO my_start FROM pg_stat_activity WHERE pid = pg_backend_pid();

	BEGIN
		SELECT * INTO STRICT cur FROM pgchange.lock_lease l
		 WHERE l.project = p_project FOR UPDATE NOWAIT;

		IF cur.owner IS NULL THEN
			result := 'acquired';
		ELSIF cur.holder_pid = pg_backend_pid() AND cur.holder_backend_start = my_start
			  AND cur.holder_role = session_user THEN
			-- re-entrant: the same role in the same session renews it
			result := 'renewed';
		ELSIF cur.lease_until > clock_timestamp()
			  AND pgchange._backend_alive(cur.holder_pid, cur.holder_backend_start) THEN
			-- busy: roll the subtransaction back to drop the row lock
			RAISE EXCEPTION USING ERRCODE = 'lock_not_available';
		ELSE
			result := 'taken_over';
			PERFORM pgchange._event(p_project, 'lock_taken_over', jsonb_build_object(
				'previous_owner', cur.owner, 'previous_role', cur.holder_role,
				'previous_pid', cur.holder_pid, 'previous_reason', cur.reason,
				'cause', CASE WHEN cur.lease_until <= clock_timestamp()
							  THEN 'lease expired' ELSE 'holder backend gone' END));
		END IF;

		UPDATE pgchange.lock_lease l
		   SET owner = p_owner, reason = p_reason, holder_role = session_user,
			   holder_pid = pg_backend_pid(), holder_backend_start = my_start,
			   client_addr = inet_client_addr(),
			   application_name = current_setting('application_name'),
			   acquired_at = CASE WHEN result = 'renewed' THEN cur.acquired_at
								  ELSE clock_timestamp() END,
			   heartbeat_at = clock_timestamp(),
			   lease_until = clock_timestamp() + p_lease
		 WHERE l.project = p_project;
		IF result <> 'renewed' THEN
			PERFORM pgchange._event(p_project, 'lock', jsonb_build_object(
				'owner', p_owner, 'reason', p_reason, 'lease', p_lease::text));
		END IF;
		RETURN result;
	EXCEPTION
		WHEN lock_not_available THEN
			-- held by a live backend, or being changed right now
			RETURN NULL;
	END;
END
$$;

CREATE FUNCTION pgchange.lock(project text, owner text DEFAULT NULL,
							  reason text DEFAULT NULL,
							  wait interval DEFAULT '0',
							  lease interval DEFAULT '5 minutes')
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_owner text := coalesce(owner, session_user::text);
	deadline timestamptz := clock_timestamp() + greatest(coalesce(wait, '0'), '0');
	pause float8 := 0.01;
	result text;
	cur pgchange.lock_lease;
BEGIN
	IF lease IS NULL OR lease < '1 second' OR lease > '7 days' THEN
		RAISE EXCEPTION 'invalid lease %', coalesce(quote_literal(lease::text), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A lease lasts from 1 second to 7 days.';
	END IF;
	PERFORM pgchange._ensure_project(p_project);
	LOOP
		result := pgchange._try_lock(p_project, p_owner, reason, lease);
		IF result IS NOT NULL THEN
			RETURN result;
		END IF;
		EXIT WHEN clock_timestamp() >= deadline;
		-- poll with backoff: no heavyweight lock is waited on, so this never
		-- joins a lock queue (which CREATE INDEX CONCURRENTLY would deadlock on)
		PERFORM pg_sleep(least(pause, extract(epoch FROM deadline - clock_timestamp())));
		pause := least(pause * 2, 1.0);
	END LOOP;

	SELECT * INTO cur FROM pgchange.lock_lease l WHERE l.project = p_project;
	RAISE EXCEPTION 'project % is locked by %', quote_literal(p_project),
		coalesce(quote_literal(cur.owner), 'a session that is taking it right now')
		USING ERRCODE = 'lock_not_available',
			  DETAIL = format('Held since %s by role %s (pid %s%s%s) for: %s. The lease ends at %s unless renewed.',
							  cur.acquired_at, cur.holder_role, cur.holder_pid,
							  coalesce(', client ' || host(cur.client_addr), ''),
							  coalesce(', application ' || nullif(cur.application_name, ''), ''),
							  coalesce(cur.reason, 'no reason given'), cur.lease_until),
			  HINT = format('Wait for it (pgchange.lock(%L, wait => ''5 min'')), or if it is stuck ask a pgchange_admin to run SELECT pgchange.unlock(%L, force => true).',
							p_project, p_project);
END
$$;
COMMENT ON FUNCTION pgchange.lock(text, text, text, interval, interval) IS
  'take the deploy lock of a project, waiting up to wait; returns acquired, renewed or taken_over';

CREATE FUNCTION pgchange.lock_heartbeat(project text, lease interval DEFAULT '5 minutes')
RETURNS timestamptz
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	cur pgchange.lock_lease;
	mine boolean;
	new_end timestamptz;
BEGIN
	IF lease IS NULL OR lease < '1 second' OR lease > '7 days' THEN
		RAISE EXCEPTION 'invalid lease %', coalesce(quote_literal(lease::text), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A lease lasts from 1 second to 7 days.';
	END IF;
	SELECT * INTO cur FROM pgchange.lock_lease l WHERE l.project = p_project FOR UPDATE;
	mine := cur.owner IS NOT NULL AND cur.holder_role = session_user
			AND cur.lease_until > clock_timestamp();
	IF NOT coalesce(mine, false) THEN
		RAISE EXCEPTION 'this role does not hold the lock of project %',
			coalesce(quote_literal(p_project), 'NULL')
			USING ERRCODE = 'lock_not_available',
				  DETAIL = CASE WHEN cur.owner IS NULL THEN 'Nobody holds it.'
								WHEN cur.holder_role = session_user THEN 'Its lease expired.'
								ELSE format('It is held by %s (role %s).', cur.owner, cur.holder_role) END,
				  HINT = format('Take it again with SELECT pgchange.lock(%L).', p_project);
	END IF;
	new_end := clock_timestamp() + lease;
	UPDATE pgchange.lock_lease l
	   SET heartbeat_at = clock_timestamp(), lease_until = new_end
	 WHERE l.project = p_project;
	-- behind a pooler the holder's backend may be gone while the client
	-- lives on: the lock then follows the backend that renews it
	IF cur.holder_pid <> pg_backend_pid()
	   AND NOT pgchange._backend_alive(cur.holder_pid, cur.holder_backend_start) THEN
		UPDATE pgchange.lock_lease l
		   SET holder_pid = pg_backend_pid(),
			   holder_backend_start = (SELECT backend_start FROM pg_stat_activity
										WHERE pid = pg_backend_pid())
		 WHERE l.project = p_project;
	END IF;
	RETURN new_end;
END
$$;
COMMENT ON FUNCTION pgchange.lock_heartbeat(text, interval) IS
  'renew the lease of a lock this role holds; returns the new end of the lease';

CREATE FUNCTION pgchange.unlock(project text, force boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	cur pgchange.lock_lease;
	live boolean;
BEGIN
	SELECT * INTO cur FROM pgchange.lock_lease l WHERE l.project = p_project FOR UPDATE;
	IF cur.owner IS NULL THEN
		RETURN false;
	END IF;
	live := cur.lease_until > clock_timestamp()
			AND pgchange._backend_alive(cur.holder_pid, cur.holder_backend_start);
	IF cur.holder_role <> session_user AND live THEN
		IF NOT force THEN
			RAISE EXCEPTION 'the lock of project % is held by %, not by this role',
				quote_literal(p_project), quote_literal(cur.owner)
				USING ERRCODE = 'lock_not_available',
					  DETAIL = format('Held since %s by role %s (pid %s) for: %s.', cur.acquired_at,
									  cur.holder_role, cur.holder_pid, coalesce(cur.reason, 'no reason given')),
					  HINT = format('A pgchange_admin can break it with SELECT pgchange.unlock(%L, force => true).', p_project);
		END IF;
		IF NOT pgchange._is_admin() THEN
			RAISE EXCEPTION 'only pgchange_admin can break another role''s live lock'
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = format('The lock of project %s is held by role %s (pid %s).',
									  quote_literal(p_project), cur.holder_role, cur.holder_pid),
					  HINT = 'Ask a member of pgchange_admin, or wait for the holder to finish.';
		END IF;
		PERFORM pgchange._event(p_project, 'lock_broken', jsonb_build_object(
			'owner', cur.owner, 'holder_role', cur.holder_role, 'holder_pid', cur.holder_pid,
			'reason', cur.reason));
	ELSE
		PERFORM pgchange._event(p_project, 'unlock', jsonb_build_object('owner', cur.owner));
	END IF;
	UPDATE pgchange.lock_lease l
	   SET owner = NULL, reason = NULL, holder_role = NULL, holder_pid = NULL,
		   holder_backend_start = NULL, client_addr = NULL, application_name = NULL,
		   acquired_at = NULL, heartbeat_at = NULL, lease_until = NULL
	 WHERE l.project = p_project;
	RETURN true;
END
$$;
COMMENT ON FUNCTION pgchange.unlock(text, boolean) IS
  'release the lock of a project; force => true (pgchange_admin) breaks another role''s live lock';

CREATE FUNCTION pgchange.lock_status()
RETURNS TABLE (project text, state text, owner text, reason text, holder_role name,
			   pid int, client_addr inet, application_name text, since timestamptz,
			   lease_until timestamptz, holder_alive boolean,
			   frozen_until timestamptz, frozen_by name, freeze_reason text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_stat_clear_snapshot();
	RETURN QUERY
	SELECT p.project,
		   CASE WHEN f.project IS NOT NULL AND l.owner IS NULL THEN 'frozen'
				WHEN l.owner IS NULL THEN 'free'
				WHEN a.pid IS NULL THEN 'stale (holder gone)'
				WHEN l.lease_until <= clock_timestamp() THEN 'stale (lease expired)'
				ELSE 'locked' END,
		   l.owner, l.reason, l.holder_role, l.holder_pid, l.client_addr,
		   l.application_name, l.acquired_at, l.lease_until,
		   CASE WHEN l.owner IS NULL THEN NULL ELSE a.pid IS NOT NULL END,
		   f.frozen_until, f.frozen_by, f.reason
	  FROM pgchange.projects p
	  LEFT JOIN pgchange.lock_lease l ON l.project = p.project
	  LEFT JOIN pg_stat_activity a
			 ON a.pid = l.holder_pid AND a.backend_start = l.holder_backend_start
	  LEFT JOIN pgchange.freeze_window f
			 ON f.project = p.project
			AND (f.frozen_until IS NULL OR f.frozen_until > clock_timestamp())
	 ORDER BY p.project;
END
$$;
COMMENT ON FUNCTION pgchange.lock_status() IS
  'every project''s lock: holder, pid, client, application, reason, since, lease end, holder alive; and freezes';

/* ------------------------------------------------------------------ */
/* Freezes                                                             */
/* ------------------------------------------------------------------ */

CREATE FUNCTION pgchange.freeze(project text, reason text, until timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
BEGIN
	IF NOT pgchange._is_admin() THEN
		RAISE EXCEPTION 'only pgchange_admin can freeze deployments'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask a member of pgchange_admin.';
	END IF;
	IF reason IS NULL OR btrim(reason) = '' THEN
		RAISE EXCEPTION 'a freeze needs a reason'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Say why, e.g. SELECT pgchange.freeze(''app'', ''quarter-end close'', now() + ''2 days'').';
	END IF;
	IF until IS NOT NULL AND until <= clock_timestamp() THEN
		RAISE EXCEPTION 'the end of a freeze must be in the future'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM pgchange._ensure_project(p_project);
	INSERT INTO pgchange.freeze_window (project, reason, frozen_by, frozen_at, frozen_until)
	VALUES (p_project, reason, session_user, clock_timestamp(), until)
	ON CONFLICT ON CONSTRAINT freeze_window_pkey DO UPDATE
	   SET reason = EXCLUDED.reason, frozen_by = EXCLUDED.frozen_by,
		   frozen_at = EXCLUDED.frozen_at, frozen_until = EXCLUDED.frozen_until;
	PERFORM pgchange._event(p_project, 'freeze',
							jsonb_build_object('reason', reason, 'until', until));
END
$$;
COMMENT ON FUNCTION pgchange.freeze(text, text, timestamptz) IS
  'block deployments of a project until a time (NULL: until unfreeze), with a reason everyone sees';

CREATE FUNCTION pgchange.unfreeze(project text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
BEGIN
	IF NOT pgchange._is_admin() THEN
		RAISE EXCEPTION 'only pgchange_admin can end a freeze'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask a member of pgchange_admin.';
	END IF;
	DELETE FROM pgchange.freeze_window f WHERE f.project = p_project;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM pgchange._event(p_project, 'unfreeze', '{}');
	RETURN true;
END
$$;
COMMENT ON FUNCTION pgchange.unfreeze(text) IS 'end the freeze of a project';

/* ------------------------------------------------------------------ */
/* Deployments and the registry                                        */
/* ------------------------------------------------------------------ */

-- Require that this session holds the project's deploy lock
CREATE FUNCTION pgchange._require_lock(p_project text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM pgchange.lock_lease l
					WHERE l.project = p_project AND l.holder_role = session_user
					  AND l.lease_until > clock_timestamp()) THEN
		RAISE EXCEPTION 'this role does not hold the deploy lock of project %', quote_literal(p_project)
			USING ERRCODE = 'lock_not_available',
				  HINT = format('Take it first: SELECT pgchange.lock(%L, ''my deploy'').', p_project);
	END IF;
END
$$;

CREATE FUNCTION pgchange.begin_deployment(project text, kind text DEFAULT 'deploy',
										  metadata jsonb DEFAULT '{}',
										  controller_version text DEFAULT NULL,
										  client_host text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	id bigint;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF kind IS NULL OR kind NOT IN ('deploy', 'rollback', 'mark_ran', 'verify') THEN
		RAISE EXCEPTION 'invalid deployment kind %', coalesce(quote_literal(kind), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use deploy, rollback, mark_ran or verify.';
	END IF;
	IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
		RAISE EXCEPTION 'deployment metadata must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'For example ''{"git_sha": "4f2a9c1", "environment": "staging"}''.';
	END IF;
	INSERT INTO pgchange.deployment_log
		(project, kind, metadata, controller_version, client_host, application_name)
	VALUES (p_project, kind, coalesce(metadata, '{}'), controller_version, client_host,
			current_setting('application_name'))
	RETURNING deployment_id INTO id;
	PERFORM pgchange._event(p_project, 'deploy_start',
							jsonb_build_object('kind', kind, 'metadata', metadata), id);
	RETURN id;
END
$$;
COMMENT ON FUNCTION pgchange.begin_deployment(text, text, jsonb, text, text) IS
  'open a deployment record (needs the project lock); returns its id';

CREATE FUNCTION pgchange.finish_deployment(deployment_id bigint, status text,
										   error text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_id ALIAS FOR deployment_id;
	d pgchange.deployment_log;
BEGIN
	IF status IS NULL OR status NOT IN ('succeeded', 'failed', 'aborted') THEN
		RAISE EXCEPTION 'invalid deployment status %', coalesce(quote_literal(status), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use succeeded, failed or aborted.';
	END IF;
	SELECT * INTO d FROM pgchange.deployment_log l WHERE l.deployment_id = p_id FOR UPDATE;
	IF NOT FOUND OR d.status <> 'running' THEN
		RAISE EXCEPTION 'deployment % is not running', p_id
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	IF d.deployed_by <> session_user AND NOT pgchange._is_admin() THEN
		RAISE EXCEPTION 'deployment % belongs to role %', p_id, d.deployed_by
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE pgchange.deployment_log l
	   SET status = finish_deployment.status, finished_at = clock_timestamp(),
		   error = finish_deployment.error
	 WHERE l.deployment_id = p_id;
	PERFORM pgchange._event(d.project, 'deploy_end',
							jsonb_build_object('status', status, 'error', error), p_id);
END
$$;
COMMENT ON FUNCTION pgchange.finish_deployment(bigint, text, text) IS
  'close a deployment record as succeeded, failed or aborted';

/*
 * Record one changeset run.  Called in the same transaction as the
 * changeset's own statements, so the change and its record commit (or
 * roll back) together.
 */
CREATE FUNCTION pgchange.record_changeset(
	project text, deployment_id bigint, changeset_id text, author text, path text,
	checksum text, exec_type text DEFAULT 'executed', duration interval DEFAULT NULL,
	description text DEFAULT NULL, comment text DEFAULT NULL,
	contexts text DEFAULT NULL, labels text DEFAULT NULL,
	rollback_sql text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_deployment ALIAS FOR deployment_id;
	p_id ALIAS FOR changeset_id;
	p_author ALIAS FOR author;
	mode text;
	ipath text;
	ord bigint;
	event_kind text;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF exec_type IS NULL OR exec_type NOT IN ('executed', 'reran', 'mark_ran', 'failed') THEN
		RAISE EXCEPTION 'invalid exec type %', coalesce(quote_literal(exec_type), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use executed, reran, mark_ran or failed.';
	END IF;
	IF checksum IS NULL OR checksum !~ '^[0-9]+:[0-9a-f]+$' THEN
		RAISE EXCEPTION 'invalid checksum %', coalesce(quote_literal(checksum), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A checksum is a version number, a colon and lower-case hex digits.',
				  HINT = 'Compute it with pgchange.checksum(body).';
	END IF;
	IF NOT EXISTS (SELECT FROM pgchange.deployment_log d
					WHERE d.deployment_id = p_deployment AND d.project = p_project
					  AND d.status = 'running') THEN
		RAISE EXCEPTION 'deployment % of project % is not running', p_deployment, quote_literal(p_project)
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Open one with pgchange.begin_deployment().';
	END IF;
	SELECT identity_mode INTO mode FROM pgchange.projects p WHERE p.project = p_project;
	ipath := CASE WHEN mode = 'path' THEN path ELSE '' END;
	ord := nextval('pgchange.exec_order_seq');

	INSERT INTO pgchange.registry AS r
		(project, changeset_id, author, identity_path, path, checksum, description, comment,
		 contexts, labels, exec_order, deployment_id, duration, exec_type,
		 rollback_sql, rollback_checksum)
	VALUES (p_project, p_id, p_author, ipath, path, checksum, description, comment,
			contexts, labels, ord, p_deployment, duration, exec_type,
			rollback_sql, pgchange.checksum(rollback_sql))
	ON CONFLICT ON CONSTRAINT registry_pkey DO UPDATE
	   SET path = EXCLUDED.path, checksum = EXCLUDED.checksum,
		   description = EXCLUDED.description, comment = EXCLUDED.comment,
		   contexts = EXCLUDED.contexts, labels = EXCLUDED.labels,
		   exec_order = EXCLUDED.exec_order, deployment_id = EXCLUDED.deployment_id,
		   applied_at = clock_timestamp(), applied_by = session_user,
		   duration = EXCLUDED.duration, exec_type = EXCLUDED.exec_type,
		   rollback_sql = EXCLUDED.rollback_sql,
		   rollback_checksum = EXCLUDED.rollback_checksum;

	event_kind := CASE exec_type WHEN 'reran' THEN 'rerun' WHEN 'mark_ran' THEN 'mark_ran'
								 ELSE 'changeset' END;
	PERFORM pgchange._event(p_project, event_kind, jsonb_build_object(
		'id', p_id, 'author', p_author, 'path', path, 'checksum', checksum,
		'exec_type', exec_type, 'duration', duration::text), p_deployment);
	RETURN ord;
END
$$;
COMMENT ON FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval, text, text, text, text, text) IS
  'record a changeset run in the registry, in the transaction of the changeset itself';

/* ------------------------------------------------------------------ */
/* Validation                                                          */
/* ------------------------------------------------------------------ */

/*
 * Compare the changelog's changesets with the registry.  manifest is a
 * JSON array in changelog order of objects {id, author, path, checksum}
 * and optionally valid_checksums (an array; "ANY" accepts everything).
 * One row per changeset of either side, in changelog order, then the
 * applied ones missing from the files in the order they ran.
 */
CREATE FUNCTION pgchange.validate(project text, manifest jsonb)
RETURNS TABLE (seq int, changeset_id text, author text, path text, status text,
			   file_checksum text, applied_checksum text, applied_at timestamptz,
			   exec_type text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	mode text;
	bad jsonb;
BEGIN
	IF manifest IS NULL OR jsonb_typeof(manifest) <> 'array' THEN
		RAISE EXCEPTION 'the manifest must be a JSON array'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass [{"id": "1", "author": "alice", "path": "a.sql", "checksum": "1:..."}, ...].';
	END IF;
	SELECT e INTO bad FROM jsonb_array_elements(manifest) AS e
	 WHERE jsonb_typeof(e) <> 'object'
		OR jsonb_typeof(e->'id') IS DISTINCT FROM 'string'
		OR jsonb_typeof(e->'author') IS DISTINCT FROM 'string'
		OR jsonb_typeof(e->'checksum') IS DISTINCT FROM 'string'
		OR (e ? 'path' AND jsonb_typeof(e->'path') <> 'string')
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid manifest entry %', bad::text
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Each entry needs string members id, author and checksum; path is a string if given.';
	END IF;
	SELECT identity_mode INTO mode FROM pgchange.projects p WHERE p.project = p_project;
	mode := coalesce(mode, 'id_author');

	RETURN QUERY
	WITH files AS (
		SELECT (o - 1)::int AS seq, e->>'id' AS id, e->>'author' AS author,
			   coalesce(e->>'path', '') AS path, e->>'checksum' AS checksum,
			   coalesce(e->'valid_checksums', '[]') AS valid,
			   CASE WHEN mode = 'path' THEN coalesce(e->>'path', '') ELSE '' END AS ipath
		  FROM jsonb_array_elements(manifest) WITH ORDINALITY AS m(e, o)
	), applied AS (
		SELECT r.* FROM pgchange.registry r
		 WHERE r.project = p_project AND r.exec_type <> 'failed'
	), joined AS (
		SELECT f.*, a.checksum AS a_checksum, a.applied_at AS a_at, a.exec_type AS a_type,
			   a.changeset_id IS NOT NULL AS is_applied
		  FROM files f
		  LEFT JOIN applied a
				 ON a.changeset_id = f.id AND a.author = f.author AND a.identity_path = f.ipath
	), last_applied AS (
		SELECT max(j.seq) AS seq FROM joined j WHERE j.is_applied
	)
	SELECT v.seq, v.id, v.author, v.path, v.status, v.checksum, v.a_checksum, v.a_at, v.a_type
	  FROM (
		SELECT j.seq, j.id, j.author, j.path,
			   CASE WHEN NOT j.is_applied AND j.seq < (SELECT l.seq FROM last_applied l) THEN 'out_of_order'
					WHEN NOT j.is_applied THEN 'pending'
					WHEN j.a_checksum = j.checksum THEN 'ok'
					WHEN j.valid @> '["ANY"]' OR j.valid @> jsonb_build_array(j.a_checksum) THEN 'ok'
					ELSE 'changed' END AS status,
			   j.checksum, j.a_checksum, j.a_at, j.a_type, NULL::bigint AS ord
		  FROM joined j
		UNION ALL
		SELECT NULL::int, ap.changeset_id, ap.author, ap.path, 'missing_from_files',
			   NULL, ap.checksum, ap.applied_at, ap.exec_type, ap.exec_order
		  FROM applied ap
		 WHERE NOT EXISTS (SELECT FROM files f
							WHERE f.id = ap.changeset_id AND f.author = ap.author
							  AND f.ipath = ap.identity_path)
	  ) AS v
	 -- changelog order, then what is missing in the order it ran
	 ORDER BY v.seq NULLS LAST, v.ord;
END
$$;
COMMENT ON FUNCTION pgchange.validate(text, jsonb) IS
  'compare a changelog manifest with the registry: ok, changed, pending, out_of_order, missing_from_files';

/* ------------------------------------------------------------------ */
/* Views for DBAs                                                      */
/* ------------------------------------------------------------------ */

CREATE VIEW pgchange.history AS
SELECT r.project, r.exec_order, r.changeset_id, r.author, r.path, r.exec_type,
	   r.applied_at, r.applied_by, r.duration, r.checksum, r.tag, r.comment,
	   r.deployment_id, d.metadata AS deployment_metadata
  FROM pgchange.registry r
  LEFT JOIN pgchange.deployment_log d USING (deployment_id);
COMMENT ON VIEW pgchange.history IS 'applied changesets, in execution order';

CREATE VIEW pgchange.deployments AS
SELECT d.deployment_id, d.project, d.kind, d.status, d.started_at, d.finished_at,
	   d.finished_at - d.started_at AS duration, d.deployed_by, d.client_host,
	   d.client_addr, d.application_name, d.controller_version, d.metadata, d.error,
	   (SELECT count(*) FROM pgchange.registry r WHERE r.deployment_id = d.deployment_id) AS changesets
  FROM pgchange.deployment_log d;
COMMENT ON VIEW pgchange.deployments IS 'deploy and rollback runs: who, when, from where, outcome';

CREATE VIEW pgchange.events AS
SELECT e.event_id, e.at, e.project, e.kind, e.actor, e.backend_pid, e.client_addr,
	   e.application_name, e.deployment_id, e.detail
  FROM pgchange.event_log e;
COMMENT ON VIEW pgchange.events IS 'the append-only event history';

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

-- Nobody writes the tables directly; reading is for pgchange_reader
REVOKE ALL ON ALL TABLES IN SCHEMA pgchange FROM PUBLIC;
REVOKE ALL ON SEQUENCE pgchange.exec_order_seq FROM PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA pgchange TO pgchange_reader;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pgchange FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.version() TO PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.checksum(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.lock_status() TO pgchange_reader;
GRANT EXECUTE ON FUNCTION pgchange.validate(text, jsonb) TO pgchange_reader;
GRANT EXECUTE ON FUNCTION pgchange.lock(text, text, text, interval, interval) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.lock_heartbeat(text, interval) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.unlock(text, boolean) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.begin_deployment(text, text, jsonb, text, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.finish_deployment(bigint, text, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval, text, text, text, text, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.set_identity_mode(text, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.freeze(text, text, timestamptz) TO pgchange_admin;
GRANT EXECUTE ON FUNCTION pgchange.unfreeze(text) TO pgchange_admin;
