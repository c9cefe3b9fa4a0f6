"""One settings object for the service and the CLI, read from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The process leading the background holds three connections for good (its lock, the
# projection runner's and the watchers' listeners); the runner's step, the tenant's
# writer and the requests need one each beside them, or they take turns waiting on one
# another.
MIN_POOL_SIZE = 6
# The longest a bearer token may live: a leaked token opens the API until it expires.
TOKEN_MAX_DAYS = 90


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEILEDGER_", extra="ignore")

    # With no DATABASE_URL, an embedded PostgreSQL runs in data_dir/pg.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "WEILEDGER_DATABASE_URL")
    )
    data_dir: Path = Path(".data")
    # The service's connections take this role, which may only INSERT and SELECT events.
    app_role: str | None = "weiledger_app"
    tenant: str = "demo"
    host: str = "127.0.0.1"
    port: int = 8000
    pool_size: int = Field(default=10, ge=MIN_POOL_SIZE)  # connections per process
    workers: int = Field(default=1, ge=1)  # processes serving requests (`weiledger serve`)
    # The brands' Ed25519 signing keys (export), the checkpoints' receipts and the
    # personal-data key-encryption key: outside the database on purpose. None:
    # data_dir/keys.
    keys_dir: Path | None = None
    # The key-encryption key (base64 of 32 bytes) from a secret manager, instead of the
    # file <keys>/personal-data-<id>.kek (eventstore/kek.py).
    kek: SecretStr | None = None
    checkpoint_every: int = 10_000  # events per signed checkpoint
    # The longest lifetime `weiledger users` gives a token, in days.
    token_max_days: float = Field(default=TOKEN_MAX_DAYS, gt=0, le=3650)
    # /ready answers 503 while a read model is more than this many events behind the
    # log (a caught-up service lags a round of PACE: tens of events under load).
    ready_max_lag: int = Field(default=10_000, ge=0)
    # The HQ console's sessions: signed out after this many idle minutes, and this many
    # hours after signing in whatever it did.
    session_idle_minutes: float = Field(default=30, gt=0)
    session_max_hours: float = Field(default=12, gt=0)
    # Sign-in refused for a while after this many wrong passwords in a row: the first
    # wait is lockout_seconds, doubling with each further miss, up to lockout_max_seconds.
    lockout_after: int = Field(default=5, ge=1)
    lockout_seconds: float = Field(default=30, gt=0)
    lockout_max_seconds: float = Field(default=3600, gt=0)
    # Signs the console's CSRF cookies; every serving process must share it. None: a
    # random one kept in <keys>/console-secret (made on first start).
    console_secret: SecretStr | None = None

    def keys_folder(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"

    def describe_database(self) -> str:
        """Where the data lives, without credentials (safe to log and to show on /health)."""
        if self.database_url is None:
            return f"embedded:{self.data_dir.resolve() / 'pg'}"
        tail = self.database_url.rsplit("@", 1)[-1]
        return f"postgresql://{tail}"
