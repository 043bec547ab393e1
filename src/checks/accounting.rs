//! Accounting suite: the cASO spool holds messages APEL accepts, and recent usage.

use super::{CheckKind, Outcome, Problem};

// TODO: wire the accounting validator once its API lands.
pub const KINDS: &[CheckKind] = &[
    CheckKind {
        name: "accounting-spool-valid",
        params: &[],
        run: |_ctx| Box::pin(async { Err::<Outcome, _>(Problem("not wired".to_owned())) }),
    },
    CheckKind {
        name: "accounting-freshness",
        params: &["max_age_days"],
        run: |_ctx| Box::pin(async { Err::<Outcome, _>(Problem("not wired".to_owned())) }),
    },
];
