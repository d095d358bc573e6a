"""Friendly unanswered-question errors (hwlib.unanswered) and the release stubs that name them (course.unanswered)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.unanswered import ClearSolutionsNamingQuestions, name_stubs, question_in
from hwlib.unanswered import parse_stub_message, stub_message


def test_stub_message_round_trips():
    message = stub_message("Q2.1", "fc_forward")
    assert message == "Q2.1 `fc_forward` is not answered yet — write it in the cell above"
    found = parse_stub_message(message)
    assert (found.question, found.name) == ("Q2.1", "fc_forward")
    assert parse_stub_message("something else") is None


def test_question_header_and_stub_naming():
    assert question_in("intro\n### Q2.14 — `softmax_loss` (4 points)\ntext") == ("Q2.14", "softmax_loss")
    assert question_in("## Q4.4 — Tune the recipe (5 points)") == ("Q4.4", "")
    assert question_in("## Training") is None
    source = ("class Net:\n    def loss(self):\n        # YOUR CODE HERE\n        raise NotImplementedError()\n\n"
              "def helper():\n    raise NotImplementedError()\n\nraise NotImplementedError()\n"
              "raise NotImplementedError('kept')\n")
    named = name_stubs(source, "Q4.1", "TwoLayerNet")
    assert f'raise NotImplementedError("{stub_message("Q4.1", "Net.loss")}")' in named
    assert f'raise NotImplementedError("{stub_message("Q4.1", "helper")}")' in named
    assert f'raise NotImplementedError("{stub_message("Q4.1", "TwoLayerNet")}")' in named
    assert "raise NotImplementedError('kept')" in named
    compile(named, "cell", "exec")


def test_preprocessor_names_stubs_in_answer_cells_only():
    nb = nbformat.v4.new_notebook()
    header = nbformat.v4.new_markdown_cell("### Q1.2 — `double` (1 point)")
    answer = nbformat.v4.new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n")
    answer.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False, "grade_id": "double_answer",
                                   "schema_version": 3}
    other = nbformat.v4.new_code_cell("raise NotImplementedError()")
    nb.cells = [header, answer, other]
    out, _ = ClearSolutionsNamingQuestions(code_stub={"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
                                           ).preprocess(nb, {"language": "python"})
    assert stub_message("Q1.2", "double") in out.cells[1].source
    assert out.cells[2].source == "raise NotImplementedError()"


CELLS = [
    "from hwlib.unanswered import install\nassert install()",
    # an answer cell that also calls its function (as notebook 1's Q2.1 does)
    "def double(x):\n    raise NotImplementedError(" + repr(stub_message("Q1.2", "double")) + ")\n\ndouble(1)",
    "result = double(3)",  # a test cell: stops on the unanswered question
    "print(result)",  # depends on it: a NameError that names the question
    "print('independent cell ran')",
    "also = result + 1",  # the cascade goes on
    "print(also)",
    "1 / 0",  # a real error still stops Run All
    "print('never runs')",
]


@pytest.mark.slow
def test_run_all_goes_past_unanswered_questions_and_says_which_one(tmp_path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("HWLIB_AUTOGRADE", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        client.execute()

    def text(index):
        return "\n".join("".join(o.get("traceback", [])) + o.get("text", "") for o in nb.cells[index].outputs)

    assert nb.cells[1].outputs[0].ename == "NotImplementedError"  # still an error output for graders
    assert "Q1.2 `double` is not answered yet — write it in this cell" in text(1)
    assert "Q1.2 `double` is not answered yet — write it in the cell above, run that cell" in text(2)
    assert "needs `result`" in text(3) and "waits for Q1.2" in text(3)
    assert "independent cell ran" in text(4)
    assert "waits for Q1.2" in text(6)
    assert "ZeroDivisionError" in text(7)
    assert nb.cells[8].outputs == []


@pytest.mark.slow
def test_nothing_is_installed_while_grading(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_AUTOGRADE", "1")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from hwlib.unanswered import install\n"
                                                                    "print(install())")] +
                                  [nbformat.v4.new_code_cell(c) for c in CELLS[1:3]])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError, match="not answered yet"):
        client.execute()
    assert nb.cells[0].outputs[0].text.strip() == "False"
    assert nb.cells[2].outputs == []  # Run All stopped at the first unanswered question, as stock Jupyter does
