# nbgrader configuration for the backpropagation course.
# `course init` copies this file to the course directory; nbgrader reads it from there.
c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = "."

# The solution stub students see in place of `### BEGIN SOLUTION ... ### END SOLUTION`.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Generous per-cell timeout for stock nbgrader; `course autograde` enforces its own limits.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300

# The release must never carry hidden tests; stock nbgrader strips them, we also leak-check.
c.ClearHiddenTests.enforce_metadata = True
