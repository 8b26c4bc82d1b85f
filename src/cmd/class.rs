//! `labctl class report`: read and lint the roster, grade the class (once, or every `--watch`
//! interval), print the matrix and write the files asked for.

use crate::class::report::{ClassReport, ClassRun};
use crate::class::run::{ClassOptions, grade_class};
use crate::class::{csv, html, json, junit, roster, terminal};
use crate::cli::ClassReportArgs;
use crate::error::{EXIT_OK, Error};
use crate::render::terminal::{Look, terminal_width};
use crate::report::set::{FileReporter, Render, ReporterSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub fn report(args: ClassReportArgs, labs_dir: &Path, look: Look) -> Result<i32, Error> {
    let parsed = roster::parse(&args.roster).map_err(Error::InvalidRoster)?;
    let lab_name = match (args.lab.as_deref(), parsed.lab()) {
        (Some(l), _) | (None, Some(l)) => l.to_owned(),
        (None, None) => {
            return Err(Error::Usage(format!(
                "which lab? pass --lab or write `lab: NAME` in {}",
                args.roster.display()
            )));
        }
    };
    let lab = crate::labfile::load::load_named(&lab_name, labs_dir)?;
    let roster = roster::lint(parsed, &lab, args.lab.as_deref()).map_err(Error::InvalidRoster)?;
    let opts = ClassOptions {
        profile: args.profile.clone(),
        concurrency: args.concurrency as usize,
        timeout: args.timeout,
        cluster_wide_lists: !args.per_namespace_lists,
        progress: std::io::stderr().is_terminal(),
    };
    // The matrix uses the whole terminal: reasons are cut at its right edge (the width prose
    // is wrapped at elsewhere stops at 100 columns).
    let look = Look {
        width: terminal_width().map_or(look.width, |w| w.max(40)),
        ..look
    };
    let runtime = crate::view::runtime::runtime()?;
    let in_place = args.watch.is_some() && std::io::stdout().is_terminal();
    let mut round = 0u32;
    loop {
        round += 1;
        let (report, stats) = grade_class(&lab, &roster, &opts, &runtime)?;
        let renders: [(&Option<PathBuf>, Render<ClassReport>); 4] = [
            (&args.html, |r, w| {
                w.write_all(html::class_html(r).as_bytes())
            }),
            (&args.csv, |r, w| w.write_all(csv::class_csv(r).as_bytes())),
            (&args.json, json::write_class_json),
            (&args.junit, |r, w| {
                w.write_all(junit::class_junit(r).as_bytes())
            }),
        ];
        let mut files: Vec<FileReporter<ClassRun>> = renders
            .into_iter()
            .filter_map(|(path, render)| Some(FileReporter::new(path.clone()?, render)))
            .collect();
        let mut reporters = ReporterSet::new();
        for file in &mut files {
            reporters.add(file);
        }
        reporters.write_event(&&report);
        // Each error names the file that failed; the others are written.
        reporters.finish()?;
        let text = terminal::class_terminal(&report, look);
        let mut out = crate::output::Stdout;
        if in_place {
            // Clear and redraw: the matrix stays put while the room works.
            let _ = console::Term::stdout().clear_screen();
        } else if round > 1 {
            let _ = writeln!(out, "\n──── round {round} ────");
        }
        let _ = write!(out, "{text}");
        if let Some(every) = args.watch {
            let _ = writeln!(out, "\nevery {every:?}; Ctrl-C to stop");
        }
        let _ = out.flush();
        if args.stats {
            eprintln!(
                "stats: {} learners, {} connections, {} LIST requests ({} kinds listed across all namespaces), {} snapshot files ({} distinct grades), fetch {} ms, grade {} ms, total {} ms",
                report.learners.len(),
                stats.connections,
                stats.lists,
                stats.widened,
                stats.snapshot_files,
                stats.distinct_grades,
                stats.fetch.as_millis(),
                stats.grade.as_millis(),
                report.duration.as_millis()
            );
        }
        match args.watch {
            // Nobody reads the redraws any more (a closed pipe): stop.
            Some(_) if crate::output::closed() => return Ok(EXIT_OK),
            Some(every) if args.rounds.is_none_or(|n| round < n) => std::thread::sleep(every),
            _ => return Ok(EXIT_OK),
        }
    }
}
