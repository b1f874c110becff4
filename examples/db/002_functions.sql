--liquibase formatted sql

-- Functions are replaced in place when their text changes: runOnChange:true
-- makes an edited changeset run again (recorded as "reran") instead of
-- failing validation, which suits CREATE OR REPLACE.

--changeset bob:customer-total runOnChange:true
--comment: what a customer has spent, in cents; cancelled orders do not count
CREATE OR REPLACE FUNCTION ${schema}.customer_total(p_customer bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(o.total_cents), 0) INTO total
      FROM ${schema}.orders o
     WHERE o.customer_id = p_customer AND o.status <> 'cancelled';
    RETURN total;
END
$$;
--rollback DROP FUNCTION ${schema}.customer_total(bigint);
