"""The `partage` command: server side (serve, migrate, admin) and client side."""

from __future__ import annotations

import typer

from partage.cli import admin, client, server

app = typer.Typer(
    name="partage",
    help="partage: a self-hosted file host. Server and client commands.",
    no_args_is_help=True,
    add_completion=False,
)
server.register(app)
app.add_typer(admin.app, name="admin", help="Administer a server (run on the server machine).")
client.register(app)

if __name__ == "__main__":
    app()
