//! Tools end to end: the reference exchange, bookings per service vertical, races, host tools,
//! and every way a tool can fail without failing the turn.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use brain::{Channel, Engine, ErrorKind, Plan, RespondRequest, RespondResponse, Tool};
use serde_json::{Value, json};

fn engine(vertical: &str) -> Engine {
    let engine = Engine::open_in_memory().unwrap();
    engine.create_tenant("t", "", Plan::Starter).unwrap();
    engine.marketplace_apply("t", vertical).unwrap();
    engine
}

fn say(engine: &Engine, user: &str, text: &str) -> RespondResponse {
    engine.respond("t", &RespondRequest::new(Channel::Web, user, text)).unwrap()
}

fn stock_of(engine: &Engine, name: &str) -> i64 {
    engine.catalog("t").unwrap().into_iter().find(|i| i.name == name).unwrap().stock.unwrap()
}

#[test]
fn the_reference_exchange_recommends_confirms_and_stores_one_order() {
    let engine = engine("party_supplies");
    let before = stock_of(&engine, "Mystical Unicorn Bundle");
    let r = say(&engine, "user-abc", "I need party supplies for 12 kids");
    assert_eq!(r.metadata.tools_called, ["commerce.recommend_products"]);
    assert!(r.response.starts_with("Got it — for 12 kids, the Mystical Unicorn Bundle covers it"), "{}", r.response);
    assert!(r.response.contains("$89.00") && r.response.ends_with("Want me to lock it in?"), "{}", r.response);
    assert!(engine.orders("t").unwrap().is_empty(), "nothing is ordered before the customer says yes");

    let r = say(&engine, "user-abc", "yes please");
    assert_eq!(r.metadata.tools_called, ["commerce.create_order"]);
    assert!(r.response.contains("Done! Your order ORD-") && r.response.contains("1× Mystical Unicorn Bundle"), "{}", r.response);
    assert!(r.response.contains("total $89.00"), "{}", r.response);
    let orders = engine.orders("t").unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"], "confirmed");
    assert_eq!(orders[0]["total"], 89.0);
    assert_eq!(orders[0]["lines"][0]["name"], "Mystical Unicorn Bundle");
    assert_eq!(stock_of(&engine, "Mystical Unicorn Bundle"), before - 1);

    // Saying yes again does not order twice.
    let r = say(&engine, "user-abc", "yes please");
    assert!(!r.metadata.tools_called.contains(&"commerce.create_order".to_string()), "{:?}", r.metadata.tools_called);
    assert_eq!(engine.orders("t").unwrap().len(), 1);
    // The trace holds the tool's arguments and result.
    let trace = engine.trace(&r.request_id).unwrap();
    assert!(trace["plan"].is_object());
}

#[test]
fn a_no_or_a_change_of_mind_is_handled() {
    let engine = engine("party_supplies");
    say(&engine, "u1", "I need party supplies for 12 kids");
    let r = say(&engine, "u1", "no thanks");
    assert!(r.response.starts_with("No problem — I won't place an order"), "{}", r.response);
    assert!(say(&engine, "u1", "yes").metadata.tools_called.is_empty());
    assert!(engine.orders("t").unwrap().is_empty());

    say(&engine, "u2", "I need party supplies for 12 kids");
    let r = say(&engine, "u2", "actually we're doing a dinosaur party for 16 kids");
    assert_eq!(r.metadata.tools_called, ["commerce.recommend_products"]);
    assert!(r.response.contains("Dino Stomp Bundle"), "{}", r.response);
    let r = say(&engine, "u2", "go ahead");
    assert!(r.response.contains("Dino Stomp Bundle"), "{}", r.response);
    let orders = engine.orders("t").unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["lines"][0]["name"], "Dino Stomp Bundle");

    // Quantities scale with the guest count: 40 kids need 2 bundles of 20 or 24.
    let r = say(&engine, "u3", "superhero party for 40 kids");
    assert!(r.response.contains("2× the Superhero Squad Bundle") && r.response.contains("$198.00"), "{}", r.response);
}

#[test]
fn ordering_a_named_item_and_checking_stock() {
    let engine = engine("party_supplies");
    let r = say(&engine, "u", "Is the Dino Stomp Bundle in stock?");
    assert_eq!(r.metadata.tools_called, ["commerce.check_stock"]);
    assert!(r.response.contains("Yes — the Dino Stomp Bundle is in stock"), "{}", r.response);
    say(&engine, "u", "How much is the Royal Princess Bundle?");
    let r = say(&engine, "u", "Is it in stock?");
    assert_eq!(r.metadata.tools_called, ["commerce.check_stock"]);
    assert!(r.response.contains("Royal Princess Bundle is in stock"), "{}", r.response);
    let r = say(&engine, "u", "I'll take the Pirate Treasure Bundle");
    assert!(r.metadata.tools_called.is_empty());
    assert!(r.response.contains("Shall I place an order for 1× Pirate Treasure Bundle ($79.00)?"), "{}", r.response);
    let r = say(&engine, "u", "yes");
    assert_eq!(r.metadata.tools_called, ["commerce.create_order"]);
    assert!(r.response.contains("total $79.00"), "{}", r.response);
}

/// (vertical, request, service name expected in the booking)
const BOOKINGS: &[(&str, &str, &str)] = &[
    ("restaurant", "Can I book a table for 4 next Saturday at 7pm?", "Table for 4"),
    ("salon_spa", "I'd like to book a Men's Haircut next Wednesday at 11am", "Men's Haircut"),
    ("dental_clinic", "Can I get an appointment for a Kids Check-up & Cleaning next Wednesday at 11am?", "Kids Check-up & Cleaning"),
    ("real_estate", "I'd like to book a Property Viewing next Wednesday at 11am", "Property Viewing"),
];

#[test]
fn every_service_vertical_books_through_confirmation_and_handles_a_conflict() {
    for (vertical, request, service) in BOOKINGS {
        let engine = engine(vertical);
        let r = say(&engine, "first", request);
        assert_eq!(r.metadata.tools_called, ["booking.find_slots"], "{vertical}: {}", r.response);
        assert!(r.response.starts_with(&format!("Shall I book the {service}")) && r.response.contains("11:00") || r.response.contains("19:00"), "{vertical}: {}", r.response);
        assert!(engine.bookings("t").unwrap().is_empty());
        let r = say(&engine, "first", "yes please");
        assert_eq!(r.metadata.tools_called, ["booking.book"], "{vertical}: {}", r.response);
        assert!(r.response.starts_with(&format!("You're booked: {service}")), "{vertical}: {}", r.response);
        let bookings = engine.bookings("t").unwrap();
        assert_eq!(bookings.len(), 1, "{vertical}");
        assert_eq!(bookings[0]["service_name"], *service);

        // Fill every resource at that time; the next customer is offered other times.
        let b = &bookings[0];
        let (date, time) = (b["date"].as_str().unwrap().to_string(), b["start_min"].as_u64().unwrap());
        let time = format!("{:02}:{:02}", time / 60, time % 60);
        let sku = b["service_sku"].as_str().unwrap().to_string();
        let mut i = 0;
        loop {
            let o = engine
                .call_tool("t", Channel::Api, "filler", "booking.book", json!({"service": sku, "date": date, "time": time, "confirmation_id": format!("fill-{i}")}), true)
                .unwrap();
            assert!(o.is_ok(), "{o:?}");
            i += 1;
            if o.result.unwrap()["booked"] == false {
                break;
            }
        }
        let r = say(&engine, "second", request);
        assert_eq!(r.metadata.tools_called, ["booking.find_slots"], "{vertical}");
        assert!(r.response.contains("Which time suits you?"), "{vertical}: {}", r.response);
        assert!(!r.response.contains(&format!(" {time},")), "{vertical}: a full time was offered: {}", r.response);
    }
}

#[test]
fn a_booking_gathers_missing_slots_across_turns() {
    let engine = engine("restaurant");
    let r = say(&engine, "u", "I'd like to make a reservation");
    assert!(r.response.contains("Which would you like"), "{}", r.response);
    let r = say(&engine, "u", "a table for 2 please");
    assert!(r.response.contains("Which day would you like?"), "{}", r.response);
    let r = say(&engine, "u", "next Saturday");
    assert_eq!(r.metadata.tools_called, ["booking.find_slots"]);
    assert!(r.response.contains("Which time suits you?"), "{}", r.response);
    let r = say(&engine, "u", "8pm");
    assert!(r.response.starts_with("Shall I book the Table for 2 on Saturday"), "{}", r.response);
    let r = say(&engine, "u", "yes");
    assert!(r.response.contains("You're booked: Table for 2 on"), "{}", r.response);
    assert!(r.response.contains("20:00"), "{}", r.response);
}

#[test]
fn eight_threads_racing_for_the_last_slot_one_wins() {
    let engine = engine("salon_spa");
    let date = {
        // Next Wednesday's date, from a booking flow's own slot resolution.
        say(&engine, "probe", "I'd like to book a Men's Haircut next Wednesday at 11am");
        let trace = engine.trace(&say(&engine, "probe", "no").request_id).unwrap();
        let _ = trace;
        let r = engine.call_tool("t", Channel::Api, "probe", "booking.find_slots", json!({"service": "Men's Haircut", "date": "2030-01-02"}), false).unwrap();
        assert!(r.is_ok(), "{r:?}");
        "2030-01-02".to_string() // a Wednesday
    };
    let resources = 6;
    for i in 0..resources - 1 {
        let o = engine
            .call_tool("t", Channel::Api, "filler", "booking.book", json!({"service": "Men's Haircut", "date": date, "time": "11:00", "confirmation_id": format!("f{i}")}), true)
            .unwrap();
        assert_eq!(o.result.unwrap()["booked"], true);
    }
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (engine, barrier, date) = (engine.clone(), barrier.clone(), date.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let o = engine
                    .call_tool("t", Channel::Api, &format!("racer-{t}"), "booking.book", json!({"service": "Men's Haircut", "date": date, "time": "11:00", "confirmation_id": format!("race-{t}")}), true)
                    .unwrap();
                o.result.unwrap()["booked"] == true
            })
        })
        .collect();
    let winners = handles.into_iter().map(|h| h.join().unwrap()).filter(|w| *w).count();
    assert_eq!(winners, 1);
    let at_eleven = engine.bookings("t").unwrap().iter().filter(|b| b["start_min"] == 660).count();
    assert_eq!(at_eleven, resources);
}

#[test]
fn a_host_tool_runs_from_its_triggers_and_failures_become_graceful_replies() {
    let engine = engine("party_supplies");
    let mut persona = engine.persona("t").unwrap();
    persona.tools.extend(["orders.track".to_string(), "orders.slow".to_string(), "orders.broken".to_string()]);
    engine.set_persona("t", &persona).unwrap();
    engine
        .register_tool(
            Tool::new(
                "orders.track",
                "Where a customer's parcel is.",
                json!({"type": "object", "properties": {"message": {"type": "string"}}}),
                |ctx, args| {
                    assert!(args["message"].as_str().unwrap().contains("where is my order"));
                    Ok(json!({"reply": format!("Your parcel for {} left our warehouse this morning.", ctx.channel_user_id)}))
                },
            )
            .triggers(&["where is my order", "track my order"]),
        )
        .unwrap();
    engine
        .register_tool(
            Tool::new("orders.slow", "Sleeps.", json!({"type": "object"}), |_, _| {
                std::thread::sleep(Duration::from_secs(3));
                Ok(json!({}))
            })
            .timeout(Duration::from_millis(100))
            .triggers(&["slow thing"]),
        )
        .unwrap();
    engine
        .register_tool(Tool::new("orders.broken", "Panics.", json!({"type": "object"}), |_, _| panic!("host bug")).triggers(&["broken thing"]))
        .unwrap();

    let r = say(&engine, "ana", "hi, where is my order?");
    assert_eq!(r.metadata.tools_called, ["orders.track"]);
    assert_eq!(r.response, "Your parcel for ana left our warehouse this morning.");

    for (msg, status) in [("do the slow thing", "timed_out"), ("do the broken thing", "panicked")] {
        let r = say(&engine, "ana", msg);
        assert!(r.response.starts_with("Sorry, I couldn't complete that just now."), "{}", r.response);
        let trace = engine.trace(&r.request_id).unwrap();
        assert_eq!(trace["tools"][0]["status"], status, "{trace}");
    }

    // Registration is checked.
    let dup = Tool::new("orders.track", "", json!({"type": "object"}), |_, _| Ok(json!({})));
    assert_eq!(engine.register_tool(dup).unwrap_err().kind(), ErrorKind::BadRequest);
    let bad = Tool::new("track", "", json!({"type": "object"}), |_, _| Ok(json!({})));
    assert!(engine.register_tool(bad).unwrap_err().to_string().contains("namespace.verb"));
    assert!(engine.tools().iter().any(|t| t.name == "commerce.create_order" && t.side_effect));
}

#[test]
fn the_rails_hold_schema_allowlist_and_confirmation() {
    let engine = engine("party_supplies");
    let o = engine.call_tool("t", Channel::Web, "u", "commerce.check_stock", json!({"sku": 5}), false).unwrap();
    assert_eq!(o.status, "invalid_arguments");
    assert!(o.error.unwrap().contains("arguments.sku must be of type string"));
    let o = engine.call_tool("t", Channel::Web, "u", "commerce.check_stock", json!({}), false).unwrap();
    assert!(o.error.unwrap().contains("arguments.sku is required"));
    let o = engine.call_tool("t", Channel::Web, "u", "commerce.create_order", json!({"items": [{"sku": "x", "quantity": 1}], "confirmation_id": "c"}), false).unwrap();
    assert_eq!(o.status, "not_allowed", "side effects need confirmation");
    let o = engine.call_tool("t", Channel::Web, "u", "booking.book", json!({}), true).unwrap();
    assert_eq!(o.status, "not_allowed", "not on the party persona's allowlist");
    let o = engine.call_tool("t", Channel::Web, "u", "nope.nothing", json!({}), true).unwrap();
    assert_eq!(o.status, "unknown_tool");
    let o = engine.call_tool("t", Channel::Web, "u", "kb.search", json!({"query": "helium tank"}), false).unwrap();
    assert!(o.is_ok() && !o.result.unwrap()["hits"].as_array().unwrap().is_empty());
}

#[test]
fn handoff_silences_the_bot_until_released_and_leads_are_captured() {
    let engine = engine("salon_spa");
    let r = say(&engine, "kim", "I want to speak to a real person please");
    assert_eq!(r.metadata.tools_called, ["support.handoff"]);
    assert_eq!(r.response, engine.persona("t").unwrap().escalation);
    let r = say(&engine, "kim", "hello? anyone?");
    assert_eq!(r.response, "");
    let v: Value = serde_json::to_value(&r).unwrap();
    assert_eq!(v["metadata"]["handoff"], true);
    assert_eq!(engine.handoffs("t", false).unwrap().len(), 1);
    assert_eq!(engine.messages("t", Channel::Web, "kim").unwrap().iter().filter(|m| m.role == "user").count(), 2);
    engine.release_handoff("t", Channel::Web, "kim").unwrap();
    assert!(engine.handoffs("t", false).unwrap().is_empty());
    assert!(!say(&engine, "kim", "hi").response.is_empty());
    assert_eq!(engine.release_handoff("t", Channel::Web, "kim").unwrap_err().kind(), ErrorKind::NotFound);

    let r = say(&engine, "lee", "Could someone call me back about bridal packages? I'm Lee Chan, 503-555-0101");
    assert!(r.response.starts_with("Shall I pass your details"), "{}", r.response);
    let r = say(&engine, "lee", "yes");
    assert_eq!(r.metadata.tools_called, ["lead.capture"]);
    let leads = engine.leads("t").unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["phone"], "5035550101");
    assert_eq!(leads[0]["name"], "Lee Chan");
}
