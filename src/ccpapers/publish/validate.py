"""Checks a repo folder must pass before anything is uploaded.

- the README parses as a ``DatasetCard``, has the required keys, valid licence ids, exactly
  one default config and only builder keys under ``configs``; ``license`` = union of rows;
- every config loads with ``datasets.load_dataset(<folder>, <config>)`` (offline);
- every config has the row count the build says it must have (and each kind's widest tier
  plus its dropped rows equals the build report's count for that split);
- no row's licence lies outside its config's tier; no ND row in a derived config; no row's
  ``license_url`` names another licence than its ``license``;
- every row carries ``doi``, ``license`` and ``license_url``; all configs share one schema;
- every Parquet file is referenced by exactly one config.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccpapers.errors import CcpapersError
from ccpapers.licenses import HUB_LICENSE_IDS, id_url_conflict
from ccpapers.types import TIERS

REQUIRED_KEYS = (
    "license",
    "pretty_name",
    "language",
    "task_categories",
    "size_categories",
    "tags",
    "configs",
    "dataset_info",
)
BUILDER_KEYS = {"config_name", "data_files", "data_dir", "default", "features"}


class ValidationError(CcpapersError, RuntimeError):
    """The repo folder must not be pushed; ``problems`` lists every reason."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"repo folder {folder} failed validation, nothing was uploaded:\n{lines}\n"
            "Fix the build (or report a ccpapers bug) and run `ccpapers publish` again."
        )


def check_card(folder: Path) -> tuple[dict[str, Any], list[str]]:
    """Card checks without any server; returns the YAML metadata and problems."""
    from huggingface_hub import DatasetCard

    readme = folder / "README.md"
    if not readme.is_file():
        return {}, [f"{readme} is missing"]
    problems: list[str] = []
    try:
        card = DatasetCard.load(readme)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a validation failure
        return {}, [f"README.md does not load as a DatasetCard: {exc}"]
    data = card.data.to_dict()
    roundtrip = DatasetCard(str(card)).data.to_dict()
    if roundtrip != data:
        problems.append("README.md metadata does not round-trip through DatasetCard")
    problems += [f"README.md YAML lacks `{k}`" for k in REQUIRED_KEYS if not data.get(k)]
    licences = data.get("license") or []
    licences = [licences] if isinstance(licences, str) else licences
    for lic in licences:
        if lic not in HUB_LICENSE_IDS and lic != "other":
            problems.append(f"README.md license `{lic}` is not a Hugging Face licence id")
    if "other" in licences and not data.get("license_name"):
        problems.append("README.md license `other` needs `license_name` and `license_link`")
    configs = data.get("configs") or []
    defaults = [c.get("config_name") for c in configs if c.get("default")]
    if len(configs) > 1 and len(defaults) != 1:
        problems.append(f"exactly one config must be `default: true`, found {defaults or 'none'}")
    for c in configs:
        extra = set(c) - BUILDER_KEYS
        if extra:
            problems.append(f"config `{c.get('config_name')}` has non-builder keys {sorted(extra)}")
    return data, problems


def _config_files(folder: Path, config: dict[str, Any]) -> list[Path]:
    files: list[Path] = []
    for entry in config.get("data_files") or []:
        pattern = entry["path"] if isinstance(entry, dict) else entry
        files += sorted(folder.glob(pattern))
    return files


def _tier_of(lic: str) -> str | None:
    from ccpapers.publish.shards import licence_info

    return licence_info(lic)[0]


@dataclass
class LoadedConfigs:
    """What loading every config found, for the checks across configs."""

    stats: dict[str, Any] = field(default_factory=dict)
    schemas: dict[str, Any] = field(default_factory=dict)
    licences: set[str] = field(default_factory=set)
    widest: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (tier index, rows)


def validate_repo_folder(
    folder: Path,
    expected_rows: dict[str, int] | None = None,
    report_splits: dict[str, int] | None = None,
    drops_per_split: dict[str, int] | None = None,
    load: bool = True,
) -> dict[str, Any]:
    """Run every check; raise :class:`ValidationError` listing all problems, else return stats.

    ``expected_rows``: rows each config must have (computed from the build files);
    ``report_splits``: the build report's ``splits`` counts; ``drops_per_split``: rows of each
    split deliberately left out (so ``widest tier + dropped == report``).
    """
    folder = Path(folder)
    data, problems = check_card(folder)
    configs = data.get("configs") or []
    names = [c["config_name"] for c in configs]
    problems += check_layout(folder, configs, expected_rows)
    if problems:
        raise ValidationError(folder, problems)
    if not load:
        return {"configs": names}
    loaded, problems = load_configs(folder, names, expected_rows)
    problems += check_across_configs(data, loaded, report_splits or {}, drops_per_split or {})
    if problems:
        raise ValidationError(folder, problems)
    return {"configs": names, "stats": loaded.stats}


def check_layout(
    folder: Path, configs: list[dict[str, Any]], expected_rows: dict[str, int] | None
) -> list[str]:
    """The card's configs are the build's, each matches data files, and every file has a config."""
    problems: list[str] = []
    names = [c["config_name"] for c in configs]
    if expected_rows is not None and set(names) != set(expected_rows):
        problems.append(f"README configs {sorted(names)} differ from the build's {sorted(expected_rows)}")
    referenced: set[Path] = set()
    for c in configs:
        files = _config_files(folder, c)
        if not files:
            problems.append(f"config `{c['config_name']}` matches no data file")
        referenced.update(files)
    orphans = sorted(p for p in (folder / "data").rglob("*.parquet") if p not in referenced)
    return problems + [f"{p.relative_to(folder)} belongs to no config" for p in orphans]


def load_configs(
    folder: Path, names: list[str], expected_rows: dict[str, int] | None
) -> tuple[LoadedConfigs, list[str]]:
    """Load every config with ``datasets.load_dataset`` (offline, in a throwaway cache) and
    check its rows; a config that does not load is a problem, the others are still checked."""
    import datasets

    loaded = LoadedConfigs()
    problems: list[str] = []
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="ccpapers-validate-") as cache:
        for name in names:
            try:
                ds = datasets.load_dataset(str(folder), name, split="train", cache_dir=cache)
            except Exception as exc:  # noqa: BLE001 - report, keep checking the others
                problems.append(
                    f"config `{name}` does not load with load_dataset: {type(exc).__name__}: {exc}"
                )
                continue
            expected = None if expected_rows is None else expected_rows.get(name)
            problems += check_config_rows(name, ds, expected, expected_rows is not None)
            _remember(loaded, name, ds)
    if bars_were_on:
        datasets.enable_progress_bars()
    return loaded, problems


def check_config_rows(name: str, ds: Any, expected: int | None, check_count: bool) -> list[str]:
    """One loaded config: licences inside its tier (no ND row in a derived config), licence
    URLs that agree with the licence, provenance columns filled, the expected row count."""
    from ccpapers.publish.shards import DERIVED_KINDS, split_config_name

    problems: list[str] = []
    kind, tier = split_config_name(name)
    allowed = set(TIERS[: TIERS.index(tier) + 1])
    if kind in DERIVED_KINDS:
        allowed.discard("all")
    for lic, n in sorted(Counter(ds["license"]).items()):
        if _tier_of(lic) not in allowed:
            problems.append(
                f"config `{name}` (tier {tier}) holds {n} row(s) licensed `{lic}`, outside its tier"
            )
    pairs = zip(ds["license"], ds["license_url"], strict=True)
    mismatched = sum(1 for lic, url in pairs if id_url_conflict(lic, url))
    if mismatched:
        problems.append(f"config `{name}`: {mismatched} row(s) whose license_url names another licence")
    for col in ("doi", "license", "license_url"):
        missing = sum(1 for v in ds[col] if not v)
        if missing:
            problems.append(f"config `{name}`: {missing} row(s) without `{col}`")
    if check_count and ds.num_rows != expected:
        problems.append(f"config `{name}` has {ds.num_rows} rows, the build has {expected}")
    return problems


def _remember(loaded: LoadedConfigs, name: str, ds: Any) -> None:
    from ccpapers.publish.shards import split_config_name

    kind, tier = split_config_name(name)
    lic_counts = Counter(ds["license"])
    loaded.schemas[name] = ds.features
    loaded.licences.update(lic_counts)
    if not loaded.widest.get(kind) or TIERS.index(tier) > loaded.widest[kind][0]:
        loaded.widest[kind] = (TIERS.index(tier), ds.num_rows)
    loaded.stats[name] = {"rows": ds.num_rows, "licences": dict(sorted(lic_counts.items()))}


def check_across_configs(
    card: dict[str, Any],
    loaded: LoadedConfigs,
    report_splits: dict[str, int],
    drops_per_split: dict[str, int],
) -> list[str]:
    """One schema for all configs; the card's ``license`` is the union of the row licences; each
    kind's widest tier plus its dropped rows is the build report's count for that split."""
    problems: list[str] = []
    if len({repr(s) for s in loaded.schemas.values()}) > 1:
        problems.append("configs do not share one schema: " + ", ".join(sorted(loaded.schemas)))
    declared = card.get("license") or []
    declared = {declared} if isinstance(declared, str) else set(declared)
    on_hub = {lic for lic in loaded.licences if lic in HUB_LICENSE_IDS}
    if on_hub - declared or (declared - {"other"}) - on_hub:
        problems.append(
            f"README license {sorted(declared)} is not the union of row licences {sorted(loaded.licences)}"
        )
    for split, n in sorted(report_splits.items()):
        got = loaded.widest.get(split, (0, 0))[1] + drops_per_split.get(split, 0)
        if got != n:
            problems.append(f"split `{split}`: the build report says {n} rows, the configs hold {got}")
    return problems
