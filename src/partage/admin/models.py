"""Figures kept for the administration pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date
from sqlalchemy.orm import Mapped, mapped_column

from partage.db import Base


class TrafficDay(Base):
    """Downloads counted in one UTC day, and their bytes (each counted download adds the
    file's size: a GET from byte 0; resumed ranges and aborted transfers are not measured)."""

    __tablename__ = "traffic_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
