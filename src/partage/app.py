"""The one ASGI application: API, tus, pages and downloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from partage import __version__
from partage.context import Context
from partage.settings import Settings, get_settings
from partage.web import apidocs, errors, guard
from partage.web.templating import STATIC


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    ctx = Context.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from partage.files.counters import counters

        await counters.start(ctx)
        try:
            yield
        finally:
            await counters.stop()
            ctx.close()

    app = FastAPI(
        title="partage",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # partage.web.apidocs serves it from our static files
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_exception_handler(Exception, guard.leave_to_guard)
    apidocs.install(app)

    from partage.files import preview
    from partage.media.service import media_view

    preview.register_player(media_view)  # files never imports media: wired here

    from partage.accounts import pages as account_pages
    from partage.accounts import routes as account_routes
    from partage.admin import pages as admin_pages
    from partage.admin import routes as admin_routes
    from partage.files import folder_pages, public_pages
    from partage.files import pages as file_pages
    from partage.files import routes as file_routes
    from partage.media import pages as media_pages
    from partage.media import routes as media_routes
    from partage.media import streams
    from partage.moderation import notice_pages, notice_routes
    from partage.ops import health as ops_health
    from partage.uploads import routes as upload_routes
    from partage.uploads import tus
    from partage.web import language

    app.include_router(ops_health.router)
    app.include_router(account_routes.router)
    app.include_router(tus.router)
    app.include_router(upload_routes.router)
    app.include_router(file_routes.router)
    app.include_router(media_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(streams.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(account_pages.router)
    app.include_router(file_pages.router)
    app.include_router(media_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(language.router)
    app.include_router(notice_routes.router)
    app.include_router(notice_pages.router)
    from partage.moderation import audit_pages, audit_routes, transparency_pages

    app.include_router(audit_routes.router)
    app.include_router(audit_pages.router)
    app.include_router(transparency_pages.router)
    from partage.moderation import complaint_pages, complaint_routes, statement_pages, terms_page

    app.include_router(complaint_routes.router)
    app.include_router(statement_pages.router)
    app.include_router(complaint_pages.router)
    app.include_router(terms_page.router)
    from partage.moderation import bank_pages, bank_routes

    app.include_router(bank_routes.router)
    app.include_router(bank_pages.router)
    app.include_router(folder_pages.router)  # /s/<hash>: shared folders
    app.include_router(public_pages.router)  # last: it owns the catch-all /{code}
    return app


def asgi() -> object:
    """Entry point for the ASGI server (granian --factory partage.app:asgi).

    Runs in each web worker process, which inherits no logging set-up: configure it here."""
    from partage.files.download import with_direct_downloads
    from partage.ops import logs
    from partage.ops.lifecycle import die_with_parent
    from partage.ops.middleware import OpsMiddleware
    from partage.web.headers import SecurityHeaders

    die_with_parent()
    settings = get_settings()
    logs.configure(settings)
    pages = create_app(settings)
    app = with_direct_downloads(pages)
    app = guard.Guard(app, pages=pages, max_body=settings.max_request_body)
    # Outermost: error answers made by the layers below (the guard's too) get the headers.
    return SecurityHeaders(OpsMiddleware(app, access_log=settings.access_log), settings)
