//! The built-in tools, over the tenant's own data in SQLite.

use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use super::slots::Date;
use super::{Tool, ToolContext};
use crate::catalog::{CatalogItem, format_price};
use crate::error::{Error, ErrorKind, Result};

/// Every built-in tool.
pub(crate) fn all() -> Vec<Tool> {
    vec![kb_search(), recommend_products(), check_stock(), create_order(), find_slots(), book(), lead_capture(), handoff()]
}

fn tool_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Tool, msg)
}

fn catalog(ctx: &ToolContext) -> Result<Vec<CatalogItem>> {
    ctx.engine.inner().store.catalog(&ctx.tenant_id)
}

fn currency(ctx: &ToolContext) -> Result<String> {
    Ok(ctx.engine.inner().store.tenant(&ctx.tenant_id)?.map(|t| t.currency).unwrap_or_else(|| "USD".into()))
}

/// How many people an item serves: `serves`, `seats`, `party_size` or `guests_max`.
pub(crate) fn capacity(item: &CatalogItem) -> Option<u32> {
    ["serves", "seats", "party_size", "guests_max"].iter().find_map(|k| match item.attributes.get(*k) {
        Some(crate::catalog::AttributeValue::Int(n)) if *n > 0 => Some(*n as u32),
        _ => None,
    })
}

fn int_attr(item: &CatalogItem, key: &str) -> Option<i64> {
    match item.attributes.get(key) {
        Some(crate::catalog::AttributeValue::Int(n)) => Some(*n),
        _ => None,
    }
}

fn text_attr(item: &CatalogItem, key: &str) -> Option<String> {
    item.attributes.get(key).map(|v| v.to_string())
}

fn kb_search() -> Tool {
    Tool::new(
        "kb.search",
        "Search the tenant's knowledge base and catalog; returns the best passages with BM25 scores.",
        json!({"type": "object", "additionalProperties": false, "required": ["query"],
               "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 1000},
                              "limit": {"type": "integer", "minimum": 1, "maximum": 10}}}),
        |ctx, args| {
            let inner = ctx.engine.inner();
            let query = args["query"].as_str().unwrap_or_default();
            let terms: Vec<(String, f32)> = inner.retriever.analyzer().terms(query).into_iter().map(|t| (t, 1.0)).collect();
            let hits = inner.retriever.search(&ctx.tenant_id, &terms, args["limit"].as_u64().unwrap_or(3) as usize)?;
            Ok(json!({ "hits": hits }))
        },
    )
    .result_schema(json!({"hits": "[{doc_id, ord, kind, title, text, score}]"}))
}

/// Scores catalog items for a need: theme, capacity against the guest count (quantities scale
/// up), age range, budget, and words of the need in the item's name, tags and category.
pub(crate) fn rank(items: &[CatalogItem], need: &[String], guests: Option<u32>, budget: Option<f64>, theme: Option<&str>, age: Option<u32>, terms_of: &dyn Fn(&str) -> Vec<String>) -> Vec<(f64, u32, CatalogItem)> {
    let mut out = Vec::new();
    for item in items {
        if item.item_type == "service" || item.item_type == "listing" || item.stock == Some(0) {
            continue;
        }
        let mut score = 0.0;
        let cap = capacity(item);
        let quantity = match (guests, cap) {
            (Some(g), Some(c)) => g.div_ceil(c).max(1),
            _ => 1,
        };
        if let (Some(g), Some(c)) = (guests, cap) {
            let covered = c * quantity;
            score += 3.0 - (covered - g) as f64 / g as f64 - (quantity - 1) as f64 * 0.5;
        } else if guests.is_some() {
            score -= 1.0;
        }
        if let Some(t) = theme {
            let item_theme = text_attr(item, "theme").unwrap_or_default().to_lowercase();
            if item_theme == t || item.tags.iter().any(|x| x.to_lowercase() == t) || item.name.to_lowercase().contains(t) {
                score += 5.0;
            } else {
                score -= 2.0;
            }
        }
        if let Some(a) = age {
            let lo = int_attr(item, "age_min").unwrap_or(0);
            let hi = int_attr(item, "age_max").unwrap_or(200);
            if (lo..=hi).contains(&(a as i64)) {
                score += 1.0;
            } else if item.attributes.contains_key("age_min") {
                score -= 2.0;
            }
        }
        let total = item.price * quantity as f64;
        if let Some(b) = budget {
            if total > b {
                continue;
            }
            score += 0.5;
        }
        let words: std::collections::HashSet<String> = terms_of(&format!(
            "{} {} {} {}",
            item.name,
            item.category,
            item.tags.join(" "),
            item.item_type
        ))
        .into_iter()
        .collect();
        score += need.iter().filter(|n| words.contains(*n)).count() as f64 * 0.75;
        if guests.is_some() && item.item_type == "bundle" {
            score += 1.0;
        }
        out.push((score, quantity, item.clone()));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.price.total_cmp(&b.2.price)));
    out
}

fn recommend_products() -> Tool {
    Tool::new(
        "commerce.recommend_products",
        "Recommend catalog items or bundles for a need: guest count, budget, theme, age. Quantities scale to the guest count.",
        json!({"type": "object", "additionalProperties": false,
               "properties": {"need": {"type": "string", "maxLength": 500},
                              "guests": {"type": "integer", "minimum": 1, "maximum": 10000},
                              "budget": {"type": "number", "minimum": 0},
                              "theme": {"type": "string", "maxLength": 60},
                              "age": {"type": "integer", "minimum": 0, "maximum": 120}}}),
        |ctx, args| {
            let inner = ctx.engine.inner();
            let analyzer = inner.retriever.analyzer();
            let need = analyzer.terms(args["need"].as_str().unwrap_or_default());
            let guests = args["guests"].as_u64().map(|g| g as u32);
            let theme = args["theme"].as_str().map(str::to_lowercase);
            let ranked = rank(
                &catalog(ctx)?,
                &need,
                guests,
                args["budget"].as_f64(),
                theme.as_deref(),
                args["age"].as_u64().map(|a| a as u32),
                &|s| analyzer.terms(s),
            );
            let cur = currency(ctx)?;
            let recs: Vec<Value> = ranked
                .iter()
                .take(3)
                .map(|(score, qty, item)| {
                    json!({
                        "sku": item.sku, "name": item.name, "type": item.item_type,
                        "unit_price": item.price, "quantity": qty, "line_total": item.price * *qty as f64,
                        "serves": capacity(item), "stock": item.stock, "score": score,
                        "price_text": format_price(item.price * *qty as f64, &cur),
                    })
                })
                .collect();
            Ok(json!({ "recommendations": recs, "guests": guests, "currency": cur }))
        },
    )
    .result_schema(json!({"recommendations": "[{sku, name, type, unit_price, quantity, line_total, serves, stock, price_text}]", "currency": "ISO 4217"}))
}

fn check_stock() -> Tool {
    Tool::new(
        "commerce.check_stock",
        "Stock and price of one catalog item.",
        json!({"type": "object", "additionalProperties": false, "required": ["sku"],
               "properties": {"sku": {"type": "string", "minLength": 1}}}),
        |ctx, args| {
            let sku = args["sku"].as_str().unwrap_or_default();
            let item = catalog(ctx)?.into_iter().find(|i| i.sku == sku).ok_or_else(|| tool_error(format!("no catalog item {sku}")))?;
            let cur = currency(ctx)?;
            Ok(json!({ "sku": item.sku, "name": item.name, "stock": item.stock, "in_stock": item.stock.is_none_or(|s| s > 0),
                       "price": item.price, "price_text": format_price(item.price, &cur), "type": item.item_type }))
        },
    )
}

fn create_order() -> Tool {
    Tool::new(
        "commerce.create_order",
        "Place an order for catalog items (after the customer confirmed). The same confirmation never creates a second order.",
        json!({"type": "object", "additionalProperties": false, "required": ["items", "confirmation_id"],
               "properties": {"confirmation_id": {"type": "string", "minLength": 1, "maxLength": 100},
                              "items": {"type": "array", "minItems": 1, "items": {
                                  "type": "object", "additionalProperties": false, "required": ["sku", "quantity"],
                                  "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1, "maximum": 1000}}}}}}),
        |ctx, args| {
            let inner = ctx.engine.inner();
            let cur = currency(ctx)?;
            let confirmation = args["confirmation_id"].as_str().unwrap_or_default().to_string();
            let wanted: Vec<(String, i64)> = args["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| (i["sku"].as_str().unwrap_or_default().to_string(), i["quantity"].as_i64().unwrap_or(1)))
                .collect();
            inner.store.write(|tx| {
                if let Some(existing) = order_json(tx, &ctx.tenant_id, &confirmation)? {
                    return Ok(json!({ "created": false, "order": existing }));
                }
                let mut lines = Vec::new();
                let mut total = 0.0;
                for (sku, qty) in &wanted {
                    let item_json: String = tx
                        .query_row("SELECT item_json FROM catalog_items WHERE tenant_id = ?1 AND sku = ?2", [&ctx.tenant_id, sku], |r| r.get(0))
                        .optional()?
                        .ok_or_else(|| tool_error(format!("no catalog item {sku}")))?;
                    let mut item: CatalogItem = serde_json::from_str(&item_json).map_err(|e| Error::internal(e.to_string()))?;
                    if let Some(stock) = item.stock {
                        if stock < *qty {
                            return Err(tool_error(format!("only {stock} of {} in stock", item.name)));
                        }
                        item.stock = Some(stock - qty);
                        let js = serde_json::to_string(&item).map_err(|e| Error::internal(e.to_string()))?;
                        tx.execute("UPDATE catalog_items SET item_json = ?3 WHERE tenant_id = ?1 AND sku = ?2", params![ctx.tenant_id, sku, js])?;
                    }
                    total += item.price * *qty as f64;
                    lines.push(json!({ "sku": sku, "name": item.name, "quantity": qty, "unit_price": item.price, "line_total": item.price * *qty as f64 }));
                }
                let id = format!("ORD-{}", &ulid::Ulid::new().to_string()[16..]);
                tx.execute(
                    "INSERT INTO orders (id, tenant_id, confirmation_id, channel, channel_user_id, status, currency, total, lines_json, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'confirmed', ?6, ?7, ?8, ?9)",
                    params![id, ctx.tenant_id, confirmation, ctx.channel.as_str(), ctx.channel_user_id, cur, total, Value::Array(lines).to_string(), crate::store::now_millis()],
                )?;
                let order = order_json(tx, &ctx.tenant_id, &confirmation)?.ok_or_else(|| Error::internal("order vanished"))?;
                Ok(json!({ "created": true, "order": order }))
            })
        },
    )
    .side_effect(true)
}

pub(crate) fn order_json(tx: &rusqlite::Connection, tenant: &str, confirmation: &str) -> Result<Option<Value>> {
    Ok(tx
        .query_row(
            "SELECT id, status, currency, total, lines_json, created_at FROM orders WHERE tenant_id = ?1 AND confirmation_id = ?2",
            [tenant, confirmation],
            |r| {
                let lines: String = r.get(4)?;
                Ok(json!({ "order_id": r.get::<_, String>(0)?, "status": r.get::<_, String>(1)?, "currency": r.get::<_, String>(2)?,
                           "total": r.get::<_, f64>(3)?, "lines": serde_json::from_str::<Value>(&lines).unwrap_or(Value::Null),
                           "created_at": r.get::<_, i64>(5)? }))
            },
        )
        .optional()?)
}

/// The tenant's booking settings: slot size, resources, opening hours per weekday.
pub(crate) struct BookingConfig {
    pub slot_minutes: u32,
    pub resources: Vec<String>,
    pub opening: std::collections::HashMap<String, Option<(u32, u32)>>,
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

pub(crate) fn fmt_min(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

pub(crate) fn booking_config(ctx: &ToolContext) -> Result<BookingConfig> {
    let t = ctx.engine.inner().store.tenant(&ctx.tenant_id)?.ok_or_else(|| tool_error("tenant vanished"))?;
    let b = t.tool_config.booking.ok_or_else(|| tool_error("this business has no booking settings"))?;
    let slot_minutes = b.get("slot_minutes").and_then(|v| v.as_integer()).unwrap_or(30).clamp(5, 240) as u32;
    let resources: Vec<String> = b
        .get("resources")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .filter(|v: &Vec<String>| !v.is_empty())
        .unwrap_or_else(|| vec!["Default".into()]);
    let mut opening = std::collections::HashMap::new();
    if let Some(o) = b.get("opening").and_then(|v| v.as_table()) {
        for (day, v) in o {
            let hours = v.as_str().and_then(|s| s.split_once('-')).and_then(|(a, b)| Some((hhmm(a)?, hhmm(b)?)));
            opening.insert(day.clone(), hours);
        }
    }
    Ok(BookingConfig { slot_minutes, resources, opening })
}

/// The service a booking is for: by SKU, or by name.
fn service(ctx: &ToolContext, key: &str) -> Result<CatalogItem> {
    let k = key.to_lowercase();
    catalog(ctx)?
        .into_iter()
        .filter(|i| i.duration_minutes.is_some())
        .find(|i| i.sku == key || i.name.to_lowercase() == k)
        .ok_or_else(|| tool_error(format!("no bookable service {key:?}")))
}

/// Free start times (minutes after midnight) of `service` on `date`, with a free resource each.
fn free_slots(conn: &rusqlite::Connection, ctx: &ToolContext, cfg: &BookingConfig, date: Date, duration: u32) -> Result<Vec<(u32, String)>> {
    let Some(Some((open, close))) = cfg.opening.get(date.weekday_key()) else { return Ok(Vec::new()) };
    let mut st = conn.prepare_cached(
        "SELECT resource, start_min, end_min FROM bookings WHERE tenant_id = ?1 AND date = ?2 AND status = 'confirmed'",
    )?;
    let taken: Vec<(String, u32, u32)> = st
        .query_map([&ctx.tenant_id, &date.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let now_min = {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if Date::today_utc() == date { ((secs % 86_400) / 60) as u32 } else { 0 }
    };
    let mut out = Vec::new();
    let mut start = *open;
    while start + duration <= *close {
        if start >= now_min {
            let free = cfg.resources.iter().find(|res| {
                !taken.iter().any(|(r, s, e)| r == *res && start < *e && *s < start + duration)
            });
            if let Some(res) = free {
                out.push((start, res.clone()));
            }
        }
        start += cfg.slot_minutes;
    }
    Ok(out)
}

fn find_slots() -> Tool {
    Tool::new(
        "booking.find_slots",
        "Free start times for a service on a date (nearest to a wished time first when given).",
        json!({"type": "object", "additionalProperties": false, "required": ["service", "date"],
               "properties": {"service": {"type": "string", "minLength": 1},
                              "date": {"type": "string", "minLength": 10, "maxLength": 10},
                              "time": {"type": "string", "minLength": 4, "maxLength": 5},
                              "party_size": {"type": "integer", "minimum": 1, "maximum": 1000}}}),
        |ctx, args| {
            let svc = service(ctx, args["service"].as_str().unwrap_or_default())?;
            let date = Date::parse_iso(args["date"].as_str().unwrap_or_default()).ok_or_else(|| tool_error("date must be YYYY-MM-DD"))?;
            let cfg = booking_config(ctx)?;
            let duration = svc.duration_minutes.unwrap_or(cfg.slot_minutes as i64).max(1) as u32;
            let mut slots = ctx.engine.inner().store.with(|c| free_slots(c, ctx, &cfg, date, duration))?;
            if let Some(wish) = args["time"].as_str().and_then(hhmm) {
                slots.sort_by_key(|(s, _)| (s.abs_diff(wish), *s));
            }
            let open = matches!(cfg.opening.get(date.weekday_key()), Some(Some(_)));
            Ok(json!({ "service": svc.name, "sku": svc.sku, "date": date.to_string(), "open": open, "duration_minutes": duration,
                       "slots": slots.iter().take(6).map(|(s, _)| fmt_min(*s)).collect::<Vec<_>>() }))
        },
    )
}

fn book() -> Tool {
    Tool::new(
        "booking.book",
        "Book a service at a date and time (after the customer confirmed). Never double-books a resource.",
        json!({"type": "object", "additionalProperties": false, "required": ["service", "date", "time", "confirmation_id"],
               "properties": {"service": {"type": "string", "minLength": 1},
                              "date": {"type": "string", "minLength": 10, "maxLength": 10},
                              "time": {"type": "string", "minLength": 4, "maxLength": 5},
                              "party_size": {"type": "integer", "minimum": 1, "maximum": 1000},
                              "name": {"type": "string", "maxLength": 200},
                              "listing": {"type": "string", "maxLength": 200},
                              "confirmation_id": {"type": "string", "minLength": 1, "maxLength": 100}}}),
        |ctx, args| {
            let svc = service(ctx, args["service"].as_str().unwrap_or_default())?;
            let date = Date::parse_iso(args["date"].as_str().unwrap_or_default()).ok_or_else(|| tool_error("date must be YYYY-MM-DD"))?;
            let start = args["time"].as_str().and_then(hhmm).ok_or_else(|| tool_error("time must be HH:MM"))?;
            let cfg = booking_config(ctx)?;
            let duration = svc.duration_minutes.unwrap_or(cfg.slot_minutes as i64).max(1) as u32;
            let confirmation = args["confirmation_id"].as_str().unwrap_or_default();
            // Check and insert in one IMMEDIATE transaction: concurrent turns serialize here, so
            // two customers can never hold the same resource at overlapping times.
            ctx.engine.inner().store.write(|tx| {
                if let Some(existing) = booking_json(tx, &ctx.tenant_id, confirmation)? {
                    return Ok(json!({ "booked": true, "created": false, "booking": existing }));
                }
                let slots = free_slots(tx, ctx, &cfg, date, duration)?;
                let Some((_, resource)) = slots.iter().find(|(s, _)| *s == start) else {
                    let mut alts: Vec<u32> = slots.iter().map(|(s, _)| *s).collect();
                    alts.sort_by_key(|s| (s.abs_diff(start), *s));
                    return Ok(json!({ "booked": false, "reason": "that time is not available", "service": svc.name,
                                      "date": date.to_string(), "time": fmt_min(start),
                                      "alternatives": alts.iter().take(4).map(|s| fmt_min(*s)).collect::<Vec<_>>() }));
                };
                let id = format!("BKG-{}", &ulid::Ulid::new().to_string()[16..]);
                tx.execute(
                    "INSERT INTO bookings (id, tenant_id, confirmation_id, service_sku, service_name, resource, date, start_min, end_min,
                                           party_size, name, channel, channel_user_id, status, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'confirmed', ?14)",
                    params![id, ctx.tenant_id, confirmation, svc.sku, svc.name, resource, date.to_string(), start, start + duration,
                            args["party_size"].as_i64(), args["name"].as_str(), ctx.channel.as_str(), ctx.channel_user_id, crate::store::now_millis()],
                )?;
                let booking = booking_json(tx, &ctx.tenant_id, confirmation)?.ok_or_else(|| Error::internal("booking vanished"))?;
                Ok(json!({ "booked": true, "created": true, "booking": booking }))
            })
        },
    )
    .side_effect(true)
}

pub(crate) fn booking_json(conn: &rusqlite::Connection, tenant: &str, confirmation: &str) -> Result<Option<Value>> {
    Ok(conn
        .query_row(
            "SELECT id, service_name, resource, date, start_min, end_min, party_size, name, status FROM bookings
             WHERE tenant_id = ?1 AND confirmation_id = ?2",
            [tenant, confirmation],
            |r| {
                Ok(json!({ "booking_id": r.get::<_, String>(0)?, "service": r.get::<_, String>(1)?, "resource": r.get::<_, String>(2)?,
                           "date": r.get::<_, String>(3)?, "time": fmt_min(r.get::<_, u32>(4)?), "end": fmt_min(r.get::<_, u32>(5)?),
                           "party_size": r.get::<_, Option<i64>>(6)?, "name": r.get::<_, Option<String>>(7)?, "status": r.get::<_, String>(8)? }))
            },
        )
        .optional()?)
}

fn lead_capture() -> Tool {
    Tool::new(
        "lead.capture",
        "Record a prospective customer's contact details for the team (name, email, phone, event date).",
        json!({"type": "object", "additionalProperties": false,
               "properties": {"name": {"type": "string", "maxLength": 200}, "email": {"type": "string", "maxLength": 200},
                              "phone": {"type": "string", "maxLength": 40}, "event_date": {"type": "string", "maxLength": 10},
                              "notes": {"type": "string", "maxLength": 2000}, "confirmation_id": {"type": "string", "maxLength": 100}}}),
        |ctx, args| {
            let (email, phone) = (args["email"].as_str(), args["phone"].as_str());
            if email.is_none() && phone.is_none() {
                return Err(tool_error("a lead needs an email address or a phone number"));
            }
            let id = format!("LEAD-{}", &ulid::Ulid::new().to_string()[16..]);
            ctx.engine.inner().store.write(|tx| {
                tx.execute(
                    "INSERT INTO leads (id, tenant_id, name, email, phone, event_date, notes, channel, channel_user_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![id, ctx.tenant_id, args["name"].as_str(), email, phone, args["event_date"].as_str(), args["notes"].as_str(),
                            ctx.channel.as_str(), ctx.channel_user_id, crate::store::now_millis()],
                )?;
                Ok(())
            })?;
            Ok(json!({ "lead_id": id, "name": args["name"], "email": email, "phone": phone }))
        },
    )
    .side_effect(true)
}

fn handoff() -> Tool {
    Tool::new(
        "support.handoff",
        "Hand the conversation to a human: the bot stops answering it until the host releases it.",
        json!({"type": "object", "additionalProperties": false, "properties": {"reason": {"type": "string", "maxLength": 500}}}),
        |ctx, args| {
            let reason = args["reason"].as_str().unwrap_or("customer asked for a person");
            ctx.engine.inner().store.write(|tx| {
                tx.execute(
                    "INSERT OR IGNORE INTO handoffs (tenant_id, channel, channel_user_id, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![ctx.tenant_id, ctx.channel.as_str(), ctx.channel_user_id, reason, crate::store::now_millis()],
                )?;
                Ok(())
            })?;
            Ok(json!({ "handoff": true, "reason": reason }))
        },
    )
}
