/* pgchange--0.3.0--0.4.0.sql: validate() in C, rollback SQL kept in the
 * registry, the policy engine (rules, settings, violations, guard mode and
 * the event triggers that enforce them). */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgchange UPDATE TO '0.4.0'" to load this file. \quit

/* ==================================================================== *
 * Section 1: registry and validation (issue #4)
 * ==================================================================== */

/* ==================================================================== *
 * Section 2: rollback and verification (issue #6)
 * ==================================================================== */

/* ==================================================================== *
 * Section 3: policy engine (issue #5).  The event triggers come last in
 * this section, after everything they call exists.
 * ==================================================================== */

/*
 * Settings documents: '' is the global one, any other scope a project's
 * own.  Written only by policy_push(), which validates them.
 */
CREATE TABLE pgchange.policy_settings (
	scope		text PRIMARY KEY
		CHECK (length(scope) <= 200 AND scope !~ '[[:cntrl:]]'),
	settings	jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
	pushed_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	pushed_by	name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE pgchange.policy_settings IS
  'policy settings documents: the global one (scope '''') and per-project overrides';

/*
 * Every violation the event triggers saw, warnings too.  A blocked one is
 * written by a background worker, so it stays although its transaction
 * rolls back; the others are written in the transaction of the DDL.
 */
CREATE TABLE pgchange.violations (
	violation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at			timestamptz NOT NULL,
	rule		text NOT NULL,
	severity	text NOT NULL CHECK (severity IN ('info', 'warn', 'error')),
	message		text NOT NULL,
	detail		text,
	hint		text,
	statement	text,
	object		text,
	location	int,
	phase		text NOT NULL CHECK (phase IN ('ddl_command_start', 'ddl_command_end',
											   'sql_drop', 'table_rewrite')),
	blocked		boolean NOT NULL,
	project		text,
	changeset	text,
	deployment_id bigint,
	username	name NOT NULL,
	effective_user name NOT NULL,
	application_name text,
	pid			int,
	break_glass text
);
CREATE INDEX ON pgchange.violations (at);
COMMENT ON TABLE pgchange.violations IS
  'policy violations seen by the event triggers, blocked or not, with who and where';

/* DDL run outside a pgchange deployment (guard mode) */
CREATE TABLE pgchange.ddl_log (
	ddl_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at			timestamptz NOT NULL,
	username	name NOT NULL,
	effective_user name NOT NULL,
	application_name text,
	pid			int,
	client_addr inet,
	command_tag text NOT NULL,
	statement	text,
	objects		jsonb,
	blocked		boolean NOT NULL,
	break_glass text
);
CREATE INDEX ON pgchange.ddl_log (at);
COMMENT ON TABLE pgchange.ddl_log IS
  'DDL run outside a pgchange deployment: who, when, what, on which objects; refused or not';

CREATE FUNCTION pgchange._policy_validate(settings jsonb, projects boolean)
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgchange_policy_validate';

CREATE FUNCTION pgchange.policy_push(settings jsonb, project text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_settings ALIAS FOR settings;
BEGIN
	IF NOT pgchange._is_admin() THEN
		RAISE EXCEPTION 'only pgchange_admin can change policy settings'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Ask a member of pgchange_admin to run pgchange.policy_push() (pgchange policy push).';
	END IF;
	-- a project's own document cannot nest further projects
	PERFORM pgchange._policy_validate(p_settings, p_project IS NULL);
	IF p_project IS NOT NULL THEN
		PERFORM pgchange._ensure_project(p_project);
	END IF;
	INSERT INTO pgchange.policy_settings AS s (scope, settings)
	VALUES (coalesce(p_project, ''), p_settings)
	ON CONFLICT ON CONSTRAINT policy_settings_pkey DO UPDATE
	   SET settings = EXCLUDED.settings, pushed_at = clock_timestamp(),
		   pushed_by = session_user;
	PERFORM pgchange._event(p_project, 'policy', jsonb_build_object('settings', p_settings));
END
$$;
COMMENT ON FUNCTION pgchange.policy_push(jsonb, text) IS
  'validate and store the policy settings, global (project NULL) or a project''s own';

CREATE FUNCTION pgchange.policy_show(project text DEFAULT NULL)
RETURNS jsonb
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pgchange_policy_show';
COMMENT ON FUNCTION pgchange.policy_show(text) IS
  'effective policy settings of a project (NULL: global), every rule and parameter filled in';

CREATE FUNCTION pgchange.policy_rules(project text DEFAULT NULL)
RETURNS TABLE (rule text, severity text, default_severity text, scope text,
			   summary text, params jsonb)
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pgchange_policy_rules';
COMMENT ON FUNCTION pgchange.policy_rules(text) IS
  'the policy rules with their effective severity and parameters';

CREATE FUNCTION pgchange.lint(sql text, settings jsonb DEFAULT NULL,
							  project text DEFAULT NULL,
							  transactional boolean DEFAULT true)
RETURNS TABLE (rule text, severity text, message text, detail text, hint text,
			   statement text, object text, location int, line int)
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'pgchange_lint';
COMMENT ON FUNCTION pgchange.lint(text, jsonb, text, boolean) IS
  'check SQL against the policy rules without executing it; one row per violation';

/*
 * DDL outside deployments since the last finished deploy or rollback (of
 * the project; of any project when NULL).  Refused DDL changed nothing and
 * is not drift.
 */
CREATE FUNCTION pgchange.drift(project text DEFAULT NULL)
RETURNS TABLE (ddl_id bigint, at timestamptz, username name, effective_user name,
			   application_name text, client_addr inet, command_tag text,
			   statement text, objects jsonb, break_glass text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT l.ddl_id, l.at, l.username, l.effective_user, l.application_name,
		   l.client_addr, l.command_tag, l.statement, l.objects, l.break_glass
	  FROM pgchange.ddl_log l
	 WHERE NOT l.blocked
	   AND l.at > coalesce((SELECT max(d.finished_at) FROM pgchange.deployment_log d
							 WHERE d.finished_at IS NOT NULL
							   AND d.kind IN ('deploy', 'rollback')
							   AND (drift.project IS NULL OR d.project = drift.project)),
						   '-infinity')
	 ORDER BY l.ddl_id;
$$;
COMMENT ON FUNCTION pgchange.drift(text) IS
  'DDL run outside pgchange deployments since the last finished deploy or rollback';

REVOKE ALL ON pgchange.policy_settings, pgchange.violations, pgchange.ddl_log FROM PUBLIC;
GRANT SELECT ON pgchange.policy_settings, pgchange.violations, pgchange.ddl_log TO pgchange_reader;
REVOKE EXECUTE ON FUNCTION pgchange._policy_validate(jsonb, boolean),
	pgchange.policy_push(jsonb, text), pgchange.policy_show(text),
	pgchange.policy_rules(text), pgchange.lint(text, jsonb, text, boolean),
	pgchange.drift(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.policy_show(text), pgchange.policy_rules(text),
	pgchange.lint(text, jsonb, text, boolean), pgchange.drift(text) TO pgchange_reader;
GRANT EXECUTE ON FUNCTION pgchange.policy_push(jsonb, text) TO pgchange_admin;

/*
 * The event triggers, last: everything they call exists now.  ENABLE
 * ALWAYS, so session_replication_role = replica does not switch them off;
 * owned by the extension (a superuser), so only a superuser can disable or
 * drop them.  They skip extension scripts, this one included.
 */
CREATE FUNCTION pgchange._policy_ddl_start() RETURNS event_trigger
LANGUAGE C AS 'MODULE_PATHNAME', 'pgchange_policy_ddl_start';
CREATE FUNCTION pgchange._policy_ddl_end() RETURNS event_trigger
LANGUAGE C AS 'MODULE_PATHNAME', 'pgchange_policy_ddl_end';
CREATE FUNCTION pgchange._policy_sql_drop() RETURNS event_trigger
LANGUAGE C AS 'MODULE_PATHNAME', 'pgchange_policy_sql_drop';
CREATE FUNCTION pgchange._policy_table_rewrite() RETURNS event_trigger
LANGUAGE C AS 'MODULE_PATHNAME', 'pgchange_policy_table_rewrite';
REVOKE EXECUTE ON FUNCTION pgchange._policy_ddl_start(), pgchange._policy_ddl_end(),
	pgchange._policy_sql_drop(), pgchange._policy_table_rewrite() FROM PUBLIC;

CREATE EVENT TRIGGER pgchange_policy_ddl_start ON ddl_command_start
	EXECUTE FUNCTION pgchange._policy_ddl_start();
CREATE EVENT TRIGGER pgchange_policy_ddl_end ON ddl_command_end
	EXECUTE FUNCTION pgchange._policy_ddl_end();
CREATE EVENT TRIGGER pgchange_policy_sql_drop ON sql_drop
	EXECUTE FUNCTION pgchange._policy_sql_drop();
CREATE EVENT TRIGGER pgchange_policy_table_rewrite ON table_rewrite
	EXECUTE FUNCTION pgchange._policy_table_rewrite();
ALTER EVENT TRIGGER pgchange_policy_ddl_start ENABLE ALWAYS;
ALTER EVENT TRIGGER pgchange_policy_ddl_end ENABLE ALWAYS;
ALTER EVENT TRIGGER pgchange_policy_sql_drop ENABLE ALWAYS;
ALTER EVENT TRIGGER pgchange_policy_table_rewrite ENABLE ALWAYS;
