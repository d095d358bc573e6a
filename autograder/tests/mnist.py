"""Hidden tests for notebook 7 (the student's networks on MNIST).

Q7.1's threshold is decided in the grader's own process: the kernel hands back only
the recipe (plain data), and the grader retrains it with the reference
``FullyConnectedNet``, ``training_step`` and trainer on the notebook's data split,
within the notebook's work budget (``WORK_BUDGET``: a number of images and epochs,
not seconds), so the score depends on neither the kernel nor the machine's load.
Q7.2 and Q7.4 check the plans the student chose against the notebook's own rules.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from course.cases import Case, call
from course.hidden import question
from hwlib.classifier import accuracy
from hwlib.mnist import load_mnist
from hwlib.preprocess import preprocess_mnist

RECIPE_HINT = ("start from dict(DEFAULT_RECIPE) and change values within the allowed ranges; hidden_dims is a list "
               "with one width, e.g. [100]")
TRAIN_HINT = ("the default learning rate is far too small: raise it first, then look at the number of epochs, the "
              "batch size and momentum; the training cell shows what your recipe reaches within the work budget")


@lru_cache(maxsize=1)
def course_data() -> dict[str, np.ndarray]:
    """The notebook's split (validation 1,000 images, seed 0), the training part cut to the work budget."""
    data = preprocess_mnist(load_mnist(), num_val=1000, seed=0, dtype=np.float32)
    return {"X_train": data["X_train"], "y_train": data["y_train"], "X_val": data["X_val"], "y_val": data["y_val"]}


def as_plain(value: Any) -> Any:
    """Lists of numbers come back from the kernel as arrays: turn them back into (nested) lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [as_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    return value


def _validity_case(name: str, answer: str, problems_of, hint: str) -> Case:
    def check(outputs: Mapping[str, Any]) -> None:
        problems = problems_of(as_plain(outputs["0"]))
        if problems:
            raise AssertionError("; ".join(problems) + ".")

    return Case(name, [call(answer)], fetch=("0",), check=check, hint=hint)


@question("two_layer_recipe")
def two_layer_recipe_cases(rng: np.random.Generator, ref: Any):
    def valid(recipe: Any) -> list[str]:
        problems = ref.recipe_problems(recipe, max_layers=1)
        if not problems and recipe == ref.DEFAULT_RECIPE:
            problems = ["this is the default recipe, which learns too slowly"]
        return problems

    yield _validity_case("two_layer_recipe() is a valid two-layer recipe", "two_layer_recipe", valid, RECIPE_HINT)

    def check(outputs: Mapping[str, Any]) -> None:
        recipe = as_plain(outputs["0"])
        problems = valid(recipe)
        if problems:
            raise AssertionError("; ".join(problems) + ".")
        data = course_data()
        try:
            model, _ = ref.train_recipe(recipe, data, dict(ref.WORK_BUDGET), progress=False)
        except FloatingPointError as error:
            raise AssertionError(f"retrained with the reference code, your recipe {recipe} fails: {error}") from None
        val_acc = accuracy(model, data["X_val"], data["y_val"])
        if val_acc < ref.TWO_LAYER_TARGET:
            raise AssertionError(
                f"retrained with the reference code within the work budget ({ref.WORK_BUDGET}), your recipe "
                f"{recipe} reaches {val_acc:.1%} validation accuracy; at least {ref.TWO_LAYER_TARGET:.0%} is needed.")

    yield Case(f"your recipe, retrained with the reference code within the work budget, reaches "
               f"{ref.TWO_LAYER_TARGET:.0%} validation accuracy", [call("two_layer_recipe")], fetch=("0",),
               check=check, hint=TRAIN_HINT)


@question("exploration_plan")
def exploration_plan_cases(rng: np.random.Generator, ref: Any):
    yield _validity_case("exploration_plan() gives 3 to 6 allowed values for each of the five settings",
                         "exploration_plan", ref.exploration_problems,
                         "a dict with the five settings of EXPLORED_SETTINGS, each a list of 3 to 6 allowed values")


@question("architectures")
def architectures_cases(rng: np.random.Generator, ref: Any):
    yield _validity_case("architectures() covers 1 to 4 hidden layers with allowed widths, at most 8 networks",
                         "architectures", ref.architectures_problems,
                         "e.g. [[100], [100, 100], [100, 100, 100], [100, 100, 100, 100]]: each entry lists the "
                         "hidden-layer widths of one network")
