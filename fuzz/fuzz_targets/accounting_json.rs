//! Fuzzes the IP and accelerator JSON checks: the first byte picks the envelope type, the rest
//! is the usage records list.
#![no_main]

use fedcloud_conformance::accounting::{ValidateOptions, validate_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let kind = if selector % 2 == 0 {
        "APEL Public IP message\", \"Version\": \"0.2"
    } else {
        "APEL-accelerator-message\", \"Version\": \"0.1"
    };
    let mut message = format!("{{\"Type\": \"{kind}\", \"UsageRecords\": ").into_bytes();
    message.extend_from_slice(rest);
    message.push(b'}');
    let _ = validate_message("fuzz", &message, &ValidateOptions::at(1_709_337_600));
});
