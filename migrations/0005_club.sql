-- The club's own face and team (admin console): banners shown in a window,
-- a refund cut-off per club, staff names and the login lockout, uploads.

ALTER TABLE banners ADD COLUMN starts_at INTEGER;   -- shown from (NULL: always)
ALTER TABLE banners ADD COLUMN ends_at INTEGER;     -- shown until (NULL: always)

-- Buyers may refund until this long before the show (NULL: REFUND_CUTOFF).
ALTER TABLE tenants ADD COLUMN refund_cutoff_ms INTEGER
    CHECK (refund_cutoff_ms IS NULL OR refund_cutoff_ms >= 0);

ALTER TABLE admins ADD COLUMN display_name TEXT;
-- Wrong passwords in a row; at five the username is locked until locked_until.
ALTER TABLE admins ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE admins ADD COLUMN locked_until INTEGER;

-- Images a club uploaded, stored as UPLOAD_PATH/<tenant_id>/<file_name>.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    file_name    TEXT NOT NULL UNIQUE,      -- random, with the type's extension
    content_type TEXT NOT NULL,
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    uploaded_by  TEXT NOT NULL,             -- admin id
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_uploads_tenant ON uploads(tenant_id, created_at);
