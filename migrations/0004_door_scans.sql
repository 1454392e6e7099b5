-- Every scan that let a ticket in, online or offline, and every offline scan
-- the server refused or found to be a second entry: the door's history. An
-- upload replayed finds its scans here (the unique key) and changes nothing;
-- a device learns here that a scan it had in was beaten by an earlier one.
CREATE TABLE checkins (
    id          INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    device_id   TEXT NOT NULL,              -- '' when the scanner named none
    device_at   INTEGER NOT NULL,           -- the scan time the device sent
    scanned_at  INTEGER NOT NULL,           -- as applied: device_at, at most the upload's time
    admin_id    TEXT NOT NULL,
    offline     INTEGER NOT NULL CHECK (offline = 0 OR offline = 1),
    state       TEXT NOT NULL
                CHECK (state = 'in' OR state = 'duplicate' OR state = 'undone' OR state = 'rejected'),
    was_in      INTEGER NOT NULL CHECK (was_in = 0 OR was_in = 1), -- let in when applied
    code        TEXT,                       -- a refused scan's error code
    message     TEXT,
    recorded_at INTEGER NOT NULL,
    UNIQUE (ticket_id, device_id, device_at)
) STRICT;

CREATE INDEX idx_checkins_device ON checkins(tenant_id, device_id, scanned_at);
