"""Which globals a pickle may import: our allow-list, deny-lists, and the rule between them.

Policy (default-deny, after SECURITY.md a2: "a deny-list scanner is a signal, not a
control"): a global is *innocuous* only if the exact (module, name) pair is on our allow-list
(what `torch.load(weights_only=True)` accepts, plus numpy reconstruction and harmless builtin
containers); it is *dangerous* if it matches our deny-list or picklescan's; everything else is
*suspicious*. Dangerous always wins over the allow-list. Names are checked both as written and
after the Python-2 renames that `pickle` applies to protocols 0-2 (`__builtin__` -> `builtins`,
`copy_reg` -> `copyreg`), and as a dotted path, because protocol 4+ resolves dotted names by
attribute traversal (`torch` + `serialization.load` reaches `torch.serialization.load`).
"""

from __future__ import annotations

import _compat_pickle
from collections.abc import Iterable, Mapping
from enum import StrEnum


class Safety(StrEnum):
    """The Hub's three levels, ordered by `rank`."""

    INNOCUOUS = "innocuous"
    SUSPICIOUS = "suspicious"
    DANGEROUS = "dangerous"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Safety.INNOCUOUS: 0, Safety.SUSPICIOUS: 1, Safety.DANGEROUS: 2}


def worst(levels: Iterable[Safety]) -> Safety:
    return max(levels, key=lambda s: s.rank, default=Safety.INNOCUOUS)


_TORCH_DTYPES = (
    "bfloat16 bits16 bits1x8 bits2x4 bits4x2 bits8 bool complex128 complex32 complex64 float16 float32 "
    "float4_e2m1fn_x2 float64 float8_e4m3fn float8_e4m3fnuz float8_e5m2 float8_e5m2fnuz float8_e8m0fnu "
    "int1 int16 int2 int3 int32 int4 int5 int6 int64 int7 int8 qint32 qint8 quint2x4 quint4x2 quint8 "
    "uint1 uint16 uint2 uint3 uint32 uint4 uint5 uint6 uint64 uint7 uint8 half float double long int short "
    "cfloat cdouble chalf"
).split()
_TORCH_STORAGES = (
    "BFloat16 Bool Byte Char ComplexDouble ComplexFloat Double Float Half Int Long QInt32 QInt8 "
    "QUInt2x4 QUInt4x2 QUInt8 Short"
).split()
_TORCH_TENSOR_TYPES = "BFloat16 Bool Byte Char Double Float Half Int Long Short".split()
_TORCH_REBUILDERS = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_sparse_tensor _rebuild_qtensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass "
    "_rebuild_nested_tensor _rebuild_device_tensor_from_cpu_tensor _rebuild_device_tensor_from_numpy"
).split()
_NUMPY_DTYPE_CLASSES = (
    "BoolDType Int8DType UInt8DType Int16DType UInt16DType Int32DType UInt32DType Int64DType UInt64DType "
    "ByteDType UByteDType ShortDType UShortDType IntDType UIntDType LongDType ULongDType LongLongDType "
    "ULongLongDType Float16DType Float32DType Float64DType LongDoubleDType Complex64DType Complex128DType "
    "CLongDoubleDType BytesDType StrDType VoidDType DateTime64DType TimeDelta64DType StringDType"
).split()


def _build_allow_list() -> frozenset[tuple[str, str]]:
    """Mirrors torch 2.13's `_weights_only_unpickler._get_allowed_globals()` (copied, so the
    web process never imports torch), plus numpy's array reconstruction and builtin values
    that protocols 0-3 spell as globals (sets, bytes via `_codecs.encode`, complex, slices)."""
    pairs: set[tuple[str, str]] = {
        ("collections", "OrderedDict"),
        ("collections", "Counter"),
        ("collections", "defaultdict"),  # the factory is a separate global, checked on its own
        ("collections", "deque"),
        ("torch.nn.parameter", "Parameter"),
        ("torch.serialization", "_get_layout"),
        ("torch", "Size"),
        ("torch", "Tensor"),
        ("torch", "device"),
        ("torch", "strided"),
        ("torch", "sparse_coo"),
        ("torch", "contiguous_format"),
        ("torch", "channels_last"),
        ("torch", "preserve_format"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch.storage", "TypedStorage"),
        ("torch.storage", "UntypedStorage"),
        ("torch.storage", "_StorageBase"),
        ("_codecs", "encode"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "bytes"),
        ("builtins", "complex"),
        ("builtins", "slice"),
        ("builtins", "range"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "str"),
        ("builtins", "list"),
        ("builtins", "dict"),
        ("builtins", "tuple"),
        ("builtins", "bool"),
        ("builtins", "object"),
        ("copyreg", "_reconstructor"),  # protocol 0/1 objects: base.__new__(cls); cls is its own global
        ("datetime", "datetime"),
        ("datetime", "date"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }
    for dtype in _TORCH_DTYPES:
        pairs.add(("torch", dtype))
    for kind in _TORCH_STORAGES:
        pairs.add(("torch", f"{kind}Storage"))
        pairs.add(("torch.cuda", f"{kind}Storage"))
    for kind in _TORCH_TENSOR_TYPES:
        for module in ("torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse"):
            pairs.add((module, f"{kind}Tensor"))
    for qscheme in ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
                    "per_channel_symmetric", "per_channel_affine_float_qparams"):
        pairs.add(("torch", qscheme))
    for rebuild in _TORCH_REBUILDERS:
        pairs.add(("torch._utils", rebuild))
    for dtype_class in _NUMPY_DTYPE_CLASSES:
        pairs.add(("numpy.dtypes", dtype_class))
    return frozenset(pairs)


ALLOWED_GLOBALS: frozenset[tuple[str, str]] = _build_allow_list()

# Whole module trees no model file has any business importing. Sources: picklescan's and
# modelscan's lists (SECURITY.md a2), the bypass advisories listed there, and the "loads
# another pickle/file/URL" family.
_DANGEROUS_MODULES: frozenset[str] = frozenset("""
    os posix nt _posixsubprocess subprocess sys runpy importlib pkgutil code codeop marshal types
    pickle _pickle cPickle dill cloudpickle shelve ctypes cffi multiprocessing asyncio socket ssl
    shutil tempfile pty commands webbrowser http httplib urllib urllib2 urllib3 requests httpx aiohttp
    ftplib smtplib telnetlib xmlrpc imaplib poplib nntplib bdb pdb cProfile profile trace timeit doctest
    idlelib lib2to3 pydoc test ensurepip pip venv setuptools distutils _osx_support _aix_support _pyrepl
    uuid signal threading _thread concurrent zipimport gc inspect ast dis platform
    mlflow torch.hub torch.package torch.utils.collect_env torch.utils.bottleneck torch._dynamo
    torch._inductor torch.fx numpy.f2py numpy.testing numpy.distutils numpy.ctypeslib yaml ruamel
""".split())

# Single names inside otherwise unremarkable modules.
_DANGEROUS_PAIRS: Mapping[str, frozenset[str]] = {
    "builtins": frozenset("""
        eval exec execfile compile open getattr setattr delattr __import__ globals locals vars input
        breakpoint apply file reload memoryview help exit quit copyright credits license
    """.split()),
    "functools": frozenset({"partial", "reduce", "partialmethod", "cached_property"}),
    "operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "_operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "torch": frozenset({"load", "save", "compile"}),
    "torch.serialization": frozenset({"load", "_load", "_legacy_load"}),
    "torch.storage": frozenset({"_load_from_bytes"}),
    "torch.jit": frozenset({"load", "_load_for_lite_interpreter", "_unpickle"}),
    # joblib's array wrappers appear in every sklearn dump (suspicious, not dangerous); its
    # loaders read another pickle.
    "joblib": frozenset({"load"}),
    "joblib.numpy_pickle": frozenset({"load", "_unpickle", "load_compatibility"}),
    "torch._C": frozenset({"_load_for_lite_interpreter", "import_ir_module", "import_ir_module_from_buffer"}),
    "numpy": frozenset({"load", "loads", "fromfile", "loadtxt", "genfromtxt"}),
    "pandas": frozenset({"read_pickle", "read_csv", "read_json", "read_html", "read_sql", "eval"}),
    "logging": frozenset({"FileHandler"}),
    "_io": frozenset({"FileIO", "open"}),
    "io": frozenset({"FileIO", "open", "open_code"}),
    "pathlib": frozenset({"Path", "PosixPath", "WindowsPath"}),
    "copyreg": frozenset({"_extension_registry"}),
}

# Final name parts that mean "run code / import / load another file" whatever the module.
_DANGEROUS_LEAF_NAMES: frozenset[str] = frozenset("""
    eval exec execfile compile __import__ import_module system popen popen2 popen3 popen4 run_path
    run_module runcode runsource runctx load loads unsafe_load full_load load_library read_pickle urlopen
    resolve_name locate getattr setattr delattr __getattribute__ __reduce__ __reduce_ex__ __setstate__
    check_call check_output call Popen spawn
""".split())
_DANGEROUS_LEAF_PREFIXES = ("exec", "spawn", "popen", "run_", "_run")


def _picklescan_denylist() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """picklescan's `_unsafe_globals`, merged in when the package is importable.

    It is a private attribute; if its shape changes we keep our own lists (which already
    cover it) rather than fail.
    """
    try:
        from picklescan import scanner
    except Exception:  # pragma: no cover - picklescan missing or broken
        return frozenset(), {}
    modules: set[str] = set()
    pairs: dict[str, frozenset[str]] = {}
    raw = getattr(scanner, "_unsafe_globals", {})
    if not isinstance(raw, Mapping):  # pragma: no cover
        return frozenset(), {}
    for module, names in raw.items():
        if names == "*":
            modules.add(str(module))
        elif isinstance(names, str):
            pairs[str(module)] = frozenset({names})
        elif isinstance(names, Iterable):
            pairs[str(module)] = frozenset(str(n) for n in names)
    return frozenset(modules), pairs


_PS_MODULES, _PS_PAIRS = _picklescan_denylist()
DANGEROUS_MODULES: frozenset[str] = _DANGEROUS_MODULES | _PS_MODULES
DANGEROUS_PAIRS: dict[str, frozenset[str]] = {
    module: _DANGEROUS_PAIRS.get(module, frozenset()) | _PS_PAIRS.get(module, frozenset())
    for module in set(_DANGEROUS_PAIRS) | set(_PS_PAIRS)
}


def _spellings(module: str, name: str) -> set[tuple[str, str]]:
    """The pair as written and as `pickle` would resolve it for protocols 0-2."""
    spellings = {(module, name)}
    if (module, name) in _compat_pickle.NAME_MAPPING:
        spellings.add(_compat_pickle.NAME_MAPPING[(module, name)])
    if module in _compat_pickle.IMPORT_MAPPING:
        spellings.add((_compat_pickle.IMPORT_MAPPING[module], name))
    # Python 2 spells the builtins module `__builtin__`; `pickle` maps it, and we also treat
    # the Windows/Linux aliases of `os` as `os` (already in the deny-list as modules).
    if module == "__builtin__":
        spellings.add(("builtins", name))
    return spellings


def _is_dangerous(module: str, name: str) -> bool:
    path = f"{module}.{name}"
    for candidate in DANGEROUS_MODULES:
        if path == candidate or path.startswith(candidate + ".") or module == candidate:
            return True
    for dmodule, dnames in DANGEROUS_PAIRS.items():
        if module == dmodule and (name in dnames or name.split(".", 1)[0] in dnames):
            return True
        for dname in dnames:
            full = f"{dmodule}.{dname}"
            if path == full or path.startswith(full + "."):
                return True
    parts = name.split(".")
    leaf = parts[-1]
    if leaf in _DANGEROUS_LEAF_NAMES or leaf.startswith(_DANGEROUS_LEAF_PREFIXES):
        return True
    # Attribute traversal through dunders is how sandbox escapes are spelled
    # (`OrderedDict.__init__.__globals__`); no legitimate weight file needs it.
    return any(part.startswith("__") and part.endswith("__") for part in parts[:-1]) or (
        len(parts) > 1 and leaf.startswith("__")
    )


def classify_global(module: str, name: str) -> Safety:
    """The safety level of importing `name` from `module` while unpickling."""
    spellings = _spellings(module, name)
    if any(_is_dangerous(m, n) for m, n in spellings):
        return Safety.DANGEROUS
    if any(pair in ALLOWED_GLOBALS for pair in spellings):
        return Safety.INNOCUOUS
    return Safety.SUSPICIOUS


def is_resolvable(module: str, name: str) -> bool:
    """Whether `find_class` could possibly resolve this pair: every dotted part must be a
    Python identifier. Garbage (read from bytes that merely resemble a GLOBAL opcode) can
    import nothing, which lets the sniffer tell data from pickles without false alarms."""
    if not module or not name or len(module) > 256 or len(name) > 256:
        return False
    return all(part.isidentifier() for part in module.split(".")) and all(
        part.isidentifier() for part in name.split(".")
    )
