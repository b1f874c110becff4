--liquibase formatted sql

-- CREATE INDEX CONCURRENTLY does not block writes to a busy table, but it
-- cannot run inside a transaction block: runInTransaction:false makes
-- pgchange run the changeset statement by statement, recording each one,
-- so a deploy that fails half way resumes after the last statement done.

--changeset alice:orders-customer-index runInTransaction:false
--comment: the foreign key's index, for "orders of a customer" and for deletes of customers
CREATE INDEX CONCURRENTLY orders_customer_id_idx ON ${schema}.orders (customer_id);
--rollback DROP INDEX CONCURRENTLY ${schema}.orders_customer_id_idx;
