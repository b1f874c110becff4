/* pgchange--0.1.0.sql: the first version; later versions are reached through
 * the chain of pgchange--A--B.sql upgrade scripts. */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgchange" to load this file. \quit

COMMENT ON SCHEMA pgchange IS 'pgchange: changelog registry, deploy lock and policies';

-- Every role may look up what is in the schema (the version, to begin
-- with); tables and functions carry their own grants.
GRANT USAGE ON SCHEMA pgchange TO PUBLIC;

CREATE FUNCTION pgchange.version()
RETURNS text
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgchange_version';

COMMENT ON FUNCTION pgchange.version() IS
  'version of the pgchange library loaded in this backend';
