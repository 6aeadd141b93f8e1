def with_direct_downloads(app):  # type: ignore[no-untyped-def]
    return app
