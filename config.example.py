# httprouter configuration, a Python file named by HTTPROUTER_CONFIG.
#
# Load order: built-in defaults < this file < environment variables HTTPROUTER_<KEY>
# (parsed as JSON where they parse: HTTPROUTER_ROUTER_SILENT=true, HTTPROUTER_SMS_APPS='["a.B"]').
# Only UPPERCASE names are settings; an unknown name stops the service with a message naming it.
# Every key is listed below with its default, commented out.

# --- Storage -------------------------------------------------------------------------------
# SQLAlchemy URL. Default: a SQLite file, httprouter.sqlite3, in the working folder (WAL mode,
# durable commits). Production: postgresql://user:password@host:5432/dbname (psycopg 3).
# DATABASE_URL = None

# --- Handler apps --------------------------------------------------------------------------
# Dotted class paths of AppBase subclasses, run in this order for every inbound message
# (outgoing hooks in reverse order). An entry may also be a dict with options:
#   {"ENGINE": "myproject.apps.Registration", "welcome": "Karibu!"}
# A path that does not import stops the service at start-up, naming the path.
# SMS_APPS = []
# SMS_APPS = ["httprouter.apps.echo.EchoApp"]

# --- Outbound delivery ---------------------------------------------------------------------
# None: every backend is pull (gateways poll /router/outbox).
# A string: every backend pushes to this URL template.
# A dict: {backend: template, "default": template}; a None value means that backend is pull.
# Template fields (each URL-encoded, UTF-8, space as +): %(backend)s %(recipient)s %(text)s
# %(id)s %(sender)s %(dlr_url)s %(coding)s %(charset)s %(priority)s; %% is a literal %.
# ROUTER_URL = None
# ROUTER_URL = "http://127.0.0.1:13013/cgi-bin/sendsms?username=router&password=secret&to=%(recipient)s&text=%(text)s&smsc=%(backend)s"

# How ROUTER_URL templates are fetched: "GET", or "POST".
# ROUTER_HTTP_METHOD = "GET"

# Full per-backend configuration; wins over ROUTER_URL for that name.
#   {"name": {"ENGINE": "<engine>", ...options}}
# ENGINE: kannel, jasmin, http, dummy, log, file, console (docs/gateways/), or the dotted path of
# your own httprouter.gateways.base.GatewayEngine subclass.
# An entry without ENGINE only sets options for a backend whose template comes from ROUTER_URL;
# BACKENDS["default"] sets options for every backend without an entry of its own.
# The console simulator's backend, "console", has the console engine (its replies are delivered
# to the simulator) unless BACKENDS or a ROUTER_URL dict names it.
# Options every engine takes: timeout (15), rate_limit (messages/second, none),
# max_attempts (3), backoff_base and backoff_max (seconds), permanent_statuses
# ([400, 401, 403, 404, 413, 422]). Receive side: "password", the backend's own credential.
# BACKENDS = {}
# BACKENDS = {"jasmin": {"ENGINE": "jasmin", "url": "http://127.0.0.1:1401/send",
#                        "gateway_user": "router", "gateway_password": "secret"}}

# Base URL at which gateways reach this router (used to build delivery-report URLs).
# Default: http://127.0.0.1:<PORT>.
# PUBLIC_URL = None

# --- Inbound -------------------------------------------------------------------------------
# Shared secret for every router endpoint: the `password` parameter (Kannel, legacy clients) or
# an `Authorization: Bearer ...` header. None leaves the endpoints open (a warning is logged).
# ROUTER_PASSWORD = None

# True: /router/receive answers with an empty body unless the request has a true `echo`
# (for gateways that would text the HTTP answer back to the sender).
# ROUTER_SILENT = False

# Longest inbound or outbound text accepted, in characters (no 160-character cap).
# MAX_MESSAGE_LENGTH = 10000

# How senders and recipients are stored:
#   "plus-digits": strip spaces, dashes, dots and brackets, keep a leading +; sender ids stay.
#   "legacy": the old router's rule, lowercase and keep only [0-9a-z] (loses + and accents).
#   "none": exactly as the gateway sent it.
# IDENTITY_NORMALIZER = "plus-digits"

# Proxies (addresses or CIDR networks) whose X-Forwarded-For header is believed, e.g. your load
# balancer. From anyone else the header is ignored and the connection's address counts.
# TRUSTED_PROXIES = []
# A backend may only be called from certain networks: BACKENDS = {"kannel": {"password": "...",
# "allow_networks": ["127.0.0.1", "10.1.0.0/16"]}} ("default" applies to backends without one).

# After this many failed authentications from one address within AUTH_FAILURE_WINDOW seconds,
# that address gets 429 (with Retry-After) until the window has passed. 0 turns the brake off.
# AUTH_FAILURE_LIMIT = 10
# AUTH_FAILURE_WINDOW = 60

# --- Pull gateways -------------------------------------------------------------------------
# Seconds a message handed out by /router/outbox stays reserved for that poller.
# OUTBOX_LEASE_SECONDS = 60

# /router/status reports ERROR when a queued message is older than this many minutes.
# STATUS_PENDING_MINUTES = 15

# --- Push dispatcher -----------------------------------------------------------------------
# Run a dispatcher inside `httprouter serve` (turn off when running `httprouter worker`s).
# EMBEDDED_DISPATCHER = True
# Concurrent sends per dispatcher process.
# DISPATCHER_CONCURRENCY = 4
# Seconds a dispatcher's claim on a message lasts; a crashed dispatcher's claims expire.
# CLAIM_SECONDS = 120

# --- Console and signing -------------------------------------------------------------------
# Signs console sessions and delivery-report tokens. Default: a random key generated once and
# kept in the database, so every process and restart agrees.
# SECRET_KEY = None
# Console users may also be declared here as {"username": "<password hash>"}.
# CONSOLE_USERS = {}

# --- Service -------------------------------------------------------------------------------
# Port `httprouter serve` listens on when --port is not given.
# PORT = 8080
# LOG_LEVEL = "INFO"
# "json" (one object per line) or "text".
# LOG_FORMAT = "json"
# /metrics (Prometheus) needs the router password unless this is True (then anyone may scrape).
# METRICS_PUBLIC = False
