//! Fuzzes the APEL cloud record parser: every input follows a valid cloud header.
#![no_main]

use fedcloud_conformance::accounting::{ValidateOptions, validate_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut message = b"APEL-cloud-message: v0.4\n".to_vec();
    message.extend_from_slice(data);
    let _ = validate_message("fuzz", &message, &ValidateOptions::at(1_709_337_600));
});
