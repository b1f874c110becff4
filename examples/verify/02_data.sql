-- examples/verify/02_data.sql: data expectations.  A schema can be right
-- and the data still wrong (a backfill that missed rows, an import that
-- brought duplicates): these hold in every environment, seeded or not.
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(5);

-- a column has no NULLs (here also a NOT NULL constraint; for a column
-- being backfilled before its SET NOT NULL, this is the check that matters)
SELECT is((SELECT count(*) FROM shop.customer WHERE name IS NULL), 0::bigint,
	'no customer without a name');

-- a row count lies within a range: an emptied or exploded table is a bug.
-- (0 fits the example's fresh databases; production would expect more.)
SELECT cmp_ok((SELECT count(*) FROM shop.customer), '>=', 0::bigint,
	'customer: at least the expected minimum of rows');
SELECT cmp_ok((SELECT count(*) FROM shop.customer), '<', 1000000::bigint,
	'customer: fewer than a million rows (beyond that, partition it first)');

-- a foreign key holds: no order without its customer, whatever the
-- constraints say (they can be NOT VALID, or disabled by a bulk load)
SELECT is_empty($$
	SELECT o.id FROM shop.orders o
	  LEFT JOIN shop.customer c ON c.id = o.customer_id
	 WHERE c.id IS NULL$$,
	'every order belongs to an existing customer');

-- values stay within what the application handles
SELECT is_empty($$SELECT id FROM shop.orders WHERE total_cents < 0$$,
	'no order has a negative total');

SELECT * FROM finish();
ROLLBACK;
