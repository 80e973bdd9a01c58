//! Generates the fleet's log lines at a set rate: nginx access lines on `lb`,
//! Spring Boot application lines (with the odd stack trace) on the backends, and
//! MySQL, Redis and Prometheus lines on the other hosts. Lines are written
//! straight into one packed batch (`LogBatch`, no string per line), a queue
//! bounded in bytes, until `logs()` takes it whole. Lines the queue could
//! not keep are counted, and most are never built: when one call owes more
//! lines than the queue holds, only the newest that fit are generated.

use std::fmt::Write as _;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::core::Timestamp;
use crate::core::fleet::{Health, LogLevel};
use crate::core::log_batch::LogBatch;

use super::log_context::{BackendLog, LogContext, NodeLog};

/// Bytes of undelivered line text kept at most; the oldest lines past it are
/// dropped and counted. The logs poller takes lines every 250 ms, which at
/// the top rate (50,000 lines/s, about 10 MB/s) is 2.5 MB: 4 MiB leaves room
/// for a late poll, and bounds what a poll delivers (and the channel carries)
/// when nobody took lines for a while (the demo's warm-up, a stalled loop).
pub const QUEUE_CAP_BYTES: usize = 4 * 1024 * 1024;
/// When time jumps ahead, only this much of the gap is filled with lines (ms).
pub const MAX_CATCH_UP_MS: i64 = 5_000;

const LB: (&str, &str) = ("lb", "ap-northeast-2a");
const MON: (&str, &str) = ("mon-1", "ap-northeast-2a");

const ENDPOINTS: [(&str, &str, &str); 10] = [
    ("GET", "/api/orders/", "c.e.web.OrderController"),
    ("POST", "/api/orders", "c.e.web.OrderController"),
    ("GET", "/api/products/", "c.e.web.ProductController"),
    ("GET", "/api/products?page=", "c.e.web.ProductController"),
    ("GET", "/api/cart", "c.e.web.CartController"),
    ("POST", "/api/cart/items", "c.e.web.CartController"),
    ("POST", "/api/payments", "c.e.web.PaymentController"),
    ("GET", "/api/users/me", "c.e.web.UserController"),
    ("GET", "/api/products/", "c.e.web.ProductController"),
    ("GET", "/api/orders/", "c.e.web.OrderController"),
];

const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
    "shop-ios/5.3.1 (iPhone15,2; iOS 18.1)",
];

const WARNINGS: [(&str, &str); 4] = [
    (
        "com.zaxxer.hikari.pool.HikariPool",
        "HikariPool-1 - Thread starvation or clock leap detected (housekeeper delta=1m2s).",
    ),
    (
        "c.e.web.PaymentClient",
        "Payment gateway slow: POST /v2/charges took 2315ms, retrying (attempt 2/3)",
    ),
    (
        "c.e.web.OrderController",
        "Slow request: GET /api/orders took 1840ms",
    ),
    (
        "o.s.web.servlet.PageNotFound",
        "No mapping for GET /favicon.ico",
    ),
];

/// A stack trace: exception line, frames, optional cause with its frames.
struct Trace {
    logger: &'static str,
    message: &'static str,
    exception: &'static str,
    frames: &'static [&'static str],
    cause: Option<(&'static str, &'static [&'static str])>,
}

const TRACES: [Trace; 3] = [
    Trace {
        logger: "o.a.c.c.C.[.[.[/].[dispatcherServlet]",
        message: "Servlet.service() for servlet [dispatcherServlet] threw exception",
        exception: "java.lang.IllegalStateException: Order has no payment attached",
        frames: &[
            "\tat com.example.web.OrderService.capture(OrderService.java:142)",
            "\tat com.example.web.OrderController.pay(OrderController.java:87)",
            "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)",
            "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
        ],
        cause: Some((
            "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            &[
                "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
                "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
                "\t... 48 common frames omitted",
            ],
        )),
    },
    Trace {
        logger: "c.e.web.CartController",
        message: "Unhandled exception in GET /api/cart",
        exception: "java.lang.NullPointerException: Cannot invoke \"com.example.web.Cart.items()\" because \"cart\" is null",
        frames: &[
            "\tat com.example.web.CartService.total(CartService.java:58)",
            "\tat com.example.web.CartController.get(CartController.java:41)",
            "\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:255)",
        ],
        cause: None,
    },
    Trace {
        logger: "c.e.web.ProductRepository",
        message: "Query failed: select * from product where id=?",
        exception: "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection",
        frames: &[
            "\tat org.springframework.orm.jpa.vendor.HibernateJpaDialect.convertHibernateAccessException(HibernateJpaDialect.java:277)",
            "\tat com.example.web.ProductService.find(ProductService.java:33)",
        ],
        cause: Some((
            "Caused by: java.net.ConnectException: Connection refused",
            &[
                "\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)",
                "\t... 61 common frames omitted",
            ],
        )),
    },
];

const READ_ONLY_TRACE: Trace = Trace {
    logger: "o.h.engine.jdbc.spi.SqlExceptionHelper",
    message: "The MySQL server is running with the --read-only option so it cannot execute this statement",
    exception: "org.springframework.dao.TransientDataAccessResourceException: could not execute statement",
    frames: &[
        "\tat com.example.web.OrderRepository.save(OrderRepository.java:29)",
        "\tat com.example.web.OrderService.place(OrderService.java:77)",
    ],
    cause: Some((
        "Caused by: java.sql.SQLException: The MySQL server is running with the --read-only option so it cannot execute this statement",
        &["\tat com.mysql.cj.jdbc.exceptions.SQLError.createSQLException(SQLError.java:121)"],
    )),
};

const HEALTH_TRACE: Trace = Trace {
    logger: "o.s.b.a.health.HealthEndpointSupport",
    message: "Health contributor 'db' is DOWN: application context failed to initialize data source",
    exception: "org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'orderRepository'",
    frames: &[
        "\tat org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.initializeBean(AbstractAutowireCapableBeanFactory.java:1806)",
        "\tat com.example.web.WebApplication.main(WebApplication.java:12)",
    ],
    cause: Some((
        "Caused by: java.lang.IllegalArgumentException: Unknown column 'orders.discount_code' in 'field list'",
        &["\t... 27 common frames omitted"],
    )),
};

const STARTUP: [(&str, &str); 3] = [
    (
        "o.s.b.w.embedded.tomcat.TomcatWebServer",
        "Tomcat initialized with port 8080 (http)",
    ),
    (
        "com.zaxxer.hikari.HikariDataSource",
        "HikariPool-1 - Starting...",
    ),
    (
        "c.e.web.WebApplication",
        "Started WebApplication in 3.912 seconds (process running for 4.3)",
    ),
];

/// Per-second timestamp texts, reused by every line of that second.
#[derive(Default)]
struct SecondText {
    sec: i64,
    /// `2026-11-22 02:19:07`
    spring: String,
    /// `22/Nov/2026:02:19:07 +0000`
    nginx: String,
    /// `2026-11-22T02:19:07`
    iso: String,
    /// `22 Nov 2026 02:19:07`
    redis: String,
}

impl SecondText {
    fn set(&mut self, sec: i64) {
        if sec == self.sec && !self.spring.is_empty() {
            return;
        }
        self.sec = sec;
        let Some(dt) = chrono::DateTime::from_timestamp(sec, 0) else {
            return;
        };
        self.spring = dt.format("%Y-%m-%d %H:%M:%S").to_string();
        self.nginx = dt.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
        self.iso = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
        self.redis = dt.format("%d %b %Y %H:%M:%S").to_string();
    }
}

/// Generates lines at `rate` per second of simulated time into a bounded queue.
pub struct LogGenerator {
    rng: ChaCha8Rng,
    rate: f64,
    /// Fractional lines owed (negative after a stack trace overshoots).
    carry: f64,
    /// Simulated wall time up to which lines exist.
    clock_ms: i64,
    /// Lines not taken yet, oldest first; `generate` writes into it.
    cur: LogBatch,
    dropped: u64,
    /// `dropped` as of the last `take`: the next batch reports the difference.
    reported: u64,
    /// Mean text bytes per line so far, to know how many lines fit the queue.
    mean_line: f64,
    text: SecondText,
    /// Reused text buffers: a line is written here, then copied into `cur`.
    line: String,
    msg: String,
}

impl LogGenerator {
    pub fn new(seed: u64, rate: f64, start: Timestamp) -> Self {
        let rate = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
        Self {
            // Its own stream: how often logs are polled never changes the fleet.
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x10C5_11E5),
            rate,
            carry: 0.0,
            clock_ms: start.millis(),
            cur: LogBatch::new(),
            dropped: 0,
            reported: 0,
            mean_line: 200.0,
            text: SecondText::default(),
            line: String::with_capacity(512),
            msg: String::with_capacity(128),
        }
    }

    /// Lines dropped from the full queue (or never built because they would be).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Moves the generator's clock without producing lines (the fleet re-anchored).
    pub fn reset_clock(&mut self, at: Timestamp) {
        self.clock_ms = at.millis();
    }

    /// Text bytes waiting to be taken.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.cur.text_bytes()
    }

    /// Every queued line, oldest first, in one batch that also reports the
    /// lines dropped since the previous `take`.
    pub fn take(&mut self) -> LogBatch {
        let mut out = std::mem::take(&mut self.cur);
        out.dropped = self.dropped - self.reported;
        self.reported = self.dropped;
        out
    }

    /// Produces the lines between the previous call and `now`.
    pub fn generate(&mut self, now: Timestamp, ctx: &LogContext) {
        let now = now.millis();
        if now <= self.clock_ms {
            return;
        }
        if now - self.clock_ms > MAX_CATCH_UP_MS {
            self.clock_ms = now - MAX_CATCH_UP_MS;
        }
        let from = self.clock_ms;
        let dt = now - from;
        self.clock_ms = now;
        let budget = self.carry + self.rate * dt as f64 / 1000.0;
        let n = budget.floor();
        self.carry = budget - n;
        if n < 1.0 {
            return;
        }
        let n = n as i64;
        // Lines that would be dropped from the queue before anyone could take
        // them are counted, not built: when this call owes more than a full
        // queue holds, everything queued goes, and only the newest lines that
        // fit are generated.
        let fit = (QUEUE_CAP_BYTES as f64 / self.mean_line).floor().max(1.0) as i64;
        let mut produced = 0i64;
        if n > fit {
            self.drop_queued();
            produced = n - fit;
            self.dropped += produced as u64;
        }
        let weights: u32 = ctx.backends.iter().map(|b| b.weight).sum();
        let serving: f64 = ctx.backends.iter().map(|b| b.rps).sum();
        let owed = (n - produced) as usize;
        // Room for this call's lines, so the batch grows once, not by doubling.
        self.cur.reserve(
            owed + owed / 16,
            (owed as f64 * self.mean_line * 1.1) as usize,
        );
        let (lines_before, bytes_before) = (self.cur.len(), self.cur.text_bytes());
        while produced < n {
            // Somewhere in this line's slot of the interval: irregular like real
            // traffic, yet never before the previous line.
            let slot = (produced as f64 + self.rng.random::<f64>()) / n as f64;
            let at = from + 1 + ((dt - 1) as f64 * slot) as i64;
            produced += self.emit(at, ctx, weights, serving);
        }
        // A stack trace may overshoot the budget; the next call owes less.
        self.carry -= (produced - n) as f64;
        let lines = self.cur.len() - lines_before;
        if lines > 0 {
            // A running mean, weighted towards recent lines.
            let mean = (self.cur.text_bytes() - bytes_before) as f64 / lines as f64;
            self.mean_line = 0.8 * self.mean_line + 0.2 * mean;
        }
        self.bound_queue();
    }

    /// Drops everything queued, counting it.
    fn drop_queued(&mut self) {
        self.dropped += self.cur.len() as u64;
        self.cur = LogBatch::new();
    }

    /// Drops the oldest lines until the queue's text fits `QUEUE_CAP_BYTES`
    /// (only when nobody took lines for a while: the demo's warm-up).
    fn bound_queue(&mut self) {
        let Some(over) = self.cur.text_bytes().checked_sub(QUEUE_CAP_BYTES) else {
            return;
        };
        let mut cut = 0;
        let mut n = 0;
        for l in self.cur.iter() {
            if cut >= over {
                break;
            }
            cut += l.text.len();
            n += 1;
        }
        self.cur.drop_oldest(n);
        self.dropped += n as u64;
    }

    /// A cleared text buffer to write one line into (handed back by `push`).
    fn line_buf(&mut self) -> String {
        let mut s = std::mem::take(&mut self.line);
        s.clear();
        s
    }

    /// Appends a line to the batch being written; `level: None` detects it.
    fn push(&mut self, at: i64, host: &str, az: &str, level: Option<LogLevel>, text: String) {
        self.cur
            .push_with(Timestamp(at), host, az, level, |s| s.push_str(&text));
        self.line = text;
    }

    fn push_static(&mut self, at: i64, host: &str, az: &str, text: &str) {
        self.cur
            .push_with(Timestamp(at), host, az, Some(LogLevel::None), |s| {
                s.push_str(text)
            });
    }

    fn push_detect(&mut self, at: i64, host: &str, az: &str, text: String) {
        self.push(at, host, az, None, text);
    }

    /// Emits one event (one line, or a stack trace) and returns its line count.
    fn emit(&mut self, at: i64, ctx: &LogContext, weights: u32, serving: f64) -> i64 {
        self.text.set(at.div_euclid(1000));
        let r: f64 = self.rng.random();
        if r < 0.48 || ctx.backends.is_empty() {
            self.access_line(at, ctx, serving);
            1
        } else if r < 0.92 {
            let mut x = self.rng.random_range(0..weights.max(1));
            let mut pick = 0;
            for (i, b) in ctx.backends.iter().enumerate() {
                if x < b.weight {
                    pick = i;
                    break;
                }
                x -= b.weight;
            }
            self.app_line(at, &ctx.backends[pick], ctx)
        } else if r < 0.96 {
            self.db_line(at, ctx);
            1
        } else if r < 0.99 {
            self.cache_line(at, ctx);
            1
        } else {
            self.mon_line(at);
            1
        }
    }

    fn access_line(&mut self, at: i64, ctx: &LogContext, serving: f64) {
        let mut chosen: Option<&BackendLog> = None;
        if serving > 0.0 {
            let mut x = self.rng.random::<f64>() * serving;
            for b in &ctx.backends {
                if b.rps > 0.0 {
                    chosen = Some(b);
                    if x < b.rps {
                        break;
                    }
                    x -= b.rps;
                }
            }
        }
        let (method, path, _) = ENDPOINTS[self.rng.random_range(0..ENDPOINTS.len())];
        let id = self.rng.random_range(1..99_999u32);
        let ua = USER_AGENTS[self.rng.random_range(0..USER_AGENTS.len())];
        let client = self.rng.random_range(2..254u32);
        let net = if client % 3 == 0 {
            "198.51.100"
        } else {
            "203.0.113"
        };
        let mut s = self.line_buf();
        let _ = write!(
            s,
            "{net}.{client} - - [{}] \"{method} {path}",
            self.text.nginx
        );
        if path.ends_with('/') {
            let _ = write!(s, "{id}");
        } else if path.ends_with('=') {
            let _ = write!(s, "{}", id % 40 + 1);
        }
        match chosen {
            Some(b) => {
                let failed = self.rng.random::<f64>() < b.error_rate;
                let status = if failed {
                    [500, 502, 503, 504][self.rng.random_range(0..4)]
                } else {
                    let x: f64 = self.rng.random();
                    if x < 0.03 {
                        404
                    } else if x < 0.08 {
                        304
                    } else if method == "POST" {
                        201
                    } else {
                        200
                    }
                };
                let bytes = if status == 304 {
                    0
                } else {
                    self.rng.random_range(180..24_000u32)
                };
                let urt = b.request_secs * self.rng.random_range(0.4..2.2);
                let rt = urt + 0.001;
                let _ = write!(
                    s,
                    " HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\" {}:8080 {rt:.3} {urt:.3}",
                    b.address
                );
            }
            None => {
                let _ = write!(s, " HTTP/1.1\" 502 157 \"-\" \"{ua}\" - 0.000 -");
            }
        }
        self.push(at, LB.0, LB.1, Some(LogLevel::None), s);
    }

    fn spring(
        &mut self,
        at: i64,
        level: &str,
        pid: u32,
        thread: u32,
        logger: &str,
        msg: &str,
    ) -> String {
        let mut s = self.line_buf();
        let _ = write!(
            s,
            "{}.{:03} {level:>5} {pid} --- [nio-8080-exec-{thread}] {logger:<40} : {msg}",
            self.text.spring,
            at.rem_euclid(1000)
        );
        s
    }

    fn app_line(&mut self, at: i64, b: &BackendLog, ctx: &LogContext) -> i64 {
        let thread = self.rng.random_range(1..11u32);
        if b.restarting {
            let pick = self.rng.random_range(0..STARTUP.len() + 1);
            let text = match STARTUP.get(pick) {
                Some((logger, msg)) => self.spring(at, "INFO", b.pid, thread, logger, msg),
                None => {
                    let msg = format!(
                        "Starting WebApplication {} using Java 21.0.5 with PID {}",
                        b.version, b.pid
                    );
                    self.spring(at, "INFO", b.pid, thread, "c.e.web.WebApplication", &msg)
                }
            };
            self.push_detect(at, b.name, b.az, text);
            return 1;
        }
        if b.health == Health::Down {
            if self.rng.random_bool(0.3) {
                return self.trace(at, b, thread, &HEALTH_TRACE);
            }
            let text = self.spring(
                at,
                "ERROR",
                b.pid,
                thread,
                "o.s.b.a.health.HealthEndpointSupport",
                "GET /actuator/health 503: status DOWN",
            );
            self.push_detect(at, b.name, b.az, text);
            return 1;
        }
        let x: f64 = self.rng.random();
        let read_only_errors = if ctx.db_read_only { 0.02 } else { 0.0 };
        let error_p = b.error_rate + 0.002;
        if x < read_only_errors {
            return if self.rng.random_bool(0.3) {
                self.trace(at, b, thread, &READ_ONLY_TRACE)
            } else {
                let text = self.spring(
                    at,
                    "ERROR",
                    b.pid,
                    thread,
                    READ_ONLY_TRACE.logger,
                    READ_ONLY_TRACE.message,
                );
                self.push_detect(at, b.name, b.az, text);
                1
            };
        }
        if x < read_only_errors + error_p {
            let trace = &TRACES[self.rng.random_range(0..TRACES.len())];
            return if self.rng.random_bool(0.25) {
                self.trace(at, b, thread, trace)
            } else {
                let text = self.spring(at, "ERROR", b.pid, thread, trace.logger, trace.message);
                self.push_detect(at, b.name, b.az, text);
                1
            };
        }
        if x < read_only_errors + error_p + 0.03 {
            let (logger, msg) = WARNINGS[self.rng.random_range(0..WARNINGS.len())];
            let text = self.spring(at, "WARN", b.pid, thread, logger, msg);
            self.push_detect(at, b.name, b.az, text);
            return 1;
        }
        let (method, path, logger) = ENDPOINTS[self.rng.random_range(0..ENDPOINTS.len())];
        let ms = (b.request_secs * 1000.0 * self.rng.random_range(0.4..2.2)) as u32;
        let mut msg = std::mem::take(&mut self.msg);
        msg.clear();
        let _ = write!(msg, "{method} {path}");
        if path.ends_with('/') {
            let _ = write!(msg, "{}", self.rng.random_range(1..99_999u32));
        } else if path.ends_with('=') {
            let _ = write!(msg, "{}", self.rng.random_range(1..40u32));
        }
        let status = if method == "POST" { 201 } else { 200 };
        let _ = write!(msg, " {status} {ms}ms");
        let text = self.spring(at, "INFO", b.pid, thread, logger, &msg);
        self.msg = msg;
        self.push_detect(at, b.name, b.az, text);
        1
    }

    /// An ERROR line followed by the exception, its frames and its cause, all at
    /// the same instant; continuation lines carry no level of their own.
    fn trace(&mut self, at: i64, b: &BackendLog, thread: u32, trace: &Trace) -> i64 {
        let text = self.spring(at, "ERROR", b.pid, thread, trace.logger, trace.message);
        self.push_detect(at, b.name, b.az, text);
        let mut lines = 1;
        self.push_static(at, b.name, b.az, trace.exception);
        lines += 1;
        for frame in trace.frames {
            self.push_static(at, b.name, b.az, frame);
            lines += 1;
        }
        if let Some((cause, frames)) = trace.cause {
            self.push_static(at, b.name, b.az, cause);
            lines += 1;
            for frame in frames {
                self.push_static(at, b.name, b.az, frame);
                lines += 1;
            }
        }
        lines
    }

    fn db_line(&mut self, at: i64, ctx: &LogContext) {
        let Some(node) = self.pick_node(&ctx.databases) else {
            return self.mon_line(at);
        };
        let micros = at.rem_euclid(1000) * 1000 + self.rng.random_range(0..1000i64);
        let mut s = self.line_buf();
        let _ = write!(s, "{}.{micros:06}Z ", self.text.iso);
        if node.primary {
            let conn = self.rng.random_range(1_000..90_000u32);
            match self.rng.random_range(0..3u32) {
                0 => {
                    let _ = write!(
                        s,
                        "{conn} [Note] [MY-010914] [Server] Aborted connection {conn} to db: 'shop' user: 'web' host: '10.0.1.11' (Got timeout reading communication packets)."
                    );
                }
                1 => {
                    let took = self.rng.random_range(1_100..4_000u32);
                    let _ = write!(
                        s,
                        "0 [Note] [MY-011953] [InnoDB] Page cleaner took {took}ms to flush 512 and evict 0 pages"
                    );
                }
                _ => {
                    let _ = write!(
                        s,
                        "{conn} [Warning] [MY-010055] [Server] IP address '10.0.2.12' could not be resolved: Name or service not known"
                    );
                }
            }
        } else if ctx.db_sql_stopped {
            let _ = write!(
                s,
                "14 [ERROR] [MY-010584] [Repl] Replica SQL for channel '': Worker 1 failed executing transaction; Lock wait timeout exceeded; try restarting transaction, Error_code: MY-001205"
            );
        } else if ctx.db_lag.is_some_and(|l| l > 5.0) {
            let lag = ctx.db_lag.unwrap_or(0.0);
            let _ = write!(
                s,
                "14 [Warning] [MY-010584] [Repl] Replica SQL for channel '': applier is {lag:.0} s behind source; worker queues full, waiting"
            );
        } else {
            let events = self.rng.random_range(10_000..900_000u32);
            let _ = write!(
                s,
                "14 [Note] [MY-010559] [Repl] Multi-threaded replica statistics for channel '': seconds elapsed = 120; events assigned = {events}; worker queues filled over overrun level = 0"
            );
        }
        self.push_detect(at, node.name, node.az, s);
    }

    fn cache_line(&mut self, at: i64, ctx: &LogContext) {
        let Some(node) = self.pick_node(&ctx.caches) else {
            return self.mon_line(at);
        };
        let role = if node.primary { 'M' } else { 'S' };
        let mut s = self.line_buf();
        let _ = write!(
            s,
            "1:{role} {}.{:03} ",
            self.text.redis,
            at.rem_euclid(1000)
        );
        let pid = self.rng.random_range(100..9_000u32);
        match (node.primary, self.rng.random_range(0..3u32)) {
            (true, 0) => {
                let _ = write!(s, "* 100 changes in 300 seconds. Saving...");
            }
            (true, 1) => {
                let _ = write!(s, "* Background saving started by pid {pid}");
            }
            (true, _) => {
                let _ = write!(s, "* Background saving terminated with success");
            }
            (false, 0) => {
                let _ = write!(
                    s,
                    "* MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."
                );
            }
            (false, _) => {
                let _ = write!(s, "* Background RDB transfer terminated with success");
            }
        }
        self.push(at, node.name, node.az, Some(LogLevel::None), s);
    }

    fn mon_line(&mut self, at: i64) {
        let mut s = self.line_buf();
        let _ = write!(s, "ts={}.{:03}Z ", self.text.iso, at.rem_euclid(1000));
        if self.rng.random_bool(0.8) {
            let _ = write!(
                s,
                "caller=compact.go:523 level=info component=tsdb msg=\"write block\" duration=412.31ms"
            );
        } else {
            let _ = write!(
                s,
                "caller=scrape.go:1284 level=warn component=\"scrape manager\" msg=\"Append failed\" err=\"out of bounds\""
            );
        }
        self.push(at, MON.0, MON.1, Some(LogLevel::None), s);
    }

    /// A reachable node, picked at random; unreachable ones write no logs we see.
    fn pick_node<'a>(&mut self, nodes: &'a [NodeLog]) -> Option<&'a NodeLog> {
        let reachable = nodes.iter().filter(|n| n.reachable).count();
        if reachable == 0 {
            return None;
        }
        let k = self.rng.random_range(0..reachable);
        nodes.iter().filter(|n| n.reachable).nth(k)
    }
}
