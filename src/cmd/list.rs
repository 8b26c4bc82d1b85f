//! `labctl list`: the labs under the labs folder, one line each.

use crate::bundle::LabSource;
use crate::error::{EXIT_OK, Error};
use crate::labfile::load;

pub fn run(source: &LabSource) -> Result<i32, Error> {
    let dirs = load::find_labs(std::slice::from_ref(&source.dir))
        .map_err(|d| Error::InvalidLab(vec![*d]))?;
    let mut rows = vec![[
        "LAB".to_owned(),
        "STEPS".to_owned(),
        "PROFILES".to_owned(),
        "DURATION".to_owned(),
        "REQUIRES".to_owned(),
        "TITLE".to_owned(),
    ]];
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        rows.push(match load::load(&dir) {
            Ok(lab) => [
                lab.name,
                lab.steps.len().to_string(),
                lab.profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                lab.duration.unwrap_or_else(|| "-".into()),
                lab.requires
                    .map(|r| format!("{}@{}", r.lab.name, r.through))
                    .unwrap_or_else(|| "-".into()),
                lab.title,
            ],
            Err(d) => [
                name,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("invalid: {} problem(s), run `labctl validate`", d.len()),
            ],
        });
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 5 {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(EXIT_OK)
}
