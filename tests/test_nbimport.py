"""Loading definitions from another notebook."""

from __future__ import annotations

import nbformat
import pytest

from hwlib.nbimport import definitions_source, import_notebook


def _write(tmp_path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path = tmp_path / "layers.ipynb"
    nbformat.write(nb, path)
    return path


def test_only_definitions_run(tmp_path):
    path = _write(tmp_path, "%matplotlib inline\nimport math\nSCALE = 2\nADD, MUL = '+', '*'\nx = 1/0",
                  "def f(v):\n    return SCALE * math.sqrt(v)\nf(-1)", "class Model:\n    pass\nraise RuntimeError('training')")
    module = import_notebook(path)
    assert module.f(4) == 4.0 and module.Model and not hasattr(module, "x")
    assert (module.ADD, module.MUL) == ("+", "*")


def test_into_and_names(tmp_path):
    path = _write(tmp_path, "def a():\n    return 1\ndef b():\n    return 2")
    target = {}
    import_notebook(path, names=["a"], into=target)
    assert list(target) == ["a"]
    with pytest.raises(ImportError, match="does not define c"):
        import_notebook(path, names=["a", "c"])


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such notebook"):
        import_notebook(tmp_path / "missing.ipynb")
    path = _write(tmp_path, "def broken(:\n    pass")
    with pytest.raises(SyntaxError, match="code cell 0"):
        import_notebook(path)


def test_not_a_v4_notebook_is_named_with_what_to_do(tmp_path):
    for name, content in (("empty.ipynb", ""), ("list.ipynb", "[1, 2]"),
                          ("v3.ipynb", '{"nbformat": 3, "worksheets": []}')):
        (tmp_path / name).write_text(content)
        with pytest.raises(ValueError, match=f"{name} is not a Jupyter notebook in format version 4; open it"):
            import_notebook(tmp_path / name)


def test_source_as_list_of_lines(tmp_path):
    """The file format allows a cell's source as one string or as a list of lines."""
    path = tmp_path / "lines.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ['
                    '{"cell_type": "markdown", "metadata": {}, "source": ["# title"]},'
                    '{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,'
                    ' "source": ["def g():\\n", "    return 7"]}]}')
    assert import_notebook(path).g() == 7


def test_grader_imports_can_be_left_out():
    source = "from course.hidden import run_hidden_tests; run_hidden_tests('a', 'b')\nimport numpy as np\nimport course"
    assert definitions_source(source, skip_imports_from=("course",)) == "import numpy as np"


def test_definitions_source_drops_shell_lines():
    assert definitions_source("!pip install x\ndef f():\n    return 1").startswith("def f")


def test_nested_notebook_imports_are_replayed_relative_to_the_notebook(tmp_path, monkeypatch):
    layers = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def double(x):\n    return 2 * x")])
    nbformat.write(layers, tmp_path / "02_layers.ipynb")
    net = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('from hwlib.nbimport import import_notebook\n'
                                  'import_notebook("02_layers.ipynb", names=["double"], into=globals())'),
        nbformat.v4.new_code_cell("def quadruple(x):\n    return double(double(x))")])
    nbformat.write(net, tmp_path / "04_net.ipynb")
    monkeypatch.chdir("/")
    module = import_notebook(tmp_path / "04_net.ipynb", names=["quadruple"])
    assert module.quadruple(1) == 4


def test_an_imported_unanswered_stub_names_its_notebook(tmp_path):
    """hwlib.unanswered reads the other notebook's name from the stub's code (``02_layers.ipynb[cell k]``)."""
    from hwlib.unanswered import _IMPORTED_CELL, parse_stub_message, stub_message

    stub = f"def fc_forward(x, w, b):\n    raise NotImplementedError({stub_message('Q2.1', 'fc_forward')!r})\n"
    path = _write(tmp_path, "import math", stub)
    module = import_notebook(path)
    with pytest.raises(NotImplementedError) as caught:
        module.fc_forward(1, 2, 3)
    frame = caught.tb
    while frame.tb_next is not None:
        frame = frame.tb_next
    assert _IMPORTED_CELL.match(frame.tb_frame.f_code.co_filename)["notebook"] == path.name
    assert parse_stub_message(str(caught.value)).name == "fc_forward"
