"""Training and sync jobs, run in a child process so torch never blocks (or crashes) the event loop.

The parent (``run_in_child``) starts ``python -m labctl.service.trainer_worker``, writes the job as JSON on its
stdin, and reads JSON lines back: ``{"progress": [done, total, {metrics}]}`` ... then ``{"result": {...}}`` or
``{"error": "..."}``. Cancelling the job kills the child.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labctl.core.errors import ConfigError, JobError
from labctl.core.records import Progress
from labctl.service.config import NAME_PATTERN

MODELS_DIR = "models"


class TrainLettersParams(BaseModel):
    """Train the soft-binarized letters network (seed 000/001); the model is saved as ``STORE/models/<model>``."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=NAME_PATTERN, description="Name of the model folder to write")
    recipe: Literal["seed", "improved"] = Field(default="seed", description="Training recipe")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Random seed")
    epochs: int | None = Field(default=None, ge=1, le=5000, description="Epochs (default: the recipe's)")


class SyncParams(BaseModel):
    """Sync measured maps into a trained model and retrain around them (``labctl sync``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(pattern=NAME_PATTERN, description="Model folder under STORE/models")
    maps: dict[str, str] = Field(
        min_length=1, max_length=64,
        description="Layer name -> run id whose latest conductance map is that layer's measured map",
    )
    epochs: int = Field(default=30, ge=1, le=1000, description="Retraining epochs")
    tolerance: float = Field(default=0.02, ge=0.0, le=0.5, description="Fraction of the conductance window")


OFF_LOOP_KINDS: dict[str, type[BaseModel]] = {"train_letters": TrainLettersParams, "sync": SyncParams}


async def run_in_child(kind: str, params: dict[str, Any], store: Path,
                       on_progress: Any, engine: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one off-loop job in a child process; progress lines go to ``on_progress``. ``engine``: the service's
    sweep settings (sweep jobs)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "labctl.service.trainer_worker",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        proc.stdin.write(json.dumps({"kind": kind, "params": params, "store": str(store), "engine": engine}).encode())
        await proc.stdin.drain()
        proc.stdin.close()
        result: dict[str, Any] | None = None
        error: str | None = None
        async for raw in proc.stdout:
            msg = json.loads(raw)
            if "progress" in msg:
                done, total, metrics, *text = msg["progress"]
                message = text[0] if text else " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
                on_progress(Progress(int(done), int(total), message, {k: float(v) for k, v in metrics.items()}))
            elif "result" in msg:
                result = msg["result"]
            elif "error" in msg:
                error = msg["error"]
        stderr = (await proc.stderr.read()).decode(errors="replace")
        code = await proc.wait()
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if error is not None:
        raise JobError(error)
    if code != 0 or result is None:
        raise JobError(f"{kind} worker exited with status {code}: {stderr.strip()[-500:]}")
    return result


def _train_letters(p: TrainLettersParams, store: Path, progress: Any) -> dict[str, Any]:
    from labctl.train import save_model
    from labctl.train.letters import train_letters

    res = train_letters(p.recipe, seed=p.seed, epochs=p.epochs, progress=progress)
    out = save_model(res.model, store / MODELS_DIR / p.model,
                     {"recipe": p.recipe, "dataset": "letters", "seed": p.seed, "metrics": res.summary()})
    return {"model": str(out), "metrics": res.summary()}


def _sync(p: SyncParams, store: Path, progress: Any) -> dict[str, Any]:
    from labctl.store import RunStore, save_map_npz
    from labctl.train import load_measured_maps, sync_measured

    model_dir = store / MODELS_DIR / p.model
    if not (model_dir / "model.json").is_file():
        raise ConfigError.invalid("model", p.model, f"a model trained by a train job (in {store / MODELS_DIR})")
    runs = RunStore(store)
    with tempfile.TemporaryDirectory(prefix="labctl-sync-") as tmp:
        for layer, run_id in p.maps.items():
            save_map_npz(runs, run_id, Path(tmp) / f"{layer}.npz")
        maps = load_measured_maps(tmp)
        report: dict[str, Any] = sync_measured(model_dir, maps, model_dir / "sync", epochs=p.epochs,
                                               tolerance=p.tolerance, progress=progress)
    return report


def main() -> None:
    job = json.loads(sys.stdin.read())

    def progress(done: int, total: int, metrics: dict[str, float] | None = None, message: str | None = None) -> None:
        line = [done, total, dict(metrics or {})] + ([message] if message is not None else [])
        print(json.dumps({"progress": line}), flush=True)

    try:
        kind, store = job["kind"], Path(job["store"])
        if kind == "train_letters":
            out = _train_letters(TrainLettersParams.model_validate(job["params"]), store, progress)
        elif kind == "sync":
            out = _sync(SyncParams.model_validate(job["params"]), store, progress)
        elif kind == "sweep" and job.get("engine") is not None:
            from labctl.service.sweep_job import run_sweep_job

            out = run_sweep_job(job["params"], store, job["engine"], progress)
        else:
            raise ConfigError.invalid("kind", kind, ", ".join(OFF_LOOP_KINDS))
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return
    print(json.dumps({"result": out}, default=str), flush=True)


if __name__ == "__main__":
    main()
