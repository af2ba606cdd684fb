//! Command-line options: `sutegi-load SUBCOMMAND --key value ...` (or
//! `--key=value`). Hand-rolled rather than clap: a dozen numeric options
//! do not justify the compile time, and unknown or repeated options are
//! still refused by name.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    net::{SocketAddr, ToSocketAddrs},
    str::FromStr,
};

pub struct Args {
    pub command: String,
    opts: BTreeMap<String, String>,
    used: RefCell<BTreeSet<String>>,
}

impl Args {
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let command = argv.next().ok_or("no subcommand")?;
        let mut opts = BTreeMap::new();
        while let Some(arg) = argv.next() {
            let Some(key) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (key, value) = match key.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (
                    key.to_owned(),
                    argv.next()
                        .ok_or_else(|| format!("--{key} needs a value"))?,
                ),
            };
            if opts.insert(key.clone(), value).is_some() {
                return Err(format!("--{key} given twice"));
            }
        }
        Ok(Args {
            command,
            opts,
            used: RefCell::default(),
        })
    }

    pub fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.used.borrow_mut().insert(name.to_owned());
        match self.opts.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("--{name}: cannot parse {v:?}")),
        }
    }

    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        Ok(self.opt(name)?.unwrap_or(default))
    }

    /// `--addr HOST:PORT` (an `http://` prefix and trailing `/` are accepted).
    pub fn addr(&self) -> Result<SocketAddr, String> {
        let raw: String = self.opt("addr")?.ok_or("--addr HOST:PORT is required")?;
        let trimmed = raw
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        trimmed
            .to_socket_addrs()
            .map_err(|e| format!("--addr {raw}: {e}"))?
            .next()
            .ok_or_else(|| format!("--addr {raw}: no address"))
    }

    /// Call after reading every option: refuses the ones nobody read.
    pub fn finish(&self) -> Result<(), String> {
        let used = self.used.borrow();
        let unknown: Vec<_> = self
            .opts
            .keys()
            .filter(|k| !used.contains(*k))
            .map(|k| format!("--{k}"))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unknown option(s) for {}: {}",
                self.command,
                unknown.join(", ")
            ))
        }
    }
}
