//! `brain`: operate a Brain data directory and talk to a tenant's assistant from the terminal.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use brain::{Channel, Engine, Plan, RespondRequest};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "brain",
    version,
    about = "Brain: an embeddable conversational engine, from the command line.",
    long_about = "Brain answers a business's customers in-process: persona → retrieval over the tenant's \
knowledge base → reply. This command operates a data directory (brain.db + a tantivy index).",
    after_help = "Getting started:\n  \
brain init --tenant demo --vertical party_supplies   # a tenant with the party-supplies persona (Astra)\n  \
brain chat --tenant demo                             # talk to Astra as a customer\n  \
brain keys issue --tenant demo --label backend       # an API key for the wire contract (shown once)\n  \
echo '{\"channel\":\"web\",\"channel_user_id\":\"u1\",\"message_text\":\"When are you open?\"}' | brain respond --tenant demo\n\n\
Every command takes --data-dir (or BRAIN_DATA_DIR); the default is ./brain-data.\n\n\
Local models (scripts/fetch-models.sh puts the defaults in ./models):\n  \
brain chat --tenant demo --embedder default                  # hybrid BM25 + MiniLM retrieval\n  \
brain chat --tenant demo --model default --route local       # SmolLM2 answers, under the rails\n  \
brain chat --tenant demo --model ./my-llama.gguf --threads 1 # any Llama-family GGUF"
)]
struct Cli {
    /// Data directory (created if missing): holds brain.db and index/.
    #[arg(long, global = true, env = "BRAIN_DATA_DIR", default_value = "brain-data")]
    data_dir: PathBuf,
    /// Local chat model (a Llama-family .gguf) the router may answer with; `default` is
    /// SmolLM2-135M-Instruct from models/ (scripts/fetch-models.sh fetches it).
    #[arg(long, global = true, env = "BRAIN_MODEL", value_name = "GGUF|default")]
    model: Option<String>,
    /// Sentence embedder folder (model.safetensors, config.json, tokenizer.json) whose vectors are
    /// fused with BM25 retrieval; `default` is all-MiniLM-L6-v2 from models/.
    #[arg(long, global = true, env = "BRAIN_EMBEDDER", value_name = "DIR|default")]
    embedder: Option<String>,
    /// Who answers open-ended turns: auto (measured policy), grounded (never a model), local
    /// (the --model), host (a host generator).
    #[arg(long, global = true, env = "BRAIN_ROUTE", value_name = "MODE")]
    route: Option<String>,
    /// Compute threads for the models (on a busy 2-core machine, 1 is often fastest).
    #[arg(long, global = true, env = "BRAIN_THREADS")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data directory; optionally a tenant with a marketplace vertical applied.
    Init {
        /// Tenant id to create (a-z, 0-9, '-', '_').
        #[arg(long)]
        tenant: Option<String>,
        /// Vertical to apply to the tenant (see `brain marketplace list`).
        #[arg(long, requires = "tenant")]
        vertical: Option<String>,
        /// Plan of the new tenant: starter, pro or enterprise.
        #[arg(long, default_value = "starter")]
        plan: String,
    },
    /// The built-in verticals: persona + knowledge base + catalog + tool config.
    Marketplace {
        #[command(subcommand)]
        action: MarketplaceCmd,
    },
    /// List, create or delete tenants.
    Tenants {
        #[command(subcommand)]
        action: Option<TenantsCmd>,
    },
    /// Show a tenant's persona, or load one from a TOML file of your own.
    Persona {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// A persona TOML file (a bare persona table or a pack with a [persona] table).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Ingest a file or folder: .md/.txt become documents, .csv/.json catalog items. Incremental.
    Ingest {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// File or directory to ingest.
        path: PathBuf,
    },
    /// Chat with a tenant's assistant as a customer (type a message, Enter; Ctrl-D to quit).
    Chat {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Channel to chat on.
        #[arg(long, default_value = "web")]
        channel: String,
        /// Your customer id (the conversation is kept per id).
        #[arg(long, default_value = "cli-user")]
        user: String,
    },
    /// Run one turn: a request JSON on stdin, the response JSON on stdout (the wire contract).
    Respond {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// List a tenant's conversations, or print one.
    Conversations {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Print the messages of the conversation of this customer id.
        #[arg(long)]
        user: Option<String>,
        /// Channel of that conversation.
        #[arg(long, default_value = "web")]
        channel: String,
    },
    /// Print the trace of a turn (what each stage saw) as JSON.
    Trace {
        /// The request id (req_...).
        request_id: String,
    },
    /// Issue, list or revoke API keys (`pk_live_...`; only their SHA-256 is stored).
    Keys {
        #[command(subcommand)]
        action: KeysCmd,
    },
    /// Per-key usage: lifetime calls, last use, limit, revocation.
    Usage {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Serve one HTTP-shaped request of the wire contract: JSON {method, path, headers, body} on
    /// stdin, {status, headers, body} on stdout. BRAIN_ADMIN_TOKEN enables the admin routes.
    Http,
    /// Measure Brain against labelled data: `brain eval guardrails FILE.jsonl`.
    Eval {
        #[command(subcommand)]
        what: EvalCmd,
    },
    /// The scripted demo: a party-supplies tenant and a short conversation with Astra.
    Demo,
}

#[derive(Subcommand)]
enum EvalCmd {
    /// Precision, recall and F1 per category, the false-positive rate on benign messages, and PII
    /// detection per kind. Lines: {"text", "label": injection|abuse|benign} or {"text", "pii": [{"kind", "value"}]}.
    Guardrails {
        /// A JSONL file.
        file: PathBuf,
        /// Also print every miss.
        #[arg(long)]
        misses: bool,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Issue a key; the plaintext is printed once — store it now.
    Issue {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Where the key will live ("Production backend").
        #[arg(long, default_value = "")]
        label: String,
        /// Comma-separated scopes: respond (default), admin, ingest, trace.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Requests per minute for this key, overriding the plan's limit.
        #[arg(long)]
        rpm: Option<u32>,
    },
    /// List keys (revoked ones stay listed).
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by its 8-hex prefix (or the whole key).
    Revoke {
        /// Prefix or key.
        prefix: String,
    },
}

#[derive(Subcommand)]
enum MarketplaceCmd {
    /// List the built-in verticals.
    List,
    /// Apply a vertical to a tenant (re-applying a newer version updates it).
    Apply {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Vertical key, e.g. party_supplies.
        key: String,
    },
}

#[derive(Subcommand)]
enum TenantsCmd {
    /// List tenants (the default).
    List,
    /// Create a tenant.
    Create {
        /// Tenant id (a-z, 0-9, '-', '_').
        id: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// starter, pro or enterprise.
        #[arg(long, default_value = "starter")]
        plan: String,
    },
    /// Delete a tenant and everything it owns.
    Delete {
        /// Tenant id.
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error ({}): {e}", e.code());
            ExitCode::from(match e.kind() {
                brain::ErrorKind::BadRequest => 2,
                brain::ErrorKind::NotFound => 3,
                _ => 1,
            })
        }
    }
}

fn run(cli: Cli) -> brain::Result<()> {
    let open = || -> brain::Result<Engine> {
        let engine = Engine::open(&cli.data_dir)?;
        let setup = brain::models::ModelSetup {
            chat_model: cli.model.clone(),
            embedder: cli.embedder.clone(),
            route: cli.route.as_deref().map(str::parse).transpose()?,
            threads: cli.threads,
        };
        if setup.chat_model.is_some() || setup.embedder.is_some() || setup.route.is_some() {
            let mut last = String::new();
            setup.apply(&engine, &mut |p| {
                let line = format!("{} {}/{}", p.item, p.done, p.total);
                if p.item != last || p.done == p.total {
                    eprintln!("models: {line}");
                    last = p.item.to_string();
                }
            })?;
        }
        Ok(engine)
    };
    match cli.command {
        Command::Init { tenant, vertical, plan } => {
            let engine = open()?;
            println!("data directory: {}", cli.data_dir.display());
            if let Some(t) = tenant {
                if !engine.tenants()?.iter().any(|x| x.id == t) {
                    engine.create_tenant(&t, &t, Plan::parse(&plan)?)?;
                    println!("created tenant {t} ({plan})");
                }
                if let Some(v) = vertical {
                    let r = engine.marketplace_apply(&t, &v)?;
                    println!("{} vertical {} v{}: {} documents, {} catalog items", r.status, r.key, r.version, r.documents, r.catalog_items);
                }
            }
        }
        Command::Marketplace { action: MarketplaceCmd::List } => {
            for v in brain::marketplace::builtin_verticals()? {
                println!(
                    "{:<16} v{}  {:<9} {:<8} {:>3} docs {:>3} items  {}",
                    v.key, v.version, v.kind, v.assistant_name, v.documents, v.catalog_items, v.summary
                );
            }
        }
        Command::Marketplace { action: MarketplaceCmd::Apply { tenant, key } } => {
            let r = open()?.marketplace_apply(&tenant, &key)?;
            let prev = r.previous_version.map(|v| format!(" (was v{v})")).unwrap_or_default();
            println!("{} {} v{}{prev}: {} documents, {} catalog items", r.status, r.key, r.version, r.documents, r.catalog_items);
        }
        Command::Tenants { action } => {
            let engine = open()?;
            match action.unwrap_or(TenantsCmd::List) {
                TenantsCmd::List => {
                    let tenants = engine.tenants()?;
                    if tenants.is_empty() {
                        println!("no tenants yet: brain tenants create ID, or brain init --tenant ID --vertical KEY");
                    }
                    for t in tenants {
                        let vertical = match (&t.vertical_key, t.vertical_version) {
                            (Some(k), Some(v)) => format!("{k} v{v}"),
                            _ => "-".into(),
                        };
                        println!(
                            "{:<20} {:<10} {:<20} assistant {:<10} {:>5} docs {:>4} items",
                            t.id,
                            t.plan.as_str(),
                            vertical,
                            t.assistant_name.unwrap_or_else(|| "-".into()),
                            t.documents,
                            t.catalog_items
                        );
                    }
                }
                TenantsCmd::Create { id, name, plan } => {
                    engine.create_tenant(&id, &name, Plan::parse(&plan)?)?;
                    println!("created tenant {id}");
                }
                TenantsCmd::Delete { id } => {
                    engine.delete_tenant(&id)?;
                    println!("deleted tenant {id}");
                }
            }
        }
        Command::Persona { tenant, file } => {
            let engine = open()?;
            if let Some(f) = file {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| brain::Error::new(brain::ErrorKind::BadRequest, format!("cannot read {}: {e}", f.display())))?;
                let p = brain::Persona::from_toml_str(&text)?;
                engine.set_persona(&tenant, &p)?;
                println!("persona of {tenant} set: {}", p.assistant_name);
            } else {
                let p = engine.persona(&tenant)?;
                println!("{} ({})\n\n{}", p.assistant_name, p.business_name, p.system_prompt());
            }
        }
        Command::Ingest { tenant, path } => {
            let engine = open()?;
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            let report = engine.ingest_path(&tenant, &path, &mut |p| {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(p.item.to_string());
            })?;
            bar.finish_and_clear();
            println!(
                "ingested {} files: {} added, {} updated, {} unchanged, {} removed, {} chunks, {} catalog items",
                report.files, report.added, report.updated, report.unchanged, report.removed, report.chunks, report.catalog_items
            );
        }
        Command::Chat { tenant, channel, user } => {
            let engine = open()?;
            let channel = Channel::parse(&channel)?;
            let persona = engine.persona(&tenant)?;
            println!("Chatting with {} as {user} on {channel}. Ctrl-D to quit.", persona.assistant_name);
            let stdin = std::io::stdin();
            loop {
                print!("you> ");
                std::io::stdout().flush().ok();
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    println!();
                    break;
                }
                let text = line.trim();
                if text.is_empty() {
                    continue;
                }
                match engine.respond(&tenant, &RespondRequest::new(channel, &user, text)) {
                    Ok(r) => println!("{}> {}\n", r.assistant_name, r.response),
                    Err(e) => println!("error ({}): {e}\n", e.code()),
                }
            }
        }
        Command::Respond { tenant } => {
            let mut body = String::new();
            std::io::stdin().read_to_string(&mut body)?;
            let (status, json) = open()?.respond_json(&tenant, &body);
            println!("{json}");
            if status != 200 {
                return Err(brain::Error::new(kind_of_status(status), format!("request failed with HTTP status {status}")));
            }
        }
        Command::Conversations { tenant, user, channel } => {
            let engine = open()?;
            match user {
                Some(u) => {
                    for m in engine.messages(&tenant, Channel::parse(&channel)?, &u)? {
                        println!("{:<9} {}", format!("{}:", m.role), m.text);
                    }
                }
                None => {
                    for c in engine.conversations(&tenant)? {
                        println!("{:<9} {:<24} {:>4} messages  last: {}", c.channel, c.channel_user_id, c.messages, truncate(&c.last_message, 60));
                    }
                }
            }
        }
        Command::Trace { request_id } => {
            let t = open()?.trace(&request_id)?;
            println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
        }
        Command::Keys { action } => {
            let engine = open()?;
            match action {
                KeysCmd::Issue { tenant, label, scopes, rpm } => {
                    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                    let issued = engine.issue_key(&tenant, &label, &scopes, rpm)?;
                    println!("{}", issued.api_key);
                    eprintln!(
                        "issued key {} for {tenant} (scopes: {}). This is the only time the key is shown: store it now.",
                        issued.key.prefix,
                        issued.key.scopes.join(",")
                    );
                }
                KeysCmd::List { tenant } => print_keys(&engine, tenant.as_deref())?,
                KeysCmd::Revoke { prefix } => {
                    engine.revoke_key(&prefix)?;
                    println!("revoked {prefix}");
                }
            }
        }
        Command::Usage { tenant } => print_keys(&open()?, tenant.as_deref())?,
        Command::Http => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let req: brain::HttpRequest = serde_json::from_str(&input).map_err(|e| {
                brain::Error::new(
                    brain::ErrorKind::BadRequest,
                    format!("stdin must be JSON {{\"method\", \"path\", \"headers\": [[name, value]...], \"body\": [bytes]}}: {e}"),
                )
            })?;
            let mut builder = Engine::builder().data_dir(&cli.data_dir);
            if let Ok(token) = std::env::var("BRAIN_ADMIN_TOKEN") {
                builder = builder.admin_token(&token);
            }
            let resp = builder.open()?.handle_http(&req);
            println!("{}", serde_json::to_string(&resp).unwrap_or_default());
        }
        Command::Eval { what: EvalCmd::Guardrails { file, misses } } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| brain::Error::new(brain::ErrorKind::BadRequest, format!("cannot read {}: {e}", file.display())))?;
            let r = brain::guardrails::eval::evaluate(&text)?;
            if r.messages > 0 {
                println!("{} labelled messages, {} benign", r.messages, r.benign);
                for (cat, s) in &r.categories {
                    println!("{cat:<10} precision {:.3}  recall {:.3}  F1 {:.3}  (tp {}, fp {}, fn {})", s.precision, s.recall, s.f1, s.tp, s.fp, s.fn_);
                }
                println!("benign false-positive rate {:.3}", r.benign_false_positive_rate);
            }
            for (kind, s) in &r.pii {
                println!("pii {kind:<8} precision {:.3}  recall {:.3}  (tp {}, fp {}, fn {})", s.precision, s.recall, s.tp, s.fp, s.fn_);
            }
            if misses {
                for m in &r.misses {
                    println!("  miss: {m}");
                }
            }
        }
        Command::Demo => demo(&cli.data_dir)?,
    }
    Ok(())
}

fn print_keys(engine: &Engine, tenant: Option<&str>) -> brain::Result<()> {
    let keys = engine.keys(tenant)?;
    if keys.is_empty() {
        println!("no keys yet: brain keys issue --tenant ID");
    }
    for k in keys {
        let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
        let last = k.last_used_at.map(|t| format!("{}s ago", (now_ms() - t).max(0) / 1000)).unwrap_or_else(|| "never".into());
        let rpm = k.rate_limit_rpm.map(|r| format!("{r} rpm")).unwrap_or_else(|| "plan rpm".into());
        println!(
            "pk_live_{}_…  {:<12} {:<8} {:>6} calls  last used {:<10} {:<9} {:<20} {}",
            k.prefix,
            k.tenant_id,
            status,
            k.call_count,
            last,
            rpm,
            k.scopes.join(","),
            k.label
        );
    }
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn kind_of_status(status: u16) -> brain::ErrorKind {
    match status {
        400 => brain::ErrorKind::BadRequest,
        401 => brain::ErrorKind::Unauthorized,
        403 => brain::ErrorKind::Forbidden,
        404 => brain::ErrorKind::NotFound,
        429 => brain::ErrorKind::RateLimited,
        _ => brain::ErrorKind::Internal,
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// The README's first command: a data directory with the party-supplies vertical and a scripted
/// conversation, printed with what each turn used.
fn demo(dir: &std::path::Path) -> brain::Result<()> {
    let engine = Engine::open(dir)?;
    if !engine.tenants()?.iter().any(|t| t.id == "demo") {
        engine.create_tenant("demo", "Partython demo", Plan::Starter)?;
    }
    let r = engine.marketplace_apply("demo", "party_supplies")?;
    // The scripted customer types 12 messages in well under 10 seconds; a person would not, and
    // the flood rail (8 per 10 s by default) would rightly stop them.
    let mut persona = engine.persona("demo")?;
    let mut rails = persona.guardrails.clone().unwrap_or_default();
    let mut flood = toml::Table::new();
    flood.insert("max_messages".into(), toml::Value::Integer(30));
    flood.insert("window_seconds".into(), toml::Value::Integer(10));
    rails.insert("flood".into(), toml::Value::Table(flood));
    persona.guardrails = Some(rails);
    engine.set_persona("demo", &persona)?;
    println!("data directory {} · tenant demo · vertical {} v{} ({})", dir.display(), r.key, r.version, r.status);
    println!("(the flood rail allows this scripted customer 30 messages per 10 s; the default is 8)\n");
    let user = format!("demo-{}", brain::new_request_id());
    let script = [
        "Hi!",
        "What are your opening hours?",
        "What about Sunday?",
        "How much is the Mystical Unicorn Bundle?",
        "Is it in stock?",
        "I need party supplies for 12 kids",
        "yes please",
        "How long does delivery take?",
        "and how much is delivery?",
        "What is your return policy?",
        "Do you sell fireworks?",
        "Thanks, bye!",
    ];
    for text in script {
        let resp = engine.respond("demo", &RespondRequest::new(Channel::Web, &user, text))?;
        let trace = engine.trace(&resp.request_id)?;
        println!("customer> {text}");
        println!("{}> {}", resp.assistant_name, resp.response);
        let tools = if resp.metadata.tools_called.is_empty() { String::new() } else { format!("tools {} · ", resp.metadata.tools_called.join(", ")) };
        println!(
            "          [{tools}{} · {} ms · tokens {}/{} · {}]\n",
            trace["decision"].as_str().unwrap_or(""),
            resp.metadata.latency_ms,
            resp.metadata.tokens_in,
            resp.metadata.tokens_out,
            resp.request_id
        );
    }
    println!("Chat yourself: cargo run -p brain-cli -- --data-dir {} chat --tenant demo", dir.display());
    Ok(())
}
