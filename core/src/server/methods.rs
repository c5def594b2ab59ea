//! Which of a server's handlers answers a plain HTTP request (one that is not an upgrade), by
//! its method: RFC 9110's rules for `HEAD` (section 9.3.2: answered as `GET` would be, the
//! body left out), `404` and `405` (section 15.5.6: with `Allow`, the methods that would be
//! answered).

use http::header::HeaderValue;
use http::Method;

/// What answers a plain request, as [`route_method`] decides.
///
/// ```
/// use laputa_core::server::MethodRoute;
///
/// let route: MethodRoute<'_, ()> = MethodRoute::NotFound;
/// assert_eq!(route.status(), Some(http::StatusCode::NOT_FOUND));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MethodRoute<'a, T> {
    /// The handler of the request's method (for `HEAD` without one of its own, `GET`'s).
    Handler(&'a T),
    /// The server's files: a `GET` or `HEAD` with no handler, on a server that serves files.
    Files,
    /// `404 Not Found`: a `GET` or `HEAD` that nothing answers.
    NotFound,
    /// `405 Method Not Allowed`, with this `Allow` header: another method that nothing answers.
    NotAllowed {
        /// The methods answered, sorted, comma-separated (`HEAD` wherever `GET` is).
        allow: HeaderValue,
    },
}

impl<T> MethodRoute<'_, T> {
    /// The status of a refusal (`404`, `405`); `None` when a handler or the files answer.
    ///
    /// ```
    /// use laputa_core::server::route_method;
    /// use http::{Method, StatusCode};
    ///
    /// let route = route_method::<()>(&Method::DELETE, |_| None, false, []);
    /// assert_eq!(route.status(), Some(StatusCode::METHOD_NOT_ALLOWED));
    /// ```
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Handler(_) | Self::Files => None,
            Self::NotFound => Some(http::StatusCode::NOT_FOUND),
            Self::NotAllowed { .. } => Some(http::StatusCode::METHOD_NOT_ALLOWED),
        }
    }
}

/// Decides what answers a plain request with `method`: its handler (`handler` looks one up by
/// method; `HEAD` falls back to `GET`'s), else the files (`serves_files`) for `GET` and `HEAD`,
/// else `404` for those and `405` for other methods. `handled` lists every method the server
/// answers in any way, for `Allow`, including methods whose requests were dispatched before
/// this decision (such as handlers that take the body as a stream).
///
/// ```
/// use laputa_core::server::{route_method, MethodRoute};
/// use http::Method;
///
/// let handlers = [(Method::GET, "page"), (Method::POST, "form")];
/// let handler = |method: &Method| handlers.iter().find(|(m, _)| m == method).map(|(_, h)| h);
/// let methods = handlers.iter().map(|(m, _)| m);
/// let route = |method: Method| route_method(&method, handler, false, methods.clone());
///
/// assert_eq!(route(Method::POST), MethodRoute::Handler(&"form"));
/// assert_eq!(route(Method::HEAD), MethodRoute::Handler(&"page"));
/// let MethodRoute::NotAllowed { allow } = route(Method::PUT) else { unreachable!() };
/// assert_eq!(allow, "GET, HEAD, POST");
/// ```
pub fn route_method<'a, T>(
    method: &Method,
    handler: impl Fn(&Method) -> Option<&'a T>,
    serves_files: bool,
    handled: impl IntoIterator<Item = &'a Method>,
) -> MethodRoute<'a, T> {
    let own = handler(method);
    if let Some(found) = own.or_else(|| (*method == Method::HEAD).then(|| handler(&Method::GET)).flatten()) {
        return MethodRoute::Handler(found);
    }
    let get_or_head = *method == Method::GET || *method == Method::HEAD;
    match (get_or_head, serves_files) {
        (true, true) => MethodRoute::Files,
        (true, false) => MethodRoute::NotFound,
        (false, _) => MethodRoute::NotAllowed { allow: allow(handled, serves_files) },
    }
}

/// The `Allow` header: the methods handled, with `GET` and `HEAD` when files are served and
/// `HEAD` wherever `GET` is, sorted and without repeats.
fn allow<'a>(handled: impl IntoIterator<Item = &'a Method>, serves_files: bool) -> HeaderValue {
    let mut methods: Vec<&str> = handled.into_iter().map(Method::as_str).collect();
    if serves_files || methods.contains(&"GET") {
        methods.extend(["GET", "HEAD"]);
    }
    methods.sort_unstable();
    methods.dedup();
    // Method names are tokens, so the list is a valid header value.
    HeaderValue::from_str(&methods.join(", ")).unwrap_or(HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(methods: &[Method]) -> Vec<(Method, usize)> {
        methods.iter().cloned().zip(0..).collect()
    }

    fn route<'a>(table: &'a [(Method, usize)], method: Method, files: bool) -> MethodRoute<'a, usize> {
        route_method(
            &method,
            |m| table.iter().find(|(t, _)| t == m).map(|(_, h)| h),
            files,
            table.iter().map(|(m, _)| m),
        )
    }

    fn allow_of(route: MethodRoute<'_, usize>) -> String {
        match route {
            MethodRoute::NotAllowed { allow } => allow.to_str().unwrap().to_owned(),
            other => panic!("not a 405: {other:?}"),
        }
    }

    #[test]
    fn a_method_goes_to_its_own_handler_and_head_to_get_when_it_has_none() {
        let both = table(&[Method::GET, Method::HEAD]);
        assert_eq!(route(&both, Method::HEAD, true), MethodRoute::Handler(&1), "HEAD's own first");
        let get = table(&[Method::GET]);
        assert_eq!(route(&get, Method::HEAD, true), MethodRoute::Handler(&0));
        let head = table(&[Method::HEAD]);
        assert_eq!(route(&head, Method::GET, false), MethodRoute::NotFound, "GET never falls back to HEAD");
    }

    #[test]
    fn get_and_head_without_a_handler_go_to_the_files_or_404() {
        let post = table(&[Method::POST]);
        for method in [Method::GET, Method::HEAD] {
            assert_eq!(route(&post, method.clone(), true), MethodRoute::Files);
            assert_eq!(route(&post, method, false), MethodRoute::NotFound);
        }
    }

    #[test]
    fn other_methods_get_405_with_what_is_answered() {
        assert_eq!(allow_of(route(&[], Method::POST, false)), "");
        assert_eq!(allow_of(route(&[], Method::POST, true)), "GET, HEAD");
        let handlers = table(&[Method::PUT, Method::GET, Method::from_bytes(b"PURGE").unwrap(), Method::PUT]);
        assert_eq!(allow_of(route(&handlers, Method::DELETE, false)), "GET, HEAD, PURGE, PUT");
        assert_eq!(route(&handlers, Method::DELETE, false).status(), Some(http::StatusCode::METHOD_NOT_ALLOWED));
    }
}
