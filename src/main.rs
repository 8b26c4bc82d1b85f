//! `labctl` entry point: parse the command line, run the command, print any error once (with
//! its causes) and exit with the documented code (see `error.rs`).

use clap::Parser;
use labctl::cli::{Cli, ColorChoice, Command};
use labctl::error::{EXIT_ERROR, EXIT_USAGE, Error};
use labctl::labfile::diag::Style;
use labctl::render::terminal::Look;
use std::io::{IsTerminal, Write};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on usage errors; labctl keeps 2 for "could not grade".
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let color_out = colors(cli.color, std::io::stdout().is_terminal());
    let color_err = colors(cli.color, std::io::stderr().is_terminal());
    let width = console::Term::stdout()
        .size_checked()
        .map(|(_, w)| w as usize)
        .unwrap_or(80)
        .clamp(40, 100);
    let look = Look {
        color: color_out,
        width,
    };
    // Only the commands that read labs pick (and maybe unpack) the labs folder.
    let flag = cli.labs.clone();
    let labs = move || labctl::bundle::resolve(flag.clone()).map_err(Error::from);
    let result = match cli.command {
        Command::Validate { paths } => {
            labs().and_then(|l| labctl::cmd::validate::run(paths, l.dir, Style::colored(color_out)))
        }
        Command::List => labs().and_then(|l| labctl::cmd::list::run(&l)),
        Command::Show {
            lab: Some(lab),
            step,
            plan,
        } => labs().and_then(|l| labctl::cmd::show::run(&lab, step.as_deref(), &plan, &l, look)),
        Command::Show { lab: None, .. } => {
            labctl::cmd::learn::show_current(&Default::default(), look)
        }
        Command::Start {
            lab,
            plan,
            context,
            kubeconfig,
            force,
            move_progress,
            skip_prerequisite,
            join,
        } => {
            let how = labctl::cmd::learn::StartArgs {
                context,
                kubeconfig,
                force,
                move_progress,
                skip_prerequisite,
            };
            // Joined first: a link that does not work changes nothing.
            let joined = join.map_or(Ok(0), |link| labctl::cmd::join::run(&link));
            joined.and_then(|_| {
                labs().and_then(|l| labctl::cmd::learn::start(&lab, &plan, how, &l.dir, look))
            })
        }
        Command::Hint { learner } => labctl::cmd::learn::hint(&learner, look),
        Command::Status { learner } => labctl::cmd::learn::status(&learner, look),
        Command::Reset { step, learner } => labctl::cmd::learn::reset(step.as_deref(), &learner),
        Command::Check {
            wait,
            no_probes,
            kubeconfig,
            learner,
        } => labctl::cmd::check::check(wait, no_probes, kubeconfig, &learner, look),
        Command::Solve {
            step,
            yes,
            kubeconfig,
            learner,
        } => labctl::cmd::check::solve(step.as_deref(), yes, kubeconfig, &learner, look),
        Command::Ci(args) => labs().and_then(|l| labctl::cmd::ci::run(args, &l.dir, look)),
        Command::Grade(args) => {
            labs().and_then(|l| labctl::cmd::grade::run(args, &l.dir, color_out, width))
        }
        Command::Class {
            command: labctl::cli::ClassCommand::Report(args),
        } => labs().and_then(|l| labctl::cmd::class::report(args, &l.dir, look)),
        Command::Class {
            command: labctl::cli::ClassCommand::Join { link },
        } => labctl::cmd::join::run(&link),
        Command::Class { command } => {
            labs().and_then(|l| labctl::cmd::class_serve::run(command, &l.dir))
        }
        Command::Snapshot {
            lab,
            plan,
            cluster,
            output,
        } => labs().and_then(|l| {
            labctl::cmd::grade::snapshot(&lab, &plan, &cluster, output.as_deref(), &l.dir)
        }),
    };
    // Output that could not be written is an error (exit 2) unless the command failed anyway;
    // a closed pipe is not one (see `labctl::output`).
    let unwritten = labctl::output::finish();
    match (result, unwritten) {
        (Err(e), _) => {
            report(&e, Style::colored(color_err));
            std::process::exit(e.exit_code());
        }
        (Ok(_), Some(e)) => {
            let style = Style::colored(color_err);
            let _ = writeln!(
                std::io::stderr(),
                "{}: cannot write to standard output: {e}",
                style.error("error")
            );
            std::process::exit(EXIT_ERROR);
        }
        (Ok(code), None) => std::process::exit(code),
    }
}

fn colors(choice: ColorChoice, tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// Print an error once: diagnostics in full, then the error and its chain of causes.
/// How many located problems are printed at most.
const SHOWN_PROBLEMS: usize = 50;

/// Failures to write to standard error are ignored: there is nowhere left to say them.
fn report(e: &Error, style: Style) {
    let mut err = std::io::stderr().lock();
    if let Error::InvalidLab(diags) | Error::InvalidRoster(diags) = e {
        // A generated file can hold thousands of the same mistake: the first ones say it.
        for d in diags.iter().take(SHOWN_PROBLEMS) {
            let _ = writeln!(err, "{}", d.render(&style));
        }
        if diags.len() > SHOWN_PROBLEMS {
            let more = diags.len() - SHOWN_PROBLEMS;
            let _ = writeln!(err, "… and {more} more, not shown\n");
        }
    }
    let _ = writeln!(err, "{}: {e}", style.error("error"));
    // Libraries often repeat their cause in their own message ("auth error: unable to run auth
    // exec: No such file…", then "unable to run auth exec: No such file…"): a cause already
    // said is not said again.
    let mut said = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !said.contains(&text) {
            let _ = writeln!(err, "  caused by: {text}");
            said = text;
        }
        source = cause.source();
    }
}
