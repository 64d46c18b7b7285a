#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for channel in ["whatsapp", "messenger", "instagram"] {
        brain::webhooks::fuzzing::meta_parse(channel, data);
    }
});
