//! The symbol table a collector serves on `arb.v1.<collector>.symbols` (JSON: its symbol
//! ids with their names and per-venue native spellings) and the engine's registry built
//! from the tables of several collectors.
//!
//! Data batches carry the collector's `SymbolId`s and the table's epoch; an engine maps
//! them to its own ids by name ([`SymbolTable::id_map`]). The epoch is a hash of the
//! table's content, so a collector restarted with the same listings keeps its epoch and
//! an engine keeps its mapping.

use std::collections::BTreeMap;

use arb_engine::{Exchange, SymbolId, SymbolRegistry};
use serde::{Deserialize, Serialize};

/// One collector's symbol table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolTable {
    /// The collector's name.
    pub collector: String,
    /// Content hash; data batches name it.
    pub epoch: u32,
    /// The venues the collector runs feeds for (lower-case ids).
    pub venues: Vec<String>,
    /// Symbols by the collector's id.
    pub symbols: Vec<TableSymbol>,
}

/// One symbol of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSymbol {
    /// The collector's `SymbolId`.
    pub id: u32,
    /// `BASE/QUOTE`.
    pub name: String,
    /// Venue id → native spelling.
    pub listings: BTreeMap<String, String>,
}

/// A table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Not the JSON shape of a table.
    #[error("symbol table is not valid JSON of the expected shape: {0}")]
    Json(#[from] serde_json::Error),
    /// A name without `/`, an unknown venue or a conflicting listing.
    #[error("symbol table of {collector}: {what}")]
    Invalid {
        /// The table's collector.
        collector: String,
        /// What is wrong.
        what: String,
    },
}

impl SymbolTable {
    /// The table of `registry`, for a collector running feeds for `venues`.
    pub fn from_registry(collector: &str, venues: &[Exchange], registry: &SymbolRegistry) -> Self {
        let symbols = (0..registry.len())
            .map(|i| {
                let id = SymbolId(i as u32);
                TableSymbol {
                    id: id.0,
                    name: registry.name(id).to_owned(),
                    listings: registry
                        .venues(id)
                        .filter(|ex| venues.contains(ex))
                        .filter_map(|ex| {
                            registry
                                .native(id, ex)
                                .map(|n| (ex.as_str().to_owned(), n.to_owned()))
                        })
                        .collect(),
                }
            })
            .collect();
        let mut table = SymbolTable {
            collector: collector.to_owned(),
            epoch: 0,
            venues: venues.iter().map(|v| v.as_str().to_owned()).collect(),
            symbols,
        };
        table.epoch = table.content_hash();
        table
    }

    /// FNV-1a (32-bit) of the venues and symbols, the table's epoch.
    fn content_hash(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        let mut eat = |b: &[u8]| {
            for &c in b.iter().chain(std::iter::once(&0u8)) {
                h ^= u32::from(c);
                h = h.wrapping_mul(0x0100_0193);
            }
        };
        for v in &self.venues {
            eat(v.as_bytes());
        }
        for s in &self.symbols {
            eat(&s.id.to_le_bytes());
            eat(s.name.as_bytes());
            for (v, n) in &s.listings {
                eat(v.as_bytes());
                eat(n.as_bytes());
            }
        }
        h
    }

    /// The JSON a collector replies with.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and checks a reply.
    ///
    /// # Errors
    /// [`TableError`] for bad JSON, names, venues or a wrong epoch.
    pub fn parse(bytes: &[u8]) -> Result<Self, TableError> {
        let table: SymbolTable = serde_json::from_slice(bytes)?;
        let bad = |what: String| TableError::Invalid {
            collector: table.collector.clone(),
            what,
        };
        for v in &table.venues {
            v.parse::<Exchange>().map_err(|e| bad(e.to_string()))?;
        }
        for s in &table.symbols {
            if s.name.split_once('/').is_none() {
                return Err(bad(format!("symbol {:?} is not BASE/QUOTE", s.name)));
            }
            for v in s.listings.keys() {
                v.parse::<Exchange>().map_err(|e| bad(e.to_string()))?;
            }
        }
        if table.content_hash() != table.epoch {
            return Err(bad(format!(
                "epoch {} does not match its content ({})",
                table.epoch,
                table.content_hash()
            )));
        }
        Ok(table)
    }

    /// The venues as `Exchange`s (checked by [`SymbolTable::parse`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.venues.iter().filter_map(|v| v.parse().ok()).collect()
    }

    /// Maps the collector's ids to `registry`'s, by name: index = collector id; `None`
    /// for a symbol the engine does not watch.
    pub fn id_map(&self, registry: &SymbolRegistry) -> Vec<Option<SymbolId>> {
        let len = self
            .symbols
            .iter()
            .map(|s| s.id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut map = vec![None; len];
        for s in &self.symbols {
            map[s.id as usize] = registry.lookup_name(&s.name);
        }
        map
    }
}

/// The engine's registry: every symbol listed on at least `min_venues` venues across
/// `tables` (each venue counted once, from the first table that lists it). Returns the
/// registry and a one-line report.
///
/// # Errors
/// [`TableError::Invalid`] for listings the registry refuses (two names for one native
/// symbol).
pub fn union_registry(
    tables: &[SymbolTable],
    min_venues: usize,
) -> Result<(SymbolRegistry, String), TableError> {
    // name → venue → native, first table wins per venue.
    let mut by_name: BTreeMap<&str, BTreeMap<Exchange, &str>> = BTreeMap::new();
    let mut owner: [Option<&str>; Exchange::COUNT] = [None; Exchange::COUNT];
    for t in tables {
        for ex in t.exchanges() {
            owner[ex.index()].get_or_insert(t.collector.as_str());
        }
    }
    for t in tables {
        for s in &t.symbols {
            for (v, native) in &s.listings {
                let Ok(ex) = v.parse::<Exchange>() else {
                    continue;
                };
                if owner[ex.index()] != Some(t.collector.as_str()) {
                    continue;
                }
                by_name
                    .entry(s.name.as_str())
                    .or_default()
                    .insert(ex, native.as_str());
            }
        }
    }
    let mut registry = SymbolRegistry::new();
    let mut kept = 0usize;
    let total = by_name.len();
    for (name, listings) in &by_name {
        if listings.len() < min_venues.max(1) {
            continue;
        }
        let Some((base, quote)) = name.split_once('/') else {
            continue;
        };
        for (ex, native) in listings {
            registry
                .insert(*ex, native, base, quote)
                .map_err(|e| TableError::Invalid {
                    collector: owner[ex.index()].unwrap_or("?").to_owned(),
                    what: e.to_string(),
                })?;
        }
        kept += 1;
    }
    let report = format!(
        "{kept} of {total} symbols listed on at least {} venues across {} collectors",
        min_venues.max(1),
        tables.len()
    );
    Ok((registry, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(rows: &[(Exchange, &str, &str, &str)]) -> SymbolRegistry {
        let mut r = SymbolRegistry::new();
        for (ex, n, b, q) in rows {
            r.insert(*ex, n, b, q).unwrap();
        }
        r
    }

    #[test]
    fn tables_round_trip_and_map_by_name() {
        let a = registry(&[
            (Exchange::Binance, "BTCUSDT", "BTC", "USDT"),
            (Exchange::Binance, "ETHUSDT", "ETH", "USDT"),
            (Exchange::Okx, "ETH-USDT", "ETH", "USDT"),
        ]);
        let ta = SymbolTable::from_registry("tokyo", &[Exchange::Binance, Exchange::Okx], &a);
        let parsed = SymbolTable::parse(&ta.to_json()).unwrap();
        assert_eq!(parsed, ta);
        let b = registry(&[(Exchange::Bybit, "ETHUSDT", "ETH", "USDT")]);
        let tb = SymbolTable::from_registry("sg", &[Exchange::Bybit], &b);
        let (engine, report) = union_registry(&[ta.clone(), tb.clone()], 2).unwrap();
        assert!(report.starts_with("1 of 2 symbols"), "{report}");
        let eth = engine.lookup_name("ETH/USDT").unwrap();
        assert_eq!(engine.venues(eth).count(), 3);
        assert_eq!(engine.lookup_name("BTC/USDT"), None);
        let map = ta.id_map(&engine);
        assert_eq!(map, vec![None, Some(eth)]);
        assert_eq!(tb.id_map(&engine), vec![Some(eth)]);
    }

    #[test]
    fn a_tampered_table_is_refused() {
        let a = registry(&[(Exchange::Binance, "BTCUSDT", "BTC", "USDT")]);
        let mut t = SymbolTable::from_registry("tokyo", &[Exchange::Binance], &a);
        t.symbols[0].name = "BTC/USDC".into();
        assert!(SymbolTable::parse(&t.to_json()).is_err());
        assert!(SymbolTable::parse(b"{").is_err());
    }

    #[test]
    fn a_venue_belongs_to_the_first_collector_that_lists_it() {
        let a = registry(&[(Exchange::Binance, "BTCUSDT", "BTC", "USDT")]);
        let b = registry(&[(Exchange::Binance, "BTCUSDT", "BTC", "USDT")]);
        let ta = SymbolTable::from_registry("a", &[Exchange::Binance], &a);
        let tb = SymbolTable::from_registry("b", &[Exchange::Binance], &b);
        let (engine, _) = union_registry(&[ta, tb], 1).unwrap();
        assert_eq!(engine.len(), 1);
    }
}
