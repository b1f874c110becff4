--liquibase formatted sql

-- The shop's tables: customers and their orders.  Each changeset is one
-- transaction: if a statement fails, nothing of the changeset stays.

--changeset alice:create-schema
--comment: the application's own schema, so nothing lands in public
CREATE SCHEMA ${schema};
--rollback DROP SCHEMA ${schema};

--changeset alice:create-customer
--comment: one row per customer account
CREATE TABLE ${schema}.customer (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL UNIQUE,   -- the login
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
--rollback DROP TABLE ${schema}.customer;
--verify SELECT id, email, name, created_at FROM ${schema}.customer WHERE false;

--changeset alice:create-orders
--comment: orders belong to a customer; a customer with orders cannot be deleted
CREATE TABLE ${schema}.orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES ${schema}.customer (id),
    total_cents  bigint NOT NULL CHECK (total_cents >= 0),
    status       text NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    created_at   timestamptz NOT NULL DEFAULT now()
);
--rollback DROP TABLE ${schema}.orders;
/* pgchange verify
SELECT id, customer_id, total_cents, status, created_at FROM ${schema}.orders WHERE false;
-- 1/count(*) divides by zero, so fails, when the foreign key is missing
SELECT 1 / count(*) FROM pg_catalog.pg_constraint
 WHERE conrelid = '${schema}.orders'::regclass AND contype = 'f';
*/
