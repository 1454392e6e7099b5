-- Trust at the door and at the gate.

-- An admin token carries the epoch it was issued under. A password change or
-- reset, a change of role or status, and "sign out everywhere" move the
-- epoch on, and every token of an older epoch is refused.
ALTER TABLE admins ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- Wrong passwords per club, username and client address: five in a row lock
-- that address out of that username for a while, and no other address.
CREATE TABLE login_failures (
    tenant_id      TEXT NOT NULL,
    username       TEXT NOT NULL,
    client_ip      TEXT NOT NULL,
    failures       INTEGER NOT NULL CHECK (failures >= 0),
    locked_until   INTEGER,
    last_failed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, username, client_ip)
) STRICT, WITHOUT ROWID;

CREATE INDEX idx_login_failures_age ON login_failures(last_failed_at);

-- Addresses an admin signed in from: a guess spread over many addresses
-- slows every other address down, never these.
CREATE TABLE admin_addresses (
    admin_id      TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
    client_ip     TEXT NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (admin_id, client_ip)
) STRICT, WITHOUT ROWID;

-- Every change of a ticket at the door (let in, taken back), in order: the
-- door devices poll it to learn each other's entries within seconds.
CREATE TABLE door_changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id  TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    at        INTEGER NOT NULL
) STRICT;

CREATE INDEX idx_door_changes_event ON door_changes(event_id, seq);

-- Notifies that failed verification were kept with their bodies; anyone
-- could send them. They are no longer stored, and what was stored goes.
DELETE FROM payment_notifications WHERE verified = 0;
