"""partage: a self-hosted file host with a streaming side."""

__version__ = "0.1.0"
