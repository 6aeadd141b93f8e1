"""Everything a process needs, built once from the settings.

The web app keeps one on `app.state.ctx`; CLI commands and jobs build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from partage.db import Database
from partage.ratelimit import FailureLimiter
from partage.security import Signer
from partage.settings import Settings
from partage.storage import BlobStore, open_store


@dataclass
class Context:
    settings: Settings
    db: Database
    store: BlobStore
    link_signer: Signer
    limiter: FailureLimiter = field(default_factory=FailureLimiter)

    @classmethod
    def build(cls, settings: Settings) -> Context:
        settings.ensure_dirs()
        return cls(
            settings=settings,
            db=Database(settings.db_url),
            store=open_store(settings),
            link_signer=Signer(settings.signing_key(), "direct-link"),
            limiter=FailureLimiter.from_settings(settings),  # Redis when PARTAGE_CACHE_URL
        )

    def close(self) -> None:
        self.db.dispose()
