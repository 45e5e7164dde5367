"""``labctl jobs``: client commands for a running service (submit, list, watch, cancel)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from labctl.cli._listing import print_listing

DEFAULT_URL = "http://127.0.0.1:8765"


class Client:
    """A thin httpx client: base URL, bearer token, and 4xx bodies turned into one-line errors."""

    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            r = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise click.ClickException(f"cannot reach the service at {self.http.base_url}: {exc}") from exc
        if r.status_code >= 400:
            raise click.ClickException(f"HTTP {r.status_code}: {_explain(r)}")
        return r.json()

    def events(self, job_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """The job's server-sent events as ``(event, data)``, until the stream ends."""
        import httpx

        try:
            with self.http.stream("GET", f"/jobs/{job_id}/events", timeout=httpx.Timeout(30.0, read=None)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise click.ClickException(f"HTTP {r.status_code}: {_explain(r)}")
                yield from parse_sse(r.iter_lines())
        except httpx.TransportError as exc:
            raise click.ClickException(f"lost the event stream of job {job_id}: {exc}") from exc


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events from text lines (``event:`` / ``data:`` fields, blank line ends an event)."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)


def _explain(r: Any) -> str:
    try:
        body = r.json()
    except ValueError:
        return str(r.text)[:300]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors: name the field
        parts = []
        for e in detail:
            loc = ".".join(str(x) for x in e.get("loc", []) if x != "body")
            msg = str(e.get("msg"))
            parts.append(msg if not loc or msg.startswith(loc) else f"{loc}: {msg}")
        return "; ".join(parts)
    return str(detail)


def _parse_params(pairs: tuple[str, ...], params_file: Path | None) -> dict[str, Any]:
    params: dict[str, Any] = json.loads(params_file.read_text()) if params_file else {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


class _Conn:
    """Where the service is: ``--url``/``--token`` given on the group or on the subcommand (the later wins)."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url, self.token = url, token
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.http.close()


def _connection(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--url``/``--token`` on a subcommand too (``labctl jobs list --url ...``); passes the client first."""

    def wrapper(conn: _Conn, /, *args: Any, sub_url: str | None, sub_token: str | None, **kw: Any) -> Any:
        if sub_url is not None:
            conn.url = sub_url
        if sub_token is not None:
            conn.token = sub_token
        return f(conn.client(), *args, **kw)

    functools.update_wrapper(wrapper, f)
    decorated = click.pass_obj(wrapper)
    decorated = click.option("--token", "sub_token", default=None,
                             help="The service's bearer token (as on `labctl jobs`).")(decorated)
    return click.option("--url", "sub_url", default=None, help="Base URL of the service (as on `labctl jobs`).")(
        decorated)


@click.group("jobs")
@click.option("--url", envvar="LABCTL_URL", default=DEFAULT_URL, show_default=True, show_envvar=True,
              help="Base URL of the service (also accepted after the subcommand).")
@click.option("--token", envvar="LABCTL_TOKEN", default=None, show_envvar=True,
              help="The service's bearer token (also accepted after the subcommand).")
@click.pass_context
def command(ctx: click.Context, url: str, token: str | None) -> None:
    """Client commands for a running `labctl serve`."""
    ctx.obj = _Conn(url, token)
    ctx.call_on_close(ctx.obj.close)


@command.command("submit")
@click.argument("protocol")
@click.option("--bench", default="sim", show_default=True, help="Bench name (see `labctl jobs benches`).")
@click.option("--crossbar", default=None, help="Crossbar of the bench (default: its first).")
@click.option("-p", "--param", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A protocol parameter; VALUE is JSON if it parses (numbers, lists), else a string.")
@click.option("--params-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON file of parameters (-p entries override).")
@click.option("--watch/--no-watch", default=False, help="Follow progress until the job ends.")
@_connection
def submit(client: Client, protocol: str, bench: str, crossbar: str | None, pairs: tuple[str, ...],
           params_file: Path | None, watch: bool) -> None:
    """Queue PROTOCOL on a bench; prints the job id."""
    body = {"protocol": protocol, "bench": bench, "crossbar": crossbar, "params": _parse_params(pairs, params_file)}
    job = client.request("POST", "/jobs", json=body)
    click.echo(job["id"])
    if watch:
        _watch(client, job["id"])


@command.command("list")
@click.option("--state", type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled"]), default=None)
@click.option("--bench", "lane", default=None, help="Only this bench ('trainer' for training jobs).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON page.")
@_connection
def list_jobs(client: Client, state: str | None, lane: str | None, limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    query: dict[str, Any] = {"limit": limit}
    if state:
        query["state"] = state
    if lane:
        query["lane"] = lane
    page = client.request("GET", "/jobs", params=query)
    if as_json:
        click.echo(json.dumps(page, indent=2))
        return
    rows = [(j["id"], j["lane"], j.get("protocol") or j["kind"], j["state"],
             f"{j['progress']['done']}/{j['progress']['total']}" if j.get("progress") else "", j.get("run_id") or "")
            for j in page["jobs"]]
    print_listing(("id", "lane", "job", "state", "progress", "run"), rows, title=f"{page['total']} job(s)")


@command.command("watch")
@click.argument("job_id")
@_connection
def watch(client: Client, job_id: str) -> None:
    """Follow a job's progress (server-sent events) until it ends; exit status 1 unless it succeeded."""
    _watch(client, job_id)


@command.command("cancel")
@click.argument("job_id")
@_connection
def cancel(client: Client, job_id: str) -> None:
    """Cancel a queued or running job (a running protocol leaves its bench in the safe state)."""
    job = client.request("POST", f"/jobs/{job_id}/cancel")
    click.echo(f"{job['id']} {job['state']}")


@command.command("benches")
@_connection
def benches(client: Client) -> None:
    """The service's benches, their crossbars and queues (names for `jobs submit --bench`)."""
    for b in client.request("GET", "/benches", params={"instruments": "false"}):
        xbars = ", ".join(f"{n} {g['rows']}x{g['cols']}" for n, g in b["crossbars"].items())
        running = b.get("running_job") or "-"
        click.echo(f"{b['name']}\tcrossbars {xbars}\trunning {running}\tqueued {b['queued_jobs']}")


def _watch(client: Client, job_id: str) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    final: dict[str, Any] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[message]}"))
    try:
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"job {job_id}", total=None, message="")
            for event, data in client.events(job_id):
                if event == "progress":
                    bar.update(task, completed=data["done"], total=data["total"] or None,
                               message=data.get("message", ""))
                elif event == "state":
                    final = data
                    bar.update(task, description=f"job {job_id} [{data['state']}]")
    except KeyboardInterrupt:
        click.echo(f"stopped watching; job {job_id} is still running on the service. Follow it again with "
                   f"`labctl jobs watch {job_id}`, stop it with `labctl jobs cancel {job_id}`", err=True)
        sys.exit(130)
    state = final.get("state", "unknown")
    click.echo(f"{job_id} {state}" + (f": {final['error']}" if final.get("error") else ""))
    if final.get("run_id"):
        click.echo(f"run {final['run_id']}")
    if state != "succeeded":
        sys.exit(1)
