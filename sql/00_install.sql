-- Install, and the version contract between library, SQL and META.json.
CREATE EXTENSION pgchange;

-- the library and the installed SQL speak the same version
SELECT pgchange.version() = extversion AS library_matches_sql
  FROM pg_extension WHERE extname = 'pgchange';

-- schema fixed, not relocatable
SELECT extname, extnamespace::regnamespace, extrelocatable
  FROM pg_extension WHERE extname = 'pgchange';
ALTER EXTENSION pgchange SET SCHEMA public;

