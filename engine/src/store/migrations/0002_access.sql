-- Brain schema v2: API keys and idempotent dedup.

-- Keys are looked up by their 8-hex prefix; only the SHA-256 of the whole plaintext key is stored.
-- No foreign key to tenants: a key outlives its tenant for audit (and answers not_found then).
CREATE TABLE api_keys (
    prefix       TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    label        TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    rpm_override INTEGER,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    call_count   INTEGER NOT NULL DEFAULT 0,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

-- One row per (tenant, dedup_key): `pending` while the first request runs, then `done` with the
-- exact response JSON, written in the same transaction as the turn.
CREATE TABLE dedup (
    tenant_id     TEXT NOT NULL,
    dedup_key     TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    response_json TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, dedup_key)
);
CREATE INDEX dedup_by_expiry ON dedup (expires_at);
