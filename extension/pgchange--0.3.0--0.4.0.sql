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

/* -------------------------------------------------------------------- *
 * Verification (issue #6): each changeset's verify SQL, stored when it is
 * deployed so that pgchange verify works without the files.
 * -------------------------------------------------------------------- */
ALTER TABLE pgchange.registry ADD COLUMN verify_sql text;
COMMENT ON COLUMN pgchange.registry.verify_sql IS
  'the changeset''s verification SQL as deployed (--verify): it passes when it runs without error';

/*
 * Store the verify SQL of the changesets deployment_id recorded.  verify is
 * a JSON array of {id, author, path, verify}; a changeset of the deployment
 * that is not in it gets none (its verify block was removed).  Separate from
 * record_changeset: verification is optional, and one call per deploy is
 * enough.  Returns how many changesets of the deployment have verify SQL.
 */
CREATE FUNCTION pgchange.record_verify(project text, deployment_id bigint, verify jsonb)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_deployment ALIAS FOR deployment_id;
	p_verify ALIAS FOR verify;
	mode text;
	bad jsonb;
	n integer;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF p_verify IS NULL OR jsonb_typeof(p_verify) <> 'array' THEN
		RAISE EXCEPTION 'the verify list must be a JSON array'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass [{"id": "1", "author": "alice", "path": "a.sql", "verify": "SELECT 1/count(*) FROM t"}, ...].';
	END IF;
	SELECT e INTO bad FROM jsonb_array_elements(p_verify) AS e
	 WHERE jsonb_typeof(e) <> 'object'
		OR jsonb_typeof(e->'id') IS DISTINCT FROM 'string'
		OR jsonb_typeof(e->'author') IS DISTINCT FROM 'string'
		OR jsonb_typeof(e->'verify') IS DISTINCT FROM 'string'
		OR (e ? 'path' AND jsonb_typeof(e->'path') <> 'string')
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid verify entry %', bad::text
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Each entry needs string members id, author and verify; path is a string if given.';
	END IF;
	IF NOT EXISTS (SELECT FROM pgchange.deployment_log d
					WHERE d.deployment_id = p_deployment AND d.project = p_project) THEN
		RAISE EXCEPTION 'deployment % of project % does not exist', p_deployment, quote_literal(p_project)
			USING ERRCODE = 'no_data_found',
				  HINT = 'List the deployments with SELECT * FROM pgchange.deployments.';
	END IF;
	SELECT identity_mode INTO mode FROM pgchange.projects p WHERE p.project = p_project;

	UPDATE pgchange.registry r SET verify_sql = NULL
	 WHERE r.project = p_project AND r.deployment_id = p_deployment AND r.verify_sql IS NOT NULL;
	UPDATE pgchange.registry r SET verify_sql = m.sql
	  FROM (SELECT e->>'id' AS id, e->>'author' AS author,
				   CASE WHEN mode = 'path' THEN coalesce(e->>'path', '') ELSE '' END AS ipath,
				   e->>'verify' AS sql
			  FROM jsonb_array_elements(p_verify) AS e) AS m
	 WHERE r.project = p_project AND r.deployment_id = p_deployment
	   AND r.changeset_id = m.id AND r.author = m.author AND r.identity_path = m.ipath;

	SELECT count(*) INTO n FROM pgchange.registry r
	 WHERE r.project = p_project AND r.deployment_id = p_deployment AND r.verify_sql IS NOT NULL;
	RETURN n;
END
$$;
COMMENT ON FUNCTION pgchange.record_verify(text, bigint, jsonb) IS
  'store the verify SQL of the changesets a deployment recorded';
REVOKE EXECUTE ON FUNCTION pgchange.record_verify(text, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.record_verify(text, bigint, jsonb) TO pgchange_deployer;

/* ==================================================================== *
 * Section 3: policy engine (issue #5).  The event triggers come last in
 * this section, after everything they call exists.
 * ==================================================================== */
