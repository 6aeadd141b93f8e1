"""Mails decided inside a transaction, sent only once it has committed.

A message is kept as a function of the site's address (known to the request or, in a job,
from `PARTAGE_BASE_URL`), so services need not know where they are reached from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from partage import mail
from partage.settings import Settings


@dataclass
class Mail:
    to: str
    subject: str
    body: str
    link: str | None = None


Letter = Callable[[str], Mail | None]


@dataclass
class Outbox:
    letters: list[Letter] = field(default_factory=list)

    def add(self, letter: Letter | None) -> None:
        if letter is not None:
            self.letters.append(letter)

    def extend(self, other: Outbox) -> None:
        self.letters += other.letters

    def send(self, settings: Settings, base: str | None = None) -> list[Mail]:
        base = (base or settings.base_url or "").rstrip("/")
        sent = []
        for letter in self.letters:
            m = letter(base)
            if m is not None and m.to:
                mail.send(settings, m.to, m.subject, m.body, link=m.link)
                sent.append(m)
        self.letters.clear()
        return sent
