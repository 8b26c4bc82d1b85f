//! The class server faces the internet: each refusal the issue asks for, against the real
//! process over real HTTPS, with the answer it gives.

use crate::class_server::{ClassDir, Client, class_with, stored_ids, submission};
use crate::cli::command;
use serde_json::json;

/// Learner names and messages carrying markup, for the escaping test.
const EVIL_NAME: &str = "<img src=x onerror=alert(1)>";
const EVIL_MESSAGE: &str = "</td><script>alert('pwned')</script>";

#[test]
fn every_refusal_is_stated() {
    let (class, server, client, tokens) = class_with(&["alice", "bob", EVIL_NAME]);
    let token = |name: &str| tokens.iter().find(|(l, _)| l == name).unwrap().1.clone();
    let (alice, bob) = (token("alice"), token("bob"));
    let ok = submission("security-test-00001", "ok");

    // No token, a wrong token: 401.
    let (code, body) = client
        .try_request("POST", "/api/v1/results", Some(b"{}".to_vec()), &[])
        .unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.starts_with(r#"{"error":"#));
    assert_eq!(client.submit(&format!("{alice}x"), &ok).0, 401);
    assert_eq!(client.submit("0".repeat(64).as_str(), &ok).0, 401);

    // A token writes only its own learner's results: a body naming another learner is still
    // alice's (the body has no say in whose result it is).
    let mut as_bob = ok.clone();
    as_bob["learner"] = json!("bob");
    assert_eq!(client.submit(&alice, &as_bob).0, 200);
    assert_eq!(
        stored_ids(&class.db()),
        vec![("alice".to_owned(), "security-test-00001".to_owned())]
    );

    // Oversized: 413 before anything is read.
    let mut big = submission("security-test-00002", "x");
    big["checks"][1]["message"] = json!("x".repeat(70 * 1024));
    // The server answers before reading the body and closes: the client may see its write
    // fail instead of the answer, so it asks again until it reads the answer.
    let auth = format!("Bearer {bob}");
    let (code, body) = (0..20)
        .find_map(|_| {
            let big = serde_json::to_vec(&big).unwrap();
            client
                .try_request(
                    "POST",
                    "/api/v1/results",
                    Some(big),
                    &[("authorization", &auth)],
                )
                .ok()
        })
        .expect("no answer to the oversized body");
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("at most 65536 bytes"), "{body}");

    // Malformed JSON: 400.
    let (code, _) = client
        .try_request(
            "POST",
            "/api/v1/results",
            Some(b"{not json".to_vec()),
            &[("authorization", &auth)],
        )
        .unwrap();
    assert_eq!(code, 400);

    // Unknown lab, step, check and diagnosis ids, a bad id, a message over 2 KiB: 422.
    let cases = [
        ("/lab", json!("other-lab")),
        ("/step", json!("no-such-step")),
        ("/checks/0/id", json!("no-such-check")),
        ("/checks/1/diagnosis", json!("no-such-diagnosis")),
        ("/id", json!("short")),
        ("/checks/1/message", json!("m".repeat(3000))),
    ];
    for (i, (pointer, value)) in cases.into_iter().enumerate() {
        let mut s = submission(&format!("security-test-1{i:04}"), "x");
        *s.pointer_mut(pointer).unwrap() = value;
        let (code, body) = client.submit(&bob, &s);
        assert_eq!(code, 422, "{pointer}: {body}");
    }

    // Revoked while the server runs: 403; invited again: a new token works, the old does not.
    let out = command()
        .args(["class", "revoke", class.roster.to_str().unwrap(), "bob"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, body) = client.submit(&bob, &submission("security-test-00003", "x"));
    assert_eq!(
        (code, body.as_str()),
        (403, r#"{"error":"this token was revoked"}"#)
    );
    let (again, _) = class.invite(&format!("https://127.0.0.1:{}", server.port), &["bob"]);
    assert_eq!(
        client
            .submit(&again[0].1, &submission("security-test-00004", "x"))
            .0,
        200
    );
    assert_eq!(
        client
            .submit(&bob, &submission("security-test-00005", "x"))
            .0,
        401
    );

    // Rate limited per token: a burst of 20, then 429; other learners are not held up.
    let evil = token(EVIL_NAME);
    let codes: Vec<u16> = (0..40)
        .map(|i| {
            client
                .submit(&alice, &submission(&format!("security-burst-{i:05}"), "x"))
                .0
        })
        .collect();
    assert!(codes.contains(&429), "{codes:?}");
    let mut s = submission("security-test-00006", EVIL_MESSAGE);
    s["checks"][1]["message"] = json!(EVIL_MESSAGE);
    assert_eq!(client.submit(&evil, &s).0, 200);

    // The dashboard and exports need the instructor key.
    let key = server.key.clone().unwrap();
    assert_eq!(client.get("/", None).0, 401);
    assert_eq!(client.get("/", Some("wrong")).0, 401);
    assert_eq!(client.get("/export.csv", None).0, 401);
    assert_eq!(client.get("/events", Some(&alice)).0, 401);
    let (code, page) = client.get("/", Some(&key));
    assert_eq!(code, 200);
    // Markup from the roster and from learners is text on the page.
    assert!(
        !page.contains(EVIL_MESSAGE) && !page.contains("<script>alert"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains(EVIL_NAME));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    // `/login` sets the key as an HttpOnly cookie.
    let (code, _) = client.get(&format!("/login?key={key}"), None);
    assert_eq!(code, 303);
}

#[test]
fn a_wrong_pin_is_refused_by_the_learner() {
    let (_class, server, _client, tokens) = class_with(&["alice"]);
    let wrong = Client::new(server.port, Some(format!("sha256:{}", "0".repeat(64))));
    let r = wrong.try_request("GET", "/api/v1/whoami", None, &[]);
    assert!(
        r.is_err(),
        "a certificate that is not the pinned one was accepted: {r:?}"
    );
    let _ = tokens;
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let class = ClassDir::new(&["alice"]);
    let out = command()
        .args(["class", "serve", class.roster.to_str().unwrap()])
        .args(["--listen", "0.0.0.0:0", "--http"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("plain HTTP only on a loopback address"),
        "{stderr}"
    );
}
