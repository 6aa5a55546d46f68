"""Every default of the client in one place."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.bird.com"

ENV_ACCESS_KEY = "BIRD_ACCESS_KEY"
ENV_WORKSPACE_ID = "BIRD_WORKSPACE_ID"
ENV_CHANNEL_ID = "BIRD_CHANNEL_ID"
ENV_BASE_URL = "BIRD_BASE_URL"
ENV_LOG = "BIRD_FLASHCALLS_LOG"

# Seconds. `timeout` bounds one attempt from connect to the last byte of the body.
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 5.0
# A longer wait for a response a few hundred bytes long is a mistake (minutes for seconds?).
MAX_TIMEOUT = 3600.0

DEFAULT_MAX_RETRIES = 2
# More retries than this only delay the error: with backoff capped at 8 s, 10 retries wait ~1 min.
MAX_RETRIES_LIMIT = 10
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A Retry-After above this is not waited for: the error goes back to the caller at once.
MAX_RETRY_AFTER = 60.0
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# create rings a phone: a 500, 502 or 504 may come after Bird placed the call, so only the
# statuses that say the request was not acted on are retried.
CREATE_RETRYABLE_STATUSES = frozenset({408, 429, 503})

MAX_CONNECTIONS = 100
# As many idle connections as busy ones: below that, bursts reconnect for most requests.
MAX_KEEPALIVE_CONNECTIONS = MAX_CONNECTIONS

# Bird's responses are a few hundred bytes; anything this large is not a flash-call response.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024

REQUEST_ID_HEADERS = ("Messagebird-Request-Id", "X-Request-Id")
