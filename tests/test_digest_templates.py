"""`check_templates`: missing or broken email templates are reported with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

from email_helpers import TEMPLATES, email_config

from publisher.config import Config
from publisher.newsletters.render import check_templates


def config_with_templates(tmp_path: Path) -> tuple[Config, Path]:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    return email_config(tmp_path, email={"templates_dir": str(folder)}), folder


def test_the_bundled_templates_have_no_problems(tmp_path: Path) -> None:
    assert check_templates(email_config(tmp_path)) == []


def test_a_missing_template_is_named(tmp_path: Path) -> None:
    config, folder = config_with_templates(tmp_path)
    (folder / "digest.txt.j2").unlink()
    (problem,) = check_templates(config)
    assert problem.where == str(folder / "digest.txt.j2")
    assert problem.message.startswith("the email template is missing (needed by digest.txt.j2)")


def test_a_syntax_error_gives_file_and_line(tmp_path: Path) -> None:
    config, folder = config_with_templates(tmp_path)
    path = folder / "alert.html.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = "{% if post.title %}unclosed"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = check_templates(config)
    assert problems
    assert problems[0].where == str(path)
    assert problems[0].line == 13  # where the unclosed if is noticed: at {% endblock %}
    assert problems[0].message.startswith(
        "template syntax error: Encountered unknown tag 'endblock'"
    )


def test_an_unknown_variable_gives_file_and_line(tmp_path: Path) -> None:
    config, folder = config_with_templates(tmp_path)
    path = folder / "base.txt.j2"
    text = path.read_text(encoding="utf-8").replace("{{ site.url }}", "{{ site_url }}")
    path.write_text(text, encoding="utf-8")
    problems = check_templates(config)
    assert problems
    assert (problems[0].where, problems[0].line) == (str(path), 16)
    assert "'site_url' is undefined" in problems[0].message


def test_a_missing_folder_says_which_key_to_set(tmp_path: Path) -> None:
    config = email_config(tmp_path, email={"templates_dir": str(tmp_path / "nowhere")})
    (problem,) = check_templates(config)
    assert problem.where == str(tmp_path / "nowhere")
    assert "set [email] templates_dir" in problem.message


def test_a_missing_labels_file_is_named(tmp_path: Path) -> None:
    config, folder = config_with_templates(tmp_path)
    (folder / "labels.j2").unlink()
    (problem,) = check_templates(config)
    assert problem.where == str(folder / "labels.j2")
    assert problem.message == (
        "the email template is missing (needed by labels.j2): add it, or copy it from "
        "publisher's email_templates/"
    )


def test_a_syntax_error_in_the_labels_gives_file_and_line(tmp_path: Path) -> None:
    config, folder = config_with_templates(tmp_path)
    path = folder / "labels.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if '"digest_subject"' in line)
    lines[n] = '    "digest_subject": "새 글 %d건" oops,'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = check_templates(config)
    assert (problem.where, problem.line) == (str(path), n + 1)
    assert problem.message == "template syntax error: expected token ',', got 'oops'"
