-- Brain schema v1: tenants, their knowledge, catalog, conversations and turn traces.

CREATE TABLE tenants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    plan             TEXT NOT NULL CHECK (plan IN ('starter', 'pro', 'enterprise')),
    currency         TEXT NOT NULL DEFAULT 'USD',
    persona_json     TEXT,
    tool_config_json TEXT,
    vertical_key     TEXT,
    vertical_version INTEGER,
    created_at       INTEGER NOT NULL
);

-- Knowledge base documents; `source` says where a document came from (`vertical`,
-- `file:PATH`, `api`), `content_hash` makes re-ingest incremental.
CREATE TABLE documents (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    doc_id       TEXT NOT NULL,
    source       TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, doc_id)
);

-- The retrieval units the tantivy index holds (kept here so the index can be rebuilt).
CREATE TABLE chunks (
    tenant_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    ord       INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    title     TEXT NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, doc_id, ord),
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
);

CREATE TABLE catalog_items (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    sku       TEXT NOT NULL,
    source    TEXT NOT NULL,
    name      TEXT NOT NULL,
    item_json TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku)
);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    channel_user_id TEXT NOT NULL,
    state_json      TEXT NOT NULL DEFAULT '{}',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, channel, channel_user_id)
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text            TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    retrieved_json  TEXT,
    latency_ms      INTEGER,
    tokens_in       INTEGER,
    tokens_out      INTEGER
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

CREATE TABLE traces (
    request_id TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    trace_json TEXT NOT NULL
);
CREATE INDEX traces_by_time ON traces (created_at);
