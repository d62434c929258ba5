//! The layers of `src/` (docs/ARCHITECTURE.md), enforced: every `crate::` path in every source
//! file is read, and an edge that goes the wrong way fails this test with the file, the line and
//! the rule it breaks. Data flows one way (inputs → audit → outputs); Graph knows no rules;
//! actions are out of reach of the audit; nothing below the command layer uses the CLI types;
//! the simulator imports nothing from the product. And the crate's public surface is the command
//! layer `main.rs` calls plus the `testing` facade of re-exports the tests drive: everything else
//! is crate-private, so the compiler reports dead code (`unreachable_pub` is denied in lib.rs).

use std::path::{Path, PathBuf};

/// A layer: the module prefixes it owns and the layers it may use (besides itself and the leaf
/// utilities every layer may use).
struct Layer {
    name: &'static str,
    owns: &'static [&'static str],
    may_use: &'static [&'static str],
}

/// Leaf utilities: they use nothing of the crate, and everything may use them.
const LEAVES: &[&str] = &["preview", "graph_metadata", "guid", "text", "repeats"];

/// Order matters for ownership: the longest prefix wins (`graph::collect` before `graph`).
const LAYERS: &[Layer] = &[
    Layer {
        name: "testing",
        owns: &["testing"],
        may_use: &[
            "commands", "graph", "collect", "inputs", "audit", "outputs", "actions", "simulate",
        ],
    },
    Layer {
        name: "commands",
        owns: &["commands"],
        may_use: &[
            "graph", "collect", "inputs", "audit", "outputs", "actions", "simulate",
        ],
    },
    Layer {
        name: "actions",
        owns: &["actions"],
        may_use: &["graph", "inputs"],
    },
    Layer {
        name: "outputs",
        owns: &["outputs"],
        may_use: &["audit", "inputs", "graph::url"],
    },
    Layer {
        name: "audit",
        owns: &["audit"],
        may_use: &["inputs"],
    },
    Layer {
        name: "collect",
        owns: &["graph::collect"],
        may_use: &["graph", "inputs::snapshot"],
    },
    Layer {
        name: "graph",
        owns: &["graph"],
        // The typed records of Graph objects (a Cloud Sync job, say) live with the snapshot
        // that stores them.
        may_use: &["inputs::snapshot"],
    },
    Layer {
        name: "inputs",
        owns: &["inputs"],
        may_use: &[],
    },
    Layer {
        name: "simulate",
        owns: &["simulate"],
        may_use: &[],
    },
];

fn src_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            src_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/graph/collect/plan.rs` → `graph::collect::plan`; `mod.rs` names its folder.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

fn within(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

/// The layer owning `module` (the most specific prefix), or `None` for the crate root, `main`
/// and the leaves.
fn layer_of(module: &str) -> Option<&'static Layer> {
    LAYERS
        .iter()
        .flat_map(|l| l.owns.iter().map(move |p| (l, *p)))
        .filter(|(_, prefix)| within(module, prefix))
        .max_by_key(|(_, prefix)| prefix.len())
        .map(|(l, _)| l)
}

/// Every `crate::a::b` path in the code of `text` (comments and string literals left out),
/// with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = &rest[..at];
            // `entra_audit::` in doc tests or `super::crate` never occur; skip string literals.
            let in_string = before.matches('"').count() % 2 == 1;
            let path: String = rest[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let path = path.trim_end_matches(':').to_string();
            if !in_string && !path.is_empty() {
                found.push((number + 1, path));
            }
            rest = &rest[at + "crate::".len()..];
        }
    }
    found
}

/// `…::tests`, `…::tests_batch_delta`, `graph::test_support`: compiled for tests only.
fn is_test_module(module: &str) -> bool {
    let last = module.rsplit("::").next().unwrap_or(module);
    last == "tests" || last.starts_with("tests_") || last == "test_support"
}

/// Names the rule `from` → `to` breaks, or `None` when the edge is allowed.
fn broken_rule(from: &str, to: &str) -> Option<String> {
    if let Some(leaf) = LEAVES.iter().find(|leaf| within(from, leaf)) {
        return (!within(to, leaf)).then(|| format!("the leaf `{leaf}` must not use the crate"));
    }
    if LEAVES.iter().any(|leaf| within(to, leaf)) {
        return None;
    }
    if within(to, "testing") && !within(from, "testing") {
        return Some("the testing facade is for tests/ and fuzz/, not for the product".into());
    }
    if within(to, "commands") && !within(from, "commands") && !within(from, "testing") {
        return Some(
            "nothing below the command layer uses the command layer or its CLI types".into(),
        );
    }
    let layer = layer_of(from)?;
    let target = layer_of(to)?;
    if is_test_module(from) && target.name == "simulate" {
        // Unit tests may talk to the simulated tenant, the product's test double; end-to-end
        // tests that need other layers live in tests/.
        return None;
    }
    if std::ptr::eq(layer, target) {
        return None;
    }
    let allowed = layer
        .may_use
        .iter()
        .any(|p| within(to, p) || p == &target.name);
    (!allowed).then(|| {
        format!(
            "layer `{}` may use only {:?} (and the leaves {LEAVES:?})",
            layer.name, layer.may_use
        )
    })
}

#[test]
fn no_module_uses_a_layer_it_must_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    src_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut edges = 0;
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("a source file is UTF-8");
        for (line, path) in crate_paths(&text) {
            edges += 1;
            if let Some(rule) = broken_rule(&module, &path) {
                broken.push(format!(
                    "{}:{line}: `{module}` uses `crate::{path}`: {rule}",
                    file.strip_prefix(src.parent().unwrap()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        edges > 200,
        "read only {edges} crate:: paths: is the scan broken?"
    );
    assert!(
        broken.is_empty(),
        "edges the wrong way:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_checker_catches_edges_that_go_the_wrong_way() {
    // Each line: from, to, broken?
    let cases = [
        ("audit::tables", "inputs::onprem::OnPremObject", false),
        ("audit::rules::engine", "outputs::report::AuditReport", true),
        ("audit::schedule", "commands::cli::FailOn", true),
        ("graph::client", "audit::rules", true),
        ("graph::collect", "inputs::snapshot::Collection", false),
        ("graph::collect", "audit::tables", true),
        ("graph::collect", "graph::client::GraphClient", false),
        ("inputs::onprem", "preview::preview", false),
        ("inputs::snapshot", "graph::auth", true),
        ("graph::tests", "simulate::SimServer", false),
        ("graph::client", "simulate::SimServer", true),
        ("outputs::cleanup", "graph::url::path_segment", false),
        ("outputs::cleanup", "graph::client", true),
        ("simulate::server", "inputs::snapshot::RoleHolder", true),
        ("simulate::resources", "graph_metadata::declared", false),
        ("outputs::cleanup", "actions::cloud_sync", true),
        (
            "actions::cloud_sync::status",
            "graph::cloud_sync_discovery",
            false,
        ),
        ("commands::check", "outputs::publish", false),
        ("testing::audit", "audit::check", false),
        ("testing::commands", "commands::tenants::load", false),
        ("audit::rules", "testing::audit", true),
        ("preview", "audit", true),
    ];
    for (from, to, expect_broken) in cases {
        assert_eq!(
            broken_rule(from, to).is_some(),
            expect_broken,
            "{from} -> {to}: {:?}",
            broken_rule(from, to)
        );
    }
    let paths = crate_paths(
        "use crate::audit::{rules, tables};\n// crate::outputs in a comment\nlet s = \"crate::x\";\nx(crate::inputs::snapshot::read)",
    );
    assert_eq!(
        paths,
        vec![
            (1, "audit".to_string()),
            (4, "inputs::snapshot::read".to_string())
        ]
    );
}

/// The `pub` items of a module file, at its top level (the lines that start with `pub `).
fn top_level_pub_lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("a source file is UTF-8")
        .lines()
        .filter(|l| l.starts_with("pub "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_public_surface_is_the_command_layer_and_the_testing_facade() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib: Vec<String> = top_level_pub_lines(&src.join("lib.rs"))
        .into_iter()
        .filter(|l| !l.starts_with("pub const VERSION"))
        .collect();
    assert_eq!(
        lib,
        ["pub mod commands;", "pub mod testing;"],
        "lib.rs: a new public module makes everything in it public, and dead code in it silent; \
         make it pub(crate) and re-export what tests need from src/testing.rs"
    );
    let lib_text = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(
        lib_text.contains("#![deny(unreachable_pub)]"),
        "lib.rs must deny unreachable_pub"
    );
    // The command layer's public part is what main.rs calls: the clap types and the dispatch.
    let commands: Vec<String> = top_level_pub_lines(&src.join("commands/mod.rs"))
        .into_iter()
        .filter(|l| l.starts_with("pub mod"))
        .collect();
    assert_eq!(
        commands,
        ["pub mod cli;"],
        "commands/mod.rs: public submodules"
    );
    // The facade owns no logic: modules, re-exports, comments.
    let facade = std::fs::read_to_string(src.join("testing.rs")).unwrap();
    for (n, line) in facade.lines().enumerate() {
        let code = line.trim();
        let allowed = code.is_empty()
            || code.starts_with("//")
            || code.starts_with("pub mod ")
            || code.starts_with("pub use ")
            || code == "}"
            || code == "};"
            || !code.contains(['(', '=', ';', '{'])
            || (code.ends_with(',') || code.ends_with("};"));
        assert!(
            allowed,
            "src/testing.rs:{}: the facade holds re-exports only: {line}",
            n + 1
        );
    }
}
