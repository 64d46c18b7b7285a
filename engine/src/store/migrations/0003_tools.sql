-- Brain schema v3: what the built-in tools write — orders, bookings, leads, handoffs.

-- An order is created once per confirmation: a repeated "yes" finds the same row.
CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    confirmation_id TEXT NOT NULL,
    channel         TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    total           REAL NOT NULL,
    lines_json      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, confirmation_id)
);

-- Bookings hold a resource (table, chair, room, dentist) from start_min to end_min (minutes after
-- midnight of `date`); the book tool checks overlap and inserts in one IMMEDIATE transaction.
CREATE TABLE bookings (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    confirmation_id TEXT NOT NULL,
    service_sku     TEXT NOT NULL,
    service_name    TEXT NOT NULL,
    resource        TEXT NOT NULL,
    date            TEXT NOT NULL,
    start_min       INTEGER NOT NULL,
    end_min         INTEGER NOT NULL,
    party_size      INTEGER,
    name            TEXT,
    channel         TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, confirmation_id)
);
CREATE INDEX bookings_by_day ON bookings (tenant_id, date, resource);

CREATE TABLE leads (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name            TEXT,
    email           TEXT,
    phone           TEXT,
    event_date      TEXT,
    notes           TEXT,
    channel         TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

-- A conversation handed to a human: the bot stays silent while released_at IS NULL.
CREATE TABLE handoffs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    released_at     INTEGER
);
CREATE UNIQUE INDEX handoffs_one_open ON handoffs (tenant_id, channel, channel_user_id) WHERE released_at IS NULL;
