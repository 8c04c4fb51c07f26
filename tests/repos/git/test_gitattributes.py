"""gitattributes, gitignore and the wildmatch they share; git itself is the oracle where the
git binary is available (check-attr / check-ignore with one process per batch of paths)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repos.git.gitattributes import (
    DEFAULT_DATASET_GITATTRIBUTES,
    DEFAULT_MODEL_GITATTRIBUTES,
    add_lfs_rule,
    default_gitattributes,
    escape_pattern,
    lfs_patterns,
    matches_lfs,
)
from repos.git.gitignore import GitIgnore, is_ignored
from repos.git.wildmatch import wildmatch

APPENDIX_A = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git binary not installed")


# --- git oracles -------------------------------------------------------------------------


def git_lfs_paths(tmp: Path, gitattributes: str, paths: list[str]) -> dict[str, bool]:
    """{path: True if git says filter=lfs} for a root .gitattributes with this content."""
    repo = tmp / "attr-repo"
    if not (repo / ".git").exists():
        repo.mkdir(exist_ok=True)
        subprocess.run([GIT, "init", "-q", str(repo)], check=True)
    (repo / ".gitattributes").write_text(gitattributes)
    out = subprocess.run(
        [GIT, "-c", "core.quotepath=off", "check-attr", "-z", "--stdin", "filter"],
        cwd=repo,
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    # -z output: path NUL attr NUL value NUL, repeated
    return {out[i]: out[i + 2] == "lfs" for i in range(0, len(out) - 1, 3)}


def git_ignored_paths(tmp: Path, gitignore: str, paths: list[str]) -> dict[str, bool]:
    repo = tmp / "ignore-repo"
    if not (repo / ".git").exists():
        repo.mkdir(exist_ok=True)
        subprocess.run([GIT, "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text(gitignore)
    out = subprocess.run(
        [GIT, "check-ignore", "--no-index", "-z", "-v", "-n", "--stdin"],
        cwd=repo,
        input="\0".join(paths) + "\0",
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    # -z -v -n output: source NUL linenum NUL pattern NUL path NUL; negated patterns mean
    # "not ignored", an empty source means no pattern matched.
    result = {}
    for i in range(0, len(out) - 1, 4):
        source, pattern, path = out[i], out[i + 2], out[i + 3]
        result[path] = bool(source) and not pattern.startswith("!")
    return result


# --- defaults ----------------------------------------------------------------------------


def test_model_default_is_appendix_a_exactly() -> None:
    assert DEFAULT_MODEL_GITATTRIBUTES == APPENDIX_A
    assert default_gitattributes("model") == APPENDIX_A


def test_dataset_default_extends_model_default() -> None:
    assert default_gitattributes("dataset") == DEFAULT_DATASET_GITATTRIBUTES
    model = set(lfs_patterns(DEFAULT_MODEL_GITATTRIBUTES))
    dataset = lfs_patterns(DEFAULT_DATASET_GITATTRIBUTES)
    extras = [
        "*.mds",
        "*.lz4",
        "*.pcm",
        "*.sam",
        "*.raw",
        "*.aac",
        "*.flac",
        "*.mp3",
        "*.ogg",
        "*.wav",
        "*.bmp",
        "*.gif",
        "*.png",
        "*.tiff",
        "*.jpg",
        "*.jpeg",
        "*.webp",
        "*.mp4",
        "*.webm",
    ]
    assert set(dataset) == model | set(extras)
    assert len(dataset) == len(set(dataset))
    for line in DEFAULT_DATASET_GITATTRIBUTES.splitlines():
        assert line.startswith("# ") or line.endswith(" filter=lfs diff=lfs merge=lfs -text")


@pytest.mark.parametrize(
    "path,expected",
    [
        ("model.safetensors", True),
        ("sub/dir/model.safetensors", True),
        ("pytorch_model.bin", True),
        ("archive.tar.gz", True),
        ("data.tar", True),
        ("runs/events.out.tfevents.1700000000.host", True),
        ("saved_model/variables/variables.data-00000-of-00001", True),
        ("saved_model/saved_model.pb", True),
        ("saved_model/keras_metadata", True),
        ("nested/saved_model/x", False),
        ("README.md", False),
        ("config.json", False),
        ("model.safetensors.index.json", False),
        ("x.lfs.anything", True),
        ("tokenizer.model", True),
        ("weights.SAFETENSORS", False),  # git matching is case-sensitive
        ("image.png", False),
    ],
)
def test_default_model_rules(path: str, expected: bool) -> None:
    assert matches_lfs(path, lfs_patterns(DEFAULT_MODEL_GITATTRIBUTES)) is expected


def test_dataset_rules_cover_media() -> None:
    patterns = lfs_patterns(DEFAULT_DATASET_GITATTRIBUTES)
    for path in ["train/0001.png", "audio/a.wav", "v/clip.mp4", "shards/0.mds", "x.lz4"]:
        assert matches_lfs(path, patterns)
    assert not matches_lfs("train/metadata.csv", patterns)


@needs_git
def test_default_rules_agree_with_git(tmp_path: Path) -> None:
    paths = [
        "a.bin",
        "d/a.bin",
        "saved_model/a/b",
        "saved_model/a",
        "x/saved_model/a",
        "e.tfevents",
        "runs/e.tfevents.1",
        "a.tar.gz",
        "a.tar",
        "tar",
        "a.json",
        "a.png",
        "d/x.mp4",
        "x.lfs.y",
    ]
    for text in (DEFAULT_MODEL_GITATTRIBUTES, DEFAULT_DATASET_GITATTRIBUTES):
        expected = git_lfs_paths(tmp_path, text, paths)
        patterns = lfs_patterns(text)
        assert {p: matches_lfs(p, patterns) for p in paths} == expected


# --- parsing ---------------------------------------------------------------------------


def test_lfs_patterns_parsing() -> None:
    text = (
        "# comment\n"
        "\n"
        "[attr]binary -diff -merge -text\n"
        "*.bin filter=lfs diff=lfs merge=lfs -text\n"
        "*.txt text eol=lf\n"
        "small.bin -filter\n"
        "  *.h5\tfilter=lfs  -text  \n"
        '"with space.dat" filter=lfs\n'
        "other.dat filter=custom\n"
        "!negated.bin filter=lfs\n"
    )
    assert lfs_patterns(text) == ["*.bin", "!small.bin", "*.h5", "with space.dat", "!other.dat"]
    patterns = lfs_patterns(text)
    assert matches_lfs("big.bin", patterns)
    assert not matches_lfs("small.bin", patterns)  # a later line unsets the filter
    assert matches_lfs("d/w.h5", patterns)
    assert matches_lfs("with space.dat", patterns)
    assert not matches_lfs("notes.txt", patterns)


@needs_git
def test_parsing_agrees_with_git(tmp_path: Path) -> None:
    text = (
        "*.bin filter=lfs\nsmall.bin -filter\nkeep/*.bin !filter\n*.h5\tfilter=lfs\n"
        '"sp ace.dat" filter=lfs\nd/ filter=lfs\nd/** filter=lfs\n/root.pt filter=lfs\n'
        "a/**/b.x filter=lfs\n**/c.y filter=lfs\nx[0-9].z filter=lfs\nq\\*.w filter=lfs\n"
    )
    paths = [
        "a.bin",
        "small.bin",
        "s/small.bin",
        "keep/a.bin",
        "keep/k/a.bin",
        "m.h5",
        "sp ace.dat",
        "d",
        "d/x",
        "d/e/f",
        "root.pt",
        "sub/root.pt",
        "a/b.x",
        "a/1/2/b.x",
        "c.y",
        "p/c.y",
        "x1.z",
        "xa.z",
        "q*.w",
        "qq.w",
    ]
    patterns = lfs_patterns(text)
    assert {p: matches_lfs(p, patterns) for p in paths} == git_lfs_paths(tmp_path, text, paths)


# --- add_lfs_rule ----------------------------------------------------------------------


def test_add_lfs_rule_appends_exact_line() -> None:
    text = "*.bin filter=lfs diff=lfs merge=lfs -text"  # no final newline
    out = add_lfs_rule(text, "data/big file[1].txt")
    assert out == text + "\ndata/big[[:space:]]file\\[1\\].txt filter=lfs diff=lfs merge=lfs -text\n"
    patterns = lfs_patterns(out)
    assert matches_lfs("data/big file[1].txt", patterns)
    assert not matches_lfs("data/big file1.txt", patterns)
    assert add_lfs_rule(out, "data/big file[1].txt") == out  # idempotent
    assert add_lfs_rule(out, "x.bin") == out  # already covered by *.bin
    assert add_lfs_rule("", "a.txt") == "a.txt filter=lfs diff=lfs merge=lfs -text\n"


def test_escape_pattern_special_leaders() -> None:
    assert escape_pattern("#notes.txt") == "\\#notes.txt"
    assert escape_pattern("!x") == "\\!x"
    with pytest.raises(ValueError):
        escape_pattern("a\nb")


path_component = st.text(alphabet="ab.-_ *?[]!#\\", min_size=1, max_size=6).filter(
    lambda c: c not in (".", "..") and c.strip(" ") == c and not c.startswith('"')
)
paths = st.lists(path_component, min_size=1, max_size=3).map("/".join)


@given(path=paths)
def test_added_rule_matches_its_path(path: str) -> None:
    assert matches_lfs(path, lfs_patterns(add_lfs_rule("", path)))


@needs_git
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, other=paths)
def test_added_rule_agrees_with_git(tmp_path: Path, path: str, other: str) -> None:
    text = add_lfs_rule("", path)
    ours = {p: matches_lfs(p, lfs_patterns(text)) for p in (path, other)}
    assert ours == git_lfs_paths(tmp_path, text, [path, other])
    assert ours[path]


# --- wildmatch -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern,text,expected",
    [
        ("*.bin", "a.bin", True),
        ("*.bin", "d/a.bin", False),  # * never crosses /
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("**", "a/b/c", True),
        ("**/c", "c", True),
        ("**/c", "a/b/c", True),
        ("a/**/c", "a/c", True),
        ("a/**/c", "a/x/y/c", True),
        ("a/**", "a/x/y", True),
        ("a/**", "a", False),
        ("a**b", "a/b", False),  # ** not a whole component acts as *
        ("a**b", "axxb", True),
        ("[abc]x", "bx", True),
        ("[!abc]x", "dx", True),
        ("[!abc]x", "/x", False),
        ("[a-c]", "b", True),
        ("[]]", "]", True),
        ("[[:digit:]]*", "7z", True),
        ("[[:space:]]", " ", True),
        ("[[:nope:]]", "n", False),
        ("[abc", "[abc", False),  # unterminated class: git's wildmatch aborts
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("a.b", "axb", False),  # regex metacharacters are literal
        ("(x)+", "(x)+", True),
    ],
)
def test_wildmatch_table(pattern: str, text: str, expected: bool) -> None:
    assert wildmatch(pattern, text) is expected


attr_target = st.lists(st.sampled_from(["a", "b", "ab", ".a", "a-b", "ba"]), min_size=1, max_size=3).map("/".join)
glob_pattern = st.text(alphabet="ab*?/[]!-\\.", min_size=1, max_size=8).filter(
    lambda p: not p.startswith(("!", "#", "\\#", "\\!")) and not p.endswith("\\") and "//" not in p
)


@needs_git
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=glob_pattern, targets=st.lists(attr_target, min_size=1, max_size=6))
def test_attribute_matching_agrees_with_git(tmp_path: Path, pattern: str, targets: list[str]) -> None:
    text = f"{pattern} filter=lfs\n"
    patterns = lfs_patterns(text)
    assert {t: matches_lfs(t, patterns) for t in targets} == git_lfs_paths(tmp_path, text, targets)


# --- gitignore -------------------------------------------------------------------------


GITIGNORE = """\
# build output
build/
!build/keep.txt
*.log
!keep.log
/root-only.txt
doc/**/draft.md
**/cache
tmp*
\\#literal
trailing.txt   
escaped\\ 
"""  # noqa: W291 - trailing spaces are part of the test

IGNORE_CASES = [
    ("build/a.o", True),
    ("build/keep.txt", True),  # a parent directory is excluded: cannot be re-included
    ("src/build/x", True),  # no slash in "build/": matches at any depth
    ("build", False),  # a file named build is not a directory
    ("app.log", True),
    ("logs/app.log", True),
    ("keep.log", False),
    ("root-only.txt", True),
    ("sub/root-only.txt", False),
    ("doc/draft.md", True),
    ("doc/a/b/draft.md", True),
    ("x/doc/draft.md", False),
    ("cache", True),
    ("a/b/cache", True),
    ("a/cache/f", True),
    ("tmpfile", True),
    ("d/tmp1/f", True),
    ("#literal", True),
    ("trailing.txt", True),
    ("escaped ", True),
    ("escaped", False),
    ("src/main.py", False),
]


@pytest.mark.parametrize("path,expected", IGNORE_CASES)
def test_gitignore_semantics(path: str, expected: bool) -> None:
    assert is_ignored(path, GITIGNORE) is expected


@needs_git
def test_gitignore_agrees_with_git(tmp_path: Path) -> None:
    all_paths = [p for p, _ in IGNORE_CASES]
    ours = {p: is_ignored(p, GITIGNORE) for p in all_paths}
    assert ours == git_ignored_paths(tmp_path, GITIGNORE, all_paths)


def test_gitignore_directories_and_empty() -> None:
    rules = GitIgnore("out/\n")
    assert rules.is_ignored("out", is_dir=True)
    assert not rules.is_ignored("out")
    assert not is_ignored("anything", "")
    assert not is_ignored("a", "# only a comment\n\n")
    assert is_ignored("/build/x", "build/\n")  # a leading slash on the path is tolerated


ignore_target = st.lists(st.sampled_from(["a", "b", "ab", "a.b", "ba"]), min_size=1, max_size=3).map("/".join)
ignore_line = st.builds(
    lambda neg, pat, slash: ("!" if neg else "") + pat + ("/" if slash else ""),
    st.booleans(),
    st.text(alphabet="ab*?/.", min_size=1, max_size=6).filter(lambda p: "//" not in p and not p.endswith("/")),
    st.booleans(),
)


@needs_git
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(ignore_line, min_size=1, max_size=4),
    targets=st.lists(ignore_target, min_size=1, max_size=6, unique=True),
)
def test_gitignore_agrees_with_git_fuzzed(tmp_path: Path, lines: list[str], targets: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    assert {t: is_ignored(t, text) for t in targets} == git_ignored_paths(tmp_path, text, targets)
