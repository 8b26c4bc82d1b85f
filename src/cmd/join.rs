//! `labctl class join LINK` (and `labctl start … --join LINK`): check the link, prove the token
//! and the certificate with the server's `whoami`, and keep the link for `check` and `solve`.

use crate::error::{EXIT_OK, Error};
use crate::learner::push::client::Client;
use crate::learner::push::join::{self, Joined};
use crate::learner::state::Store;
use crate::render::text::plain_text;
use std::time::Duration;

/// How long joining waits for the server (a person is watching; no learning is held up).
const WHOAMI_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(link: &str) -> Result<i32, Error> {
    let link = join::parse(link).map_err(|e| Error::Usage(e.to_string()))?;
    let mut joined = Joined {
        server: link.server,
        learner: link.learner,
        lab: String::new(),
        token: link.token,
        pin: link.pin,
    };
    let client = Client::new(&joined).map_err(|e| Error::Join(e.to_string()))?;
    let who = crate::view::runtime::runtime()?
        .block_on(async { tokio::time::timeout(WHOAMI_TIMEOUT, client.whoami()).await })
        .map_err(|_| {
            Error::Join(format!(
                "{} did not answer within {}s",
                joined.server,
                WHOAMI_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| Error::Join(format!("{}: {e}", joined.server)))?;
    if who.learner != joined.learner {
        return Err(Error::Join(format!(
            "the link is for `{}` but the server knows this token as `{}`: ask for your own link",
            plain_text(&joined.learner),
            plain_text(&who.learner)
        )));
    }
    joined.lab = who.lab;
    let store = Store::open();
    let path = joined.save(&store.dir).map_err(|source| Error::Write {
        path: join::push_dir(&store.dir).join("join.json"),
        source,
    })?;
    println!(
        "Joined the class at {} as {} (lab {}). From now on `labctl check` and `labctl solve` \
         send each step's result there.\nKept in {} (readable only by you).",
        joined.server,
        plain_text(&joined.learner),
        plain_text(&joined.lab),
        path.display()
    );
    Ok(EXIT_OK)
}
