"""``labctl protocols [NAME]``: the programming protocols and their parameters."""

from __future__ import annotations

import click


@click.command(name="protocols")
@click.argument("name", required=False)
def command(name: str | None) -> None:
    """List the protocols; with NAME, its parameters (type, default, allowed range, description with unit)."""
    import protocols as registry
    from protocols._describe import param_infos

    if name is None:
        width = max(len(n) for n in registry.REGISTRY)
        for spec in registry.REGISTRY.values():
            resumable = " (resumable)" if spec.resumable else ""
            click.echo(f"{spec.name:<{width}}  {spec.summary}{resumable}")
        click.echo("\n`labctl protocols NAME` lists a protocol's parameters; set them with "
                   "`labctl run NAME --set KEY=VALUE` or `labctl jobs submit NAME -p KEY=VALUE`.")
        return
    spec = registry.get(name)
    click.echo(f"{spec.name}: {spec.summary}" + (" Resumable (--resume RUN)." if spec.resumable else ""))
    rows = [("parameter", "type", "default", "allowed", "description")]
    rows += [(p.name, p.type, p.default, p.range, p.description) for p in param_infos(spec.params_model)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        click.echo("  ".join(f"{c:<{w}}" for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
