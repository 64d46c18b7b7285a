//! Tenant rows.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Store, now_secs};
use crate::error::{Error, Result};
use crate::marketplace::{ToolConfig, VerticalPack};
use crate::persona::Persona;
use crate::tenant::{Plan, Tenant};

/// Everything a turn needs to know about its tenant.
#[derive(Clone, Debug)]
pub(crate) struct TenantRow {
    pub plan: Plan,
    pub currency: String,
    pub persona: Option<Persona>,
    #[allow(dead_code)] // read by the tools stage
    pub tool_config: ToolConfig,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::internal(format!("cannot serialize: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::new(crate::ErrorKind::Storage, format!("stored {what} is corrupt: {e}")))
}

impl Store {
    pub(crate) fn create_tenant(&self, id: &str, name: &str, plan: Plan) -> Result<()> {
        self.write(|tx| {
            let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM tenants WHERE id = ?1)", [id], |r| r.get(0))?;
            if exists {
                return Err(Error::bad_request(format!("tenant {id:?} already exists")));
            }
            tx.execute(
                "INSERT INTO tenants (id, name, plan, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, plan.as_str(), now_secs()],
            )?;
            Ok(())
        })
    }

    pub(crate) fn delete_tenant(&self, id: &str) -> Result<bool> {
        self.write(|tx| {
            tx.execute("DELETE FROM traces WHERE tenant_id = ?1", [id])?;
            Ok(tx.execute("DELETE FROM tenants WHERE id = ?1", [id])? > 0)
        })
    }

    pub(crate) fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT t.id, t.name, t.plan, t.vertical_key, t.vertical_version, t.persona_json, t.created_at,
                        (SELECT COUNT(*) FROM documents d WHERE d.tenant_id = t.id),
                        (SELECT COUNT(*) FROM catalog_items i WHERE i.tenant_id = t.id)
                 FROM tenants t ORDER BY t.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<u32>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, i64>(7)? as u64,
                    r.get::<_, i64>(8)? as u64,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, plan, vertical_key, vertical_version, persona, created_at, documents, catalog_items) = row?;
                let assistant_name = match persona {
                    Some(p) => Some(from_json::<Persona>(&p, "persona")?.assistant_name),
                    None => None,
                };
                out.push(Tenant {
                    id,
                    name,
                    plan: Plan::parse(&plan)?,
                    vertical_key,
                    vertical_version,
                    assistant_name,
                    documents,
                    catalog_items,
                    created_at,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn tenant(&self, id: &str) -> Result<Option<TenantRow>> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT currency, persona_json, tool_config_json, plan FROM tenants WHERE id = ?1",
                    [id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            let Some((currency, persona, tools, plan)) = row else { return Ok(None) };
            Ok(Some(TenantRow {
                plan: Plan::parse(&plan)?,
                currency,
                persona: persona.map(|p| from_json(&p, "persona")).transpose()?,
                tool_config: tools.map(|t| from_json(&t, "tool config")).transpose()?.unwrap_or_default(),
            }))
        })
    }

    pub(crate) fn set_persona(&self, tx: &Transaction<'_>, id: &str, persona: &Persona) -> Result<()> {
        let n = tx.execute("UPDATE tenants SET persona_json = ?2 WHERE id = ?1", params![id, json(persona)?])?;
        if n == 0 {
            return Err(Error::not_found(format!("tenant {id:?} does not exist")));
        }
        Ok(())
    }

    pub(crate) fn tenant_vertical(&self, tx: &Transaction<'_>, id: &str) -> Result<Option<(Option<String>, Option<u32>)>> {
        Ok(tx
            .query_row("SELECT vertical_key, vertical_version FROM tenants WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    pub(crate) fn set_vertical(&self, tx: &Transaction<'_>, id: &str, pack: &VerticalPack) -> Result<()> {
        tx.execute(
            "UPDATE tenants SET vertical_key = ?2, vertical_version = ?3, currency = ?4, persona_json = ?5,
                    tool_config_json = ?6 WHERE id = ?1",
            params![id, pack.key, pack.version, pack.currency, json(&pack.persona)?, json(&pack.tools)?],
        )?;
        Ok(())
    }
}
