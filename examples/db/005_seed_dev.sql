--liquibase formatted sql

-- Sample data for developers' databases.  context:dev keeps it out of any
-- deploy whose --contexts do not include dev (staging, production).  A
-- deploy without --contexts runs every changeset, this one too, as
-- Liquibase does: CI jobs always name their context.

--changeset carol:seed-dev-customers context:dev
--comment: two customers and an order to click through
INSERT INTO ${schema}.customer (email, name) VALUES
    ('ada@example.com', 'Ada Lovelace'),
    ('grace@example.com', 'Grace Hopper');
INSERT INTO ${schema}.orders (customer_id, total_cents, status)
SELECT id, 4200, 'paid' FROM ${schema}.customer WHERE email = 'ada@example.com';
--rollback DELETE FROM ${schema}.orders WHERE customer_id IN (SELECT id FROM ${schema}.customer WHERE email LIKE '%@example.com');
--rollback DELETE FROM ${schema}.customer WHERE email LIKE '%@example.com';
