-- WeChat's session_key for each user, from the latest login. It stays on the
-- server: never in a response, never in a log line.
CREATE TABLE wechat_sessions (
    user_id     TEXT PRIMARY KEY REFERENCES users(id),
    session_key TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX idx_admins_tenant ON admins(tenant_id, status);
