/* pgchange--0.2.0--0.3.0.sql: running changesets inside the database,
 * per-statement progress of non-transactional changesets, tags. */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgchange UPDATE TO '0.3.0'" to load this file. \quit

/*
 * Progress of a changeset that cannot run in one transaction: the
 * controller runs it statement by statement and records each one here, so
 * a rerun after a failure resumes after the last completed statement.  The
 * row goes away when the changeset is recorded in the registry.
 */
CREATE TABLE pgchange.progress (
	project		text NOT NULL REFERENCES pgchange.projects,
	changeset_id text NOT NULL,
	author		text NOT NULL,
	identity_path text NOT NULL DEFAULT '',
	path		text NOT NULL,
	checksum	text NOT NULL,
	statements_done int NOT NULL CHECK (statements_done >= 0),
	statements_total int NOT NULL CHECK (statements_total >= statements_done),
	deployment_id bigint REFERENCES pgchange.deployment_log,
	updated_at	timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	PRIMARY KEY (project, changeset_id, author, identity_path)
);
COMMENT ON TABLE pgchange.progress IS
  'statements completed of non-transactional changesets still running or interrupted';
REVOKE ALL ON pgchange.progress FROM PUBLIC;
GRANT SELECT ON pgchange.progress TO pgchange_reader;

CREATE FUNCTION pgchange._clear_progress()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM pgchange.progress p
	 WHERE p.project = NEW.project AND p.changeset_id = NEW.changeset_id
	   AND p.author = NEW.author AND p.identity_path = NEW.identity_path;
	RETURN NULL;
END
$$;
CREATE TRIGGER clear_progress AFTER INSERT OR UPDATE ON pgchange.registry
	FOR EACH ROW EXECUTE FUNCTION pgchange._clear_progress();

CREATE FUNCTION pgchange.record_progress(project text, deployment_id bigint,
										 changeset_id text, author text, path text,
										 checksum text, statements_done int,
										 statements_total int)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	mode text;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF statements_done IS NULL OR statements_total IS NULL
	   OR statements_done < 0 OR statements_done > statements_total THEN
		RAISE EXCEPTION 'invalid progress % of %', statements_done, statements_total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT identity_mode INTO mode FROM pgchange.projects p WHERE p.project = p_project;
	INSERT INTO pgchange.progress AS g
		(project, changeset_id, author, identity_path, path, checksum,
		 statements_done, statements_total, deployment_id)
	VALUES (p_project, changeset_id, author, CASE WHEN mode = 'path' THEN path ELSE '' END,
			path, checksum, statements_done, statements_total, deployment_id)
	ON CONFLICT ON CONSTRAINT progress_pkey DO UPDATE
	   SET path = EXCLUDED.path, checksum = EXCLUDED.checksum,
		   statements_done = EXCLUDED.statements_done,
		   statements_total = EXCLUDED.statements_total,
		   deployment_id = EXCLUDED.deployment_id, updated_at = clock_timestamp();
END
$$;
COMMENT ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int) IS
  'record how many statements of a non-transactional changeset have completed';

CREATE FUNCTION pgchange.run_changeset(
	project text, deployment_id bigint, changeset_id text, author text, path text,
	checksum text, body text, exec_type text DEFAULT 'executed',
	lock_timeout text DEFAULT NULL, description text DEFAULT NULL,
	comment text DEFAULT NULL, contexts text DEFAULT NULL, labels text DEFAULT NULL,
	rollback_sql text DEFAULT NULL)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgchange_run_changeset';
COMMENT ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text) IS
  'run a changeset''s statements with the caller''s privileges and record it, in one transaction';

/*
 * Tag the project's most recently applied changeset (Liquibase's tag):
 * rollback --to-tag and deploy --to-tag use it.
 */
CREATE FUNCTION pgchange.tag(project text, tag text)
RETURNS TABLE (changeset_id text, author text, path text, exec_order bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_tag ALIAS FOR tag;
	last pgchange.registry;
BEGIN
	IF p_tag IS NULL OR btrim(p_tag) = '' OR length(p_tag) > 200 THEN
		RAISE EXCEPTION 'invalid tag %', coalesce(quote_literal(p_tag), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A tag has 1 to 200 characters.';
	END IF;
	IF EXISTS (SELECT FROM pgchange.registry r WHERE r.project = p_project AND r.tag = p_tag) THEN
		RAISE EXCEPTION 'tag % already exists in project %', quote_literal(p_tag), quote_literal(p_project)
			USING ERRCODE = 'unique_violation',
				  HINT = 'Tags are unique per project; choose another name.';
	END IF;
	SELECT * INTO last FROM pgchange.registry r
	 WHERE r.project = p_project AND r.exec_type <> 'failed'
	 ORDER BY r.exec_order DESC LIMIT 1 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'project % has no applied changeset to tag', quote_literal(p_project)
			USING ERRCODE = 'no_data_found',
				  HINT = 'Deploy first, then tag.';
	END IF;
	UPDATE pgchange.registry r SET tag = p_tag
	 WHERE r.project = p_project AND r.exec_order = last.exec_order;
	PERFORM pgchange._event(p_project, 'tag', jsonb_build_object(
		'tag', p_tag, 'id', last.changeset_id, 'author', last.author, 'path', last.path));
	RETURN QUERY SELECT last.changeset_id, last.author, last.path, last.exec_order;
END
$$;
COMMENT ON FUNCTION pgchange.tag(text, text) IS
  'tag the most recently applied changeset of a project';

REVOKE EXECUTE ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.tag(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange._clear_progress() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.tag(text, text) TO pgchange_deployer;

CREATE FUNCTION pgchange.split_sql(body text)
RETURNS TABLE (statement int, line int, sql text, no_transaction text)
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgchange_split_sql';
COMMENT ON FUNCTION pgchange.split_sql(text) IS
  'split SQL into statements with the server''s parser; no_transaction says why one cannot run in a transaction block';
GRANT EXECUTE ON FUNCTION pgchange.split_sql(text) TO PUBLIC;
