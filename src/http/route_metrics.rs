//! Request metrics by route: the router's path templates, found from the
//! request middleware before axum routes (a lookup is far cheaper than a
//! route layer, which boxes every route's service), each with its series
//! kept, so counting a request hashes no labels.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};

use crate::metrics::{RequestFamilies, RouteSeries};

/// The router's path templates, so metrics can name a request by its route
/// (`/api/events/{id}`) from out here, before axum has routed it. A lookup
/// is far cheaper than a route layer (which boxes every route's service).
/// The same lookup finds the route's metric series, so counting a request
/// hashes no labels.
#[derive(Clone)]
pub struct RouteTemplates(Arc<Routes>);

struct Routes {
    families: RequestFamilies,
    router: matchit::Router<usize>,
    /// By the router's index; the last is `unmatched`.
    routes: Vec<Route>,
}

/// One template and its series for the methods routes use.
struct Route {
    by_method: [RouteSeries; 4],
}

const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

impl Route {
    fn new(template: &'static str) -> Route {
        Route {
            by_method: METHODS.map(|m| RouteSeries::new(m, template)),
        }
    }
}

impl Default for RouteTemplates {
    fn default() -> Self {
        RouteTemplates::new([], &crate::metrics::Metrics::new())
    }
}

impl RouteTemplates {
    pub fn new<'a>(
        templates: impl IntoIterator<Item = &'a str>,
        metrics: &crate::metrics::Metrics,
    ) -> RouteTemplates {
        let mut router = matchit::Router::new();
        let mut routes = Vec::new();
        for t in templates {
            // A template given twice (or overlapping) keeps its first entry.
            if router.insert(t, routes.len()).is_ok() {
                routes.push(Route::new(intern(t)));
            }
        }
        routes.push(Route::new("unmatched"));
        RouteTemplates(Arc::new(Routes {
            families: metrics.request_families(),
            router,
            routes,
        }))
    }

    fn index(&self, path: &str) -> usize {
        let unmatched = self.0.routes.len() - 1;
        self.0.router.at(path).map_or(unmatched, |m| *m.value)
    }

    /// Counts one answered request of the route at `index`.
    fn record(&self, index: usize, method: &'static str, status: u16, seconds: f64) {
        let route = &self.0.routes[index];
        match METHODS.iter().position(|m| *m == method) {
            Some(i) => self
                .0
                .families
                .record_on(&route.by_method[i], status, seconds),
            None => {
                let name = route.by_method[0].route();
                self.0.families.record(method, name, status, seconds)
            }
        }
    }
}

/// Templates live as long as the process and are few (one per route), so
/// each distinct one is leaked once and shared by every app started here.
fn intern(t: &str) -> &'static str {
    static SEEN: LazyLock<std::sync::Mutex<std::collections::HashSet<&'static str>>> =
        LazyLock::new(Default::default);
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = seen.get(t) {
        return s;
    }
    let s: &'static str = Box::leak(t.to_owned().into_boxed_str());
    seen.insert(s);
    s
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// What the metrics need of a request once its answer is known.
pub(super) struct Measured {
    routes: RouteTemplates,
    route: usize,
    method: &'static str,
}

impl RouteTemplates {
    /// Finds the request's route, to count it once answered.
    pub(super) fn measure(&self, req: &Request<Body>) -> Measured {
        Measured {
            routes: self.clone(),
            route: self.index(req.uri().path()),
            method: method_name(req.method()),
        }
    }
}

impl Measured {
    pub(super) fn record(self, status: u16, took: Duration) {
        self.routes
            .record(self.route, self.method, status, took.as_secs_f64());
    }
}
