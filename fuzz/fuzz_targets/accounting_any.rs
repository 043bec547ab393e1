//! Fuzzes message type detection and every parser behind it with raw bytes.
#![no_main]

use fedcloud_conformance::accounting::{ValidateOptions, validate_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = validate_message("fuzz", data, &ValidateOptions::at(1_709_337_600));
});
