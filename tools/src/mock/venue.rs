//! Each venue's WebSocket session rules on the server side (`feeds/PROTOCOLS.md` §1–§8):
//! parsing the client's subscribe / unsubscribe / ping requests, the ack, error and pong
//! replies in the venue's shapes, server heartbeats (Binance WS pings, BingX gzipped JSON
//! pings), client-silence timeouts and the Binance / Bitget incoming message rate limits.

use std::collections::{BTreeSet, VecDeque};
use std::io::Write as _;
use std::time::Duration;

use arb_engine::Exchange;
use serde_json::{Value, json};

use super::feed::{BOOK, ConnSlot, LEVEL1, TRADE};
use super::{Shared, VenueStats};

/// A frame the session wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A text frame.
    Text(String),
    /// A binary frame (BingX: gzipped JSON).
    Binary(Vec<u8>),
    /// A WebSocket ping frame with this payload.
    Ping(Vec<u8>),
}

/// Why a session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Close {
    /// WebSocket close code.
    pub(crate) code: u16,
    /// Close reason text.
    pub(crate) reason: String,
}

/// Gzips `data` (BingX server frames).
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Formats Unix ms as BingX's ping time, `2022-06-07T16:27:36.323+0800` (UTC+8).
fn bingx_time(unix_ms: i64) -> String {
    let t = unix_ms + 8 * 3_600_000;
    let (days, ms) = (t.div_euclid(86_400_000), t.rem_euclid(86_400_000));
    let (y, m, d) = arb_engine::clock::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}+0800",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Returns the JSON text of `v` (never fails for values built here).
fn text(v: &Value) -> String {
    v.to_string()
}

/// Per-connection protocol state.
#[derive(Debug)]
pub(crate) struct Session {
    ex: Exchange,
    conn_id: String,
    /// Close when the client says nothing for this long.
    client_timeout: Option<Duration>,
    /// Server heartbeat period.
    server_ping_every: Option<Duration>,
    /// Binance: close when a ping stays unanswered this long.
    pong_timeout: Option<Duration>,
    /// MEXC: close when nothing is subscribed this long after opening.
    unsubscribed_timeout: Option<Duration>,
    opened: Duration,
    last_heard: Duration,
    next_ping: Option<Duration>,
    unanswered_since: Option<Duration>,
    /// Arrival times of the last second's client messages (rate limit).
    window: VecDeque<Duration>,
    /// Incoming messages per second allowed, when enforced.
    rate_limit: Option<usize>,
    /// Topics subscribed, by name (Binance `LIST_SUBSCRIPTIONS`, MEXC's 30 cap).
    topics: BTreeSet<String>,
    ping_seq: u64,
}

impl Session {
    /// A new session of `ex` opened at `now` (time since the server started).
    pub(crate) fn new(ex: Exchange, shared: &Shared, now: Duration) -> Session {
        let s = |secs: f64| Duration::from_secs_f64(secs * shared.hb_scale);
        let (client_timeout, server_ping_every, pong_timeout) = match ex {
            Exchange::Binance => (None, Some(s(20.0)), Some(s(60.0))),
            Exchange::Bybit => (Some(s(600.0)), None, None),
            Exchange::Mexc => (Some(s(60.0)), None, None),
            // Undocumented (UNCONFIRMED in PROTOCOLS.md §4): a minute.
            Exchange::Gateio => (Some(s(60.0)), None, None),
            // pingInterval + pingTimeout as handed out by bullet-public.
            Exchange::Kucoin => (Some(s(28.0)), None, None),
            Exchange::Okx => (Some(s(30.0)), None, None),
            Exchange::Bitget => (Some(s(120.0)), None, None),
            Exchange::Bingx => (None, Some(s(5.0)), None),
        };
        let rate_limit = match ex {
            Exchange::Binance if shared.rate_limit_close => Some(5),
            Exchange::Bitget if shared.rate_limit_close => Some(10),
            _ => None,
        };
        Session {
            ex,
            conn_id: format!("{:016x}", shared.random()),
            client_timeout,
            server_ping_every,
            pong_timeout,
            unsubscribed_timeout: (ex == Exchange::Mexc).then(|| s(30.0)),
            opened: now,
            last_heard: now,
            next_ping: server_ping_every.map(|d| now + d),
            unanswered_since: None,
            window: VecDeque::new(),
            rate_limit,
            topics: BTreeSet::new(),
            ping_seq: 0,
        }
    }

    /// Frames sent as soon as the connection opens (KuCoin's welcome).
    pub(crate) fn on_open(&self, connect_id: Option<&str>) -> Vec<Reply> {
        match self.ex {
            Exchange::Kucoin => {
                let id = connect_id.unwrap_or(&self.conn_id);
                vec![Reply::Text(text(&json!({"id": id, "type": "welcome"})))]
            }
            _ => Vec::new(),
        }
    }

    /// Timers: server pings that are due, or the reason to close.
    pub(crate) fn tick(&mut self, now: Duration, stats: &VenueStats) -> Result<Vec<Reply>, Close> {
        if let Some(t) = self.client_timeout
            && now.saturating_sub(self.last_heard) > t
        {
            return Err(Close {
                code: 1000,
                reason: "no ping from the client".into(),
            });
        }
        if let Some(t) = self.unsubscribed_timeout
            && self.topics.is_empty()
            && now.saturating_sub(self.opened) > t
        {
            return Err(Close {
                code: 1000,
                reason: "no valid subscription".into(),
            });
        }
        if let (Some(t), Some(since)) = (self.pong_timeout, self.unanswered_since)
            && now.saturating_sub(since) > t
        {
            return Err(Close {
                code: 1000,
                reason: "no pong from the client".into(),
            });
        }
        let mut out = Vec::new();
        if let (Some(every), Some(due)) = (self.server_ping_every, self.next_ping)
            && now >= due
        {
            self.next_ping = Some(now + every);
            self.ping_seq += 1;
            VenueStats::bump(&stats.pings_sent);
            let wall_ms = arb_engine::clock::wall_ns() / 1_000_000;
            match self.ex {
                Exchange::Bingx => {
                    let id = format!("{}{:08x}", self.conn_id, self.ping_seq);
                    let ping = json!({"ping": id, "time": bingx_time(wall_ms)});
                    out.push(Reply::Binary(gzip(text(&ping).as_bytes())));
                }
                _ => {
                    self.unanswered_since.get_or_insert(now);
                    out.push(Reply::Ping(wall_ms.to_string().into_bytes()));
                }
            }
        }
        Ok(out)
    }

    /// Any frame from the client: liveness and the incoming rate limit.
    pub(crate) fn heard(&mut self, now: Duration, stats: &VenueStats) -> Result<(), Close> {
        self.last_heard = now;
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        self.window.push_back(now);
        while self
            .window
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= Duration::from_secs(1))
        {
            self.window.pop_front();
        }
        if self.window.len() > limit {
            VenueStats::bump(&stats.rate_limit_closes);
            return Err(Close {
                code: 1008,
                reason: format!("more than {limit} messages per second"),
            });
        }
        Ok(())
    }

    /// A WebSocket pong from the client.
    pub(crate) fn on_pong(&mut self, stats: &VenueStats) {
        VenueStats::bump(&stats.pongs_received);
        self.unanswered_since = None;
    }

    /// A text (or BingX binary) frame from the client; returns the replies.
    pub(crate) fn on_text(&mut self, msg: &str, shared: &Shared, slot: &ConnSlot) -> Vec<Reply> {
        let stats = shared.stats(self.ex);
        let trimmed = msg.trim();
        // Bare-text heartbeats.
        match (self.ex, trimmed) {
            (Exchange::Okx | Exchange::Bitget, "ping") => return vec![Reply::Text("pong".into())],
            (Exchange::Bingx, "Ping") => return vec![Reply::Binary(gzip(b"Pong"))],
            _ => {}
        }
        let Ok(v) = serde_json::from_str::<Value>(trimmed) else {
            return self.bad_json(trimmed);
        };
        let mut cx = Cx {
            shared,
            slot,
            stats,
            ex: self.ex,
        };
        match self.ex {
            Exchange::Binance => self.binance(&v, &mut cx),
            Exchange::Bybit => self.bybit(&v, &mut cx),
            Exchange::Mexc => self.mexc(&v, &mut cx),
            Exchange::Gateio => self.gateio(&v, &mut cx),
            Exchange::Kucoin => self.kucoin(&v, &mut cx),
            Exchange::Okx => self.okx(&v, &mut cx),
            Exchange::Bitget => self.bitget(&v, &mut cx),
            Exchange::Bingx => self.bingx(&v, &mut cx),
        }
    }

    /// The venue's answer to text that is not JSON.
    fn bad_json(&self, msg: &str) -> Vec<Reply> {
        let reply = match self.ex {
            Exchange::Binance => {
                json!({
                    "code": 3,
                    "msg": "Invalid JSON: expected value at line 1 column 1",
                    "id": null,
                })
            }
            Exchange::Bybit => {
                json!({
                    "success": false,
                    "ret_msg": format!("error:invalid request {msg}"),
                    "conn_id": self.conn_id,
                    "op": "",
                })
            }
            Exchange::Mexc => {
                json!({
                    "id": 0,
                    "code": 0,
                    "msg": "Not Subscribed successfully! [].  Reason： Invalid JSON! ",
                })
            }
            Exchange::Gateio => {
                json!({
                    "time": now_s(),
                    "channel": "",
                    "event": "",
                    "error": {"code": 1, "message": "invalid argument"},
                    "result": null,
                })
            }
            Exchange::Kucoin => {
                json!({"id": "", "type": "error", "code": 400, "data": "invalid json"})
            }
            Exchange::Okx => {
                json!({
                    "event": "error",
                    "code": "60012",
                    "msg": format!("Invalid request: {msg}"),
                    "connId": self.conn_id,
                })
            }
            Exchange::Bitget => json!({"event": "error", "code": 30012, "msg": "param error"}),
            Exchange::Bingx => {
                return vec![Reply::Binary(gzip(
                    text(&json!({"id": "", "code": 100400, "msg": "invalid json"})).as_bytes(),
                ))];
            }
        };
        vec![Reply::Text(text(&reply))]
    }

    fn binance(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        let method = v.get("method").and_then(Value::as_str).unwrap_or("");
        let streams: Vec<String> = str_list(v.get("params"));
        let reply = match method {
            "SUBSCRIBE" | "UNSUBSCRIBE" => {
                let on = method == "SUBSCRIBE";
                if on {
                    VenueStats::bump(&cx.stats.subscribe_requests);
                }
                if let Some(bad) = streams.iter().find(|s| cx.shared.faults.rejects(s)) {
                    cx.rejected(streams.len());
                    json!({
                        "code": 2,
                        "msg": format!("Invalid request: stream {bad} is not available"),
                        "id": id,
                    })
                } else {
                    for s in &streams {
                        let (sym, ch) = s.split_once('@').unwrap_or((s, ""));
                        let bits = match ch {
                            "bookTicker" => BOOK,
                            "trade" => TRADE,
                            _ => 0,
                        };
                        cx.apply(&sym.to_ascii_uppercase(), bits, on);
                        self.track(s, on);
                    }
                    json!({"result": null, "id": id})
                }
            }
            "LIST_SUBSCRIPTIONS" => json!({"result": self.topics, "id": id}),
            "SET_PROPERTY" => json!({"result": null, "id": id}),
            "GET_PROPERTY" => json!({"result": true, "id": id}),
            _ => {
                json!({
                    "code": 2,
                    "msg": format!("Invalid request: unknown variant {method}"),
                    "id": id,
                })
            }
        };
        vec![Reply::Text(text(&reply))]
    }

    fn bybit(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        let mut reply = json!({"success": true, "ret_msg": "", "conn_id": self.conn_id});
        if let Some(r) = v.get("req_id") {
            reply["req_id"] = r.clone();
        }
        reply["op"] = json!(op);
        match op {
            "ping" => reply["ret_msg"] = json!("pong"),
            "subscribe" | "unsubscribe" => {
                let on = op == "subscribe";
                let args = str_list(v.get("args"));
                if on {
                    VenueStats::bump(&cx.stats.subscribe_requests);
                }
                let parsed: Vec<Option<(&str, u8)>> = args.iter().map(|a| bybit_topic(a)).collect();
                if args.len() > 10 {
                    cx.rejected(args.len());
                    reply["success"] = json!(false);
                    reply["ret_msg"] = json!(format!("args size >10, size={}", args.len()));
                } else if let Some(bad) = args
                    .iter()
                    .zip(&parsed)
                    .find(|(a, p)| p.is_none() || cx.shared.faults.rejects(a))
                {
                    cx.rejected(args.len());
                    reply["success"] = json!(false);
                    reply["ret_msg"] = json!(format!("error:handler not found,topic:{}", bad.0));
                } else {
                    for (native, bits) in parsed.into_iter().flatten() {
                        cx.apply(native, bits, on);
                    }
                    reply["ret_msg"] = json!(op);
                }
            }
            _ => {
                reply["success"] = json!(false);
                reply["ret_msg"] = json!(format!("error:unknown op {op}"));
            }
        }
        vec![Reply::Text(text(&reply))]
    }

    fn mexc(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let method = v.get("method").and_then(Value::as_str).unwrap_or("");
        let params = str_list(v.get("params"));
        match method {
            "PING" => vec![Reply::Text(text(
                &json!({"id": 0, "code": 0, "msg": "PONG"}),
            ))],
            "SUBSCRIPTION" | "UNSUBSCRIPTION" => {
                let on = method == "SUBSCRIPTION";
                if on {
                    VenueStats::bump(&cx.stats.subscribe_requests);
                }
                let (mut ok, mut bad) = (Vec::new(), Vec::new());
                for p in &params {
                    match mexc_channel(p) {
                        Some((native, bits)) if !cx.shared.faults.rejects(p) => {
                            // Past 30 the subscription is acked but dead (§3).
                            if !on || self.topics.contains(p.as_str()) || self.topics.len() < 30 {
                                cx.apply(native, bits, on);
                                self.track(p, on);
                            }
                            ok.push(p.as_str());
                        }
                        _ => bad.push(p.as_str()),
                    }
                }
                let mut out = Vec::new();
                if !bad.is_empty() {
                    cx.rejected(bad.len());
                    let msg = format!(
                        "Not Subscribed successfully! [{}].  Reason： Blocked! ",
                        bad.join(",")
                    );
                    out.push(Reply::Text(text(&json!({"id": 0, "code": 0, "msg": msg}))));
                }
                if !ok.is_empty() {
                    out.push(Reply::Text(text(
                        &json!({"id": 0, "code": 0, "msg": ok.join(",")}),
                    )));
                }
                out
            }
            _ => vec![Reply::Text(text(
                &json!({"id": 0, "code": 1, "msg": format!("unknown method {method}")}),
            ))],
        }
    }

    fn gateio(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let channel = v.get("channel").and_then(Value::as_str).unwrap_or("");
        let event = v.get("event").and_then(Value::as_str).unwrap_or("");
        let (s, ms) = (now_s(), now_ms());
        let mut reply = json!({"time": s, "time_ms": ms});
        if let Some(id) = v.get("id") {
            reply["id"] = id.clone();
        }
        reply["conn_id"] = json!(self.conn_id);
        reply["channel"] = json!(channel);
        if channel == "spot.ping" {
            reply["channel"] = json!("spot.pong");
            reply["event"] = json!("");
            reply["result"] = Value::Null;
            return vec![Reply::Text(text(&reply))];
        }
        reply["event"] = json!(event);
        let payload = str_list(v.get("payload"));
        let bits = match channel {
            "spot.book_ticker" => Some(BOOK),
            "spot.trades" => Some(TRADE),
            "spot.tickers" => Some(0),
            _ => None,
        };
        let on = event == "subscribe";
        if on {
            VenueStats::bump(&cx.stats.subscribe_requests);
        }
        let bad = payload.iter().find(|p| cx.shared.faults.rejects(p));
        match (bits, event, bad) {
            (Some(bits), "subscribe" | "unsubscribe", None) => {
                for p in &payload {
                    cx.apply(p, bits, on);
                }
                reply["payload"] = json!(payload);
                reply["result"] = json!({"status": "success"});
            }
            (_, _, bad) => {
                cx.rejected(payload.len().max(1));
                let message = match (bits, bad) {
                    (None, _) => format!("unknown channel {channel}"),
                    (_, Some(p)) => format!("unknown currency pair {p}"),
                    _ => format!("unknown event {event}"),
                };
                reply["error"] = json!({"code": 2, "message": message});
                reply["result"] = Value::Null;
            }
        }
        vec![Reply::Text(text(&reply))]
    }

    fn kucoin(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        let typ = v.get("type").and_then(Value::as_str).unwrap_or("");
        let topic = v.get("topic").and_then(Value::as_str).unwrap_or("");
        let reply = match typ {
            "ping" => json!({"id": id, "type": "pong"}),
            "subscribe" | "unsubscribe" => {
                let on = typ == "subscribe";
                if on {
                    VenueStats::bump(&cx.stats.subscribe_requests);
                }
                let (prefix, list) = topic.split_once(':').unwrap_or((topic, ""));
                let symbols: Vec<&str> = list.split(',').filter(|s| !s.is_empty()).collect();
                let bits = match prefix {
                    "/spotMarket/level1" => Some(LEVEL1),
                    "/market/ticker" => Some(BOOK),
                    "/market/match" => Some(TRADE),
                    _ => None,
                };
                match bits {
                    Some(_) if symbols.len() > 100 => {
                        cx.rejected(symbols.len());
                        json!({
                            "id": id,
                            "type": "error",
                            "code": 509,
                            "data": "exceed max subscription count limitation of 100 per topic",
                        })
                    }
                    Some(bits) if !cx.shared.faults.rejects(topic) && !symbols.is_empty() => {
                        for s in &symbols {
                            cx.apply(s, bits, on);
                        }
                        if v.get("response").and_then(Value::as_bool) == Some(false) {
                            return Vec::new();
                        }
                        json!({"id": id, "type": "ack"})
                    }
                    _ => {
                        cx.rejected(symbols.len().max(1));
                        json!({
                            "id": id,
                            "type": "error",
                            "code": 404,
                            "data": format!("topic {topic} is not supported"),
                        })
                    }
                }
            }
            _ => {
                json!({
                    "id": id,
                    "type": "error",
                    "code": 400,
                    "data": format!("unknown type {typ}"),
                })
            }
        };
        vec![Reply::Text(text(&reply))]
    }

    fn okx(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        if op != "subscribe" && op != "unsubscribe" {
            return vec![Reply::Text(text(&json!({
                "event": "error",
                "code": "60012",
                "msg": format!("Invalid request: {v}"),
                "connId": self.conn_id,
            })))];
        }
        let on = op == "subscribe";
        if on {
            VenueStats::bump(&cx.stats.subscribe_requests);
        }
        let args = v
            .get("args")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for arg in &args {
            let channel = arg.get("channel").and_then(Value::as_str).unwrap_or("");
            let inst = arg.get("instId").and_then(Value::as_str).unwrap_or("");
            let bits = match channel {
                "bbo-tbt" => Some(BOOK),
                "trades" => Some(TRADE),
                "tickers" | "books5" | "books" => Some(0),
                _ => None,
            };
            let reply = match bits {
                Some(bits)
                    if !cx.shared.faults.rejects(inst)
                        && !cx.shared.faults.rejects(channel)
                        && !inst.is_empty() =>
                {
                    cx.apply(inst, bits, on);
                    json!({"event": op, "arg": arg, "connId": self.conn_id})
                }
                _ => {
                    cx.rejected(1);
                    json!({
                        "event": "error",
                        "code": "60018",
                        "msg": format!("Wrong URL or channel:{channel},instId:{inst} doesn't exist."),
                        "connId": self.conn_id,
                    })
                }
            };
            out.push(Reply::Text(text(&reply)));
        }
        out
    }

    fn bitget(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        let op = v.get("op").and_then(Value::as_str).unwrap_or("");
        if op != "subscribe" && op != "unsubscribe" {
            return vec![Reply::Text(text(
                &json!({"event": "error", "code": 30016, "msg": "param error", "op": op}),
            ))];
        }
        let on = op == "subscribe";
        if on {
            VenueStats::bump(&cx.stats.subscribe_requests);
        }
        let args = v
            .get("args")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for arg in &args {
            let inst_type = arg.get("instType").and_then(Value::as_str).unwrap_or("");
            let channel = arg.get("channel").and_then(Value::as_str).unwrap_or("");
            let inst = arg.get("instId").and_then(Value::as_str).unwrap_or("");
            let bits = match channel {
                "books1" => Some(BOOK),
                "trade" => Some(TRADE),
                "ticker" | "books5" | "books15" | "books" => Some(0),
                _ => None,
            };
            let reply = match bits {
                Some(bits)
                    if inst_type == "SPOT"
                        && !inst.is_empty()
                        && !cx.shared.faults.rejects(inst)
                        && !cx.shared.faults.rejects(channel) =>
                {
                    cx.apply(inst, bits, on);
                    json!({"event": op, "arg": arg})
                }
                _ => {
                    cx.rejected(1);
                    json!({
                        "event": "error",
                        "arg": arg,
                        "code": 30001,
                        "msg": format!("instType:{inst_type},channel:{channel},instId:{inst} doesn't exist"),
                        "op": op,
                    })
                }
            };
            out.push(Reply::Text(text(&reply)));
        }
        out
    }

    fn bingx(&mut self, v: &Value, cx: &mut Cx<'_>) -> Vec<Reply> {
        if v.get("pong").is_some() {
            VenueStats::bump(&cx.stats.pongs_received);
            return Vec::new();
        }
        let id = v.get("id").cloned().unwrap_or(json!(""));
        let req = v.get("reqType").and_then(Value::as_str).unwrap_or("");
        let data_type = v.get("dataType").and_then(Value::as_str).unwrap_or("");
        let reply = match req {
            "sub" | "unsub" => {
                let on = req == "sub";
                if on {
                    VenueStats::bump(&cx.stats.subscribe_requests);
                }
                let (native, ch) = data_type.split_once('@').unwrap_or((data_type, ""));
                let bits = match ch {
                    "bookTicker" => Some(BOOK),
                    "trade" => Some(TRADE),
                    "" => None,
                    _ => Some(0),
                };
                match bits {
                    Some(bits) if !native.is_empty() && !cx.shared.faults.rejects(data_type) => {
                        cx.apply(native, bits, on);
                        json!({"id": id, "code": 0, "msg": "", "dataType": "", "data": null})
                    }
                    _ => {
                        cx.rejected(1);
                        json!({
                            "id": id,
                            "code": 100400,
                            "msg": format!("illegal dataType {data_type}"),
                        })
                    }
                }
            }
            _ => json!({"id": id, "code": 100400, "msg": format!("illegal reqType {req}")}),
        };
        vec![Reply::Binary(gzip(text(&reply).as_bytes()))]
    }

    fn track(&mut self, topic: &str, on: bool) {
        if on {
            self.topics.insert(topic.to_owned());
        } else {
            self.topics.remove(topic);
        }
    }
}

/// What a request handler touches.
struct Cx<'a> {
    shared: &'a Shared,
    slot: &'a ConnSlot,
    stats: &'a VenueStats,
    ex: Exchange,
}

impl Cx<'_> {
    /// Subscribes (or unsubscribes) `native`'s `bits` channels; counts the topic.
    fn apply(&mut self, native: &str, bits: u8, on: bool) {
        if on {
            VenueStats::bump(&self.stats.topics_subscribed);
        }
        if bits == 0 {
            return;
        }
        if let Some(id) = self.shared.universe.lookup(self.ex, native) {
            self.slot.set(id, bits, on);
        }
    }

    /// Counts `n` rejected topics.
    fn rejected(&mut self, n: usize) {
        self.stats
            .rejected_topics
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The strings of a JSON array (others skipped).
fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Parses a Bybit spot topic into (symbol, channel bits); `None` for unknown topics.
fn bybit_topic(t: &str) -> Option<(&str, u8)> {
    if let Some(rest) = t.strip_prefix("orderbook.") {
        let (depth, sym) = rest.split_once('.')?;
        let bits = if depth == "1" { BOOK } else { 0 };
        return (!sym.is_empty()).then_some((sym, bits));
    }
    if let Some(sym) = t.strip_prefix("publicTrade.") {
        return (!sym.is_empty()).then_some((sym, TRADE));
    }
    t.strip_prefix("tickers.")
        .filter(|s| !s.is_empty())
        .map(|s| (s, 0))
}

/// Parses a MEXC protobuf channel into (symbol, channel bits).
fn mexc_channel(c: &str) -> Option<(&str, u8)> {
    let bits = if c.starts_with("spot@public.aggre.bookTicker.v3.api.pb@")
        || c.starts_with("spot@public.bookTicker.batch.v3.api.pb@")
    {
        BOOK
    } else if c.starts_with("spot@public.aggre.deals.v3.api.pb@") {
        TRADE
    } else {
        return None;
    };
    let sym = c.rsplit('@').next().filter(|s| !s.is_empty())?;
    Some((sym, bits))
}

fn now_ms() -> i64 {
    arb_engine::clock::wall_ns() / 1_000_000
}

fn now_s() -> i64 {
    now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bingx_time_formats_utc_plus_8() {
        // 2022-06-07T08:27:36.323Z
        assert_eq!(
            bingx_time(1_654_590_456_323),
            "2022-06-07T16:27:36.323+0800"
        );
    }

    #[test]
    fn topics_parse() {
        assert_eq!(bybit_topic("orderbook.1.BTCUSDT"), Some(("BTCUSDT", BOOK)));
        assert_eq!(bybit_topic("publicTrade.BTCUSDT"), Some(("BTCUSDT", TRADE)));
        assert_eq!(bybit_topic("kline.1.BTCUSDT"), None);
        assert_eq!(
            mexc_channel("spot@public.aggre.deals.v3.api.pb@10ms@ETHUSDT"),
            Some(("ETHUSDT", TRADE))
        );
        assert_eq!(mexc_channel("spot@public.miniTicker.v3.api@BTCUSDT"), None);
    }
}
