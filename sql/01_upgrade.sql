-- Walk the upgrade chain: install the oldest version, update step by step
-- to the default, and compare every member object with a fresh install.
-- Adding a version adds a row to the paths below; a drifted upgrade script
-- shows up as rows in the two difference queries.

CREATE FUNCTION pg_temp.pgchange_members()
RETURNS TABLE (kind text, ident text, definition text)
LANGUAGE sql AS $$
  SELECT d.classid::regclass::text,
         pg_describe_object(d.classid, d.objid, 0),
         CASE d.classid
           WHEN 'pg_proc'::regclass THEN pg_get_functiondef(d.objid)
           WHEN 'pg_class'::regclass THEN
             (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                                ', ' ORDER BY a.attnum)
                FROM pg_attribute a
               WHERE a.attrelid = d.objid AND a.attnum > 0 AND NOT a.attisdropped)
           ELSE '' END
    FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid
   WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
     AND e.extname = 'pgchange'
$$;

-- every version can reach the default version
SELECT v.version, p.path IS NOT NULL OR v.version = a.default_version AS reaches_default
  FROM pg_available_extension_versions v
  JOIN pg_available_extensions a ON a.name = v.name
  LEFT JOIN pg_extension_update_paths('pgchange') p
         ON p.source = v.version AND p.target = a.default_version
 WHERE v.name = 'pgchange'
 ORDER BY string_to_array(v.version, '.')::int[];

DROP EXTENSION pgchange;
CREATE EXTENSION pgchange;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.pgchange_members();
DROP EXTENSION pgchange;

SELECT format('CREATE EXTENSION pgchange VERSION %L', version) AS create_oldest
  FROM pg_available_extension_versions WHERE name = 'pgchange'
 ORDER BY string_to_array(version, '.')::int[] LIMIT 1 \gset
:create_oldest;
SET client_min_messages = warning;
ALTER EXTENSION pgchange UPDATE;
RESET client_min_messages;
SELECT extversion = (SELECT default_version FROM pg_available_extensions
                      WHERE name = 'pgchange') AS updated_to_default
  FROM pg_extension WHERE extname = 'pgchange';
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.pgchange_members();

-- objects only in a fresh install (missing from the upgrade scripts)
SELECT kind, ident FROM (TABLE fresh EXCEPT TABLE upgraded) AS d ORDER BY 1, 2;
-- objects only after upgrading (left behind, or defined differently)
SELECT kind, ident FROM (TABLE upgraded EXCEPT TABLE fresh) AS d ORDER BY 1, 2;
SELECT count(*) > 0 AS has_members FROM fresh;
