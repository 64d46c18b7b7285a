//! Turn latency without a model, over a 10,000-document knowledge base, against a named baseline.
//!
//! Run with `cargo bench -p brain --bench turn`. `BRAIN_BENCH_TURNS` overrides the number of
//! measured turns (default 2000).
//!
//! Setup: an on-disk engine (real SQLite + tantivy) in a temporary directory, one tenant with the
//! `party_supplies` vertical, and 10,000 synthetic Markdown documents generated deterministically
//! from word lists and ingested with `Engine::ingest_path`.
//!
//! Figures, one line each:
//! - ingest throughput (docs/s);
//! - single-threaded turns: p50, p99, mean, turns/s;
//! - the baseline, "two SQLite reads (catalog + trace lookup)": `Engine::catalog` plus
//!   `Engine::trace` of an earlier turn, two reads every turn also makes, measured per iteration;
//! - the ratios turn p50 / baseline p50 and turn p99 / baseline p99;
//! - two threads sharing one engine, N/2 turns each: aggregate turns/s and its ratio to the
//!   single-threaded turns/s.
//!
//! Any error from the engine is printed and the bench exits with status 1.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use brain::{Channel, Engine, Plan, RespondRequest};

const TENANT: &str = "bench";
const DOCS: usize = 10_000;
const DOCS_PER_DIR: usize = 250;
const USERS: usize = 50;
const WARMUP_TURNS: usize = 50;
const DEFAULT_TURNS: usize = 2000;
const THREADS: usize = 2;
const BASELINE_NAME: &str = "baseline: two SQLite reads (catalog + trace lookup)";

// ------------------------------------------------------------------ deterministic generator

/// xorshift64* — small, deterministic, good enough to pick words.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 32) as usize) % n
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

const PLACES: &[&str] = &[
    "Portland", "Beaverton", "Gresham", "Lake Oswego", "Tigard", "Hillsboro", "Milwaukie", "Vancouver",
    "Sellwood", "Hawthorne", "Alberta Arts", "the Pearl District", "St. Johns", "Montavilla", "Laurelhurst",
    "Kenton", "Woodstock", "Division Street", "Mississippi Avenue", "Happy Valley", "Tualatin", "West Linn",
    "Clackamas", "Oregon City", "Sherwood", "Forest Grove", "Troutdale", "Camas",
];
const THEMES: &[&str] = &[
    "unicorn", "dinosaur", "pirate", "mermaid", "outer space", "superhero", "princess", "rainbow", "jungle safari",
    "circus", "construction truck", "fairy garden", "under the sea", "race car", "farm animals", "winter wonderland",
    "tropical luau", "halloween", "graduation", "baby shower", "gender reveal", "anniversary", "retirement",
    "sports day", "movie night", "art party", "science lab", "camping", "cowboy", "ninja",
];
const ITEMS: &[&str] = &[
    "latex balloons", "foil balloons", "number balloons", "balloon arch kits", "helium tanks", "paper plates",
    "dessert plates", "paper cups", "napkins", "plastic cutlery", "table covers", "letter banners", "custom banners",
    "pinatas", "candy filler", "birthday candles", "favor bags", "streamers", "confetti", "party hats",
    "photo booth props", "centerpieces", "tiaras", "goodie boxes", "cake toppers", "bubble wands",
    "glow sticks", "sticker sheets", "balloon weights", "curling ribbon",
];
const COLORS: &[&str] = &[
    "gold", "silver", "rose gold", "pastel pink", "baby blue", "mint green", "lavender", "bright red", "navy",
    "sunshine yellow", "black", "white", "teal", "coral", "rainbow",
];
const DAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const EVENTS: &[&str] = &[
    "birthday party", "school event", "company picnic", "family reunion", "wedding shower", "class party",
    "church fundraiser", "neighborhood block party", "office celebration", "first birthday", "sweet sixteen",
    "holiday party",
];
const SENDERS: &[&str] = &["customers", "parents", "teachers", "event planners", "party hosts", "grandparents", "our regulars"];

/// Topics: (title stems, sentence templates). Slots: {place} {theme} {item} {color} {day}
/// {event} {who} {price} {time} {n} {m}.
const TOPICS: &[(&[&str], &[&str])] = &[
    (
        &["Delivery to {place}", "Same-day delivery in {place}", "Delivery windows for {place}", "Weekend delivery notes"],
        &[
            "Orders for {place} placed before {time} are usually delivered the same day.",
            "Delivery to {place} costs {price} and is free on orders over {price}.",
            "Our drivers cover {place} on {day} between {time} and {time}.",
            "A 2-hour delivery window to {place} can be booked for an extra {price}.",
            "Inflated {item} can only be delivered locally, never shipped.",
            "On {day} the van to {place} leaves the store at {time}, so late orders go out the next morning.",
            "Someone aged 18 or over must be present to receive a helium tank in {place}.",
            "If the driver cannot reach you in {place}, we call and wait up to {n} minutes before returning to the store.",
            "Large orders of {item} for a {event} in {place} may need {n} days of notice.",
            "We text a tracking link when the driver is {n} stops away from your address in {place}.",
        ],
    ),
    (
        &["Returns for {item}", "Refund rules for {item}", "Exchanging {item}", "Damaged {item} on arrival"],
        &[
            "Unopened {item} can be returned within {n} days with a receipt for a full refund.",
            "Refunds for {item} reach the original card within {m} business days.",
            "Opened packs of {item} cannot be returned for hygiene reasons.",
            "If {item} arrive damaged, send a photo within 48 hours and we replace them free of charge.",
            "Return shipping for online orders costs {price} and is deducted from the refund.",
            "Store returns are always free; bring the order number that starts with PT-.",
            "Personalized {item} cannot be returned after you approve the digital proof.",
            "Exchanges for a different color, such as {color} instead of {color}, are free within {n} days.",
            "Gift receipts let {who} exchange {item} without showing the price.",
        ],
    ),
    (
        &["Balloon care: {color} {item}", "Balloon tips for a {event}", "How long balloons float", "Helium and balloons"],
        &[
            "Latex balloons treated with float gel stay up for {m} days indoors instead of 12-18 hours.",
            "Foil balloons in {color} float for {n} days or longer when filled with helium.",
            "Balloon inflation costs {price} per latex balloon and {price} per foil balloon.",
            "Keep inflated balloons out of a hot car; heat makes them pop within {n} minutes.",
            "A balloon arch for a {event} uses about {n}0 balloons for a 10 ft span.",
            "For 50 or more balloons, order at least 24 hours ahead so they are ready at {time}.",
            "Our {color} balloons pair well with {theme} decorations and {item}.",
            "A large helium tank fills about 100 latex balloons of 11 inches.",
            "Latex balloons are not suitable for children under 8; choose foil balloons for toddlers.",
            "Bring your own balloons and we inflate them for {price} each.",
        ],
    ),
    (
        &["{theme} party ideas", "Planning a {theme} {event}", "{theme} theme for {n} guests", "Decorating with a {theme} theme"],
        &[
            "A {theme} party for {n} kids looks great with {color} {item} and matching {item}.",
            "Our {theme} bundle includes plates, cups, napkins, a banner and favor bags.",
            "For a {theme} {event}, start planning about {m} weeks ahead.",
            "Many {who} add {item} in {color} to the {theme} bundle.",
            "The {theme} banner can be personalized with a name and age for {price}.",
            "Set up {theme} decorations 1-2 hours before guests arrive at {time}.",
            "A {theme} pinata filled with 2 pounds of candy keeps {n} kids busy.",
            "For older kids, a {theme} scavenger hunt with {item} as prizes works well.",
            "Pick a color palette, for example {color} and {color}, to tie the {theme} look together.",
        ],
    ),
    (
        &["Prices for {item}", "Price list: {item}", "Deals on {item}", "Bulk pricing for {item}"],
        &[
            "A pack of {item} costs {price}, and a double pack is {price}.",
            "{item} in {color} are {price} each or {price} for a pack of {n}.",
            "Buy 50 or more {item} and get 10% off automatically.",
            "Orders over {price} get 15% off, and schools get 10% off every order.",
            "Prices for {item} are the same online and in the store.",
            "Oregon has no sales tax, so {price} is the price you pay plus any delivery fee.",
            "Our {theme} bundle costs {price} and saves about 20% compared with single items.",
            "Last season {item} were {price}; this season they are {price}.",
            "For a quote on more than {n}00 {item}, email hello@partython.example.",
        ],
    ),
    (
        &["Store hours on {day}", "Holiday hours", "Opening times and pickups", "When to pick up on {day}"],
        &[
            "On {day} the store opens at {time} and closes at {time}.",
            "Balloon inflation stops 30 minutes before closing time, at {time}.",
            "Pickup orders placed online are ready within {n} minutes during store hours.",
            "On public holidays we open from {time} to {time}.",
            "The chat assistant answers questions about {item} at any time of day.",
            "The busiest time on {day} is around {time}, so come early for {item}.",
            "Curbside pickup on {day} runs from {time} until closing.",
            "Large orders for a {event} can be collected from the loading bay after {time}.",
        ],
    ),
    (
        &["Visiting us from {place}", "Parking near the store", "Directions from {place}", "Getting to Confetti Lane"],
        &[
            "From {place}, the drive to 418 Confetti Lane takes about {n} minutes.",
            "There are six free 30-minute parking spaces in front of the store.",
            "The Hawthorne & 12th bus stop is a 5-minute walk from the entrance.",
            "Customers from {place} often combine a store visit with pickup of {item}.",
            "The loading bay is on the left side of the building; ring the bell for help with {item}.",
            "Parking in the garage next door costs {price} per hour after the first 30 minutes.",
            "On {day} mornings the street near {place} can be busy, so allow extra time.",
        ],
    ),
    (
        &["Shipping {item}", "Nationwide shipping of {item}", "Express shipping options", "Shipping times to {place}"],
        &[
            "Standard shipping takes 3-5 business days and costs {price}.",
            "Express shipping takes 1-2 business days and costs {price}.",
            "Orders placed before {time} on a business day leave the warehouse the same day.",
            "{item} ship in recyclable boxes with a tracking link by email.",
            "Helium tanks and inflated balloons cannot be shipped to {place}.",
            "Shipping is free on orders over {price} to the continental United States.",
            "Custom {item} ship after proof approval, which adds {n} business days.",
        ],
    ),
];

fn fill(template: &str, rng: &mut Rng, out: &mut String) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("template slot is closed");
        let slot = &rest[open + 1..close];
        match slot {
            "place" => out.push_str(rng.pick(PLACES)),
            "theme" => out.push_str(rng.pick(THEMES)),
            "item" => out.push_str(rng.pick(ITEMS)),
            "color" => out.push_str(rng.pick(COLORS)),
            "day" => out.push_str(rng.pick(DAYS)),
            "event" => out.push_str(rng.pick(EVENTS)),
            "who" => out.push_str(rng.pick(SENDERS)),
            "price" => {
                let cents = [0, 49, 50, 95, 99][rng.below(5)];
                let _ = write!(out, "${}.{cents:02}", rng.range(1, 180));
            }
            "time" => {
                let _ = write!(out, "{:02}:{:02}", rng.range(8, 20), [0, 15, 30, 45][rng.below(4)]);
            }
            "n" => {
                let _ = write!(out, "{}", rng.range(2, 30));
            }
            "m" => {
                let _ = write!(out, "{}", rng.range(1, 7));
            }
            other => panic!("unknown template slot {other:?}"),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One synthetic Markdown document of about 80-200 words.
fn synth_document(i: usize) -> String {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let primary = rng.below(TOPICS.len());
    let secondary = rng.below(TOPICS.len());
    let (titles, _) = TOPICS[primary];
    let mut title = String::new();
    fill(rng.pick(titles), &mut rng, &mut title);
    let mut doc = format!("# {} (note {i})\n\n", capitalize(&title));
    let target = rng.range(80, 200);
    let mut words = 0;
    let mut in_paragraph = 0;
    while words < target {
        // Mostly the primary topic, sometimes the secondary one.
        let topic = if rng.below(4) == 0 { secondary } else { primary };
        let mut sentence = String::new();
        fill(rng.pick(TOPICS[topic].1), &mut rng, &mut sentence);
        words += sentence.split_whitespace().count();
        doc.push_str(&capitalize(&sentence));
        in_paragraph += 1;
        if in_paragraph >= rng.range(3, 5) {
            doc.push_str("\n\n");
            in_paragraph = 0;
        } else {
            doc.push(' ');
        }
    }
    doc.push('\n');
    doc
}

fn write_corpus(dir: &Path) -> std::io::Result<usize> {
    let mut bytes = 0;
    for i in 0..DOCS {
        let sub = dir.join(format!("kb{:03}", i / DOCS_PER_DIR));
        if i % DOCS_PER_DIR == 0 {
            std::fs::create_dir_all(&sub)?;
        }
        let text = synth_document(i);
        bytes += text.len();
        std::fs::write(sub.join(format!("note-{i:05}.md")), text)?;
    }
    Ok(bytes)
}

// ------------------------------------------------------------------ workload

/// Customer messages, in conversation order; follow-ups sit right after the question they follow.
const QUESTIONS: &[&str] = &[
    "Hi there!",
    "What time do you open on Saturday?",
    "and on Sunday?",
    "how late are you open on weekdays? trying to come after work",
    "Where is your store? Is there parking?",
    "How much is the Mystical Unicorn Bundle?",
    "and how much is delivery?",
    "Do you deliver to Beaverton on Saturday?",
    "what about Sunday?",
    "If I order by 1pm can you deliver same-day?",
    "What's the price of the Dino Stomp Bundle?",
    "how many kids does it serve?",
    "I need party supplies for 12 kids",
    "Can I return plates I didn't open?",
    "how long does the refund take?",
    "I need to cancel my order, it hasn't been packed yet",
    "how much for the Star Pinata?",
    "and the candy filler?",
    "What does the Helium Tank Rental cost?",
    "is there a deposit?",
    "how many balloons will one rented helium tank fill?",
    "can you blow up a bunch of balloons for me?",
    "how long do latex balloons float?",
    "are latex balloons ok for a toddler?",
    "Can I get a banner printed with my son's name on it?",
    "how long does the proof take?",
    "price of the Paper Cups 9 oz pack?",
    "Do you have the Galaxy Explorer Space Bundle in stock?",
    "any discount if I buy a lot of plates for a school event?",
    "what does standard shipping cost?",
    "do you ship to Hawaii?",
    "can I pay by card or with my phone?",
    "do you have compostable plates?",
    "how far ahead should I start planning my daughter's birthday party?",
    "Which bundle is best for a pirate party with 10 kids?",
    "How much is the Rainbow Mega Party Bundle?",
    "and is delivery free for that?",
    "what's your phone number?",
    "Do you sell gold number balloons?",
    "Thanks, that's all!",
];

fn user_id(u: usize) -> String {
    format!("bench-user-{u:02}")
}

/// Turn `i` of the whole run: users take turns, each walking the question list from its own offset,
/// so every conversation accumulates history and follow-ups follow their question.
fn request_for(i: usize) -> RespondRequest {
    let u = i % USERS;
    let step = i / USERS;
    let q = QUESTIONS[(u * 7 + step) % QUESTIONS.len()];
    RespondRequest::new(Channel::Web, user_id(u), q)
}

fn turn(engine: &Engine, i: usize) -> Result<(Duration, String), String> {
    let req = request_for(i);
    let t = Instant::now();
    let resp = engine.respond(TENANT, &req);
    let elapsed = t.elapsed();
    match resp {
        Ok(r) => {
            let id = black_box(r).request_id;
            Ok((elapsed, id))
        }
        Err(e) => Err(format!("respond failed on turn {i} ({:?} {:?}): {e}", req.channel_user_id, req.message_text)),
    }
}

// ------------------------------------------------------------------ statistics

struct Summary {
    n: usize,
    p50: f64,
    p99: f64,
    mean: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile over sorted samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summarize(samples: &[Duration]) -> Summary {
    let mut v: Vec<f64> = samples.iter().copied().map(ms).collect();
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    Summary { n: v.len(), p50: percentile(&v, 50.0), p99: percentile(&v, 99.0), mean }
}

// ------------------------------------------------------------------ main

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("bench failed: {msg}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn run() -> Result<(), String> {
    let turns = match std::env::var("BRAIN_BENCH_TURNS") {
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if n >= THREADS => n,
            _ => return Err(format!("BRAIN_BENCH_TURNS={s:?} is not a whole number >= {THREADS}")),
        },
        Err(_) => DEFAULT_TURNS,
    };
    let run_start = Instant::now();

    // ---- setup
    let data = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let corpus = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let engine = Engine::open(data.path()).map_err(|e| format!("Engine::open: {e}"))?;
    engine.create_tenant(TENANT, "Bench", Plan::Enterprise).map_err(|e| format!("create_tenant: {e}"))?;
    engine.marketplace_apply(TENANT, "party_supplies").map_err(|e| format!("marketplace_apply: {e}"))?;
    // The bench sends each simulated customer dozens of messages per second: switch the flood
    // rail off so every turn runs the whole pipeline instead of the flood reply.
    let mut persona = engine.persona(TENANT).map_err(|e| format!("persona: {e}"))?;
    persona.guardrails = Some(toml::from_str("flood = { enabled = false }").map_err(|e| format!("policy: {e}"))?);
    engine.set_persona(TENANT, &persona).map_err(|e| format!("set_persona: {e}"))?;

    let t = Instant::now();
    let bytes = write_corpus(corpus.path()).map_err(|e| format!("writing the corpus: {e}"))?;
    let gen_time = t.elapsed();

    let t = Instant::now();
    let report = engine.ingest_path(TENANT, corpus.path(), &mut |_p| {}).map_err(|e| format!("ingest_path: {e}"))?;
    let ingest_time = t.elapsed();
    if report.added != DOCS {
        return Err(format!("ingest added {} documents, expected {DOCS}: {report:?}", report.added));
    }

    println!(
        "brain turn bench: no model (GroundedComposer), on-disk SQLite + tantivy, tenant {TENANT:?} = party_supplies + {DOCS} synthetic docs"
    );
    println!(
        "corpus:      {DOCS} docs, {:.1} MiB of Markdown, generated in {:.2} s",
        bytes as f64 / (1024.0 * 1024.0),
        gen_time.as_secs_f64()
    );
    println!(
        "ingest:      {DOCS} docs -> {} chunks in {:.2} s = {:.0} docs/s",
        report.chunks,
        ingest_time.as_secs_f64(),
        DOCS as f64 / ingest_time.as_secs_f64()
    );

    // ---- warm-up
    let mut next = 0usize;
    let mut request_ids: Vec<String> = Vec::with_capacity(turns + WARMUP_TURNS);
    for _ in 0..WARMUP_TURNS {
        let (_, id) = turn(&engine, next)?;
        request_ids.push(id);
        next += 1;
    }

    // ---- single-threaded turns
    let mut samples = Vec::with_capacity(turns);
    let wall = Instant::now();
    for _ in 0..turns {
        let (d, id) = turn(&engine, next)?;
        samples.push(d);
        request_ids.push(id);
        next += 1;
    }
    let single_wall = wall.elapsed();
    let single = summarize(&samples);
    let single_tps = turns as f64 / single_wall.as_secs_f64();

    // ---- baseline: the two SQLite reads every turn also makes, on the same data
    for i in 0..WARMUP_TURNS {
        black_box(engine.catalog(TENANT).map_err(|e| format!("catalog: {e}"))?);
        black_box(engine.trace(&request_ids[i % request_ids.len()]).map_err(|e| format!("trace: {e}"))?);
    }
    let mut base_samples = Vec::with_capacity(turns);
    for i in 0..turns {
        // A previous turn's id, spread over the whole run.
        let id = &request_ids[(i * 7919) % request_ids.len()];
        let t = Instant::now();
        let catalog = engine.catalog(TENANT);
        let trace = engine.trace(id);
        let d = t.elapsed();
        black_box(catalog.map_err(|e| format!("catalog: {e}"))?);
        black_box(trace.map_err(|e| format!("trace {id}: {e}"))?);
        base_samples.push(d);
    }
    let base = summarize(&base_samples);

    // ---- concurrent: THREADS threads share one engine, N/THREADS turns each. Thread t takes the
    // turns whose index is t mod THREADS, so (USERS being even) it owns its users' conversations.
    let per_thread = turns / THREADS;
    let start = next;
    let wall = Instant::now();
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let engine = engine.clone();
                s.spawn(move || -> Result<Vec<Duration>, String> {
                    let mut v = Vec::with_capacity(per_thread);
                    for k in 0..per_thread {
                        let (d, _) = turn(&engine, start + k * THREADS + t)?;
                        v.push(d);
                    }
                    Ok(v)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a bench thread panicked".to_string()))).collect()
    });
    let concurrent_wall = wall.elapsed();
    let mut conc_samples = Vec::with_capacity(per_thread * THREADS);
    for r in results {
        conc_samples.extend(r?);
    }
    let conc = summarize(&conc_samples);
    let conc_tps = conc_samples.len() as f64 / concurrent_wall.as_secs_f64();

    // ---- report
    println!(
        "turn:        1 thread, {} turns ({WARMUP_TURNS} warm-up, {USERS} users): p50 {:.3} ms  p99 {:.3} ms  mean {:.3} ms  {:.1} turns/s",
        single.n, single.p50, single.p99, single.mean, single_tps
    );
    println!(
        "{BASELINE_NAME}: {} iterations: p50 {:.3} ms  p99 {:.3} ms  mean {:.3} ms",
        base.n, base.p50, base.p99, base.mean
    );
    println!(
        "ratio:       turn / baseline: p50 {:.2}x  p99 {:.2}x  mean {:.2}x",
        single.p50 / base.p50,
        single.p99 / base.p99,
        single.mean / base.mean
    );
    println!(
        "concurrent:  {THREADS} threads x {per_thread} turns: {:.1} turns/s aggregate = {:.2}x single-thread  (per-turn p50 {:.3} ms  p99 {:.3} ms)",
        conc_tps,
        conc_tps / single_tps,
        conc.p50,
        conc.p99
    );
    println!("total:       {:.1} s", run_start.elapsed().as_secs_f64());
    Ok(())
}
