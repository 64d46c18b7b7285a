//! Quickstart: open a data directory, load the party-supplies vertical, run two turns.
//!
//! Run: `cargo run -p brain-examples --example quickstart [DATA_DIR]`

use brain::{Channel, Engine, Plan, RespondRequest};

fn main() -> brain::Result<()> {
    // A data directory holds brain.db (SQLite) and index/ (tantivy); a temp one by default.
    let tmp = std::env::temp_dir().join(format!("brain-quickstart-{}", std::process::id()));
    let given: Option<std::path::PathBuf> = std::env::args().nth(1).map(Into::into);
    let dir = given.clone().unwrap_or(tmp);
    let engine = Engine::open(&dir)?;

    // A tenant with a persona, knowledge base and catalog from the marketplace.
    if engine.tenants()?.is_empty() {
        engine.create_tenant("acme", "Acme Parties", Plan::Starter)?;
    }
    engine.marketplace_apply("acme", "party_supplies")?;

    // One turn, exactly the reference's request and response.
    for text in ["How much is the Mystical Unicorn Bundle?", "Is it in stock?"] {
        let reply = engine.respond("acme", &RespondRequest::new(Channel::Web, "user-abc", text))?;
        println!("customer> {text}\n{}> {}", reply.assistant_name, reply.response);
        println!("{}", serde_json::to_string_pretty(&reply).expect("responses serialize"));
    }
    if given.is_none() {
        drop(engine);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
