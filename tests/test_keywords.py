"""Keyword files: loading, errors that name file and line, refused regexes, lint."""

from __future__ import annotations

import shutil

import pytest

from monitor.config import PROJECT_ROOT
from monitor.errors import KeywordFileError
from monitor.matching.keywords import lint_keywords, load_keywords, regex_problem

KEYWORDS = PROJECT_ROOT / "keywords"


@pytest.fixture
def kwdir(tmp_path):
    target = tmp_path / "keywords"
    shutil.copytree(KEYWORDS, target)
    return target


def test_shipped_keyword_files_load_and_lint_clean():
    keywords = load_keywords(KEYWORDS)
    assert keywords.entries and keywords.automaton is not None
    assert lint_keywords(KEYWORDS) == []


def test_toml_syntax_error_names_file_and_line(kwdir):
    path = kwdir / "identity.toml"
    lines = path.read_text().splitlines()
    lines.insert(5, '"坏条目" = { weight = 1.0,, }')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(KeywordFileError) as info:
        load_keywords(kwdir, use_cache=False)
    assert info.value.path.endswith("identity.toml")
    assert info.value.line == 6
    assert "identity.toml:6" in str(info.value)


def test_bad_value_names_file_and_line_of_the_entry(kwdir):
    path = kwdir / "vehicle.toml"
    text = path.read_text() + '"坏权重" = { weight = "high" }\n'
    path.write_text(text)
    line = text.count("\n")
    with pytest.raises(KeywordFileError) as info:
        load_keywords(kwdir, use_cache=False)
    assert info.value.line == line
    assert "坏权重" in str(info.value)
    problems = lint_keywords(kwdir)
    assert any(p.startswith(f"{path}:{line} ") for p in problems)


def test_unknown_category_and_role_are_errors(kwdir):
    (kwdir / "extra.toml").write_text('category = "pets"\n[terms]\n"猫" = 1\n')
    with pytest.raises(KeywordFileError, match="extra.toml:1.*pets"):
        load_keywords(kwdir, use_cache=False)


@pytest.mark.parametrize("regex", [r"(a+)+$", r"(\d*)*x", r"(a|aa)+b", r"(?:x+y?)+z"])
def test_catastrophic_regex_is_refused(kwdir, regex):
    assert regex_problem(regex)
    (kwdir / "evil.toml").write_text(
        f'category = "identity"\n[patterns]\n"evil" = {{ regex = \'{regex}\' }}\n'
    )
    with pytest.raises(KeywordFileError, match="evil.toml:3"):
        load_keywords(kwdir, use_cache=False)


def test_safe_regexes_are_accepted():
    assert regex_problem(r"(?<![\d.])\d{1,12}个号") is None
    assert regex_problem(r"(?<![\d.])\d{1,12}(?:万|w)?粉") is None
    assert regex_problem(r"(?:\d{1,3},){1,4}\d{3}") is None


def test_warm_load_uses_the_compiled_cache(kwdir, monkeypatch):
    from monitor.matching import keywords as module

    cold = load_keywords(kwdir)

    def never(*args, **kwargs):
        raise AssertionError("a warm load compiled the lists again")

    # Judged by what runs, not by the clock (a busy machine made a timed check fail).
    monkeypatch.setattr(module, "_compile", never)
    keywords = load_keywords(kwdir)
    assert keywords.automaton is not None
    assert keywords.digest == cold.digest and keywords.rules_version == cold.rules_version
    # A changed list is compiled again, never served from the old cache.
    (kwdir / "extra.toml").write_text('category = "identity"\n[terms]\n"测试词" = 1\n')
    with pytest.raises(AssertionError, match="compiled the lists again"):
        load_keywords(kwdir)


def test_lint_warns_when_the_model_was_trained_on_other_keyword_lists(kwdir, capsys):
    import argparse
    import json

    from monitor.cli.keywords import register
    from monitor.matching.rules_version import keyword_lists_version, model_lists_warning

    model_path = kwdir / "model.json"
    model = json.loads(model_path.read_text())
    model["training"]["rules_version"] = keyword_lists_version(kwdir)
    model_path.write_text(json.dumps(model))
    assert model_lists_warning(kwdir) is None
    (kwdir / "extra.toml").write_text('category = "identity"\n[terms]\n"测试词" = 1\n')
    warning = model_lists_warning(kwdir)
    assert warning is not None and str(model_path) in warning
    assert keyword_lists_version(kwdir)[:8] in warning
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["keywords", "lint", str(kwdir)])
    assert args.func(args) == 0  # a warning, not a problem: editing lists alone is allowed
    assert "trained on keyword lists" in capsys.readouterr().out
