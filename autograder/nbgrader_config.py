# nbgrader configuration for the backpropagation course.
# `course init` copies this file to the course directory; nbgrader reads it from there.
c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = "."

# The solution stub students see in place of `### BEGIN SOLUTION ... ### END SOLUTION`.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Each stub then names its question: raise NotImplementedError("Q2.1 `fc_forward` is not answered yet — ...").
# Same list as nbgrader's GenerateAssignment default, with ClearSolutions swapped for our subclass
# (it reads the ClearSolutions settings above).
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,  # noqa: E402
                                    ComputeChecksums, IncludeHeaderFooter, InstantiateTests, LockCells, SaveCells)

from course.unanswered import ClearSolutionsNamingQuestions  # noqa: E402

c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutionsNamingQuestions, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme, ComputeChecksums,
    CheckCellMetadata,
]

# Generous per-cell timeout for stock nbgrader; `course autograde` enforces its own limits.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300

# The release must never carry hidden tests; stock nbgrader strips them, we also leak-check.
c.ClearHiddenTests.enforce_metadata = True
