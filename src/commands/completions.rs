//! `entra-audit completions SHELL` and `entra-audit man`: shell completion scripts and manual
//! pages, generated from the clap definitions themselves (`clap_complete`, `clap_mangen`), so they
//! name exactly the commands and flags the binary accepts. It owns how the pages are named and
//! written; it must not describe a command in words of its own (that is `cli.rs`'s doc text).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::cli::Cli;
use crate::outputs::replace;

const BIN: &str = "entra-audit";

/// Prints the completion script for `shell` on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    print_all(&[&script], "the completion script")
}

/// Writes to stdout; a reader that stops early (`| head`) ends the output quietly, as a pipe
/// of text should, instead of an error.
fn print_all(parts: &[&[u8]], what: &str) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    for part in parts {
        match stdout.write_all(part).and_then(|()| stdout.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("cannot write {what} to stdout")),
        }
    }
    Ok(0)
}

/// One manual page: its file name and its roff text.
pub(crate) struct ManPage {
    pub file_name: String,
    pub roff: Vec<u8>,
}

/// Every page: `entra-audit.1`, then one per command and nested command
/// (`entra-audit-rules-explain.1`), depth first, in the order `--help` lists them.
pub(crate) fn man_pages() -> anyhow::Result<Vec<ManPage>> {
    let mut root = Cli::command();
    // Propagates the global flags (--log-format) into every command, as the parser sees them.
    root.build();
    let mut pages = Vec::new();
    add_pages(&root, BIN, &mut pages)?;
    Ok(pages)
}

fn add_pages(command: &clap::Command, name: &str, pages: &mut Vec<ManPage>) -> anyhow::Result<()> {
    // A page is titled by its full name (ENTRA-AUDIT-CHECK(1)) and carries the version.
    let page = command
        .clone()
        .name(name.to_owned())
        .version(crate::VERSION)
        .bin_name(name.replacen('-', " ", usize::from(name != BIN)));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .with_context(|| format!("cannot render the manual page of {name}"))?;
    pages.push(ManPage {
        file_name: format!("{name}.1"),
        roff,
    });
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        add_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

/// Prints every page on stdout, or writes each into `out` (replaced whole, one by one).
pub(crate) fn man(out: Option<&Path>) -> anyhow::Result<u8> {
    let pages = man_pages()?;
    let Some(dir) = out else {
        let parts: Vec<&[u8]> = pages.iter().map(|p| p.roff.as_slice()).collect();
        return print_all(&parts, "the manual pages");
    };
    anyhow::ensure!(
        dir.is_dir(),
        "--out {}: not a folder (create it first)",
        dir.display()
    );
    let mut written: Vec<PathBuf> = Vec::new();
    for page in &pages {
        let path = dir.join(&page.file_name);
        replace::write_file(&path, &page.roff)?;
        written.push(path);
    }
    eprintln!(
        "man: wrote {} page(s) into {} (read one with: man -l {})",
        written.len(),
        dir.display(),
        written[0].display()
    );
    Ok(0)
}
