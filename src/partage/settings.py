"""The one typed settings object. No other module reads the environment.

Values come from `PARTAGE_*` environment variables, then an optional
`partage.toml` in the data directory (or named by `PARTAGE_CONFIG`), then the
defaults below, which give the embedded mode (SQLite, local disk, in-process
jobs).
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    # The only environment reads outside the model itself: where to find the file.
    explicit = os.environ.get("PARTAGE_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("PARTAGE_DATA_DIR", "partage-data")) / "partage.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTAGE_", extra="ignore")

    data_dir: Path = Path("partage-data")
    database_url: str | None = None  # default: sqlite under data_dir
    storage_url: str | None = None  # default: file://data_dir/blobs; or s3://bucket/prefix
    # A store being retired (same URL forms): reads of blobs the primary lacks fall back
    # to it while `partage admin migrate-storage` copies them over; writes never go there.
    storage_fallback_url: str | None = None
    cache_url: str | None = None  # redis://…: rate limits shared by every web process
    secret_key: str | None = None  # default: generated once into data_dir/secret.key
    base_url: str | None = None  # public origin, e.g. https://files.example.org

    admin_email: str | None = None
    admin_password: str | None = None

    registration_open: bool = True
    default_public: bool = True

    # S3-compatible object storage (PARTAGE_STORAGE_URL=s3://bucket/prefix). Unset
    # credentials and region fall back to boto3's usual chain (AWS_* variables, roles).
    s3_endpoint_url: str | None = None  # e.g. https://s3.fr-par.scw.cloud, http://minio:9000
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"  # path for MinIO, Garage
    s3_part_size: int = Field(default=8 * 1024**2, ge=5 * 1024**2, le=5 * 1024**3)

    # Delivery of downloads and streams: `app` (this process sends the bytes),
    # `x-accel` (nginx sends local files named by X-Accel-Redirect; the app only
    # authorises), `redirect` (302 to a presigned object-store URL, or to delivery_url).
    delivery: Literal["app", "x-accel", "redirect"] = "app"
    x_accel_location: str = "/_partage/"  # nginx internal location: blobs/ and media/ under it
    delivery_url: str | None = None  # redirect mode: a CDN origin serving the bucket's keys

    # Direct links
    direct_link_ttl: int = Field(default=6 * 3600, ge=60)
    bind_links_to_ip: bool = False
    trusted_proxies: list[str] = Field(default_factory=list)

    # Sessions
    session_ttl: int = Field(default=30 * 24 * 3600, ge=300)
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS

    # Uploads
    upload_expiry: int = Field(default=24 * 3600, ge=60)  # tus abandoned-upload expiry
    max_upload_size: int = Field(default=100 * 1024**3, ge=1)  # hard ceiling for any plan
    # Any other request body (JSON, forms): refused with 413 past this, while it is read.
    max_request_body: int = Field(default=1024**2, ge=1024)
    # A long tus PATCH records its durable offset every this many bytes (0: only at its end).
    upload_checkpoint_bytes: int = Field(default=64 * 1024**2, ge=0)

    # Rate limits (`limits` notation)
    login_rate_per_account: str = "10/15minutes"
    login_rate_per_address: str = "30/15minutes"
    token_failure_rate_per_address: str = "60/minute"
    link_password_rate_per_address: str = "10/5minutes"  # wrong link passwords
    link_password_rate_per_file: str = "30/5minutes"
    registration_rate_per_address: str = "10/hour"  # accounts created, not failures
    # Password-reset requests (every request counts, found or not: no account enumeration).
    password_reset_rate_per_address: str = "10/hour"
    password_reset_rate_per_email: str = "3/hour"

    # Outgoing mail (password resets, e-mail confirmations): smtp://user:pass@host:25,
    # smtps://…:465 (TLS) or smtp+starttls://…:587. Unset: the links go to the server log.
    smtp_url: str | None = None
    mail_from: str | None = None  # default: partage@<host of base_url, else localhost>

    # Download counters for uncapped links are buffered and flushed this often (s).
    counter_flush_interval: float = 2.0

    # Jobs: unset runs them in-process on a SQLite queue in the data dir; `redis://…`
    # puts them on Redis, consumed by `partage worker` processes on any machine.
    queue_url: str | None = None
    queue_name: str = "partage"  # several deployments (or test runs) may share one Redis
    job_threads: int = Field(default=2, ge=1, le=64)  # consumer threads per process

    # Media: path to an ffmpeg binary; unset: `ffmpeg` on PATH, else imageio-ffmpeg's.
    ffmpeg: str | None = None
    media_processing: bool = True  # make posters, HLS ladders, subtitles…
    media_timeout: int = Field(default=6 * 3600, ge=1)  # a job running longer is killed
    media_max_attempts: int = Field(default=2, ge=1, le=10)  # first run + retries
    media_retry_delay: int = Field(default=60, ge=0)  # seconds before a retry
    media_stale_after: int = Field(default=90, ge=2)  # no heartbeat for this long: dead
    media_sweep_interval: float = Field(default=30.0, ge=0.2)  # watchdog period (s)
    # Stream URLs of private or password-protected files carry a token valid this long.
    stream_token_ttl: int = Field(default=6 * 3600, ge=60)
    # Who may frame /embed/{code}: a CSP frame-ancestors source list.
    embed_frame_ancestors: str = "*"

    # Malware scanning (partage.moderation.malware): clamd's socket, `unix:///path`, a
    # path, or `tcp://host:3310`. Unset: nothing is scanned. `open`: a blob not scanned
    # yet (clamd down) stays downloadable; `closed`: a new blob waits for a clean scan.
    clamav_url: str | None = None
    clamav_fail: Literal["open", "closed"] = "open"
    clamav_rescan_days: float = Field(default=7.0, gt=0)  # rescan blobs scanned longer ago
    clamav_timeout: float = Field(default=120.0, gt=0)  # per socket operation (s)
    clamav_retry_delay: float = Field(default=60.0, ge=0.1)  # first retry after clamd failed

    # Trust and safety (partage.moderation; published on /terms). Strikes count the
    # decisions upheld against an account within `strike_window_days`: the first is a
    # warning; at `strike_upload_suspension_at` uploads stop for
    # `strike_upload_suspension_days`; at `strike_termination_at` the account is closed.
    strike_window_days: int = Field(default=365, ge=1)
    strike_upload_suspension_at: int = Field(default=2, ge=1)
    strike_upload_suspension_days: int = Field(default=7, ge=1)
    strike_termination_at: int = Field(default=3, ge=1)
    # Notifiers: warned at `notifier_warning_at` manifestly unfounded notices within
    # `notifier_window_days`, their notices suspended for `notifier_suspension_days` at
    # `notifier_suspension_at`.
    notifier_window_days: int = Field(default=180, ge=1)
    notifier_warning_at: int = Field(default=3, ge=1)
    notifier_suspension_at: int = Field(default=5, ge=1)
    notifier_suspension_days: int = Field(default=30, ge=1)
    complaint_window_days: int = Field(default=183, ge=1)  # DSA Art. 20: six months at least
    # DMCA 512(g)(2)(C): restore 10 to 14 business days after a counter-notice.
    counter_notice_business_days: int = Field(default=10, ge=10, le=14)
    # Where people may take a dispute out of court (DSA Art. 21), named in statements.
    dispute_settlement: str = ""
    operator_name: str = ""  # who runs this instance, named on /terms and in statements

    # Operations
    # Networks allowed to read /metrics (others get 404); replaces the default.
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    log_format: Literal["text", "json"] = "text"
    access_log: bool = False  # one INFO line per HTTP request (logger partage.access)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'partage.db').resolve()}"

    @property
    def blob_root(self) -> Path:
        if self.storage_url and self.storage_url.startswith("file://"):
            return Path(self.storage_url.removeprefix("file://"))
        return self.data_dir / "blobs"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def media_root(self) -> Path:
        """Posters, HLS ladders and other outputs, one directory per blob."""
        return self.data_dir / "media"

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.blob_root, self.staging_dir, self.media_root):
            d.mkdir(parents=True, exist_ok=True)

    def signing_key(self) -> bytes:
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            try:
                os.link(tmp, path)  # first writer wins when several processes start at once
            except FileExistsError:
                pass
            os.unlink(tmp)
        return path.read_text().strip().encode()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[Any] = [init_settings, env_settings]
        path = _toml_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
