""""Use this model" snippets (repos/snippets.py): built from the repository's real files only."""
from __future__ import annotations

import ast

from repos.snippets import RepoFacts, auto_class_for, detect_library, usage_snippets

ENDPOINT = "http://hub.example:8123"


def facts(**kw: object) -> RepoFacts:
    base: dict[str, object] = {"repo_id": "alice/tiny", "repo_type": "model", "endpoint": ENDPOINT,
                               "clone_url": f"{ENDPOINT}/alice/tiny"}
    base.update(kw)
    return RepoFacts(**base)  # type: ignore[arg-type]


def by_key(f: RepoFacts) -> dict[str, str]:
    return {s.key: s.code for s in usage_snippets(f).snippets}


def test_transformers_pipeline_and_auto_class_from_config() -> None:
    f = facts(files=frozenset({"config.json", "model.safetensors", "tokenizer.json", "README.md"}),
              config={"architectures": ["BertForSequenceClassification"], "model_type": "bert"})
    usage = usage_snippets(f)
    assert usage.library == "transformers"
    keys = [s.key for s in usage.snippets]
    assert keys == ["transformers-pipeline", "transformers-auto", "hf-hub", "git"]
    code = by_key(f)
    assert 'pipeline("text-classification", model="alice/tiny")' in code["transformers-pipeline"]
    assert "from transformers import AutoTokenizer, AutoModelForSequenceClassification" in code["transformers-auto"]
    assert 'filename="config.json"' in code["hf-hub"]
    for key in ("transformers-pipeline", "transformers-auto", "hf-hub"):
        ast.parse(code[key])  # valid Python, as copied
        # HF_ENDPOINT set before anything from huggingface is imported
        assert code[key].index(f'os.environ["HF_ENDPOINT"] = "{ENDPOINT}"') < code[key].index("from ")


def test_card_task_wins_and_unknown_tasks_give_no_pipeline() -> None:
    files = frozenset({"config.json", "model.safetensors"})
    cfg = {"architectures": ["GPT2LMHeadModel"]}
    code = by_key(facts(files=files, config=cfg, pipeline_tag="text-generation"))
    assert 'pipeline("text-generation"' in code["transformers-pipeline"]
    assert "AutoModelForCausalLM" in code["transformers-auto"]
    assert "AutoTokenizer" not in code["transformers-auto"]  # no tokenizer file in the repo
    # A made-up task on the card: no pipeline line that would fail; the inferred one is used.
    code = by_key(facts(files=files, config=cfg, pipeline_tag="my-own-task"))
    assert 'pipeline("text-generation"' in code["transformers-pipeline"]
    # No architecture: no task to infer, the base AutoModel loads it.
    usage = usage_snippets(facts(files=files, config={"model_type": "bert"}))
    assert [s.key for s in usage.snippets][:1] == ["transformers-auto"]
    assert "AutoModel.from_pretrained" in usage.snippets[0].code and usage.snippets[0].note


def test_never_names_a_config_the_repo_does_not_have() -> None:
    f = facts(files=frozenset({"model.safetensors", "README.md"}), library_name="transformers")
    usage = usage_snippets(f)
    text = "\n".join(s.code for s in usage.snippets)
    assert "config.json" not in text
    assert "transformers" not in text  # no config: from_pretrained would fail
    assert 'filename="model.safetensors"' in text


def test_other_libraries_by_card_or_files() -> None:
    assert detect_library(facts(files=frozenset({"adapter_config.json"}))) == "peft"
    assert detect_library(facts(files=frozenset({"model_index.json"}))) == "diffusers"
    assert detect_library(facts(files=frozenset({"modules.json", "config.json"}), config={"model_type": "x"})) \
        == "sentence-transformers"
    assert detect_library(facts(files=frozenset({"config.json"}), config={"hidden": 3})) == ""
    assert detect_library(facts(library_name="Timm")) == "timm"
    peft = by_key(facts(files=frozenset({"adapter_config.json"})))["peft"]
    assert 'AutoPeftModel.from_pretrained("alice/tiny")' in peft
    assert 'timm.create_model("hf-hub:alice/tiny"' in by_key(facts(library_name="timm"))["timm"]


def test_auto_class_table() -> None:
    assert auto_class_for("T5ForConditionalGeneration") == ("AutoModelForSeq2SeqLM", "text2text-generation")
    assert auto_class_for("LlamaForCausalLM") == ("AutoModelForCausalLM", "text-generation")
    assert auto_class_for("BertModel") == ("AutoModel", "")


def test_dataset_snippets() -> None:
    f = facts(repo_type="dataset", files=frozenset({"train.csv", "README.md"}),
              clone_url=f"{ENDPOINT}/datasets/alice/tiny")
    code = by_key(f)
    assert list(code) == ["datasets", "hf-hub", "git"]
    assert 'load_dataset("alice/tiny")' in code["datasets"]
    assert 'repo_type="dataset"' in code["hf-hub"] and 'filename="README.md"' in code["hf-hub"]
    assert code["git"].endswith(f"git clone {ENDPOINT}/datasets/alice/tiny\n")
    # Nothing load_dataset can read: no datasets snippet
    assert "datasets" not in by_key(facts(repo_type="dataset", files=frozenset({"notes.md"})))


def test_git_snippet_keeps_tokens_out_of_the_url() -> None:
    code = by_key(facts(private=True, files=frozenset({"README.md"})))
    git = code["git"]
    assert "git lfs install" in git and "credential.helper" in git and "--add-to-git-credential" in git
    assert f"git clone {ENDPOINT}/alice/tiny" in git and "@" not in git.split("git clone", 1)[1]
    assert "hf auth login" in code["hf-hub"]


def test_odd_values_stay_inside_string_literals() -> None:
    f = facts(repo_id='a/b"); import os; os.system("x', files=frozenset({"README.md"}),
              config=None, pipeline_tag='"); evil(')
    for s in usage_snippets(f).snippets:
        if s.language == "python":
            tree = ast.parse(s.code)
            calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
                     for n in ast.walk(tree) if isinstance(n, ast.Call)}
            assert "system" not in calls and "evil" not in calls
    # An architecture that is not an identifier is not pasted into code.
    code = by_key(facts(files=frozenset({"config.json"}), config={"architectures": ["X; import os"]}))
    assert "import os;" not in code["transformers-auto"]
