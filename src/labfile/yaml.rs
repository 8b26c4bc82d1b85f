//! YAML parsing that keeps the source position of every node, so that a problem found *after*
//! parsing (an unknown field of a Kubernetes manifest, an undefined check id) can still be
//! reported at `file:line:col`.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::fmt;

/// A YAML node and where it starts (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub line: u32,
    pub col: u32,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Located>),
    /// Keys keep their own position: "unknown field" points at the key, not the value.
    Map(Vec<(Located, Located)>),
}

/// One step of a path into a document: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => write!(f, ".{k}"),
            Seg::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Render a path the way kubectl explains fields: `spec.template.spec.containers[0].image`.
pub fn path_string(path: &[Seg]) -> String {
    let s: String = path.iter().map(|s| s.to_string()).collect();
    s.trim_start_matches('.').to_owned()
}

impl Located {
    /// The node at `path`, if present.
    pub fn get(&self, path: &[Seg]) -> Option<&Located> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        match (&self.node, first) {
            (Node::Map(entries), Seg::Key(k)) => entries
                .iter()
                .find(|(key, _)| matches!(&key.node, Node::String(s) if s == k))
                .and_then(|(_, v)| v.get(rest)),
            (Node::Seq(items), Seg::Index(i)) => items.get(*i).and_then(|v| v.get(rest)),
            _ => None,
        }
    }

    /// Position of the key that introduces `path` (falls back to the deepest node found).
    pub fn key_position(&self, path: &[Seg]) -> (u32, u32) {
        let mut node = self;
        let mut pos = (self.line, self.col);
        for seg in path {
            match (&node.node, seg) {
                (Node::Map(entries), Seg::Key(k)) => {
                    match entries
                        .iter()
                        .find(|(key, _)| matches!(&key.node, Node::String(s) if s == k))
                    {
                        Some((key, value)) => {
                            pos = (key.line, key.col);
                            node = value;
                        }
                        None => return pos,
                    }
                }
                (Node::Seq(items), Seg::Index(i)) => match items.get(*i) {
                    Some(item) => {
                        pos = (item.line, item.col);
                        node = item;
                    }
                    None => return pos,
                },
                _ => return pos,
            }
        }
        pos
    }

    /// The same document as plain JSON (map keys that are not strings are stringified).
    pub fn to_json(&self) -> Value {
        match &self.node {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::Seq(items) => Value::Array(items.iter().map(Located::to_json).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match &k.node {
                            Node::String(s) => s.clone(),
                            other => Located {
                                line: 0,
                                col: 0,
                                node: other.clone(),
                            }
                            .to_json()
                            .to_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }
}

/// Parse every document of a YAML stream, keeping positions. Empty documents are dropped.
pub fn parse_documents(text: &str) -> Result<Vec<Located>, serde_saphyr::Error> {
    let docs: Vec<Option<Located>> = serde_saphyr::from_multiple(text)?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter(|d| d.node != Node::Null)
        .collect())
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(d)?;
        Ok(Located {
            line: spanned.referenced.line() as u32,
            col: spanned.referenced.column() as u32,
            node: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(serde_json::Number::from_f64(v)
            .map(Node::Number)
            .unwrap_or(Node::String(v.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Located>()? {
            let value = map.next_value::<Located>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values_across_documents() {
        let text =
            "a: 1\n---\nkind: Pod\nspec:\n  containers:\n    - name: x\n      imagee: nginx\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        let pod = &docs[1];
        let path = [
            Seg::Key("spec".into()),
            Seg::Key("containers".into()),
            Seg::Index(0),
            Seg::Key("imagee".into()),
        ];
        assert_eq!(pod.key_position(&path), (7, 7));
        assert_eq!(path_string(&path), "spec.containers[0].imagee");
        assert_eq!(pod.to_json()["spec"]["containers"][0]["imagee"], "nginx");
    }
}
