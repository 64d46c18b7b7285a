//! Argument validation against a JSON-Schema subset: `type` (object, string, integer, number,
//! boolean, array), `properties`, `required`, `additionalProperties: false`, `enum`, `minimum`,
//! `maximum`, `minLength`, `maxLength`, `items`, `minItems`. Errors name the path of the bad value.

use serde_json::Value;

/// Checks `value` against `schema`; the error says which argument is wrong and why.
pub(crate) fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "arguments")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == t || (t == "number" && actual == "integer");
        if !ok {
            return Err(format!("{path} must be of type {t}, got {actual}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            let list: Vec<String> = options.iter().map(Value::to_string).collect();
            return Err(format!("{path} must be one of {}", list.join(", ")));
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                return Err(format!("{path} must be at least {min}, got {n}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                return Err(format!("{path} must be at most {max}, got {n}"));
            }
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if len < min {
                return Err(format!("{path} must have at least {min} characters"));
            }
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                return Err(format!("{path} must have at most {max} characters"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                return Err(format!("{path} must have at least {min} items"));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{i}]"))?;
            }
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if obj.get(r).is_none_or(Value::is_null) {
                    return Err(format!("{path}.{r} is required"));
                }
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) if !v.is_null() => check(s, v, &format!("{path}.{k}"))?,
                Some(_) => {}
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}.{k} is not a known argument"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_bad_argument() {
        let s = json!({
            "type": "object", "additionalProperties": false, "required": ["guests"],
            "properties": {
                "guests": {"type": "integer", "minimum": 1, "maximum": 1000},
                "theme": {"type": "string", "maxLength": 5},
                "kind": {"enum": ["a", "b"]},
                "items": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["sku"]}}
            }
        });
        assert!(validate(&s, &json!({"guests": 12})).is_ok());
        assert!(validate(&s, &json!({"guests": 12.0})).unwrap_err().contains("arguments.guests must be of type integer"));
        assert!(validate(&s, &json!({})).unwrap_err().contains("arguments.guests is required"));
        assert!(validate(&s, &json!({"guests": 0})).unwrap_err().contains("at least 1"));
        assert!(validate(&s, &json!({"guests": 2, "x": 1})).unwrap_err().contains("arguments.x is not a known argument"));
        assert!(validate(&s, &json!({"guests": 2, "theme": "unicorns"})).unwrap_err().contains("at most 5"));
        assert!(validate(&s, &json!({"guests": 2, "kind": "c"})).unwrap_err().contains("one of"));
        assert!(validate(&s, &json!({"guests": 2, "items": [{}]})).unwrap_err().contains("arguments.items[0].sku is required"));
        assert!(validate(&s, &json!("x")).unwrap_err().contains("type object"));
    }
}
