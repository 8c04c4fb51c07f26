"""What `POST /api/validate-yaml` checks in a card's metadata, beyond YAML syntax: the Hub's
rules that a user meets on day one (HF_PROTOCOL.md §6.6).

* errors (400, the commit that adds the README is refused): `license` not one of the Hub's
  license identifiers, `model-index` not shaped like the Hub's evaluation results, list
  fields holding something else than strings;
* warnings (200, printed by the client): a card without metadata.

Unknown keys are accepted, as on the Hub: real cards carry many. Pure: no Django.
"""
from __future__ import annotations

from typing import Any

# The license identifiers the Hub accepts in card metadata (its "Licenses" documentation page).
HUB_LICENSES: tuple[str, ...] = (
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1",
    "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0",
    "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib",
    "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2", "llama3",
    "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other",
)
_LICENSES = frozenset(HUB_LICENSES)

# The Hub's own wording (its warning links to the card documentation).
EMPTY_METADATA_WARNING = ("Empty or missing yaml metadata in repo card "
                          "(https://huggingface.co/docs/hub/model-cards#model-card-metadata)")
# Fields that are a string or a list of strings.
_STRING_OR_LIST = ("tags", "language", "datasets", "metrics", "base_model", "license_name")
_MAX_MESSAGES = 20


def metadata_errors(data: dict[str, Any], repo_type: str = "model") -> list[str]:
    """The Hub's refusals of this (parsed, mapping) metadata; [] when it is acceptable."""
    errors: list[str] = []
    if "license" in data:
        errors.extend(_license_errors(data["license"]))
    for key in _STRING_OR_LIST:
        if key in data and not _string_or_strings(data[key]):
            errors.append(f'"{key}" must be a string or an array of strings')
    for key in ("pipeline_tag", "library_name", "license_link"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            errors.append(f'"{key}" must be a string')
    if "model-index" in data and repo_type != "dataset":
        errors.extend(_model_index_errors(data["model-index"]))
    return errors[:_MAX_MESSAGES]


def metadata_warnings(data: dict[str, Any] | None) -> list[str]:
    """Advice that does not refuse the card: a card without metadata."""
    return [EMPTY_METADATA_WARNING] if not data else []


def _string_or_strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _license_errors(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    bad = [v for v in values if not isinstance(v, str) or v.lower() not in _LICENSES]
    if not bad:
        return []
    shown = ", ".join(repr(v) if not isinstance(v, str) else f'"{v[:100]}"' for v in bad[:3])
    return [f'"license" must be one of the Hub\'s license identifiers ({", ".join(HUB_LICENSES[:6])}, ..., '
            f'"other"; see https://huggingface.co/docs/hub/repositories-licenses), got {shown}']


def _model_index_errors(value: Any) -> list[str]:
    """`model-index`: [{name, results: [{task: {type}, dataset: {type, name}, metrics: [{type, value}]}]}]."""
    if not isinstance(value, list):
        return ['"model-index" must be an array']
    errors: list[str] = []
    for i, model in enumerate(value):
        where = f'"model-index[{i}]"'
        if not isinstance(model, dict):
            errors.append(f"{where} must be an object")
            continue
        if not isinstance(model.get("name"), str):
            errors.append(f'{where}.name must be a string')
        results = model.get("results")
        if not isinstance(results, list):
            errors.append(f"{where}.results must be an array")
            continue
        for j, result in enumerate(results):
            errors.extend(_result_errors(result, f"{where}.results[{j}]"))
        if len(errors) >= _MAX_MESSAGES:
            break
    return errors


def _result_errors(result: Any, where: str) -> list[str]:
    if not isinstance(result, dict):
        return [f"{where} must be an object"]
    errors: list[str] = []
    task = result.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("type"), str):
        errors.append(f"{where}.task.type must be a string")
    dataset = result.get("dataset")
    if not isinstance(dataset, dict) or not isinstance(dataset.get("type"), str) \
            or not isinstance(dataset.get("name"), str):
        errors.append(f"{where}.dataset must be an object with string type and name")
    metrics = result.get("metrics")
    if not isinstance(metrics, list):
        errors.append(f"{where}.metrics must be an array")
    else:
        for k, metric in enumerate(metrics):
            if not isinstance(metric, dict) or not isinstance(metric.get("type"), str) or "value" not in metric:
                errors.append(f"{where}.metrics[{k}] must be an object with a string type and a value")
    return errors
