//! `labctl class serve | invite | revoke | export`: the push side of a class. The roster names
//! the learners (they need no cluster); the class database (`ROSTER.db` unless `--db`) holds
//! their token hashes and results. Learners whose entry names a cluster or a snapshot are
//! graded by pulling instead ([`pull`]), on the same dashboard and in the same exports.

use crate::class::report::ClassReport;
use crate::class::serve::app::{Class, router};
use crate::class::serve::board::class_report;
use crate::class::serve::pull;
use crate::class::serve::secret::{new_secret, sha256};
use crate::class::serve::store::Store;
use crate::class::serve::tls;
use crate::class::wire::{JOIN_LEARNER, JOIN_PATH, JOIN_PIN, JOIN_TOKEN};
use crate::class::{csv, json, junit, roster};
use crate::cli::{ClassCommand, ClassDb, ClassServeArgs, ExportFormat};
use crate::error::{EXIT_OK, Error};
use crate::plan::resolve::Plan;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const INSTRUCTOR_KEY: &str = "instructor_key_sha256";
const SERVER_URL: &str = "server_url";
/// `real` when the last start had `--tls-cert` (join links then carry no pin).
const TLS_KIND: &str = "tls";

pub fn run(command: ClassCommand, labs_dir: &Path) -> Result<i32, Error> {
    match command {
        ClassCommand::Serve(args) => serve(args, labs_dir),
        ClassCommand::Invite {
            class,
            server,
            learners,
        } => invite(&class, server, &learners, labs_dir),
        ClassCommand::Revoke { class, learner } => revoke(&class, &learner, labs_dir),
        ClassCommand::Export {
            class,
            format,
            output,
        } => export(&class, format, output, labs_dir),
        other => Err(Error::Internal(format!(
            "not a class server command: {other:?}"
        ))),
    }
}

/// The class as the server sees it: the lab's plan, the learners, the database.
struct Opened {
    plan: Plan,
    learners: Vec<String>,
    store: Store,
    lab: crate::labfile::lab::Lab,
    /// The learners graded by pulling (those with a cluster or a snapshot).
    pulled: roster::Roster,
}

fn db_path(c: &ClassDb) -> PathBuf {
    c.db.clone().unwrap_or_else(|| {
        let mut p = c.roster.clone().into_os_string();
        p.push(".db");
        PathBuf::from(p)
    })
}

fn open(c: &ClassDb, labs_dir: &Path) -> Result<Opened, Error> {
    let parsed = roster::parse(&c.roster)
        .map_err(Error::InvalidRoster)?
        .pushed();
    let lab_name = match (c.lab.as_deref(), parsed.lab()) {
        (Some(l), _) | (None, Some(l)) => l.to_owned(),
        (None, None) => {
            return Err(Error::Usage(format!(
                "which lab? pass --lab or write `lab: NAME` in {}",
                c.roster.display()
            )));
        }
    };
    let lab = crate::labfile::load::load_named(&lab_name, labs_dir)?;
    let roster = roster::lint(parsed, &lab, c.lab.as_deref()).map_err(Error::InvalidRoster)?;
    let plan = Plan::new(&lab, roster.profile.as_deref(), &[])?;
    let store = Store::open(&db_path(c)).map_err(|e| Error::Server(e.to_string()))?;
    Ok(Opened {
        plan,
        pulled: pull::pulled_only(&roster),
        learners: roster.learners.into_iter().map(|l| l.name).collect(),
        store,
        lab,
    })
}

fn server_err(e: impl std::fmt::Display) -> Error {
    Error::Server(e.to_string())
}

fn say(text: &str) {
    let mut out = crate::output::Stdout;
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn serve(args: ClassServeArgs, labs_dir: &Path) -> Result<i32, Error> {
    if args.http && !args.listen.ip().is_loopback() {
        return Err(Error::Usage(format!(
            "plain HTTP only on a loopback address (e.g. --listen 127.0.0.1:{}): on {} learners' tokens would cross the network unencrypted; leave out --http to serve TLS",
            args.listen.port(),
            args.listen.ip()
        )));
    }
    let o = open(&args.class, labs_dir)?;
    let identity = match (&args.tls_cert, &args.tls_key, args.http) {
        (_, _, true) => None,
        (Some(c), Some(k), _) => Some(tls::from_files(c, k).map_err(server_err)?),
        _ => Some(tls::self_signed(&o.store).map_err(server_err)?),
    };
    let pin = identity.as_ref().and_then(|i| i.pin.clone());
    let kind: &[u8] = if args.tls_cert.is_some() {
        b"real"
    } else {
        b"self-signed"
    };
    o.store.set_meta(TLS_KIND, kind).map_err(server_err)?;
    let config = identity
        .map(tls::server_config)
        .transpose()
        .map_err(server_err)?;
    let listener = std::net::TcpListener::bind(args.listen)
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| Error::Server(format!("cannot listen on {}: {e}", args.listen)))?;
    let local = listener.local_addr().map_err(server_err)?;
    let scheme = if config.is_some() { "https" } else { "http" };
    let host = if local.ip().is_unspecified() {
        tls::hostname().unwrap_or_else(|| "localhost".into())
    } else {
        local.ip().to_string()
    };
    let url = format!("{scheme}://{}", fmt_host_port(&host, local.port()));
    o.store
        .set_meta(SERVER_URL, url.as_bytes())
        .map_err(server_err)?;
    let key = match o.store.meta(INSTRUCTOR_KEY).map_err(server_err)? {
        Some(hash) if !args.new_instructor_key => hash
            .try_into()
            .map(|h: [u8; 32]| (h, None))
            .map_err(|_| server_err("corrupt instructor key in the database"))?,
        _ => {
            let key = new_secret().map_err(server_err)?;
            let hash = sha256(key.as_bytes());
            o.store
                .set_meta(INSTRUCTOR_KEY, &hash)
                .map_err(server_err)?;
            (hash, Some(key))
        }
    };
    let mut text = format!(
        "labctl class serve: lab {} ({} learners), listening on {local}\n  server: {url}\n",
        o.plan.lab,
        o.learners.len()
    );
    if let Some(pin) = &pin {
        text.push_str(&format!("  certificate: self-signed, pin {pin}\n"));
    }
    match &key.1 {
        Some(k) => text.push_str(&format!(
            "  dashboard: {url}/login?key={k}\n    (the instructor key is shown only now; keep it: it opens the dashboard and exports)\n"
        )),
        None => text.push_str(&format!(
            "  dashboard: {url}/login?key=KEY (the key printed at the first start; --new-instructor-key makes another)\n"
        )),
    }
    let pulling = o.pulled.learners.len();
    if pulling > 0 && !args.pull_every.is_zero() {
        text.push_str(&format!(
            "  pulled: {pulling} learners with a cluster or snapshot, every {}s\n",
            args.pull_every.as_secs_f64()
        ));
    }
    text.push_str(&format!(
        "  invite learners: labctl class invite {}\n",
        args.class.roster.display()
    ));
    say(&text);
    let class = Arc::new(Class::new(o.plan, o.learners, o.store, key.0));
    if !args.pull_every.is_zero() && !o.pulled.learners.is_empty() {
        let to = class.clone();
        pull::start(o.lab, o.pulled, args.pull_every, move |rows| {
            to.set_pulled(rows)
        })
        .map_err(server_err)?;
    }
    let app = router(class).into_make_service();
    let runtime = crate::view::runtime::runtime()?;
    runtime.block_on(async move {
        let served = async {
            match config {
                Some(c) => {
                    let rustls = axum_server::tls_rustls::RustlsConfig::from_config(c);
                    axum_server::from_tcp_rustls(listener, rustls)?.serve(app).await
                }
                None => {
                    let l = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(l, app).await
                }
            }
        };
        tokio::select! {
            r = served => r.map(|_| EXIT_OK).map_err(|e| Error::Server(format!("server stopped: {e}"))),
            s = crate::signal::interrupted() => Ok(s.exit_code()),
        }
    })
}

fn fmt_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn invite(
    c: &ClassDb,
    server: Option<String>,
    named: &[String],
    labs_dir: &Path,
) -> Result<i32, Error> {
    let o = open(c, labs_dir)?;
    let server = match server {
        Some(s) => s,
        None => o
            .store
            .meta(SERVER_URL)
            .map_err(server_err)?
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                Error::Usage("where do learners reach the server? pass --server https://HOST:PORT (or start `labctl class serve` once)".into())
            })?,
    };
    let base = url::Url::parse(&server)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--server `{}` is not an https://HOST:PORT address",
                crate::render::text::plain_text(&server)
            ))
        })?;
    for n in named {
        if !o.learners.contains(n) {
            return Err(Error::Usage(format!(
                "no learner `{}` in {}",
                crate::render::text::plain_text(n),
                c.roster.display()
            )));
        }
    }
    let tokens = o.store.tokens().map_err(server_err)?;
    let who: Vec<&String> = if named.is_empty() {
        o.learners
            .iter()
            .filter(|l| !tokens.iter().any(|t| &t.learner == *l))
            .collect()
    } else {
        named.iter().collect()
    };
    // Self-signed (no real certificate given at the last start): pin the one in the database.
    let pin = match base.scheme() {
        "https" if o.store.meta(TLS_KIND).map_err(server_err)?.as_deref() != Some(b"real") => {
            tls::self_signed(&o.store).map_err(server_err)?.pin
        }
        _ => None,
    };
    let mut out = String::new();
    for learner in &who {
        let token = new_secret().map_err(server_err)?;
        o.store
            .set_token(learner, &sha256(token.as_bytes()))
            .map_err(server_err)?;
        let mut link = base.clone();
        link.set_path(JOIN_PATH);
        link.set_query(None);
        {
            let mut q = link.query_pairs_mut();
            q.append_pair(JOIN_LEARNER, learner)
                .append_pair(JOIN_TOKEN, &token);
            if let Some(p) = &pin {
                q.append_pair(JOIN_PIN, p);
            }
        }
        out.push_str(&format!("labctl class join '{link}'\n"));
    }
    say(&out);
    let skipped = o.learners.len() - who.len();
    if named.is_empty() && skipped > 0 {
        eprintln!(
            "{skipped} learners already have a token (only its hash is kept, so it cannot be shown again); name them to make new ones"
        );
    }
    Ok(EXIT_OK)
}

fn revoke(c: &ClassDb, learner: &str, labs_dir: &Path) -> Result<i32, Error> {
    let o = open(c, labs_dir)?;
    if !o.store.revoke(learner).map_err(server_err)? {
        return Err(Error::Usage(format!(
            "learner `{}` has no token to revoke",
            crate::render::text::plain_text(learner)
        )));
    }
    say(&format!(
        "revoked {}'s token: their results are refused until `labctl class invite {} {}`\n",
        crate::render::text::plain_text(learner),
        c.roster.display(),
        crate::render::text::plain_text(learner)
    ));
    Ok(EXIT_OK)
}

fn export(
    c: &ClassDb,
    format: ExportFormat,
    output: Option<PathBuf>,
    labs_dir: &Path,
) -> Result<i32, Error> {
    let o = open(c, labs_dir)?;
    let latest = o.store.latest().map_err(server_err)?;
    let mut report: ClassReport = class_report(
        &o.plan,
        &o.learners,
        &latest,
        crate::view::snapshot::now_rfc3339(),
    );
    if !o.pulled.learners.is_empty() {
        // Learners the server pulls are pulled for the export too.
        let runtime = crate::view::runtime::runtime()?;
        pull::merge(&mut report, &pull::once(&o.lab, &o.pulled, &runtime)?);
    }
    let text = match format {
        ExportFormat::Csv => csv::class_csv(&report),
        ExportFormat::Json => json::class_json(&report),
        ExportFormat::Junit => junit::class_junit(&report),
    };
    match output {
        Some(path) => crate::fsutil::write_atomic(&path, text.as_bytes())
            .map_err(|source| Error::Write { path, source })?,
        None => say(&text),
    }
    Ok(EXIT_OK)
}
