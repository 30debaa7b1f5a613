"""Test harness for `accelerate launch` runs on CPU (imported at start-up by every launched
process when this folder is on PYTHONPATH; inactive unless CCPAPERS_TEST_HARNESS is set).

1. **Collective guard** (``CCPAPERS_TEST_HARNESS`` = a folder): every ``torch.distributed``
   collective is checked before it runs, and one JSON line per call is written to
   ``<folder>/collectives-rank<r>.jsonl``. NCCL reduces only tensors on the launch's GPU, so on
   CUDA a collective fails when (a) a tensor it is given is not on the launch device, or (b) the
   tensor was derived from a model that the launch never placed on its device (a model left on
   the CPU gives CPU inputs, masks and flags). On a CPU launch (a) cannot tell devices apart, so
   the guard also checks (b) directly: the module calling the collective (the nearest ``self``
   on the stack that is a ``torch.nn.Module``) must have been moved to the launch device with
   ``.to()``/``.cuda()``, or be (inside) an FSDP unit whose compute device is the launch device.
   A violation raises ``AssertionError`` in the launched process, so the launch fails.
2. **FSDP on CPU** (``CCPAPERS_TEST_FSDP_ON_CPU=1``): accelerate only selects FSDP on GPUs; here a
   launch with an FSDP config runs FSDP (FSDP1, gloo) on CPU processes instead of falling back to
   plain data parallel. FSDP refuses ``sync_module_states`` for CPU modules, so it is off; every
   rank builds the same tiny model, so nothing needs syncing.
"""

from __future__ import annotations

import os

_DIR = os.environ.get("CCPAPERS_TEST_HARNESS", "")
_COLLECTIVES = (
    "all_reduce",
    "all_gather",
    "all_gather_into_tensor",
    "_all_gather_base",
    "all_gather_single",
    "all_gather_coalesced",
    "all_reduce_coalesced",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "reduce_scatter_single",
    "_reduce_scatter_base",
    "broadcast",
    "_broadcast_coalesced",
    "reduce",
    "gather",
    "scatter",
    "all_to_all",
    "all_to_all_single",
    "send",
    "recv",
    "isend",
    "irecv",
)


def _launch_device():
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _tensors(x, out):
    import torch

    if isinstance(x, torch.Tensor):
        out.append(x)
    elif isinstance(x, list | tuple):
        for y in x:
            _tensors(y, out)
    return out


def _same(a, b) -> bool:
    return a.type == b.type and (a.index or 0) == (b.index or 0)


def _calling_module():
    import sys

    import torch

    frame = sys._getframe(2)
    while frame is not None:
        obj = frame.f_locals.get("self")
        if isinstance(obj, torch.nn.Module):
            return obj, frame.f_code.co_name
        frame = frame.f_back
    return None, None


def _placement_problem(module, device):
    """Why ``module`` is not known to be on the launch device (None when it is)."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    units = [m for m in module.modules() if isinstance(m, FSDP)]
    if units:
        devs = [d for d in (getattr(u, "compute_device", None) for u in units) if d is not None]
        bad = [d for d in devs if not _same(d, device)]
        return f"FSDP units computing on {bad[0]}" if bad else None
    if any(getattr(m, "_ccp_launch_placed", False) for m in module.modules()):
        return None
    if isinstance(module, FSDP) or getattr(module, "_fsdp_wrapped_module", None) is not None:
        return None
    return "never moved to the launch device (.to(device)) nor wrapped by FSDP"


def _install_guard() -> None:
    import json
    import sys
    import traceback

    import torch
    import torch.distributed as dist

    rank = os.environ.get("RANK", "0")
    log_path = os.path.join(_DIR, f"collectives-rank{rank}.jsonl")

    def mark(module, device):
        if device is not None and _same(torch.device(device), _launch_device()):
            for m in module.modules():
                m._ccp_launch_placed = True

    real_to = torch.nn.Module.to

    def to(self, *args, **kwargs):
        out = real_to(self, *args, **kwargs)
        dev = kwargs.get("device")
        for a in args:
            if isinstance(a, torch.device | str) and not (isinstance(a, str) and a.startswith("torch.")):
                try:
                    dev = torch.device(a)
                except (RuntimeError, TypeError):
                    continue
        mark(self, dev)
        return out

    torch.nn.Module.to = to

    def guarded(name, fn):
        def wrapper(*args, **kwargs):
            device = _launch_device()
            ts = _tensors(list(args) + list(kwargs.values()), [])
            module, func = _calling_module()
            problems = [f"tensor on {t.device}" for t in ts if not _same(t.device, device)]
            placement = _placement_problem(module, device) if module is not None else None
            if placement:
                problems.append(f"{type(module).__name__} (in {func}): {placement}")
            caller = sys._getframe(1).f_code
            rec = {
                "op": name,
                "caller": f"{os.path.basename(caller.co_filename)}:{caller.co_name}",
                "devices": sorted({str(t.device) for t in ts}),
                "module": type(module).__name__ if module is not None else None,
                "function": func,
                "problems": problems,
            }
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
            if problems:
                stack = "".join(traceback.format_stack(limit=12)[:-1])
                raise AssertionError(
                    f"collective {name} on launch device {device}: {'; '.join(problems)}\n{stack}"
                )
            return fn(*args, **kwargs)

        wrapper.__wrapped__ = fn
        return wrapper

    from torch.distributed import distributed_c10d

    # object collectives (gather_object, broadcast_object_list) call the c10d functions directly
    for name in _COLLECTIVES:
        fn = getattr(distributed_c10d, name, None) or getattr(dist, name, None)
        if fn is None:
            continue
        wrapped = guarded(name, fn)
        for ns in (dist, distributed_c10d):
            if getattr(ns, name, None) is fn:
                setattr(ns, name, wrapped)


def _install_fsdp_on_cpu() -> None:
    os.environ["FSDP_CPU_RAM_EFFICIENT_LOADING"] = "false"
    os.environ["FSDP_SYNC_MODULE_STATES"] = "false"
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import DistributedType

    real_init = AcceleratorState.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        plugin = kwargs.get("fsdp_plugin")
        if plugin is not None and self.distributed_type == DistributedType.MULTI_CPU:
            self.distributed_type = DistributedType.FSDP
            PartialState._shared_state["distributed_type"] = self.distributed_type  # as accelerate does
            self.fsdp_plugin = plugin
            if self._mixed_precision != "no":
                plugin.set_mixed_precision(self._mixed_precision)

    AcceleratorState.__init__ = init

    import torch
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    real_fsdp_init = FSDP.__init__

    def fsdp_init(self, module, *args, **kwargs):
        dev = kwargs.get("device_id")
        if dev is not None and torch.device(dev).type == "cpu":
            kwargs["device_id"] = torch.device("cpu")  # accelerate passes "cpu:<n>"; FSDP wants "cpu"
        real_fsdp_init(self, module, *args, **kwargs)

    FSDP.__init__ = fsdp_init


if _DIR:
    _install_guard()
if os.environ.get("CCPAPERS_TEST_FSDP_ON_CPU") == "1":
    _install_fsdp_on_cpu()
