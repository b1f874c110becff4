-- examples/verify/01_schema.sql: the shop's structure, in pgTAP.
--
-- `pgchange verify` runs every *.sql file of verify/ (beside the root
-- changelog) in name order, each in a transaction it rolls back.  The files
-- are plain pgTAP, so pg_prove runs them too: the psql lines below are for
-- it, pgchange skips them, and the file's own BEGIN / ROLLBACK are not sent
-- (pgchange has already opened the transaction it will roll back).
\set ON_ERROR_STOP 1
\set QUIET 1
BEGIN;
SELECT plan(8);

-- the tables exist, with the columns the application reads
SELECT has_table('shop', 'customer', 'table shop.customer exists');
SELECT has_table('shop', 'orders', 'table shop.orders exists');
SELECT columns_are('shop', 'customer', ARRAY['id', 'email', 'name', 'created_at'],
	'shop.customer has exactly the columns the application knows');
SELECT col_not_null('shop', 'customer', 'email', 'a customer always has an email');
SELECT col_is_unique('shop', 'customer', 'email', 'one account per email');

-- orders point at customers, and that is enforced
SELECT fk_ok('shop', 'orders', 'customer_id', 'shop', 'customer', 'id',
	'orders.customer_id references customer.id');
SELECT has_index('shop', 'orders', 'orders_customer_id_idx', 'customer_id',
	'the foreign key has its index (built concurrently)');

SELECT has_function('shop', 'customer_total', ARRAY['bigint'],
	'shop.customer_total(bigint) exists');

SELECT * FROM finish();
ROLLBACK;
