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
 * manifest with the registry rows in a hash table.  CREATE OR REPLACE
 * keeps its grants; they are restated so this section says them.
 */
CREATE OR REPLACE FUNCTION pgchange.validate(project text, manifest jsonb)
RETURNS TABLE (seq int, changeset_id text, author text, path text, status text,
			   file_checksum text, applied_checksum text, applied_at timestamptz,
			   exec_type text)
LANGUAGE C STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'pgchange_validate';
COMMENT ON FUNCTION pgchange.validate(text, jsonb) IS
  'compare a changelog manifest with the registry: ok, changed, pending, out_of_order, missing_from_files';
REVOKE EXECUTE ON FUNCTION pgchange.validate(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgchange.validate(text, jsonb) TO pgchange_reader;

/* ==================================================================== *
 * Section 2: rollback and verification (issue #6)
 * ==================================================================== */

/* ==================================================================== *
 * Section 3: policy engine (issue #5).  The event triggers come last in
 * this section, after everything they call exists.
 * ==================================================================== */
