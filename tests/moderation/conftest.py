"""The moderation tests' SMTP inbox: the accounts tests' fixture (a real aiosmtpd server
per module), so every mail a decision sends can be read."""

from tests.accounts.conftest import inbox  # noqa: F401  (the fixture, shared)
