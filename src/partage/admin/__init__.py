"""Administration: users, plans, figures, the media job queue and runtime settings."""
