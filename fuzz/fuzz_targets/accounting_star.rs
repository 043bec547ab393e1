//! Fuzzes the StAR XML parser: every input follows an opening StAR root element.
#![no_main]

use fedcloud_conformance::accounting::{ValidateOptions, validate_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut message =
        b"<sr:StorageUsageRecords xmlns:sr=\"http://eu-emi.eu/namespaces/2011/02/storagerecord\">"
            .to_vec();
    message.extend_from_slice(data);
    let _ = validate_message("fuzz", &message, &ValidateOptions::at(1_709_337_600));
});
