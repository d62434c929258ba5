//! The surface the integration tests (`tests/`) and the fuzz targets (`fuzz/`) drive, and nothing
//! else: every other module is crate-private, so an item no command, test or fuzz target reaches
//! is reported as dead code, and `unreachable_pub` (denied in `lib.rs`) keeps `pub` honest.
//! The paths mirror the layers (`testing::audit::check` is `crate::audit::check`), so a test
//! reads like the code it drives. It is not an API: hidden from the docs, with no stability
//! promise. It owns no logic, only re-exports; an item is added here when a test needs it.

pub mod actions {
    pub mod cloud_sync {
        pub mod playbook {
            pub use crate::actions::cloud_sync::playbook::{command, for_quarantine};
        }
    }
}

pub mod audit {
    pub use crate::audit::{CheckOptions, check};

    pub mod findings {
        pub use crate::audit::findings::{
            Finding, PredictedOutcome, RuleOutcome, Severity, outcome_vocabulary_markdown,
        };
    }
    pub mod result {
        pub use crate::audit::result::AuditReport;
    }
    pub mod rules {
        pub use crate::audit::rules::{Kind, catalogue_markdown, embedded, parse, with_custom};
        pub mod guard {
            pub use crate::audit::rules::guard::check;
        }
    }
    pub mod schedule {
        pub use crate::audit::schedule::{ScheduleInputs, load_suppressions};
    }
    pub mod sync_model {
        pub use crate::audit::sync_model::{SyncChoices, SyncConfig, SyncSettings, build};
    }
    pub mod tables {
        pub use crate::audit::tables::{ERRORS_ONLY_REASON, Params, Tables, build};
    }
}

pub mod commands {
    pub mod tenants {
        pub use crate::commands::tenants::load;
    }
}

pub mod graph {
    pub use crate::graph::client::{CallStats, GraphClient, GraphClientOptions};
    pub use crate::graph::test_support;

    pub mod collect {
        pub use crate::graph::collect::{CollectOptions, collect};
        pub use crate::inputs::snapshot::CollectionStatus;
    }
}

pub mod inputs {
    pub mod onprem {
        pub use crate::inputs::onprem::{import, import_bytes};
    }
    pub mod snapshot {
        pub use crate::inputs::snapshot::{
            COLLECTING_MARKER, CloudSnapshot, Collection, CollectionState, DirectoryObject,
            DirectoryObjects, ObjectRef, load,
        };
        pub mod catalogue {
            pub use crate::inputs::snapshot::catalogue::{
                DISPLAY_NAME_FIRST_CHARACTERS, UPN_FIRST_CHARACTERS,
            };
        }
    }
}

pub mod outputs {
    pub mod cleanup {
        pub use crate::outputs::cleanup::{plan, ps_quote};
    }
    pub mod report {
        pub mod html {
            pub use crate::outputs::report::html::{readiness, render};
        }
    }
}

pub mod simulate {
    pub use crate::simulate::faults::{FaultKind, FaultOptions, FaultRule};
    pub use crate::simulate::server::{ServerOptions, SimServer};
    pub use crate::simulate::throttle::ThrottleOptions;
    pub use crate::simulate::{filter_parses, query_parses};

    pub mod export {
        pub use crate::simulate::export::{
            OnPremFormat, OnPremWriter, write_ground_truth, write_onprem, write_snapshot,
        };
    }
    pub mod generator {
        pub use crate::simulate::generator::{
            GeneratorOptions, TenantHealth, generate, generate_streaming,
        };
    }
    pub mod model {
        pub use crate::simulate::model::SimTenant;
    }
}
