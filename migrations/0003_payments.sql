-- Server-held secrets that must survive with the data (a restored backup
-- must still verify the tickets it holds), e.g. the ticket QR HMAC key.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- Refunds still waiting for WeChat's verdict are re-checked by a tick.
CREATE INDEX idx_refunds_processing ON refunds(updated_at) WHERE status = 'processing';
-- A payment notify names WeChat's transaction; duplicates are found by it.
CREATE INDEX idx_payment_notifications_notify ON payment_notifications(notify_id)
    WHERE notify_id IS NOT NULL;
