-- The whole data model of DESIGN.md §4: the spec's six tables plus the additions.
-- Money is INTEGER fen; instants are INTEGER unix milliseconds (UTC);
-- event_date / event_time are the club's local wall time (APP_TIMEZONE).
--
-- This is the schema as it stands; a later change to it is a new numbered
-- file beside this one, applied once, in order, at start.


CREATE TABLE tenants (
    id              TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 50),
    name            TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    logo            TEXT,
    theme_config    TEXT,               -- JSON: {primary, accent, bg, text, muted}
    features_config TEXT,               -- JSON: {enableCalendar, enableMembership, enableCoupon}
    contact_info    TEXT,               -- JSON: {phone, address, email}
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    openid      TEXT NOT NULL UNIQUE,
    unionid     TEXT,
    nickname    TEXT,
    avatar      TEXT,
    phone       TEXT,
    real_name   TEXT,
    gender      INTEGER CHECK (gender IN (0, 1, 2)),
    city        TEXT,
    province    TEXT,
    country     TEXT,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_users_disabled ON users(id) WHERE status = 'disabled';

CREATE TABLE tenant_users (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL REFERENCES users(id),
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX idx_tenant_users_first_seen ON tenant_users(tenant_id, first_seen);

CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    title           TEXT NOT NULL,
    description     TEXT,
    poster          TEXT,
    city            TEXT NOT NULL,
    venue           TEXT NOT NULL,
    address         TEXT NOT NULL,
    event_date      TEXT NOT NULL CHECK (event_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    event_time      TEXT NOT NULL CHECK (event_time GLOB '[0-9][0-9]:[0-9][0-9]'),
    -- event_date + event_time in the club's zone, as a UTC instant: lets queries
    -- compare with "now" without time-zone arithmetic in SQL.
    starts_at       INTEGER NOT NULL,
    duration        INTEGER NOT NULL DEFAULT 90 CHECK (duration > 0),
    total_seats     INTEGER NOT NULL CHECK (total_seats >= 0),
    remaining_seats INTEGER NOT NULL CHECK (remaining_seats >= 0 AND remaining_seats <= total_seats),
    performers      TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    tags            TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'upcoming', 'onSale', 'soldOut', 'cancelled')),
    sale_start_at   INTEGER,
    sale_end_at     INTEGER,
    is_recommended  INTEGER NOT NULL DEFAULT 0 CHECK (is_recommended IN (0, 1)),
    max_per_order   INTEGER NOT NULL DEFAULT 6 CHECK (max_per_order >= 1),
    max_per_user    INTEGER NOT NULL DEFAULT 10 CHECK (max_per_user >= 1),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_events_tenant_date ON events(tenant_id, event_date, event_time);

CREATE INDEX idx_events_tenant_status ON events(tenant_id, status);

CREATE INDEX idx_events_status_sale_start ON events(status, sale_start_at);

CREATE TABLE price_options (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    price           INTEGER NOT NULL CHECK (price >= 0),           -- fen
    original_price  INTEGER CHECK (original_price >= 0),           -- fen
    description     TEXT,
    total_count     INTEGER NOT NULL CHECK (total_count >= 0),
    remaining_count INTEGER NOT NULL CHECK (remaining_count >= 0 AND remaining_count <= total_count),
    sort_order      INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_price_options_event ON price_options(event_id, sort_order);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,         -- argon2id PHC string
    role          TEXT NOT NULL CHECK (role IN ('owner', 'staff')),
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    last_login_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, username)
) STRICT;

CREATE INDEX idx_admins_tenant ON admins(tenant_id, status);

CREATE TABLE banners (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    title       TEXT NOT NULL DEFAULT '',
    image       TEXT NOT NULL,
    link        TEXT,                    -- mini-program page path or event id target
    event_id    TEXT REFERENCES events(id) ON DELETE SET NULL,
    sort_order  INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_banners_tenant ON banners(tenant_id, status, sort_order);

CREATE TABLE merch_items (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    description    TEXT,
    image          TEXT,
    price          INTEGER NOT NULL CHECK (price >= 0),           -- fen
    original_price INTEGER CHECK (original_price >= 0),           -- fen
    link           TEXT,
    sort_order     INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_merch_tenant ON merch_items(tenant_id, status, sort_order);

CREATE TABLE refunds (
    id             TEXT PRIMARY KEY,
    out_refund_no  TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    order_id       TEXT NOT NULL REFERENCES orders(id),
    amount         INTEGER NOT NULL CHECK (amount > 0),           -- fen
    reason         TEXT,
    status         TEXT NOT NULL DEFAULT 'processing'
                   CHECK (status IN ('processing', 'success', 'abnormal', 'closed')),
    requested_by   TEXT NOT NULL,        -- 'user:<id>', 'admin:<id>' or 'system'
    wechat_refund_id TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_refunds_order ON refunds(order_id);

CREATE UNIQUE INDEX idx_refunds_one_live_per_order ON refunds(order_id)
    WHERE status IN ('processing', 'success');

CREATE INDEX idx_refunds_processing ON refunds(updated_at) WHERE status = 'processing';

CREATE TABLE payment_notifications (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('pay_v3', 'pay_v2', 'refund_v3')),
    notify_id    TEXT,                   -- WeChat's notification id when it has one
    order_id     TEXT,
    raw_body     TEXT NOT NULL,
    headers      TEXT,                   -- JSON of the signature headers
    verified     INTEGER NOT NULL CHECK (verified IN (0, 1)),
    processed    INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1)),
    verdict      TEXT NOT NULL,
    received_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_payment_notifications_order ON payment_notifications(order_id);

CREATE INDEX idx_payment_notifications_notify ON payment_notifications(notify_id)
    WHERE notify_id IS NOT NULL;

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,
    actor       TEXT NOT NULL,           -- 'admin:<id>', 'user:<id>', 'system', 'cli'
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    detail      TEXT,                    -- JSON
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_audit_tenant_created ON audit_log(tenant_id, created_at DESC);

CREATE TABLE wechat_sessions (
    user_id     TEXT PRIMARY KEY REFERENCES users(id),
    session_key TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- CHECKs here are chains of `=` / `OR`, not `IN (...)` lists: SQLite builds a
-- throwaway b-tree for an IN list of three or more constants every time a
-- statement checks it (docs/PERFORMANCE.md). A rowid table, so new orders
-- append to its last page.
CREATE TABLE orders (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    user_id          TEXT NOT NULL REFERENCES users(id),
    event_id         TEXT NOT NULL REFERENCES events(id),
    price_option_id  TEXT NOT NULL REFERENCES price_options(id),
    quantity         INTEGER NOT NULL CHECK (quantity >= 1),
    unit_price       INTEGER NOT NULL CHECK (unit_price >= 0),     -- fen, the price at order time
    total_amount     INTEGER NOT NULL CHECK (total_amount = unit_price * quantity),
    user_name        TEXT NOT NULL,
    user_phone       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status = 'pending' OR status = 'paid' OR status = 'cancelled'
                            OR status = 'refunded' OR status = 'used'),
    pay_method       TEXT,
    transaction_id   TEXT,
    prepay_id        TEXT,
    prepay_expires_at INTEGER,
    expires_at       INTEGER NOT NULL,
    cancel_reason    TEXT CHECK (cancel_reason = 'user' OR cancel_reason = 'timeout'
                                 OR cancel_reason = 'admin' OR cancel_reason = 'event_cancelled'),
    idempotency_key  TEXT,
    paid_at          INTEGER,
    cancelled_at     INTEGER,
    refunded_at      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_orders_transaction_id ON orders(transaction_id) WHERE transaction_id IS NOT NULL;

CREATE INDEX idx_orders_pending_expiry ON orders(expires_at) WHERE status = 'pending';

CREATE UNIQUE INDEX idx_orders_user_idempotency ON orders(user_id, idempotency_key);

-- Ascending: a new order lands at the end of its club's range, and
-- ORDER BY created_at DESC reads the index backwards at the same cost.
CREATE INDEX idx_orders_tenant_created ON orders(tenant_id, created_at);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    seat_no     TEXT,
    qr_code     TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL DEFAULT 'valid'
                CHECK (status = 'valid' OR status = 'used' OR status = 'expired'),
    used_at     INTEGER,
    used_by     TEXT,                    -- admin id of the steward who checked it in
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_tickets_order ON tickets(order_id);

CREATE TABLE user_event_holds (
    user_id   TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    quantity  INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (user_id, event_id)
) STRICT, WITHOUT ROWID;

-- What each buyer holds (pending or paid) per show, for the per-user limit.
-- The one statement that creates orders writes its hold itself
-- (store::orders::place); these keep it right on every later change.
CREATE TRIGGER orders_holds_update AFTER UPDATE OF status, user_id, event_id, quantity ON orders
WHEN (OLD.status = 'pending' OR OLD.status = 'paid' OR OLD.status = 'used')
         != (NEW.status = 'pending' OR NEW.status = 'paid' OR NEW.status = 'used')
     OR OLD.user_id != NEW.user_id OR OLD.event_id != NEW.event_id
     OR OLD.quantity != NEW.quantity
BEGIN
    UPDATE user_event_holds SET quantity = quantity - OLD.quantity
    WHERE user_id = OLD.user_id AND event_id = OLD.event_id
      AND (OLD.status = 'pending' OR OLD.status = 'paid' OR OLD.status = 'used');
    INSERT INTO user_event_holds (user_id, event_id, quantity)
    SELECT NEW.user_id, NEW.event_id, NEW.quantity
    WHERE NEW.status = 'pending' OR NEW.status = 'paid' OR NEW.status = 'used'
    ON CONFLICT (user_id, event_id) DO UPDATE SET quantity = quantity + excluded.quantity;
END;

CREATE TRIGGER orders_holds_delete AFTER DELETE ON orders
WHEN OLD.status = 'pending' OR OLD.status = 'paid' OR OLD.status = 'used'
BEGIN
    UPDATE user_event_holds SET quantity = quantity - OLD.quantity
    WHERE user_id = OLD.user_id AND event_id = OLD.event_id;
END;
