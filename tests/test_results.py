"""utils.results (the recorder) and the seed knob of utils.repro."""

from __future__ import annotations

import json

import numpy as np
import pytest

from utils import repro, results


def test_record_prints_one_line_and_returns_the_float(capsys):
    value = results.record("test BCE", np.float32(0.09213), "nats/pixel", fmt=".4f",
                           published=0.11, source="Keras blog (2016)")
    assert isinstance(value, float) and value == pytest.approx(0.09213, rel=1e-6)
    out = capsys.readouterr().out
    assert out == ("RESULT  test BCE = 0.0921 nats/pixel  "
                   "[published 0.11, Keras blog (2016)]\n")


def test_a_published_number_is_printed_in_the_value_format(capsys):
    results.record("SE per image", 2.917, fmt=".2f", published=3.0, source="H&S 2006")
    results.record("accuracy", 0.93, fmt=".1%", published="88.2% (M1+TSVM)")
    results.record("passes", 13.0, fmt=",.0f", published=3280)
    assert capsys.readouterr().out.splitlines() == [
        "RESULT  SE per image = 2.92  [published 3.00, H&S 2006]",
        "RESULT  accuracy = 93.0%  [published 88.2% (M1+TSVM)]",
        "RESULT  passes = 13  [published 3,280]"]


def test_record_formats_percentages_and_integers(capsys):
    results.record("accuracy", 0.9351, fmt=".1%")
    results.record("parameters", 50992.0, fmt=",d")
    assert capsys.readouterr().out.splitlines() == [
        "RESULT  accuracy = 93.5%", "RESULT  parameters = 50,992"]


def test_record_appends_json_lines_when_asked(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "records.jsonl"
    monkeypatch.setenv(results.RESULTS_FILE_ENV_VAR, str(target))
    monkeypatch.setenv(results.NOTEBOOK_ENV_VAR, "notebooks/03_x.ipynb")
    monkeypatch.setenv(repro.SEED_ENV_VAR, "7")
    repro.set_seed()
    results.record("a", 1.5, "s")
    results.record("b", 2)
    rows = results.load_jsonl(target)
    assert [(r.name, r.value, r.unit, r.seed, r.notebook) for r in rows] == [
        ("a", 1.5, "s", 7, "notebooks/03_x.ipynb"), ("b", 2.0, "", 7, "notebooks/03_x.ipynb")]


def test_record_refuses_bad_values_with_the_name():
    with pytest.raises(ValueError, match="'loss'.*finite"):
        results.record("loss", float("nan"))
    with pytest.raises(TypeError, match="'loss'.*one real number"):
        results.record("loss", np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="'flag'"):
        results.record("flag", True)
    with pytest.raises(ValueError, match="non-empty"):
        results.record("  ", 1.0)
    with pytest.raises(ValueError, match="may not contain"):
        results.record("a = b", 1.0)
    with pytest.raises(ValueError, match="fmt='.2q'"):
        results.record("x", 1.0, fmt=".2q")


def test_record_names_an_unwritable_results_file(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(results.RESULTS_FILE_ENV_VAR, str(blocker / "records.jsonl"))
    with pytest.raises(OSError, match=results.RESULTS_FILE_ENV_VAR):
        results.record("x", 1.0)


def test_load_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"name": "a", "value": 1.0}\nnot json\n')
    with pytest.raises(ValueError, match=r"r.jsonl:2"):
        results.load_jsonl(path)


def test_runtime_counts_from_set_seed(capsys):
    repro.set_seed(0)
    seconds = results.record_runtime()
    assert 0 <= seconds < 5
    assert capsys.readouterr().out.startswith("RESULT  runtime = ")


def _notebook(*sources: str, outputs=None) -> dict:
    cells = [{"cell_type": "markdown", "source": "# Title", "metadata": {}}]
    for src in sources:
        cells.append({"cell_type": "code", "source": src, "metadata": {},
                      "outputs": outputs or [], "execution_count": 1})
    return {"cells": cells}


def test_from_notebook_reads_the_records_in_the_outputs():
    payload = {"name": "AUROC", "value": 0.99, "unit": "", "text": "0.990", "published": None,
               "source": None, "seed": 42, "notebook": None}
    outputs = [{"output_type": "display_data",
                "data": {"text/plain": "RESULT  AUROC = 0.990", results.MIME_TYPE: payload}},
               {"output_type": "stream", "text": "RESULT  fake = 1.0\n"}]
    found = results.from_notebook(_notebook("x = 1", outputs=outputs))
    assert [(r.name, r.value, r.text) for r in found] == [("AUROC", 0.99, "0.990")]


def test_code_hash_follows_code_not_outputs_markdown_or_the_colab_cell():
    base = results.code_hash(_notebook("a = 1", "b = 2"))
    executed = _notebook("a = 1", "b = 2", outputs=[{"output_type": "stream", "text": "hi"}])
    assert results.code_hash(executed) == base
    with_colab = _notebook(f"{results.COLAB_MARKER}: installs the course\nimport sys",
                           "a = 1", "b = 2")
    assert results.code_hash(with_colab) == base
    with_list_source = _notebook(["a ", "= 1"], "b = 2")
    assert results.code_hash(with_list_source) == base
    assert results.code_hash(_notebook("a = 1", "b = 3")) != base
    assert results.code_hash(_notebook("b = 2", "a = 1")) != base


def test_seed_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(repro.SEED_ENV_VAR, raising=False)
    assert repro.seed_from_env() == repro.DEFAULT_SEED == 42
    monkeypatch.setenv(repro.SEED_ENV_VAR, " 7 ")
    assert repro.seed_from_env() == 7
    assert repro.set_seed() == 7 and repro.current_seed() == 7
    first = np.random.rand()  # noqa: NPY002
    repro.set_seed()
    assert np.random.rand() == first  # noqa: NPY002
    assert repro.set_seed(3) == 3 and repro.current_seed() == 3


@pytest.mark.parametrize("raw", ["seven", "1.5", "-1", str(2**32)])
def test_a_bad_seed_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv(repro.SEED_ENV_VAR, raw)
    with pytest.raises(ValueError, match=repro.SEED_ENV_VAR):
        repro.seed_from_env()


def test_determinism_switch_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(repro.DETERMINISM_ENV_VAR, "yes")
    with pytest.raises(ValueError, match=repro.DETERMINISM_ENV_VAR):
        repro.set_seed(1)


def test_results_payload_is_json_serialisable():
    r = results.Result(name="x", value=1.0, text="1", seed=42)
    assert json.loads(json.dumps(r.__dict__))["seed"] == 42


def _write_sweep(root, stats):
    path = root / "results" / "seed_sweep.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"notebooks": {"notebooks/05_x.ipynb": {"stats": stats}}}))
    return path


def test_swept_reads_the_statistics_found_above_the_working_directory(tmp_path, monkeypatch):
    stats = {"SE": {"mean": 6.9, "std": 0.2, "min": 6.7, "max": 7.1, "n": 4, "unit": ""}}
    path = _write_sweep(tmp_path, stats)
    inner = tmp_path / "notebooks" / "challenges"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert results.find_sweep() == path
    assert results.swept("notebooks/05_x.ipynb", "SE") == stats["SE"]


def test_swept_outside_a_checkout_is_none_and_typos_are_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert results.find_sweep() is None
    assert results.swept("notebooks/05_x.ipynb", "SE") is None
    path = _write_sweep(tmp_path, {"SE": {"mean": 1.0}})
    with pytest.raises(KeyError, match="no notebook 'notebooks/06_y.ipynb'"):
        results.swept("notebooks/06_y.ipynb", "SE", sweep=path)
    with pytest.raises(KeyError, match="records no 'MSE'; it records \\['SE'\\]"):
        results.swept("notebooks/05_x.ipynb", "MSE", sweep=path)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a seed-sweep summary"):
        results.swept("notebooks/05_x.ipynb", "SE", sweep=path)
