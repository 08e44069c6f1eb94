"""Process settings from the environment (pydantic-settings); secrets stay SecretStr."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

# Python's level names, as the logs show them; any case is accepted.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# ALERTD_ variables alertd reads without Settings: `silence --url`'s default.
READ_ELSEWHERE = frozenset({"ALERTD_URL"})


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _delay(value: object) -> object:
    """`auto`, in any case, or a number of seconds; anything else is refused in words."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return text
        try:
            return float(text)
        except ValueError:
            raise PydanticCustomError("delay", "should be auto or a number of seconds") from None
    return value


CREDENTIALS_MISSING = (
    "set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (and CLOUDFLARE_API_BASE for the emulator)"
)


class Settings(BaseSettings):
    """Everything alertd reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="ALERTD_", extra="ignore", populate_by_name=True)

    cloudflare_api_base: str = Field(
        default="https://api.cloudflare.com/client/v4",
        validation_alias=AliasChoices("CLOUDFLARE_API_BASE", "ALERTD_CLOUDFLARE_API_BASE"),
    )
    cloudflare_account_id: str = Field(
        default="",
        validation_alias=AliasChoices("CLOUDFLARE_ACCOUNT_ID", "ALERTD_CLOUDFLARE_ACCOUNT_ID"),
    )
    cloudflare_api_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("CLOUDFLARE_API_TOKEN", "ALERTD_CLOUDFLARE_API_TOKEN"),
    )
    # Under systemd, StateDirectory= and ConfigurationDirectory= say where; elsewhere
    # relative to the working directory, as a last resort.
    rules_dir: Path = Field(
        default_factory=lambda: _systemd_dir("CONFIGURATION_DIRECTORY", "rules")
    )
    state_dir: Path = Field(default_factory=lambda: _systemd_dir("STATE_DIRECTORY", "state"))
    # postgresql://user:password@host:port/dbname keeps the state in PostgreSQL instead
    # of the SQLite file in state_dir. Secret: it may hold a password.
    state_url: SecretStr = SecretStr("")
    # A file holding the API token (a mounted Secret, a systemd credential).
    cloudflare_api_token_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "CLOUDFLARE_API_TOKEN_FILE", "ALERTD_CLOUDFLARE_API_TOKEN_FILE"
        ),
    )
    log_level: Annotated[
        str,
        BeforeValidator(_lower),
        StringConstraints(pattern=f"^({'|'.join(LOG_LEVELS)})$"),
    ] = "info"
    log_format: str = Field(default="auto", pattern="^(auto|json|logfmt|console)$")
    # On SIGTERM, how long the outbox may keep sending before the daemon exits.
    shutdown_drain_seconds: float = Field(default=10.0, ge=0)
    query_timeout_seconds: float = Field(default=30.0, gt=0)
    query_concurrency: int = Field(default=4, ge=1)
    query_retries: int = Field(default=3, ge=0)
    # Retrying one query (Retry-After waits included) stops rather than pass this.
    query_deadline_seconds: float = Field(default=120.0, gt=0)
    # An answer bigger than this is refused unread rather than held in memory.
    query_max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # Windows end this long before now: `auto` follows each dataset's measured ingest lag
    # within [evaluation_delay_min, evaluation_delay_max]; a number fixes it.
    evaluation_delay_seconds: Annotated[
        Literal["auto"] | Annotated[float, Field(ge=0)], BeforeValidator(_delay)
    ] = "auto"
    evaluation_delay_min: float = Field(default=10.0, ge=0)
    # A lag beyond this raises AlertdSourceLagging; windows then end incomplete.
    evaluation_delay_max: float = Field(default=180.0, gt=0)
    source_down_after_seconds: float = Field(default=300.0, gt=0)
    # How much history one batch of a backtest's range statements covers.
    backtest_chunk_seconds: int = Field(default=3600, ge=60)
    group_concurrency: int = Field(default=2, ge=1)
    history_limit: int = Field(default=120, ge=1)
    # Replicas on one PostgreSQL database: how long a rule group's or the notification
    # pipeline's lease lasts unrenewed. A dead replica's work moves within 4/3 of it (it
    # expires, then the next beat, every third of a lease, takes it): 20 s moves it
    # within about 27 s, under two 30 s evaluation intervals, and renewals ride out a
    # database pause of about 13 s.
    lease_seconds: float = Field(default=20.0, ge=1)
    # A notification no receiver attempt could deliver for this long expires, and is logged.
    notification_max_age_seconds: float = Field(default=6 * 3600.0, gt=0)
    # Transitions, delivered notifications and ended silences older than this are deleted.
    retention_days: float = Field(default=14.0, gt=0)
    # The daemon's public address: every notification links `<external_url>/alerts/<id>`.
    external_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    # Where `run` and `demo` serve the HTTP API, health and metrics (HOST:PORT). Loopback
    # by default; 9079 is clear of Prometheus (9090), Alertmanager (9093/9094) and the
    # exporters' range (9100-9999).
    http_addr: str = "127.0.0.1:9079"
    # `AlertdWatchdog` always fires, for a heartbeat service to notice when it stops.
    watchdog: bool = False
    # The bearer token the API's changing endpoints need; unset, they are off.
    api_token: SecretStr = SecretStr("")
    api_token_file: Path | None = None

    @model_validator(mode="after")
    def _token_from_file(self) -> Self:
        """CLOUDFLARE_API_TOKEN wins; else CLOUDFLARE_API_TOKEN_FILE; else the systemd
        credential `cloudflare-api-token` in $CREDENTIALS_DIRECTORY."""
        if self.cloudflare_api_token.get_secret_value():
            return self
        path = self.cloudflare_api_token_file
        if path is None:
            credentials = os.environ.get("CREDENTIALS_DIRECTORY")
            candidate = Path(credentials, CREDENTIAL_NAME) if credentials else None
            if candidate is None or not candidate.exists():
                return self
            path = candidate
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the API token from {path}: {_why(exc)}") from None
        if not token:
            raise ValueError(f"the API token file {path} is empty")
        self.cloudflare_api_token = SecretStr(token)
        return self

    @model_validator(mode="after")
    def _known_state_url(self) -> Self:
        url = self.state_url.get_secret_value()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "ALERTD_STATE_URL must be a postgresql:// URL (or unset, for the SQLite file"
                f" in ALERTD_STATE_DIR), not one starting {url.split(':', 1)[0]!r}"
            )
        return self

    @model_validator(mode="after")
    def _ordered_delays(self) -> Self:
        if self.evaluation_delay_min > self.evaluation_delay_max:
            raise ValueError(
                f"ALERTD_EVALUATION_DELAY_MIN ({self.evaluation_delay_min:g}) is more than "
                f"ALERTD_EVALUATION_DELAY_MAX ({self.evaluation_delay_max:g})"
            )
        return self

    @property
    def state_file(self) -> Path:
        """The SQLite file the daemon and the CLI share."""
        return self.state_dir / "alertd.db"

    def credentials_problem(self) -> str | None:
        """Why the Analytics Engine cannot be asked, or None."""
        if not self.cloudflare_account_id or not self.cloudflare_api_token.get_secret_value():
            return CREDENTIALS_MISSING
        return None


CREDENTIAL_NAME = "cloudflare-api-token"


def _systemd_dir(variable: str, fallback: str) -> Path:
    """The first directory systemd lists in `variable` (colon-separated), else `fallback`."""
    listed = os.environ.get(variable, "").split(":")[0]
    return Path(listed) if listed else Path(fallback)


def _why(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "not UTF-8 text"
