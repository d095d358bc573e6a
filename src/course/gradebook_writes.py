"""Gradebook writes of ``course autograde``: nbgrader's own SaveAutoGrades, one commit per notebook.

nbgrader's :class:`~nbgrader.preprocessors.SaveAutoGrades` commits after every graded
and every answer cell; each commit is a synchronous write of the SQLite file, about 60
per notebook. :class:`OneCommitSaveAutoGrades` runs the same code on a gradebook the
caller opened once per submission, with each cell's commit turned into a flush (the
rows are written in the same order, within one transaction) and one commit when the
notebook is done; on an error nothing of that notebook is kept.
"""

from __future__ import annotations

from typing import Any

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades


class OneCommitSaveAutoGrades(SaveAutoGrades):
    """SaveAutoGrades on an open ``gradebook``, committing once per notebook (module docstring)."""

    def __init__(self, gradebook: Gradebook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.open_gradebook = gradebook

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict) -> tuple[nbformat.NotebookNode, dict]:
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = self.open_gradebook
        session = self.gradebook.db
        session.commit = session.flush  # an instance attribute shadows the method while the cells run
        try:
            nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # nbgrader's cell loop
        except BaseException:
            del session.commit
            session.rollback()
            raise
        del session.commit
        session.commit()
        return nb, resources
