"""Process settings from the environment (pydantic-settings); secrets stay SecretStr."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    rules_dir: Path = Path("rules")
    state_dir: Path = Path("state")
    log_level: str = "info"
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    query_timeout_seconds: float = Field(default=30.0, gt=0)
    query_concurrency: int = Field(default=4, ge=1)
    query_retries: int = Field(default=3, ge=0)
    # Retrying one query (Retry-After waits included) stops rather than pass this.
    query_deadline_seconds: float = Field(default=120.0, gt=0)
    # An answer bigger than this is refused unread rather than held in memory.
    query_max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    evaluation_delay_seconds: float = Field(default=60.0, ge=0)
    source_down_after_seconds: float = Field(default=300.0, gt=0)
    group_concurrency: int = Field(default=2, ge=1)
    history_limit: int = Field(default=120, ge=1)
    # A notification no receiver attempt could deliver for this long expires, and is logged.
    notification_max_age_seconds: float = Field(default=6 * 3600.0, gt=0)
    # Transitions, delivered notifications and ended silences older than this are deleted.
    retention_days: float = Field(default=14.0, gt=0)
    # The daemon's public address: every notification links `<external_url>/alerts/<id>`.
    external_url: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @property
    def state_file(self) -> Path:
        """The SQLite file the daemon and the CLI share."""
        return self.state_dir / "alertd.db"

    def credentials_problem(self) -> str | None:
        """Why the Analytics Engine cannot be asked, or None."""
        if not self.cloudflare_account_id or not self.cloudflare_api_token.get_secret_value():
            return CREDENTIALS_MISSING
        return None
