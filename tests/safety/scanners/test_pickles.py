"""The model-file scanner against a corpus built here: every hostile file is flagged whatever
its name or container, every benign checkpoint passes, nothing is ever unpickled, and the
verdict is what the real `huggingface_hub` client parses."""

from __future__ import annotations

import _compat_pickle
import io
import pickle
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from safety.scanners.pickles import AvScan, ModelFileScan, Safety, ScanLimits, scan_model_file
from tests.safety.scanners import pickle_corpus as corpus


@pytest.fixture
def canary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A file every hostile payload would create; plus tripwires on every unpickling entry
    point, so a scanner that loads anything fails loudly even if a payload were inert."""
    path = tmp_path / "canary"
    # Libraries that subclass the unpickler at import time must be imported before the tripwire.
    import torch.utils.data  # noqa: F401

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scanner must never unpickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    yield path
    assert not path.exists(), "a payload ran during scanning"


def scan(data: bytes, **limits: int) -> ModelFileScan:
    return scan_model_file(io.BytesIO(data), limits=ScanLimits(**limits) if limits else ScanLimits())


def dangerous(result: ModelFileScan) -> set[str]:
    return {f"{i.module}.{i.name}" for i in result.imports if i.safety is Safety.DANGEROUS}


def hostile_corpus(canary: Path) -> dict[str, bytes]:
    c = str(canary)
    files: dict[str, bytes] = {}
    for label, payload in corpus.payloads(c).items():
        for protocol in range(6):
            files[f"{label}/p{protocol}"] = corpus.dumps(payload, protocol)
    files["posix.system/GLOBAL by hand"] = corpus.raw_global("posix", "system", corpus.touch(c))
    files["os.system/INST"] = corpus.raw_inst("os", "system", corpus.touch(c))
    files["computed STACK_GLOBAL"] = corpus.computed_stack_global(c)
    files["memo confusion"] = corpus.memo_confusion(c)
    files["extension code"] = corpus.extension_code()
    files["nested pickle in bytes"] = corpus.nested_in_bytes(c)
    files["torch _load_from_bytes nested"] = corpus.nested_load_from_bytes(c)
    for protocol in range(6):
        files[f"truncated after payload/p{protocol}"] = corpus.truncated_after_payload(c, protocol)
    evil = corpus.payloads(c)["os.system"]
    files["torch.save(evil)"] = corpus.torch_zip({"weight": evil})
    files["torch.save(evil) legacy"] = corpus.torch_zip({"weight": evil}, legacy=True)
    benign_zip = corpus.torch_zip({"w": __import__("torch").zeros(2)})
    evil_pkl = corpus.dumps(evil, 2)
    files["torch zip, data.pkl replaced"] = corpus.replace_member(benign_zip, "data.pkl", evil_pkl)
    files["torch zip, encrypted flag"] = corpus.replace_member(benign_zip, "data.pkl", evil_pkl, flag_bits=0x1)
    files["torch zip, local name differs"] = corpus.rename_local_header(
        corpus.replace_member(benign_zip, "data.pkl", evil_pkl), "data.pkl", "zzzz/data.txt")
    files["zip in zip (deflated)"] = corpus.zip_of({"model.pt": files["torch zip, data.pkl replaced"]},
                                                   zipfile.ZIP_DEFLATED)
    files["pickle hidden in a tensor member"] = corpus.replace_member(benign_zip, "data/0", evil_pkl)
    files["npy object array"] = corpus.npy_object_array(evil)
    files["npz with object array"] = corpus.zip_of({"arr_0.npy": files["npy object array"]})
    for kind, compress in corpus.COMPRESSORS.items():
        files[f"{kind}-compressed (joblib style)"] = compress(evil_pkl)
    return files


def test_every_hostile_file_is_flagged(canary: Path) -> None:
    for label, data in hostile_corpus(canary).items():
        result = scan(data)
        assert result.status == "unsafe", (label, result.status, result.reasons)
        assert result.pickle_found, label
        assert result.highest_safety_level is Safety.DANGEROUS, label
        assert not result.is_safe


def test_payload_names_are_reported(canary: Path) -> None:
    c = str(canary)
    expectations = {
        "os.system": "posix.system",
        "subprocess.Popen": "subprocess.Popen",
        "builtins.eval": "builtins.eval",
        "builtins.exec": "builtins.exec",
        "importlib.import_module": "importlib.import_module",
        "runpy.run_path": "runpy.run_path",
        "runpy._run_code": "runpy._run_code",
        "pkgutil.resolve_name": "pkgutil.resolve_name",
    }
    for label, expected in expectations.items():
        module, name = expected.split(".")
        # protocols 0-2 use Python 2 spellings (`__builtin__.eval`, `commands.Popen`)
        py2 = _compat_pickle.REVERSE_NAME_MAPPING.get(
            (module, name), (_compat_pickle.REVERSE_IMPORT_MAPPING.get(module, module), name))
        for protocol in (0, 2, 4, 5):
            result = scan(corpus.dumps(corpus.payloads(c)[label], protocol))
            found = dangerous(result)
            assert expected in found or ".".join(py2) in found, (label, protocol, found)
    assert "<obfuscated>.computed STACK_GLOBAL" in dangerous(scan(corpus.computed_stack_global(c)))
    assert "os.system" in dangerous(scan(corpus.memo_confusion(c)))
    assert "<obfuscated>.extension code" in dangerous(scan(corpus.extension_code()))
    nested = scan(corpus.nested_in_bytes(c))
    assert "posix.system" in dangerous(nested)
    assert any(i.module == "<nested pickle>" for i in nested.imports)


def test_verdict_ignores_file_names(tmp_path: Path, canary: Path) -> None:
    evil = corpus.dumps(corpus.payloads(str(canary))["os.system"], 4)
    for name in ("model.safetensors", "weights.model", "config.json", "evil.bin", "evil.dat", "README.md",
                 "pytorch_model.bin", "model.ckpt", "model.pth", "model.pkl", "model.joblib", "noext"):
        path = tmp_path / name
        path.write_bytes(evil)
        with path.open("rb") as f:
            assert scan_model_file(f).status == "unsafe", name


def benign_corpus() -> dict[str, bytes]:
    import numpy as np
    import torch
    from safetensors.torch import save as save_safetensors

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    state = model.state_dict()
    files = {
        "torch.save(state_dict)": corpus.torch_zip(state),
        "torch.save(state_dict) legacy": corpus.torch_zip(state, legacy=True),
        "torch mixed dtypes + Parameter": corpus.torch_zip({
            "bf16": torch.ones(3, dtype=torch.bfloat16), "i8": torch.ones(2, dtype=torch.int8),
            "param": torch.nn.Parameter(torch.zeros(2)), "step": 3, "names": ["a", "b"],
        }),
        "safetensors": save_safetensors({"w": torch.zeros(4, 4)}),
        "text": b"hello\nworld\n",
        "json": b'{"architectures": ["Bert"], "hidden_size": 8}',
        "README starting like a pickle": b"N.B. this model is a pickle-free model\n",
        "empty": b"",
    }
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    buf = io.BytesIO()
    np.save(buf, arr)
    files["npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez_compressed(buf, a=arr, b=np.array(["x", "y"]))
    files["npz (deflated)"] = buf.getvalue()
    sklearn_like = {"coef_": [[0.1, -0.2]], "intercept_": [0.5], "classes_": ["no", "yes"], "n_features_in_": 2,
                    "params": {"C": 1.0, "penalty": "l2", "fit_intercept": True}, "seen": {1, 2},
                    "blob": b"\x00\x01", "version": (1, 5, 0), "complex": 1 + 2j}
    for protocol in range(6):
        files[f"ndarray/p{protocol}"] = pickle.dumps(arr, protocol=protocol)
        files[f"sklearn-like dict/p{protocol}"] = pickle.dumps(sklearn_like, protocol=protocol)
    return files


def test_benign_files_pass_as_safe(canary: Path) -> None:
    for label, data in benign_corpus().items():
        result = scan(data)
        assert result.status == "safe", (label, result.status, result.reasons, result.imports)
        assert all(i.safety is Safety.INNOCUOUS for i in result.imports), label


def test_benign_checkpoint_reports_its_imports() -> None:
    import torch

    result = scan(corpus.torch_zip(torch.nn.Linear(2, 2).state_dict()))
    names = {(i.module, i.name) for i in result.imports}
    assert ("torch._utils", "_rebuild_tensor_v2") in names
    assert ("collections", "OrderedDict") in names
    assert result.pickle_found and result.members_scanned >= 3
    assert "zip" in result.formats
    safetensors = scan(benign_corpus()["safetensors"])
    assert not safetensors.pickle_found and safetensors.formats == ("safetensors",)


def test_full_module_pickle_is_caution_not_safe() -> None:
    """A pickled nn.Module imports classes outside the allow-list: not proven hostile, not safe."""
    import torch

    result = scan(corpus.torch_zip({"model": torch.nn.Linear(2, 2)}))
    assert result.status == "caution"
    assert any(i.safety is Safety.SUSPICIOUS and i.name == "Linear" for i in result.imports)


def test_sklearn_models_are_not_safe_but_not_hostile() -> None:
    """Pickled estimators import classes outside the allow-list (caution); joblib dumps also
    embed raw array bytes in the pickle stream, which no opcode scanner can step over (error,
    with a reason saying why)."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(np.arange(20.0).reshape(10, 2), [0, 1] * 5)
    pickled = scan(pickle.dumps(model, protocol=5))
    assert pickled.status == "caution"
    assert any(i.name == "LogisticRegression" and i.safety is Safety.SUSPICIOUS for i in pickled.imports)
    buf = io.BytesIO()
    joblib.dump(model, buf)
    dumped = scan(buf.getvalue())
    assert dumped.status == "error"
    assert any("joblib writes numpy arrays" in r for r in dumped.reasons)
    assert not any(i.safety is Safety.DANGEROUS for i in dumped.imports)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_code_is_caution(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with path.open("rb") as f:
        result = scan_model_file(f)
    assert result.status == "caution"
    assert any("code" in r for r in result.reasons)


def test_security_file_status_is_what_huggingface_hub_parses(canary: Path) -> None:
    from huggingface_hub.hf_api import RepoFile

    def parse(result: ModelFileScan) -> RepoFile:
        return RepoFile(path="model.bin", size=1, oid="0" * 40, securityFileStatus=result.as_security_file_status())

    import torch

    safe = parse(scan(corpus.torch_zip(torch.nn.Linear(2, 2).state_dict())))
    assert safe.security is not None and safe.security.safe is True and safe.security.status == "safe"
    scan_info = safe.security.pickle_import_scan
    assert scan_info is not None and scan_info["highestSafetyLevel"] == "innocuous"
    assert {"module": "torch._utils", "name": "_rebuild_tensor_v2", "safety": "innocuous"} in scan_info["imports"]
    assert safe.security.av_scan is None

    unsafe_result = scan(corpus.dumps(corpus.payloads(str(canary))["os.system"], 2)).with_av_scan(
        AvScan(virus_found=False, virus_names=None))
    unsafe = parse(unsafe_result)
    assert unsafe.security is not None and unsafe.security.safe is False and unsafe.security.status == "unsafe"
    assert unsafe.security.av_scan == {"virusFound": False, "virusNames": None}
    pickle_scan = unsafe.security.pickle_import_scan
    assert pickle_scan is not None and pickle_scan["highestSafetyLevel"] == "dangerous"
    assert {"module": "posix", "name": "system", "safety": "dangerous"} in pickle_scan["imports"]

    no_pickle = scan(b"plain text").as_security_file_status()
    assert no_pickle == {"status": "safe", "avScan": None, "pickleImportScan": None}


def test_antivirus_verdict_makes_a_clean_pickle_unsafe() -> None:
    clean = scan(pickle.dumps({"a": 1}))
    infected = clean.with_av_scan(AvScan(virus_found=True, virus_names=("Eicar-Test-Signature",)))
    assert clean.status == "safe" and infected.status == "unsafe"
    assert infected.as_security_file_status()["avScan"] == {"virusFound": True,
                                                            "virusNames": ["Eicar-Test-Signature"]}


def test_non_seekable_streams_are_scanned_too(canary: Path) -> None:
    """A pipe (no seek): zips are spooled to a bounded temp file, pickles streamed."""

    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self._f = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def read(self, n: int | None = -1) -> bytes:
            return self._f.read(-1 if n is None else n)

    hostile = hostile_corpus(canary)
    for label in ("torch zip, data.pkl replaced", "os.system/p4", "gzip-compressed (joblib style)",
                  "npy object array"):
        assert scan_model_file(Pipe(hostile[label])).status == "unsafe", label  # type: ignore[arg-type]
    benign = benign_corpus()
    for label in ("torch.save(state_dict)", "ndarray/p5", "safetensors"):
        assert scan_model_file(Pipe(benign[label])).status == "safe", label  # type: ignore[arg-type]


def test_reads_from_the_current_position() -> None:
    prefix = b"x" * 100
    f = io.BytesIO(prefix + pickle.dumps({"a": 1}, protocol=4))
    f.seek(len(prefix))
    result = scan_model_file(f)
    assert result.status == "safe" and result.pickle_found


def test_ordinary_text_is_not_a_pickle() -> None:
    for text in (b"hello world", b"import torch\nmodel = torch.load('x')\n", b"# Model card\n\nN.B. text\n",
                 b"1,2,3\n4,5,6\n", random.Random(0).randbytes(64)):
        result = scan(text)
        assert result.status == "safe" and not result.pickle_found, text


def test_allow_list_covers_torch_weights_only_and_nothing_on_it_is_dangerous() -> None:
    """Oracle: what `torch.load(weights_only=True)` accepts (torch 2.13) is innocuous here, and
    the deny-lists never contradict the allow-list."""
    from torch._weights_only_unpickler import _get_allowed_globals

    from safety.scanners.pickles.globals_policy import ALLOWED_GLOBALS, classify_global

    for dotted in _get_allowed_globals():
        module, name = dotted.rsplit(".", 1)
        assert (module, name) in ALLOWED_GLOBALS, dotted
    assert all(classify_global(*pair) is Safety.INNOCUOUS for pair in ALLOWED_GLOBALS)
