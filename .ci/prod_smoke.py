#!/usr/bin/env python3
"""Requests every page of every role from a running production build, over HTTP.

Standard library only: it talks to the server as a browser would (a log-in form, cookies, the
CSRF token) and knows nothing of the code except the URL conf, which it reads from a JSON file
(``--routes``, written by ``.ci/prod_smoke``). For each user it:

- logs in through the log-in form and follows every link, ``hx-get`` and redirect on the
  product's own pages (at most ``--per-shape`` URLs of one shape, e.g. ``/clients/N/``);
- asks every URL of the URL conf that no link reached, with ids seen while crawling (an action
  that refuses GET answers 405);
- fetches every static file the pages name, and the fonts and images their stylesheets name,
  and checks that they are the manifest's hashed names, cached for good;
- checks that every signed-in page carries ``Cache-Control: no-store``;
- asks ids and page numbers past a 64-bit integer: 404;
- sends a request line past gunicorn's cap (414) and declares a 4 GB upload (413 at once).

Then, with ``--import``, it uploads a small file on the import page and waits for the Celery
worker to check it. Any 5xx, any page that cannot be reached, any static file missing fails the
run (exit 1) with a list of what went wrong.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

LINK = re.compile(r"""(?:href|hx-get|src|action)\s*=\s*["']([^"'#]*)""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')?#]+)""")
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STATE = re.compile(r'id="import-status"[^>]*data-state="(\w+)"')
PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
PAST_BIGINT = str(2**63)
# Not followed: the log-out and language actions (POST only), Django's admin site (a library's
# pages, not the product's), uploaded files.
SKIP_PREFIXES = ("/accounts/logout/", "/i18n/", "/admin/", "/media/", "/static/")
LIST_PAGES = ("/clients/", "/queue/", "/queue/pool/", "/settings/audit/", "/import/")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def is_html(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/html")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    """Cookies kept by hand: the production cookies are ``Secure``, and this plain-HTTP check
    stands in for the TLS proxy, so they are sent back as a browser behind it would."""

    def __init__(self, base: str, timeout: float):
        self.base = base.rstrip("/")
        self.cookies: dict[str, str] = {}
        self.timeout = timeout
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, path: str, *, data: bytes | None = None, headers=None) -> Reply:
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            body = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            headers = {k.lower(): v for k, v in response.headers.items()}
            return Reply(response.status, headers, body)

    def get(self, path: str) -> Reply:
        return self.request(path)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        data = urllib.parse.urlencode(fields).encode()
        return self.request(
            path, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    def post_multipart(self, path: str, fields: dict[str, str], files: dict) -> Reply:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            path,
            data=b"".join(parts),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )


@dataclass
class Route:
    name: str
    route: str
    regex: re.Pattern
    params: list[str]
    ids: list[str]  # the params that name a row by id (``<id:...>``)
    tokens: list[str]  # any other string (a provider's name, a secret token): a machine's URL

    def fill(self, values: dict[str, str]) -> str:
        return "/" + PARAM.sub(lambda m: values[m.group(2)], self.route)


def urlconf_routes() -> list[dict]:
    """The URL conf as plain entries (``--dump-routes``; run with the project's python, the one
    place this script imports Django). Regex routes are left out: only Django's admin site and
    the media files have them."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.resolvers import RoutePattern

    def walk(patterns, prefix=""):
        for entry in patterns:
            if not isinstance(entry.pattern, RoutePattern):
                continue
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                converters = {k: c.regex for k, c in entry.pattern.converters.items()}
                yield {"name": entry.name or route, "route": route, "converters": converters}

    return list(walk(get_resolver().url_patterns))


def parse_routes(entries: list[dict]) -> list[Route]:
    routes = []
    for entry in entries:
        pattern, last = "", 0
        for match in PARAM.finditer(entry["route"]):
            pattern += re.escape(entry["route"][last : match.start()])
            pattern += f"(?P<{match.group(2)}>{entry['converters'][match.group(2)]})"
            last = match.end()
        pattern += re.escape(entry["route"][last:])
        routes.append(
            Route(
                entry["name"],
                entry["route"],
                re.compile("^/" + pattern + "$"),
                list(entry["converters"]),
                [m.group(2) for m in PARAM.finditer(entry["route"]) if m.group(1) == "id"],
                [
                    m.group(2)
                    for m in PARAM.finditer(entry["route"])
                    if m.group(1) in (None, "str", "path")
                ],
            )
        )
    return routes


def load_routes(path: str) -> list[Route]:
    with open(path, encoding="utf-8") as file:
        return parse_routes(json.load(file))


def product_route(route: Route) -> bool:
    """The product's own pages: not Django's admin site, the language switch, uploads, or the
    API (asked with an API key, not a session: its own tests cover it)."""
    return not route.route.startswith(("admin/", "i18n/", "media/", "api/"))


def shape(path: str) -> str:
    """``/clients/123/?page=2&q=x`` -> ``/clients/N/?page&q``: one crawl budget per shape."""
    parts = urllib.parse.urlsplit(path)
    keys = "&".join(sorted(urllib.parse.parse_qs(parts.query, keep_blank_values=True)))
    return re.sub(r"\d+", "N", parts.path) + ("?" + keys if keys else "")


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    requests: int = 0
    pages: Counter = field(default_factory=Counter)
    statics: set[str] = field(default_factory=set)
    reached: dict[str, set[str]] = field(default_factory=dict)  # route name -> roles
    values: dict[str, set[str]] = field(default_factory=dict)  # param -> values seen
    anonymous: Session | None = None

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print("  FAIL", message, flush=True)


def log_in(session: Session, username: str, password: str, report: Report) -> bool:
    page = session.get("/accounts/login/")
    token = CSRF_INPUT.search(page.text)
    if page.status != 200 or not token:
        report.fail(f"{username}: the log-in page answered {page.status} without a form")
        return False
    reply = session.post_form(
        "/accounts/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
    )
    if reply.status != 302 or "sessionid" not in session.cookies:
        report.fail(f"{username}: log-in answered {reply.status}, not a redirect with a session")
        return False
    return True


def links(base_path: str, body: str) -> list[str]:
    found = []
    for raw in LINK.findall(body):
        raw = html.unescape(raw).strip()
        if not raw or raw.startswith(("javascript:", "mailto:", "tel:", "data:")):
            continue
        url = urllib.parse.urlsplit(urllib.parse.urljoin(base_path, raw))
        if url.scheme or url.netloc:
            continue  # another site: the strict CSP allows none, and nothing here links out
        found.append(url.path + ("?" + url.query if url.query else ""))
    return found


def check_page(role: str, path: str, reply: Reply, report: Report, routes: list[Route]) -> None:
    bare = urllib.parse.urlsplit(path).path
    for route in routes:
        match = route.regex.match(bare)
        if match:
            report.reached.setdefault(route.name, set()).add(role)
            for name, value in match.groupdict().items():
                report.values.setdefault(name, set()).add(value)
            break
    if reply.status >= 500:
        report.fail(f"{role}: GET {path} -> {reply.status}")
        return
    if reply.status == 200 and "no-store" not in reply.headers.get("cache-control", ""):
        # A public page (the log-in page, the health check, the API's schema) may be cached;
        # one that only a signed-in user gets may not.
        if report.anonymous.get(path).status != 200:
            report.fail(f"{role}: GET {path} is a signed-in page without Cache-Control: no-store")


def crawl(session: Session, role: str, routes: list[Route], args, report: Report) -> None:
    start = ["/", *args.start] + [route.fill({}) for route in routes if not route.params]
    queue = [p for p in start if not p.startswith(SKIP_PREFIXES)]
    seen: set[str] = set()
    budget: Counter = Counter()
    asked = 0
    while queue and asked < args.max_per_role:
        path = queue.pop(0)
        if path in seen or budget[shape(path)] >= args.per_shape:
            continue
        seen.add(path)
        budget[shape(path)] += 1
        reply = session.get(path)
        asked += 1
        report.requests += 1
        report.pages[reply.status] += 1
        if args.verbose:
            print(f"    {reply.status} {path}", flush=True)
        check_page(role, path, reply, report, routes)
        if reply.status in (301, 302, 303, 307, 308):
            location = urllib.parse.urlsplit(reply.headers.get("location", ""))
            target = location.path + ("?" + location.query if location.query else "")
            if target.startswith("/static/"):
                report.statics.add(target)
            elif not target.startswith(("/accounts/login/", *SKIP_PREFIXES)):
                queue.append(target)
            continue
        if reply.status != 200 or not reply.is_html:
            continue
        for link in links(path, reply.text):
            if link.startswith("/static/"):
                report.statics.add(link.split("?")[0])
            elif not link.startswith(SKIP_PREFIXES) and link not in seen:
                queue.append(link)
    print(f"  {role}: {asked} pages asked", flush=True)


def ask_unreached(session: Session, role: str, routes: list[Route], report: Report) -> None:
    """URLs no link reached (actions, pages linked from a form, machines' webhooks): asked with
    ids seen while crawling (else 1) and a made-up token. An action refuses GET (405), a webhook an
    unsigned request; nothing may be a 5xx."""
    for route in routes:
        if route.name in report.reached or not product_route(route):
            continue
        # A row no page linked to (none exists in the demo): id 1, which must answer too.
        values = {p: "smoke" for p in route.tokens}
        for param in route.params:
            if param not in values:
                values[param] = sorted(report.values.get(param) or {"1"})[0]
        path = route.fill(values)
        reply = session.get(path)
        report.requests += 1
        check_page(role, path, reply, report, routes)


def out_of_range(session: Session, role: str, routes: list[Route], report: Report) -> None:
    """Every URL that names a row by id, with an id past 2^63 - 1; the lists with a page number
    past what the database can offset: page not found, never a database error."""
    for route in routes:
        if not route.ids or not product_route(route):
            continue
        values = {
            p: PAST_BIGINT if p in route.ids else sorted(report.values.get(p, {"x"}))[0]
            for p in route.params
        }
        path = route.fill(values)
        reply = session.get(path)
        report.requests += 1
        if reply.status not in (404, 405):
            report.fail(f"{role}: GET {path} (an id past 2^63 - 1) -> {reply.status}, not 404")
    for path in LIST_PAGES:
        reply = session.get(f"{path}?page=1{'0' * 19}")
        report.requests += 1
        if reply.status not in (404, 403):
            report.fail(f"{role}: GET {path}?page=10^19 -> {reply.status}, not 404")


def check_statics(session: Session, report: Report) -> None:
    queue, done = sorted(report.statics), set()
    while queue:
        path = queue.pop(0)
        if path in done:
            continue
        done.add(path)
        reply = session.get(path)
        report.requests += 1
        if reply.status != 200 or not reply.body:
            report.fail(f"static {path} -> {reply.status}")
            continue
        if not HASHED.search(path):
            report.fail(f"static {path} is not a hashed name from the manifest")
        if "immutable" not in reply.headers.get("cache-control", ""):
            report.fail(
                f"static {path} is not cached for good: {reply.headers.get('cache-control')}"
            )
        if path.endswith(".css"):
            for target in CSS_URL.findall(reply.text):
                if not target.startswith("data:"):
                    queue.append(urllib.parse.urljoin(path, target))
    print(f"  static files: {len(done)} fetched", flush=True)


def check_api(args, routes: list[Route], report: Report) -> None:
    """The API's URLs without an id, asked with a key: answered, never a 5xx."""
    session = Session(args.base, args.timeout)
    header = {"Authorization": f"Api-Key {args.api_key}", "Accept": "application/json"}
    asked = 0
    for route in routes:
        if not route.route.startswith("api/") or route.params:
            continue
        path = route.fill({})
        reply = session.request(path, headers=header)
        asked += 1
        report.requests += 1
        if reply.status >= 500:
            report.fail(f"API: GET {path} -> {reply.status}")
    print(f"  API: {asked} URLs asked with a key", flush=True)


def check_limits(args, report: Report) -> None:
    """The request caps as deployed: gunicorn refuses a request line past 8 KB (414), and the
    app refuses an upload declared past its limit (413) without waiting for the body."""
    import http.client

    parts = urllib.parse.urlsplit(args.base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=args.timeout)
    connection.request("GET", "/clients/?q=" + "x" * 9000)
    status = connection.getresponse().status
    connection.close()
    if status not in (400, 414):
        report.fail(f"a 9 KB request line -> {status}, not 414 from gunicorn")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=args.timeout)
    connection.putrequest("POST", "/import/")
    connection.putheader("Content-Type", "multipart/form-data; boundary=smoke")
    connection.putheader("Content-Length", str(4 * 1024**3))  # 4 GB declared, a few bytes sent
    connection.endheaders(b"--smoke\r\n")
    started = time.monotonic()
    response = connection.getresponse()
    elapsed = time.monotonic() - started
    connection.close()
    if response.status != 413:
        report.fail(f"an upload declared at 4 GB -> {response.status}, not 413")
    elif elapsed > 10:
        report.fail(f"an upload declared at 4 GB was refused only after {elapsed:.0f} s")
    else:
        print(
            f"  limits: a 9 KB request line {status}, a 4 GB upload 413 in {elapsed:.2f} s",
            flush=True,
        )


def check_worker(session: Session, args, report: Report) -> None:
    """An upload on the import page, checked by the Celery worker: the page's state ends done."""
    page = session.get("/import/")
    token = CSRF_INPUT.search(page.text)
    if page.status != 200 or not token:
        report.fail(f"import page -> {page.status} without a form")
        return
    content = b"client;date;amount\nSMOKE-1;2026-01-10;1500,00\nSMOKE-2;11.01.2026;990\n"
    reply = session.post_multipart(
        "/import/",
        {"csrfmiddlewaretoken": token.group(1), "kind": "transactions"},
        {"file": ("smoke.csv", content)},
    )
    location = reply.headers.get("location", "")
    if reply.status != 302 or not re.search(r"/import/\d+/$", location):
        report.fail(f"upload -> {reply.status} {location!r}, not a redirect to the job")
        return
    job = urllib.parse.urlsplit(location).path
    deadline = time.monotonic() + args.worker_timeout
    state = None
    while time.monotonic() < deadline:
        found = STATE.search(session.get(job).text)
        state = found.group(1) if found else None
        if state not in ("queued", "running"):
            break
        time.sleep(0.5)
    if state != "done":
        report.fail(f"import job {job}: state {state!r} after {args.worker_timeout}s, not done")
    else:
        print(f"  worker: the uploaded file was checked ({job})", flush=True)


def main() -> int:
    if sys.argv[1:] == ["--dump-routes"]:
        import django

        django.setup()
        print(json.dumps(urlconf_routes(), indent=1))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="e.g. http://127.0.0.1:8137")
    parser.add_argument("--routes", required=True, help="the URL conf as JSON")
    parser.add_argument("--user", action="append", required=True, help="role=username:password")
    parser.add_argument("--api-key", help="a key to ask the API's lists with")
    parser.add_argument("--start", action="append", default=[], help="a page to crawl from")
    parser.add_argument("--per-shape", type=int, default=3)
    parser.add_argument("--max-per-role", type=int, default=400)
    parser.add_argument("--import", dest="import_user", help="role whose upload tests the worker")
    parser.add_argument("--worker-timeout", type=float, default=90)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--verbose", action="store_true", help="print every page asked")
    args = parser.parse_args()

    routes = load_routes(args.routes)
    report = Report()
    sessions = {}
    anonymous = report.anonymous = Session(args.base, args.timeout)
    health = anonymous.get("/healthz")
    if health.status != 200:
        report.fail(f"/healthz -> {health.status}: {health.text[:200]}")
    for spec in args.user:
        role, _, credentials = spec.partition("=")
        username, _, password = credentials.partition(":")
        print(f"== {role} ({username})", flush=True)
        session = Session(args.base, args.timeout)
        if not log_in(session, username, password, report):
            continue
        sessions[role] = session
        if role == args.import_user:
            check_worker(session, args, report)  # first: the crawl then sees the job's pages
        crawl(session, role, routes, args, report)
    for role, session in sessions.items():
        ask_unreached(session, role, routes, report)
        out_of_range(session, role, routes, report)
    check_statics(anonymous, report)
    check_limits(args, report)
    if args.api_key:
        check_api(args, routes, report)

    product = [r for r in routes if product_route(r)]
    never = sorted(r.name for r in product if r.name not in report.reached)
    for name in never:
        report.fail(f"URL {name!r} was asked by no role")
    print(
        f"== {report.requests} requests; pages by status {dict(sorted(report.pages.items()))}; "
        f"{len(product) - len(never)}/{len(product)} URLs reached; "
        f"{len(report.statics)} static files named by the pages",
        flush=True,
    )
    if report.failures:
        print(f"== FAILED: {len(report.failures)} problem(s)", flush=True)
        for failure in report.failures:
            print("  -", failure)
        return 1
    print("== production smoke passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
