-- pgTAP: validate() in C (0.4.0) answers exactly as the PL/pgSQL version of
-- 0.2.0 did.  The old function is recreated here, verbatim but for its name,
-- and both run over random registries and manifests: both identity modes,
-- failed rows, duplicates, entries without a path, valid_checksums of every
-- JSON type, unknown and NULL projects.  Then the new function's own
-- properties: one row per entry in changelog order whatever the sizes, the
-- rollback_drift column (which the old one did not have) against a plain
-- SQL reference, its attributes and grants.
BEGIN;
SELECT plan(16);

-- the 0.2.0 body (extension/pgchange--0.1.0--0.2.0.sql)
CREATE FUNCTION pg_temp.old_validate(project text, manifest jsonb)
RETURNS TABLE (seq int, changeset_id text, author text, path text, status text,
			   file_checksum text, applied_checksum text, applied_at timestamptz,
			   exec_type text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p_project ALIAS FOR project;
	mode text;
	bad jsonb;
BEGIN
	IF manifest IS NULL OR jsonb_typeof(manifest) <> 'array' THEN
		RAISE EXCEPTION 'the manifest must be a JSON array'
			USING ERRCODE = 'invalid_parameter_value';
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
			USING ERRCODE = 'invalid_parameter_value';
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
	 ORDER BY v.seq NULLS LAST, v.ord;
END
$$;

-- Random projects: registry rows written directly (the functions that
-- normally write them are tested elsewhere), ids from a small range so
-- manifests hit, miss, repeat and reorder them.
CREATE TEMP TABLE scenario (k int PRIMARY KEY, project text, manifest jsonb);
SELECT setseed(0.4);
DO $$
DECLARE
	valids jsonb[] := ARRAY['[]', '["ANY"]', '["1:aa"]', '["1:bb", "ANY"]', '"ANY"',
							'"1:aa"', '{"ANY": 1}', 'null', '[["ANY"]]', '["any"]', '[1]',
							'["1:cc", "1:aa"]']::jsonb[];
	sums text[] := ARRAY['1:aa', '1:bb', '1:cc'];
	paths text[] := ARRAY[NULL, 'x.sql', 'y.sql', ''];
	types text[] := ARRAY['executed', 'reran', 'mark_ran', 'failed'];
	p text;
	path_mode boolean;
	m jsonb;
	e jsonb;
	n int;
BEGIN
	FOR k IN 1..300 LOOP
		p := 'parity_' || k;
		path_mode := random() < 0.3;
		IF k % 7 <> 0 THEN			-- every 7th project is unknown
			INSERT INTO pgchange.projects (project, identity_mode)
			VALUES (p, CASE WHEN path_mode THEN 'path' ELSE 'id_author' END);
			INSERT INTO pgchange.registry AS r
				(project, changeset_id, author, identity_path, path, checksum, exec_order,
				 exec_type, applied_at)
			SELECT p, i::text, a, CASE WHEN path_mode THEN pa ELSE '' END, pa,
				   sums[1 + floor(random() * 3)::int],
				   floor(random() * 1e9)::bigint, types[1 + floor(random() * 4)::int],
				   '2026-01-01'::timestamptz + random() * interval '300 days'
			  FROM generate_series(1, 12) AS i, unnest(ARRAY['a', 'b']) AS a,
				   unnest(ARRAY['x.sql', 'y.sql']) AS pa
			 WHERE random() < 0.3
			   AND (path_mode OR pa = 'x.sql')
			ON CONFLICT DO NOTHING;
		END IF;
		m := '[]';
		n := floor(random() * 30)::int;
		FOR j IN 1..n LOOP
			e := jsonb_build_object('id', (1 + floor(random() * 14)::int)::text,
									'author', CASE WHEN random() < 0.5 THEN 'a' ELSE 'b' END,
									'checksum', sums[1 + floor(random() * 3)::int]);
			IF paths[1 + floor(random() * 4)::int] IS NOT NULL THEN
				e := e || jsonb_build_object('path', paths[2 + floor(random() * 3)::int]);
			END IF;
			IF random() < 0.4 THEN
				e := e || jsonb_build_object('valid_checksums',
											 valids[1 + floor(random() * 12)::int]);
			END IF;
			m := m || jsonb_build_array(e);
		END LOOP;
		INSERT INTO scenario VALUES (k, CASE WHEN k = 300 THEN NULL ELSE p END, m);
	END LOOP;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM pgchange.registry WHERE project LIKE 'parity\_%'),
	'>', 1000::bigint, 'the random registries hold rows');
SELECT cmp_ok((SELECT count(DISTINCT v.status)
				 FROM scenario s, pg_temp.old_validate(s.project, s.manifest) AS v),
	'=', 5::bigint, 'the random scenarios produce all five statuses');
SELECT is_empty(
	$$SELECT s.k FROM scenario s
	   WHERE (SELECT array_agg(ROW(v.seq, v.id, v.author, v.path, v.status, v.fc, v.ac, v.at, v.et)
							   ORDER BY v.o)
				FROM pgchange.validate(s.project, s.manifest)
			   WITH ORDINALITY AS v(seq, id, author, path, status, fc, ac, at, et, rd, o))
			 IS DISTINCT FROM
			 (SELECT array_agg(ROW(v.seq, v.id, v.author, v.path, v.status, v.fc, v.ac, v.at, v.et)
							   ORDER BY v.o)
				FROM pg_temp.old_validate(s.project, s.manifest)
			   WITH ORDINALITY AS v(seq, id, author, path, status, fc, ac, at, et, o))$$,
	'300 random scenarios: the C validate() returns the rows of the PL/pgSQL one, in its order');

-- rollback_drift: the registry's rollbacks at random, and the same manifests
-- with a rollback_checksum (none, null, or one of two strings) per entry
UPDATE pgchange.registry
   SET rollback_checksum = (ARRAY['1:e1', '1:e2'])[1 + floor(random() * 2)::int]
 WHERE project LIKE 'parity\_%' AND random() < 0.6;
SELECT is_empty(
	$$SELECT FROM scenario s, pgchange.validate(s.project, s.manifest) AS v
	   WHERE v.rollback_drift IS NOT NULL$$,
	'without rollback_checksum in the manifest, rollback_drift is always NULL');
CREATE TEMP TABLE scenario_rb AS
SELECT s.k, s.project,
	   coalesce((SELECT jsonb_agg(CASE WHEN m.x < 0.25 THEN m.e
									   WHEN m.x < 0.5 THEN m.e || '{"rollback_checksum": null}'
									   WHEN m.x < 0.75 THEN m.e || '{"rollback_checksum": "1:e1"}'
									   ELSE m.e || '{"rollback_checksum": "1:e2"}' END
								  ORDER BY m.o)
				   FROM (SELECT e, o, random() AS x
						   FROM jsonb_array_elements(s.manifest) WITH ORDINALITY AS a(e, o)) AS m),
				'[]') AS manifest
  FROM scenario s;

-- what the controller asked before 0.4.0 in a second statement, per entry
CREATE FUNCTION pg_temp.ref_drift(text, jsonb)
RETURNS TABLE (seq int, rollback_drift text)
LANGUAGE sql STABLE AS $$
  SELECT (m.o - 1)::int,
		 CASE WHEN r.changeset_id IS NULL OR NOT m.e ? 'rollback_checksum'
				OR r.exec_type NOT IN ('executed', 'reran')
				OR r.rollback_checksum IS NOT DISTINCT FROM m.e->>'rollback_checksum' THEN NULL
			  WHEN r.rollback_checksum IS NULL THEN 'added'
			  WHEN m.e->>'rollback_checksum' IS NULL THEN 'removed'
			  ELSE 'changed' END
	FROM jsonb_array_elements($2) WITH ORDINALITY AS m(e, o)
	LEFT JOIN pgchange.projects p ON p.project = $1
	LEFT JOIN pgchange.registry r
		   ON r.project = $1 AND r.exec_type <> 'failed'
		  AND r.changeset_id = m.e->>'id' AND r.author = m.e->>'author'
		  AND r.identity_path = CASE WHEN p.identity_mode = 'path'
									 THEN coalesce(m.e->>'path', '') ELSE '' END
$$;

SELECT cmp_ok((SELECT count(DISTINCT v.rollback_drift)
				 FROM scenario_rb s, pgchange.validate(s.project, s.manifest) AS v),
	'=', 3::bigint, 'the random scenarios produce changed, added and removed rollbacks');
SELECT is_empty(
	$$SELECT s.k FROM scenario_rb s
	   WHERE (SELECT array_agg(ROW(v.seq, v.rollback_drift) ORDER BY v.seq)
				FROM pgchange.validate(s.project, s.manifest) AS v WHERE v.seq IS NOT NULL)
			 IS DISTINCT FROM
			 (SELECT array_agg(ROW(x.seq, x.rollback_drift) ORDER BY x.seq)
				FROM pg_temp.ref_drift(s.project, s.manifest) AS x)$$,
	'300 random scenarios: rollback_drift is the reference''s, entry by entry');
SELECT is_empty(
	$$SELECT FROM scenario_rb s, pgchange.validate(s.project, s.manifest) AS v
	   WHERE v.seq IS NULL AND v.rollback_drift IS NOT NULL$$,
	'rows missing from the files have no rollback_drift');
SELECT is_empty(
	$$SELECT s.k FROM scenario_rb s
	   WHERE (SELECT array_agg(ROW(v.seq, v.id, v.author, v.path, v.status, v.fc, v.ac, v.at, v.et)
							   ORDER BY v.o)
				FROM pgchange.validate(s.project, s.manifest)
			   WITH ORDINALITY AS v(seq, id, author, path, status, fc, ac, at, et, rd, o))
			 IS DISTINCT FROM
			 (SELECT array_agg(ROW(v.seq, v.id, v.author, v.path, v.status, v.fc, v.ac, v.at, v.et)
							   ORDER BY v.o)
				FROM pg_temp.old_validate(s.project, s.manifest)
			   WITH ORDINALITY AS v(seq, id, author, path, status, fc, ac, at, et, o))$$,
	'with rollback checksums in the manifest the other columns are still the PL/pgSQL one''s');

-- valid_checksums is accepted only as an array, as jsonb's @> decided
SELECT lives_ok($$SELECT pgchange.lock('parity_v', 'test')$$, 'a project for valid_checksums');
SELECT pgchange.begin_deployment('parity_v') AS dep \gset
SELECT pgchange.record_changeset('parity_v', :dep, '1', 'a', 'a.sql', '1:aa') AS o \gset
SELECT results_eq(
	$$SELECT v, (SELECT status FROM pgchange.validate('parity_v', jsonb_build_array(
				   jsonb_build_object('id', '1', 'author', 'a', 'checksum', '1:ff',
									  'valid_checksums', v::jsonb))))
		FROM unnest(ARRAY['["ANY"]', '["1:aa"]', '"ANY"', '{"ANY": true}', '[["ANY"]]',
						  '["any"]', 'null', '[]']) AS v$$,
	$$VALUES ('["ANY"]', 'ok'), ('["1:aa"]', 'ok'), ('"ANY"', 'changed'),
			 ('{"ANY": true}', 'changed'), ('[["ANY"]]', 'changed'), ('["any"]', 'changed'),
			 ('null', 'changed'), ('[]', 'changed')$$,
	'valid_checksums: an array holding "ANY" or the applied checksum accepts; nothing else does');

-- strings are compared as bytes: escapes, unicode and NUL-free oddities
SELECT pgchange.record_changeset('parity_v', :dep, E'id "q"\\\n', 'ünï', 'a.sql', '1:ab') AS o \gset
SELECT results_eq(
	$$SELECT changeset_id, author, status FROM pgchange.validate('parity_v',
		jsonb_build_array(jsonb_build_object('id', E'id "q"\\\n', 'author', 'ünï', 'checksum', '1:ab'),
						  jsonb_build_object('id', 'id "q"', 'author', 'ünï', 'checksum', '1:ab')))$$,
	$$VALUES (E'id "q"\\\n', 'ünï', 'ok'), ('id "q"', 'ünï', 'pending'),
			 ('1', 'a', 'missing_from_files')$$,
	'identities with quotes, backslashes, newlines and unicode match exactly');

-- changelog order for a large manifest applied in the reverse order
SELECT count(pgchange.record_changeset('parity_v', :dep, 'big' || i, 'a', 'big.sql', '1:0' || i % 10)) AS n
  FROM generate_series(2000, 1, -1) AS i \gset
SELECT is(
	(SELECT count(*) FILTER (WHERE v.seq IS DISTINCT FROM v.o - 1 OR v.status <> 'ok')
	   FROM pgchange.validate('parity_v',
			(SELECT jsonb_agg(jsonb_build_object('id', 'big' || i, 'author', 'a',
												 'checksum', '1:0' || i % 10) ORDER BY i)
			   FROM generate_series(1, 2000) AS i)) WITH ORDINALITY AS v(seq, id, author, path,
																	status, fc, ac, at, et, rd, o)
	  WHERE v.seq IS NOT NULL),
	0::bigint, '2,000 entries come back ok, in changelog order');

-- rollback_drift by hand: '1' stores a rollback, 'big1' ran as mark_ran and
-- 'big2' was rerun, both without one; a wrong type is an invalid entry
UPDATE pgchange.registry SET rollback_checksum = '1:e1'
 WHERE project = 'parity_v' AND changeset_id = '1';
UPDATE pgchange.registry SET exec_type = 'mark_ran' WHERE project = 'parity_v' AND changeset_id = 'big1';
UPDATE pgchange.registry SET exec_type = 'reran' WHERE project = 'parity_v' AND changeset_id = 'big2';
SELECT results_eq(
	$$SELECT v.id || ' ' || v.rc, (SELECT d.rollback_drift FROM pgchange.validate('parity_v',
				jsonb_build_array(jsonb_build_object('id', v.id, 'author', 'a', 'checksum', '1:aa')
								  || v.rc::jsonb)) AS d WHERE d.seq = 0)
		FROM (VALUES ('1', '{}'), ('1', '{"rollback_checksum": "1:e1"}'),
					 ('1', '{"rollback_checksum": "1:e2"}'), ('1', '{"rollback_checksum": null}'),
					 ('big1', '{"rollback_checksum": "1:e1"}'), ('big2', '{"rollback_checksum": "1:e1"}'),
					 ('big2', '{"rollback_checksum": null}'), ('nosuch', '{"rollback_checksum": "1:e1"}'))
			 AS v(id, rc)$$,
	$$VALUES ('1 {}', NULL), ('1 {"rollback_checksum": "1:e1"}', NULL),
			 ('1 {"rollback_checksum": "1:e2"}', 'changed'), ('1 {"rollback_checksum": null}', 'removed'),
			 ('big1 {"rollback_checksum": "1:e1"}', NULL), ('big2 {"rollback_checksum": "1:e1"}', 'added'),
			 ('big2 {"rollback_checksum": null}', NULL), ('nosuch {"rollback_checksum": "1:e1"}', NULL)$$,
	'rollback_drift: changed, removed, added; NULL when the same, not asked, mark_ran or not applied');
SELECT throws_ok(
	$$SELECT * FROM pgchange.validate('parity_v',
		'[{"id": "1", "author": "a", "checksum": "1:aa", "rollback_checksum": 7}]')$$,
	'22023', 'invalid manifest entry {"id": "1", "author": "a", "checksum": "1:aa", "rollback_checksum": 7}',
	'a rollback_checksum that is neither a string nor null is an invalid entry');

-- the function itself: C, same attributes and grants as before
SELECT is(
	(SELECT format('%s %s %s %s %s', l.lanname, p.provolatile, p.prosecdef, p.proretset, p.proconfig)
	   FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	  WHERE p.oid = 'pgchange.validate(text, jsonb)'::regprocedure),
	'c s t t {"search_path=pg_catalog, pg_temp"}',
	'validate() is C, STABLE, SECURITY DEFINER with a pinned search_path, set-returning');
SELECT function_privs_are('pgchange', 'validate', ARRAY['text', 'jsonb'], 'public',
	ARRAY[]::text[], 'PUBLIC still may not execute validate()');

SELECT * FROM finish();
ROLLBACK;
