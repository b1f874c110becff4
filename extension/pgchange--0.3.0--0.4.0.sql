/* pgchange--0.3.0--0.4.0.sql: validate() in C, rollback SQL kept in the
 * registry, the policy engine (rules, settings, violations, guard mode and
 * the event triggers that enforce them). */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgchange UPDATE TO '0.4.0'" to load this file. \quit

/* ==================================================================== *
 * Section 1: registry and validation (issue #4)
 * ==================================================================== */

/*
 * validate() in C (validate.c): the same arguments, rows, errors and
 * privileges as the PL/pgSQL version of 0.2.0, in one pass over the
 * manifest with the registry rows in a hash table.  One column more,
 * rollback_drift: how the stored rollback of an applied changeset differs
 * from the rollback_checksum its manifest entry gives, so status and
 * validate need no second statement for it.  A new OUT column changes the
 * result type, so the function is dropped and created again, with its
 * grants restated.
 */
DROP FUNCTION pgchange.validate(text, jsonb);
CREATE FUNCTION pgchange.validate(project text, manifest jsonb)
RETURNS TABLE (seq int, changeset_id text, author text, path text, status text,
			   file_checksum text, applied_checksum text, applied_at timestamptz,
			   exec_type text, rollback_drift text)
LANGUAGE C STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgchange_validate';
COMMENT ON FUNCTION pgchange.validate(text, jsonb) IS
  'compare a changelog manifest with the registry: ok, changed, pending, out_of_order, missing_from_files; and rollback drift';
REVOKE EXECUTE ON FUNCTION pgchange.validate(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.validate(text, jsonb) TO pgchange_reader;

/* ==================================================================== *
 * Section 2: rollback and verification (issue #6)
 * ==================================================================== */

/*
 * What rolling back needs, stored at deploy time so that it does not depend
 * on the files: rollback_sql (already there) and how to run it.  goose
 * splits its Down section itself, and that split is kept; a rollback that
 * cannot run in a transaction block (goose NO TRANSACTION,
 * runInTransaction:false) is run by the controller statement by statement.
 */
ALTER TABLE pgchange.registry
	ADD COLUMN rollback_statements text[],
	ADD COLUMN rollback_in_transaction boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN pgchange.registry.rollback_sql IS
  'SQL that undoes the changeset, as deployed; '''' when nothing needs undoing, NULL when it has no rollback';
COMMENT ON COLUMN pgchange.registry.rollback_statements IS
  'the rollback split as its source format splits it (goose Down); NULL: split by the server''s parser';

/*
 * Progress rows of kind 'rollback' count the statements of a rollback run
 * statement by statement, so a rerun resumes.  A partly run changeset (no
 * registry row yet) keeps its rollback here: rolling back undoes what was
 * done of it.
 */
ALTER TABLE pgchange.progress
	ADD COLUMN kind text NOT NULL DEFAULT 'deploy' CHECK (kind IN ('deploy', 'rollback')),
	ADD COLUMN rollback_sql text,
	ADD COLUMN rollback_statements text[],
	ADD COLUMN rollback_in_transaction boolean NOT NULL DEFAULT true;

-- the rollbacks a rollback deployment ran, for pgchange.deployments
CREATE INDEX event_log_rollback_idx ON pgchange.event_log (deployment_id)
	WHERE kind = 'rollback';

-- Raise unless tag is a valid tag name free in the project (internal)
CREATE FUNCTION pgchange._check_tag(p_project text, p_tag text, p_id text,
									p_author text, p_ipath text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	holder pgchange.registry;
BEGIN
	IF p_tag IS NULL OR btrim(p_tag) = '' OR length(p_tag) > 200 THEN
		RAISE EXCEPTION 'invalid tag %', coalesce(quote_literal(p_tag), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A tag has 1 to 200 characters.';
	END IF;
	SELECT * INTO holder FROM pgchange.registry r
	 WHERE r.project = p_project AND r.tag = p_tag
	   AND (p_id IS NULL OR (r.changeset_id, r.author, r.identity_path) <> (p_id, p_author, p_ipath));
	IF FOUND THEN
		RAISE EXCEPTION 'tag % already exists in project %', quote_literal(p_tag), quote_literal(p_project)
			USING ERRCODE = 'unique_violation',
				  DETAIL = format('Changeset %s by %s (%s) carries it.', holder.changeset_id,
								  holder.author, holder.path),
				  HINT = 'Tags are unique per project; choose another name.';
	END IF;
END
$$;

/*
 * record_changeset and run_changeset take the rollback's statements, where
 * it runs and the tag the changeset declares (tagDatabase, --tag).  The
 * new arguments come last with defaults, so existing calls keep working.
 */
DROP FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval,
										text, text, text, text, text);
CREATE FUNCTION pgchange.record_changeset(
	project text, deployment_id bigint, changeset_id text, author text, path text,
	checksum text, exec_type text DEFAULT 'executed', duration interval DEFAULT NULL,
	description text DEFAULT NULL, comment text DEFAULT NULL,
	contexts text DEFAULT NULL, labels text DEFAULT NULL,
	rollback_sql text DEFAULT NULL, rollback_statements text[] DEFAULT NULL,
	rollback_in_transaction boolean DEFAULT true, tag text DEFAULT NULL)
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
	p_tag ALIAS FOR tag;
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
	IF p_tag IS NOT NULL THEN
		PERFORM pgchange._check_tag(p_project, p_tag, p_id, p_author, ipath);
	END IF;
	IF EXISTS (SELECT FROM pgchange.progress g
				WHERE g.project = p_project AND g.changeset_id = p_id AND g.author = p_author
				  AND g.identity_path = ipath AND g.kind = 'rollback') THEN
		RAISE EXCEPTION 'changeset % by % is partly rolled back', p_id, p_author
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Finish the rollback first: run pgchange rollback again.';
	END IF;
	ord := nextval('pgchange.exec_order_seq');

	INSERT INTO pgchange.registry AS r
		(project, changeset_id, author, identity_path, path, checksum, description, comment,
		 contexts, labels, tag, exec_order, deployment_id, duration, exec_type,
		 rollback_sql, rollback_checksum, rollback_statements, rollback_in_transaction)
	VALUES (p_project, p_id, p_author, ipath, path, checksum, description, comment,
			contexts, labels, p_tag, ord, p_deployment, duration, exec_type,
			rollback_sql, pgchange.checksum(rollback_sql), rollback_statements,
			coalesce(rollback_in_transaction, true))
	ON CONFLICT ON CONSTRAINT registry_pkey DO UPDATE
	   SET path = EXCLUDED.path, checksum = EXCLUDED.checksum,
		   description = EXCLUDED.description, comment = EXCLUDED.comment,
		   contexts = EXCLUDED.contexts, labels = EXCLUDED.labels,
		   tag = coalesce(EXCLUDED.tag, r.tag),
		   exec_order = EXCLUDED.exec_order, deployment_id = EXCLUDED.deployment_id,
		   applied_at = clock_timestamp(), applied_by = session_user,
		   duration = EXCLUDED.duration, exec_type = EXCLUDED.exec_type,
		   rollback_sql = EXCLUDED.rollback_sql,
		   rollback_checksum = EXCLUDED.rollback_checksum,
		   rollback_statements = EXCLUDED.rollback_statements,
		   rollback_in_transaction = EXCLUDED.rollback_in_transaction;

	event_kind := CASE exec_type WHEN 'reran' THEN 'rerun' WHEN 'mark_ran' THEN 'mark_ran'
								 ELSE 'changeset' END;
	PERFORM pgchange._event(p_project, event_kind, jsonb_build_object(
		'id', p_id, 'author', p_author, 'path', path, 'checksum', checksum,
		'exec_type', exec_type, 'duration', duration::text), p_deployment);
	IF p_tag IS NOT NULL THEN
		PERFORM pgchange._event(p_project, 'tag', jsonb_build_object(
			'tag', p_tag, 'id', p_id, 'author', p_author, 'path', path), p_deployment);
	END IF;
	RETURN ord;
END
$$;
COMMENT ON FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval, text, text, text, text, text, text[], boolean, text) IS
  'record a changeset run in the registry, with its rollback and tag, in the transaction of the changeset itself';

DROP FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text,
									 text, text, text, text, text);
CREATE FUNCTION pgchange.run_changeset(
	project text, deployment_id bigint, changeset_id text, author text, path text,
	checksum text, body text, exec_type text DEFAULT 'executed',
	lock_timeout text DEFAULT NULL, description text DEFAULT NULL,
	comment text DEFAULT NULL, contexts text DEFAULT NULL, labels text DEFAULT NULL,
	rollback_sql text DEFAULT NULL, rollback_statements text[] DEFAULT NULL,
	rollback_in_transaction boolean DEFAULT true, tag text DEFAULT NULL)
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgchange_run_changeset';
COMMENT ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text, text[], boolean, text) IS
  'run a changeset''s statements with the caller''s privileges and record it, in one transaction';

/*
 * record_progress keeps the rollback of the changeset being run, so that a
 * changeset that stopped half way can be rolled back.
 */
DROP FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int);
CREATE FUNCTION pgchange.record_progress(project text, deployment_id bigint,
										 changeset_id text, author text, path text,
										 checksum text, statements_done int,
										 statements_total int,
										 rollback_sql text DEFAULT NULL,
										 rollback_statements text[] DEFAULT NULL,
										 rollback_in_transaction boolean DEFAULT true)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	mode text;
	ipath text;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF statements_done IS NULL OR statements_total IS NULL
	   OR statements_done < 0 OR statements_done > statements_total THEN
		RAISE EXCEPTION 'invalid progress % of %', statements_done, statements_total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT identity_mode INTO mode FROM pgchange.projects p WHERE p.project = p_project;
	ipath := CASE WHEN mode = 'path' THEN path ELSE '' END;
	IF EXISTS (SELECT FROM pgchange.progress g
				WHERE g.project = p_project AND g.changeset_id = record_progress.changeset_id
				  AND g.author = record_progress.author AND g.identity_path = ipath
				  AND g.kind = 'rollback') THEN
		RAISE EXCEPTION 'changeset % by % is partly rolled back', record_progress.changeset_id,
			record_progress.author
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Finish the rollback first: run pgchange rollback again.';
	END IF;
	INSERT INTO pgchange.progress AS g
		(project, changeset_id, author, identity_path, path, checksum,
		 statements_done, statements_total, deployment_id, rollback_sql,
		 rollback_statements, rollback_in_transaction)
	VALUES (p_project, changeset_id, author, ipath, path, checksum, statements_done,
			statements_total, deployment_id, rollback_sql, rollback_statements,
			coalesce(rollback_in_transaction, true))
	ON CONFLICT ON CONSTRAINT progress_pkey DO UPDATE
	   SET path = EXCLUDED.path, checksum = EXCLUDED.checksum,
		   statements_done = EXCLUDED.statements_done,
		   statements_total = EXCLUDED.statements_total,
		   deployment_id = EXCLUDED.deployment_id, updated_at = clock_timestamp(),
		   rollback_sql = EXCLUDED.rollback_sql,
		   rollback_statements = EXCLUDED.rollback_statements,
		   rollback_in_transaction = EXCLUDED.rollback_in_transaction;
END
$$;
COMMENT ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int, text, text[], boolean) IS
  'record how many statements of a non-transactional changeset have completed, and its rollback';

/*
 * What a rollback would undo, in the order it would undo it: the newest
 * first, a partly run changeset before everything applied.  Exactly one
 * target: to_tag (everything applied after the changeset carrying the tag),
 * count (the last N), to_date (everything applied after it) or deployment
 * (what that deployment applied).  action is 'rollback' (run rollback_sql),
 * 'unrecord' (nothing to run: marked ran, or an empty rollback) or
 * 'blocked' (no rollback: the whole rollback must stop before it starts).
 */
CREATE FUNCTION pgchange.rollback_plan(project text, to_tag text DEFAULT NULL,
									   count int DEFAULT NULL,
									   to_date timestamptz DEFAULT NULL,
									   deployment bigint DEFAULT NULL)
RETURNS TABLE (step int, exec_order bigint, changeset_id text, author text,
			   identity_path text, path text, exec_type text, applied_at timestamptz,
			   deployment_id bigint, tag text, action text, reason text,
			   rollback_sql text, rollback_statements text[],
			   rollback_in_transaction boolean, rollback_checksum text,
			   statements_done int)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
	p_project ALIAS FOR project;
	p_tag ALIAS FOR to_tag;
	p_count ALIAS FOR count;
	p_date ALIAS FOR to_date;
	p_deployment ALIAS FOR deployment;
	tag_order bigint;
BEGIN
	IF (p_tag IS NOT NULL)::int + (p_count IS NOT NULL)::int + (p_date IS NOT NULL)::int
	   + (p_deployment IS NOT NULL)::int <> 1 THEN
		RAISE EXCEPTION 'a rollback needs exactly one target'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give one of to_tag, count, to_date or deployment.';
	END IF;
	IF p_count < 1 THEN
		RAISE EXCEPTION 'invalid rollback count %', p_count
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Roll back at least 1 changeset.';
	END IF;
	IF p_tag IS NOT NULL THEN
		SELECT r.exec_order INTO tag_order FROM pgchange.registry r
		 WHERE r.project = p_project AND r.tag = p_tag;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'tag % does not exist in project %', quote_literal(p_tag),
				quote_literal(p_project)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('The tags are in SELECT tag, changeset_id FROM pgchange.history WHERE project = %L AND tag IS NOT NULL.', p_project);
		END IF;
	END IF;
	IF p_deployment IS NOT NULL AND NOT EXISTS (
		SELECT FROM pgchange.deployment_log d
		 WHERE d.deployment_id = p_deployment AND d.project = p_project) THEN
		RAISE EXCEPTION 'deployment % of project % does not exist', p_deployment,
			quote_literal(p_project)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The deployments are in pgchange.deployments.';
	END IF;

	RETURN QUERY
	WITH entries AS (
		SELECT r.exec_order, r.changeset_id, r.author, r.identity_path, r.path, r.exec_type,
			   r.applied_at, r.deployment_id, r.tag, r.rollback_sql, r.rollback_statements,
			   r.rollback_in_transaction, r.rollback_checksum,
			   coalesce(g.statements_done, 0) AS done
		  FROM pgchange.registry r
		  LEFT JOIN pgchange.progress g
				 ON g.project = r.project AND g.changeset_id = r.changeset_id
				AND g.author = r.author AND g.identity_path = r.identity_path
				AND g.kind = 'rollback'
		 WHERE r.project = p_project AND r.exec_type <> 'failed'
		UNION ALL
		-- partly run (or partly rolled back): what was done gets undone
		SELECT NULL::bigint, g.changeset_id, g.author, g.identity_path, g.path, 'partial',
			   g.updated_at, g.deployment_id, NULL::text, g.rollback_sql,
			   g.rollback_statements, g.rollback_in_transaction,
			   pgchange.checksum(g.rollback_sql),
			   CASE WHEN g.kind = 'rollback' THEN g.statements_done ELSE 0 END
		  FROM pgchange.progress g
		 WHERE g.project = p_project AND (g.kind = 'rollback' OR g.statements_done > 0)
		   AND NOT EXISTS (SELECT FROM pgchange.registry r
							WHERE r.project = g.project AND r.changeset_id = g.changeset_id
							  AND r.author = g.author AND r.identity_path = g.identity_path)
	), chosen AS (
		SELECT e.* FROM entries e
		 WHERE CASE WHEN p_tag IS NOT NULL THEN e.exec_order IS NULL OR e.exec_order > tag_order
					WHEN p_date IS NOT NULL THEN e.applied_at > p_date
					WHEN p_deployment IS NOT NULL THEN e.deployment_id = p_deployment
					ELSE true END
		 ORDER BY e.exec_order DESC NULLS FIRST
		 LIMIT p_count
	)
	SELECT (row_number() OVER (ORDER BY c.exec_order DESC NULLS FIRST))::int,
		   c.exec_order, c.changeset_id, c.author, c.identity_path, c.path, c.exec_type,
		   c.applied_at, c.deployment_id, c.tag,
		   CASE WHEN c.exec_type = 'mark_ran' THEN 'unrecord'
				WHEN c.rollback_sql IS NULL THEN 'blocked'
				WHEN c.rollback_sql = '' OR c.rollback_statements = '{}' THEN 'unrecord'
				ELSE 'rollback' END,
		   CASE WHEN c.exec_type = 'mark_ran' THEN 'marked ran: nothing was executed'
				WHEN c.rollback_sql IS NULL THEN 'no rollback was recorded when it was deployed'
				WHEN c.rollback_sql = '' OR c.rollback_statements = '{}' THEN 'empty rollback: nothing to undo'
				WHEN c.exec_type = 'partial' AND c.done > 0 THEN 'partly rolled back: resumes'
				WHEN c.exec_type = 'partial' THEN 'partly run: its rollback undoes what was done'
				WHEN c.done > 0 THEN 'partly rolled back: resumes'
				END,
		   c.rollback_sql, c.rollback_statements, c.rollback_in_transaction,
		   c.rollback_checksum, c.done
	  FROM chosen c
	 ORDER BY c.exec_order DESC NULLS FIRST;
END
$$;
COMMENT ON FUNCTION pgchange.rollback_plan(text, text, int, timestamptz, bigint) IS
  'what a rollback would undo, newest first, with the stored SQL and whether something blocks it';

/*
 * Forget an applied (or partly run) changeset after its rollback ran: the
 * registry row goes, the event history keeps both the deploy and this.
 * Called in the transaction of the rollback itself; a DBA who undid a
 * changeset by hand records that with it too.
 */
CREATE FUNCTION pgchange.record_rollback(project text, deployment_id bigint,
										 changeset_id text, author text,
										 identity_path text DEFAULT '',
										 duration interval DEFAULT NULL)
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
	p_ipath ALIAS FOR identity_path;
	gone pgchange.registry;
	part pgchange.progress;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF NOT EXISTS (SELECT FROM pgchange.deployment_log d
					WHERE d.deployment_id = p_deployment AND d.project = p_project
					  AND d.status = 'running') THEN
		RAISE EXCEPTION 'deployment % of project % is not running', p_deployment, quote_literal(p_project)
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Open one with pgchange.begin_deployment(project, ''rollback'').';
	END IF;
	DELETE FROM pgchange.registry r
	 WHERE r.project = p_project AND r.changeset_id = p_id AND r.author = p_author
	   AND r.identity_path = coalesce(p_ipath, '')
	RETURNING * INTO gone;
	DELETE FROM pgchange.progress g
	 WHERE g.project = p_project AND g.changeset_id = p_id AND g.author = p_author
	   AND g.identity_path = coalesce(p_ipath, '')
	RETURNING * INTO part;
	IF gone.changeset_id IS NULL AND part.changeset_id IS NULL THEN
		RAISE EXCEPTION 'changeset % by % is not applied in project %', p_id, p_author,
			quote_literal(p_project)
			USING ERRCODE = 'no_data_found',
				  HINT = 'See what a rollback would undo with pgchange.rollback_plan().';
	END IF;
	PERFORM pgchange._event(p_project, 'rollback', jsonb_strip_nulls(jsonb_build_object(
		'id', p_id, 'author', p_author, 'path', coalesce(gone.path, part.path),
		'checksum', coalesce(gone.checksum, part.checksum),
		'exec_order', gone.exec_order, 'exec_type', coalesce(gone.exec_type, 'partial'),
		'tag', gone.tag, 'deployed_in', coalesce(gone.deployment_id, part.deployment_id),
		'rollback_checksum', CASE WHEN gone.changeset_id IS NOT NULL THEN gone.rollback_checksum
								  ELSE pgchange.checksum(part.rollback_sql) END,
		'duration', duration::text)), p_deployment);
	RETURN gone.exec_order;
END
$$;
COMMENT ON FUNCTION pgchange.record_rollback(text, bigint, text, text, text, interval) IS
  'remove a rolled back changeset from the registry and record the rollback in the event history';

CREATE FUNCTION pgchange.record_rollback_progress(project text, deployment_id bigint,
												  changeset_id text, author text,
												  identity_path text,
												  statements_done int,
												  statements_total int)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	p_id ALIAS FOR changeset_id;
	p_author ALIAS FOR author;
	p_ipath ALIAS FOR identity_path;
BEGIN
	PERFORM pgchange._require_lock(p_project);
	IF statements_done IS NULL OR statements_total IS NULL
	   OR statements_done < 0 OR statements_done > statements_total THEN
		RAISE EXCEPTION 'invalid progress % of %', statements_done, statements_total
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE pgchange.progress g
	   SET kind = 'rollback', statements_done = record_rollback_progress.statements_done,
		   statements_total = record_rollback_progress.statements_total,
		   updated_at = clock_timestamp()
	 WHERE g.project = p_project AND g.changeset_id = p_id AND g.author = p_author
	   AND g.identity_path = coalesce(p_ipath, '');
	IF FOUND THEN
		RETURN;
	END IF;
	INSERT INTO pgchange.progress
		(project, changeset_id, author, identity_path, path, checksum, statements_done,
		 statements_total, deployment_id, kind, rollback_sql, rollback_statements,
		 rollback_in_transaction)
	SELECT r.project, r.changeset_id, r.author, r.identity_path, r.path, r.checksum,
		   record_rollback_progress.statements_done, record_rollback_progress.statements_total,
		   r.deployment_id, 'rollback', r.rollback_sql, r.rollback_statements,
		   r.rollback_in_transaction
	  FROM pgchange.registry r
	 WHERE r.project = p_project AND r.changeset_id = p_id AND r.author = p_author
	   AND r.identity_path = coalesce(p_ipath, '');
	IF NOT FOUND THEN
		RAISE EXCEPTION 'changeset % by % is not applied in project %', p_id, p_author,
			quote_literal(p_project)
			USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION pgchange.record_rollback_progress(text, bigint, text, text, text, int, int) IS
  'record how many statements of a rollback run statement by statement have completed';

/*
 * Undo one changeset inside the database with the rollback SQL the
 * registry stored, and remove it from the registry, in the caller's
 * transaction and with the caller's privileges (like run_changeset).
 */
CREATE FUNCTION pgchange.run_rollback(project text, deployment_id bigint,
									  changeset_id text, author text,
									  identity_path text DEFAULT '',
									  lock_timeout text DEFAULT NULL)
RETURNS int
LANGUAGE C
AS 'MODULE_PATHNAME', 'pgchange_run_rollback';
COMMENT ON FUNCTION pgchange.run_rollback(text, bigint, text, text, text, text) IS
  'run a changeset''s stored rollback with the caller''s privileges and unrecord it, in one transaction';

/* pgchange.tag: the same rules as declared tags (_check_tag) */
CREATE OR REPLACE FUNCTION pgchange.tag(project text, tag text)
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
	PERFORM pgchange._check_tag(p_project, p_tag, NULL, NULL, NULL);
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
		'tag', p_tag, 'id', last.changeset_id, 'author', last.author, 'path', last.path,
		'replaced', last.tag));
	RETURN QUERY SELECT last.changeset_id, last.author, last.path, last.exec_order;
END
$$;

/* a rollback deployment counts the changesets it undid */
CREATE OR REPLACE VIEW pgchange.deployments AS
SELECT d.deployment_id, d.project, d.kind, d.status, d.started_at, d.finished_at,
	   d.finished_at - d.started_at AS duration, d.deployed_by, d.client_host,
	   d.client_addr, d.application_name, d.controller_version, d.metadata, d.error,
	   CASE WHEN d.kind = 'rollback'
			THEN (SELECT count(*) FROM pgchange.event_log e
				   WHERE e.deployment_id = d.deployment_id AND e.kind = 'rollback')
			ELSE (SELECT count(*) FROM pgchange.registry r
				   WHERE r.deployment_id = d.deployment_id) END AS changesets
  FROM pgchange.deployment_log d;

REVOKE EXECUTE ON FUNCTION pgchange._check_tag(text, text, text, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval, text, text, text, text, text, text[], boolean, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text, text[], boolean, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int, text, text[], boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.rollback_plan(text, text, int, timestamptz, bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.record_rollback(text, bigint, text, text, text, interval) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.record_rollback_progress(text, bigint, text, text, text, int, int) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION pgchange.run_rollback(text, bigint, text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.record_changeset(text, bigint, text, text, text, text, text, interval, text, text, text, text, text, text[], boolean, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.run_changeset(text, bigint, text, text, text, text, text, text, text, text, text, text, text, text, text[], boolean, text) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.record_progress(text, bigint, text, text, text, text, int, int, text, text[], boolean) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.rollback_plan(text, text, int, timestamptz, bigint) TO pgchange_reader;
GRANT EXECUTE ON FUNCTION pgchange.record_rollback(text, bigint, text, text, text, interval) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.record_rollback_progress(text, bigint, text, text, text, int, int) TO pgchange_deployer;
GRANT EXECUTE ON FUNCTION pgchange.run_rollback(text, bigint, text, text, text, text) TO pgchange_deployer;

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
