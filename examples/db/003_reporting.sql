--liquibase formatted sql

-- A read-only role for the reporting tools.  Roles belong to the whole
-- cluster, not to one database, and CREATE ROLE has no IF NOT EXISTS: when
-- another database of the same server (say staging and qa side by side)
-- already created it, the precondition fails and onFail:MARK_RAN records
-- the changeset as run without running it.  The grants are per database,
-- so they are a changeset of their own that always runs.

--changeset dave:create-reporting-role
--comment: needs a deployer with CREATEROLE
--preconditions onFail:MARK_RAN onError:HALT
--precondition-sql-check expectedResult:0 SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = '${schema}_reporting'
CREATE ROLE ${schema}_reporting NOLOGIN;
--rollback DROP ROLE ${schema}_reporting;

--changeset dave:grant-reporting
--comment: read access to the shop's tables, present and future
GRANT USAGE ON SCHEMA ${schema} TO ${schema}_reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${schema}_reporting;
ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${schema}_reporting;
--rollback ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE SELECT ON TABLES FROM ${schema}_reporting;
--rollback REVOKE SELECT ON ALL TABLES IN SCHEMA ${schema} FROM ${schema}_reporting;
--rollback REVOKE USAGE ON SCHEMA ${schema} FROM ${schema}_reporting;
