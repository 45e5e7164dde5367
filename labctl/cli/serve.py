"""``labctl serve``: run the HTTP service next to the bench (uvicorn)."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_PORT = 8765


@click.command("serve")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Service YAML (benches to own); default: the embedded simulated bench.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback needs a token.")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--store", type=click.Path(file_okay=False, path_type=Path), default=Path("labctl-store"),
              show_default=True, help="Folder of the run journal and the job table.")
@click.option("--token", envvar="LABCTL_TOKEN", default=None, show_envvar=True,
              help="Bearer token every request must carry (>= 16 characters). Required off loopback.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="info", show_default=True)
def command(config_path: Path | None, host: str, port: int, store: Path, token: str | None, log_level: str) -> None:
    """The asyncio HTTP service: protocol jobs, progress and results for the benches in --config.

    Jobs persist in STORE/jobs.sqlite: queued jobs stay queued across restarts, and a job interrupted by a
    crash resumes from its run without re-pulsing verified cells. Dashboard: http://HOST:PORT/ (in a browser);
    API docs: http://HOST:PORT/docs.
    """
    import uvicorn

    from labctl.service import create_app, load_service_config
    from labctl.service.security import check_bind

    check_bind(host, token or None)
    config = load_service_config(config_path)
    from labctl.bench import DEFAULT_CONFIG, load_config

    for entry in config.benches:  # every error of every bench file now, not as a traceback at start-up
        load_config(entry.config or DEFAULT_CONFIG)
    app = create_app(config, store, token=token or None, freeze_gc=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=10,
                access_log=log_level == "debug")
