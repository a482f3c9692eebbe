-- An order's client_order_id is optional: only the orders that carry one have a key to keep
-- unique, and NULLs never conflict. UNIQUE (user_id, client_order_id) still gave every order
-- an entry (user_id, NULL), written at each insert and again at each update that is not HOT
-- (a status change), in an index that only order-manager's lookup by client_order_id reads
-- (`client_order_id = $2` implies NOT NULL, so that lookup reads the partial index). The
-- brief's orders and `flowex load`'s carry none (issue #9). Duplicates are refused as before:
-- unique_violation (23505), which order-manager answers with the order already recorded.
CREATE UNIQUE INDEX orders_user_client_order_id ON orders (user_id, client_order_id)
    WHERE client_order_id IS NOT NULL;
ALTER TABLE orders DROP CONSTRAINT orders_user_id_client_order_id_key;
