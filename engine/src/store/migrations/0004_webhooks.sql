-- Brain schema v4: per-tenant channel configuration for inbound webhooks (app secrets, verify
-- tokens, page / phone number ids, SNS topic). Secrets live here and never in traces or logs.
CREATE TABLE channel_configs (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    config_json TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, channel)
);
