-- What the admin API needs: edit versions and cancellation on shows, retry
-- state on refunds, and the indexes behind the admin lists and stats.

-- Bumped by every admin save, never by sales: two admins editing the same
-- show at once conflict on it (EDIT_CONFLICT) while buyers keep ordering.
ALTER TABLE events ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN cancel_reason TEXT;
ALTER TABLE events ADD COLUMN cancelled_at INTEGER;

-- Why the refund exists: 'buyer', 'admin', 'late_payment' or 'event_cancelled'
-- (the progress of a cancelled show counts the last).
ALTER TABLE refunds ADD COLUMN cause TEXT NOT NULL DEFAULT 'buyer';
-- Sends so far, when the next is due (NULL: sent, waiting for WeChat's
-- verdict) and why the last one failed (e.g. NOT_ENOUGH: merchant balance).
ALTER TABLE refunds ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_attempt_at INTEGER;
ALTER TABLE refunds ADD COLUMN last_error TEXT;

CREATE INDEX idx_refunds_due ON refunds(next_attempt_at)
    WHERE status = 'processing' AND next_attempt_at IS NOT NULL;

-- Stats by payment date, covering every column they sum, so a year of a
-- club's sales is read from this index alone. Only paid orders are in it:
-- creating an order (the on-sale path) never touches it.
CREATE INDEX idx_orders_tenant_paid
    ON orders(tenant_id, paid_at, status, total_amount, quantity, user_id, event_id)
    WHERE paid_at IS NOT NULL;
-- The orders of one show (cancel, sales per option).
-- By show only: a status change (every payment) leaves this index alone.
CREATE INDEX idx_orders_event ON orders(event_id);

CREATE INDEX idx_audit_tenant_target ON audit_log(tenant_id, target_type, target_id);
