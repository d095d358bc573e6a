# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Notebook 7 — Handwritten digits: your networks on MNIST
#
# MNIST (LeCun et al., 1998) is the classic first dataset of deep learning: greyscale images of
# handwritten digits, $28\times28$ pixels, ten classes. It is much easier than CIFAR-10, which makes
# it a good place to *explore*: a two-layer network gets most digits right within seconds, so you
# can afford many runs and see what every setting does. You use the `FullyConnectedNet`,
# `training_step` and `SGDMomentum` you wrote in notebook 4, with the course's trainer.
#
# | question | what | points |
# | --- | --- | --- |
# | Q7.1 | `two_layer_recipe`: a two-layer network with at least 87% validation accuracy within the work budget | 5 |
# | Q7.2 | `exploration_plan`: the values of five settings you want to compare | 2 |
# | Q7.3 | written: what each setting did, and your best setting | 3 |
# | Q7.4 | `architectures`: networks with one to four hidden layers, widths of your choice | 2 |
# | Q7.5 | written: which architecture works best, and why | 3 |
# | | **total** | **15** |
#
# Q7.1, Q7.2 and Q7.4 are autograded: each has a test cell with public checks (run it while you
# work) and hidden checks that run when your notebook is graded. Q7.3 and Q7.5 are read by a person.
#
# **The work budget.** Every accuracy target in this notebook is measured under a fixed amount of
# work, not of time: training on at most the **first 2,000 training images** for at most **20
# epochs** (`WORK_BUDGET`). The autograder retrains your recipe with the reference code under the
# same budget, so what this notebook shows you is what is graded, on any computer.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false}
import os, sys
if "google.colab" in sys.modules:  # Google Colab: mount Drive, install hwlib, work in My Drive/backprop (see README)
    if not os.environ.get("HWLIB_COLAB_DRIVE"):  # set only by the course's Colab emulation test
        from google.colab import drive; drive.mount("/content/drive")
    %run {os.environ.get("HWLIB_COLAB_DRIVE", "/content/drive")}/MyDrive/backprop/colab_setup.py
import hwlib.unanswered; hwlib.unanswered.install()  # "Qn.m is not answered yet"; Run All goes past those cells
import functools
import time

import matplotlib.pyplot as plt
import numpy as np
from tqdm.auto import tqdm

from hwlib.checks import expect_true, passed, run
from hwlib.classifier import accuracy
from hwlib.mnist import load_mnist
from hwlib.nbimport import import_notebook
from hwlib.optim import SGD
from hwlib.plots import plot_training_history, show_image_grid
from hwlib.preprocess import preprocess_mnist
from hwlib.runtime import is_autograding
from hwlib.search import ResultsTable
from hwlib.trainer import History, SettingRange, setting_problems, train

# %matplotlib inline
np.set_printoptions(precision=4, suppress=True)
notebook_started = time.perf_counter()

# %% [markdown]
# ## Your networks from notebook 4
#
# The next cell loads `FullyConnectedNet`, `training_step` and `SGDMomentum` from notebook 4 (which
# in turn loads your layers from notebook 2). Keep the course notebooks together in one folder. If
# you fix something there, save that notebook and rerun this cell.

# %% nbgrader={"grade": false, "grade_id": "earlier_work", "locked": true, "schema_version": 3, "solution": false}
import_notebook("04_neural_networks.ipynb", names=["FullyConnectedNet", "training_step", "SGDMomentum"],
                into=globals())
print("loaded from notebook 4: FullyConnectedNet, training_step, SGDMomentum")


def notebook4_problems() -> list[str]:
    """Build a tiny FullyConnectedNet and take one training step; what fails, if anything."""
    try:
        net = FullyConnectedNet([3], input_dim=4, num_classes=2, weight_scale=0.1, seed=0)
        loss, grads = training_step(net, np.ones((2, 4)), np.array([0, 1]), 0.0)
        if not (np.isfinite(loss) and set(grads) == set(net.parameters())):
            return [f"training_step on a FullyConnectedNet([3]) returned loss {loss!r} and keys {sorted(grads)}"]
        SGDMomentum(net.parameters(), 0.1).step(grads)
    except Exception as error:  # NotImplementedError, a wrong shape ...
        return [f"{type(error).__name__}: {str(error)[:120]}"]
    return []


network_problems = notebook4_problems()
if network_problems:
    print("✗ FullyConnectedNet / training_step / SGDMomentum from notebook 4 do not work yet:\n  "
          + "\n  ".join(network_problems))
    print("The training cells below wait for them: finish Q4.2, Q4.3 and Q4.7 in notebook 4, save it and rerun "
          "this cell. (The autograder retrains your recipes with reference code, so a mistake there costs points "
          "in notebook 4 only.)")
else:
    print("✓ your FullyConnectedNet, training_step and SGDMomentum pass a quick check")

# %% [markdown]
# ## The data
#
# The official MNIST has 60,000 training and 10,000 test images. `load_mnist` downloads the four
# official files the first time (checked against their published md5 sums, with a progress bar)
# and keeps them in a cache. Without internet, the environment variable `HWLIB_MNIST` can name a
# folder with a copy; a folder that holds only the official *test* set (10,000 images) is split
# at random into 8,000 training and 2,000 test images, and the loader says so below. Accuracies on
# that split are a little lower than on the official one and are not comparable with published
# figures.
#
# `preprocess_mnist` moves 1,000 training images into a validation set (fixed seed), scales pixels
# to $[0, 1]$, subtracts the mean training image and flattens each image into a row of 784
# numbers (`float32`).

# %% nbgrader={"grade": false, "grade_id": "data", "locked": true, "schema_version": 3, "solution": false}
NUM_CLASSES = 10
raw = load_mnist()
print(raw["info"]["note"])
data = preprocess_mnist(raw, num_val=1000, seed=0, dtype=np.float32)
for split in ("train", "val", "test"):
    print(f"X_{split}: {data['X_' + split].shape} {data['X_' + split].dtype}   y_{split}: {data['y_' + split].shape}")
examples = np.concatenate([np.flatnonzero(raw["y_train"] == digit)[:2] for digit in range(NUM_CLASSES)])
show_image_grid(raw["X_train"][examples][..., np.newaxis].repeat(3, axis=-1),
                labels=[str(raw["y_train"][i]) for i in examples], ncols=10, normalize=False);

# %% [markdown]
# ## Recipes and the trainer (provided)
#
# A **recipe** is a dict of settings, like the one of notebook 4, except that the network is
# described by `hidden_dims`, the list of hidden-layer widths of your `FullyConnectedNet`
# (`[100]` is the two-layer network of the handout: input, one hidden layer of 100 units, output):
#
# | setting | meaning | allowed |
# | --- | --- | --- |
# | `hidden_dims` | widths of the hidden layers | 1 to 4 layers, each 1 to 1,024 wide |
# | `weight_scale` | standard deviation of the initial weights | $(0, 1]$ |
# | `learning_rate` | initial learning rate | $(0, 10]$ |
# | `lr_decay` | the learning rate is multiplied by this after every epoch | $(0, 1]$ |
# | `momentum` | 0 for plain SGD, else your `SGDMomentum` with this $\mu$ | $[0, 1)$ |
# | `batch_size` | images per minibatch | 10 to 1,000 |
# | `num_epochs` | passes over the training images | 1 to 20 |
# | `reg` | L2 regularization strength | $[0, 10]$ |
#
# `train_recipe(recipe, data, budget)` builds a float32 `FullyConnectedNet` (seed 0) and trains it
# with `hwlib.trainer.train` (the course's Solver: minibatches, learning-rate decay, accuracies after
# every epoch, the best validation epoch kept) on the first `budget["num_train"]` training images.

# %% nbgrader={"grade": false, "grade_id": "helpers", "locked": true, "schema_version": 3, "solution": false}
#: The work budget of every graded run: the first training images and at most this many epochs.
WORK_BUDGET = {"num_train": 2000, "num_epochs": 20}
#: Q7.1's target: validation accuracy of the two-layer recipe trained within WORK_BUDGET.
TWO_LAYER_TARGET = 0.87
DEFAULT_RECIPE = {"hidden_dims": [50], "weight_scale": 1e-3, "learning_rate": 1e-3, "lr_decay": 1.0,
                  "momentum": 0.0, "batch_size": 100, "num_epochs": 10, "reg": 0.0}
#: Allowed values of each numeric setting; "[]" includes both ends, "(]" excludes low, "[)" excludes high.
RECIPE_RANGES = {"weight_scale": SettingRange(0, 1, "(]"), "learning_rate": SettingRange(0, 10, "(]"),
                 "lr_decay": SettingRange(0, 1, "(]"), "momentum": SettingRange(0, 1, "[)"),
                 "batch_size": SettingRange(10, 1000, "[]", whole=True),
                 "num_epochs": SettingRange(1, 20, "[]", whole=True), "reg": SettingRange(0, 10, "[]")}
MAX_HIDDEN_LAYERS, MAX_WIDTH = 4, 1024
#: The five settings Q7.2 explores ("hidden_dim": the width of the single hidden layer).
EXPLORED_SETTINGS = ("learning_rate", "lr_decay", "batch_size", "hidden_dim", "weight_scale")


def hidden_dims_problems(hidden_dims, *, max_layers: int = MAX_HIDDEN_LAYERS) -> list[str]:
    """What is wrong with a list of hidden-layer widths (an empty list: nothing)."""
    if not isinstance(hidden_dims, (list, tuple)):
        return [f"hidden_dims = {hidden_dims!r} must be a list of widths such as [100]"]
    problems = []
    if not 1 <= len(hidden_dims) <= max_layers:
        problems.append(f"hidden_dims = {list(hidden_dims)} has {len(hidden_dims)} hidden layers; "
                        f"1 to {max_layers} are allowed")
    for width in hidden_dims:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or not 1 <= width <= MAX_WIDTH:
            problems.append(f"width {width!r} in hidden_dims must be a whole number from 1 to {MAX_WIDTH}")
    return problems


def recipe_problems(recipe, *, max_layers: int = MAX_HIDDEN_LAYERS) -> list[str]:
    """What is wrong with a recipe, as readable sentences (an empty list: nothing)."""
    if not isinstance(recipe, dict):
        return [f"a recipe must be a dict like DEFAULT_RECIPE, got {type(recipe).__name__}"]
    problems = []
    missing, unknown = sorted(set(DEFAULT_RECIPE) - set(recipe)), sorted(set(recipe) - set(DEFAULT_RECIPE))
    if missing:
        problems.append(f"missing settings {missing} (start from dict(DEFAULT_RECIPE))")
    if unknown:
        problems.append(f"unknown settings {unknown}; the settings are {sorted(DEFAULT_RECIPE)}")
    if "hidden_dims" in recipe:
        problems += hidden_dims_problems(recipe["hidden_dims"], max_layers=max_layers)
    return problems + setting_problems(recipe, RECIPE_RANGES)


def train_recipe(recipe: dict, data: dict, budget: dict, *, progress: bool = True):
    """Build a float32 FullyConnectedNet (seed 0) from a recipe and train it within a budget.

    Inputs:
        recipe: the keys of DEFAULT_RECIPE.
        data: X_train (N, 784), y_train (N,), X_val (M, 784), y_val (M,).
        budget: {"num_train": first training images used, "num_epochs": at most this many epochs}.
    Returns (model, history).
    """
    problems = recipe_problems(recipe)
    if problems:
        raise ValueError("this recipe cannot be used: " + "; ".join(problems))
    num_train, num_epochs = int(budget["num_train"]), min(int(recipe["num_epochs"]), int(budget["num_epochs"]))
    subset = {"X_train": data["X_train"][:num_train], "y_train": data["y_train"][:num_train],
              "X_val": data["X_val"], "y_val": data["y_val"]}
    model = FullyConnectedNet([int(width) for width in recipe["hidden_dims"]],
                              input_dim=int(np.prod(data["X_train"].shape[1:])), num_classes=NUM_CLASSES,
                              weight_scale=float(recipe["weight_scale"]), seed=0, dtype="float32")
    momentum = float(recipe["momentum"])
    optimizer = SGD if momentum == 0 else functools.partial(SGDMomentum, momentum=momentum)
    history = train(model, training_step, subset, num_epochs=num_epochs, batch_size=int(recipe["batch_size"]),
                    learning_rate=float(recipe["learning_rate"]), lr_decay=float(recipe["lr_decay"]),
                    reg=float(recipe["reg"]), optimizer_factory=optimizer, seed=0, progress=progress)
    return model, history


def run_many(recipes: dict, data: dict, budget: dict, *, what: str) -> dict:
    """Train every recipe of {label: recipe} within a budget, with a progress bar and a time estimate.

    Returns {label: (model, history)}.
    """
    results, started = {}, time.perf_counter()
    bar = tqdm(recipes.items(), total=len(recipes), desc=what, unit="run", disable=is_autograding())
    for index, (label, recipe) in enumerate(bar):
        results[label] = train_recipe(recipe, data, budget, progress=False)
        if index == 0 and len(recipes) > 1:
            each = time.perf_counter() - started
            bar.write(f"{what}: the first run took {each:.1f} s; the remaining {len(recipes) - 1} runs should take "
                      f"about {each * (len(recipes) - 1):.0f} s")
    return results


def describe_run(name: str, history: History) -> None:
    """One line: best validation accuracy, last training accuracy and time of a run."""
    print(f"{name}: best validation accuracy {history.best_val_acc:.1%} (epoch {history.best_epoch}), "
          f"training accuracy {history.train_acc[-1]:.1%}, {history.seconds:.1f} s")


#: While autograding, the exploration and the architecture comparison run on this much smaller budget.
QUICK_BUDGET = {"num_train": 300, "num_epochs": 1}
print("work budget of graded runs:", WORK_BUDGET)

# %% [markdown]
# ## Q7.1 — A two-layer network on MNIST (5 points)
#
# Write a recipe for the two-layer network (one hidden layer: `hidden_dims` is a list with one
# width) that reaches **at least 87% validation accuracy** when trained within the work budget
# (the first 2,000 training images, at most 20 epochs). The default recipe learns far too slowly;
# notebook 4 taught you which settings to change first. Keep the hidden layer at most 1,024 wide.
#
# **How it is graded.** The autograder retrains your recipe with the reference `FullyConnectedNet`,
# `training_step` and trainer, on the same first 2,000 images and the same validation set, and
# requires 87% validation accuracy. The instructor's recipe reaches about 90%.
#
# **Done** when the test cell prints ✓ and the training cell reports at least 87%.

# %% nbgrader={"grade": false, "grade_id": "two_layer_recipe_answer", "locked": false, "schema_version": 3, "solution": true}
def two_layer_recipe() -> dict:
    """Your recipe for the two-layer network (hidden_dims with one width): at least 87% validation accuracy."""
    recipe = dict(DEFAULT_RECIPE)
    ### BEGIN SOLUTION
    recipe.update(hidden_dims=[100], weight_scale=1e-2, learning_rate=0.05, lr_decay=0.95, momentum=0.9,
                  batch_size=50, num_epochs=20, reg=1e-4)
    ### END SOLUTION
    return recipe


# %% nbgrader={"grade": false, "grade_id": "two_layer_run", "locked": true, "schema_version": 3, "solution": false}
if network_problems:
    print("waiting for notebook 4 (see the cell that loads it)")
else:
    print(two_layer_recipe())
    two_layer_model, two_layer_history = train_recipe(two_layer_recipe(), data, WORK_BUDGET)
    describe_run("two-layer recipe", two_layer_history)
    plot_training_history(two_layer_history.as_dict());
    print(f"target: {TWO_LAYER_TARGET:.0%} validation accuracy within the work budget:",
          "reached ✓" if two_layer_history.best_val_acc >= TWO_LAYER_TARGET else "not yet")

# %% nbgrader={"grade": true, "grade_id": "two_layer_recipe_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false}
recipe = run("two_layer_recipe", two_layer_recipe)
problems = recipe_problems(recipe, max_layers=1)
expect_true("two_layer_recipe", not problems, "; ".join(problems) + ".",
            hint="start from dict(DEFAULT_RECIPE); hidden_dims is a list with one width, e.g. [100]")
expect_true("two_layer_recipe", recipe != DEFAULT_RECIPE, "this is the default recipe, which learns too slowly.",
            hint="start with the learning rate")
print(f"the autograder retrains this recipe within {WORK_BUDGET} and needs {TWO_LAYER_TARGET:.0%} validation accuracy")
passed("two_layer_recipe")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("mnist", "two_layer_recipe")
### END HIDDEN TESTS

# %% [markdown]
# ## Q7.2 — Explore five settings (2 points)
#
# Now find out what each setting does. Choose **at least three values** for each of the five
# settings of the handout: `learning_rate`, `lr_decay`, `batch_size`, the hidden width (`hidden_dim`,
# one number: the width of the single hidden layer) and `weight_scale`. The cell after your answer
# changes **one setting at a time**, starting from your Q7.1 recipe, trains each variant and
# tabulates the results. Choose values that span a wide range (a factor of ten or more for the
# learning rate and the weight scale): a value that fails teaches you as much as one that works.
# At most six values per setting, so the whole exploration stays within a few minutes.
#
# Each variant trains on the first 1,000 images for 5 epochs (live; the autograder uses a tiny
# budget here, since this part is graded by what you write in Q7.3), so the accuracies are below
# those of Q7.1; compare them with each other.
#
# **Done** when the test cell prints ✓ (every setting has 3 to 6 allowed values).

# %% nbgrader={"grade": false, "grade_id": "exploration_plan_answer", "locked": false, "schema_version": 3, "solution": true}
def exploration_plan() -> dict:
    """{setting: [values]} for the five EXPLORED_SETTINGS, 3 to 6 values each."""
    ### BEGIN SOLUTION
    return {"learning_rate": [1e-3, 1e-2, 0.05, 0.2, 1.0],
            "lr_decay": [0.5, 0.8, 0.95, 1.0],
            "batch_size": [10, 50, 200, 1000],
            "hidden_dim": [10, 50, 100, 400],
            "weight_scale": [1e-4, 1e-2, 1e-1, 1.0]}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "exploration_plan_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
def exploration_problems(plan) -> list[str]:
    """What is wrong with an exploration plan (an empty list: nothing)."""
    if not isinstance(plan, dict):
        return [f"the plan must be a dict {{setting: [values]}}, got {type(plan).__name__}"]
    problems = []
    if set(plan) != set(EXPLORED_SETTINGS):
        problems.append(f"the plan has settings {sorted(plan)}; expected exactly {sorted(EXPLORED_SETTINGS)}")
    for name in EXPLORED_SETTINGS:
        values = plan.get(name)
        if not isinstance(values, (list, tuple)) or not 3 <= len(values) <= 6:
            problems.append(f"{name}: give a list of 3 to 6 values, got {values!r}")
            continue
        if len(set(values)) != len(values):
            problems.append(f"{name}: the values {list(values)} repeat")
        for value in values:
            changed = {"hidden_dims": [value]} if name == "hidden_dim" else {name: value}
            problems += [f"{name}: {problem}" for problem in recipe_problems({**DEFAULT_RECIPE, **changed})]
    return problems


plan = run("exploration_plan", exploration_plan)
problems = exploration_problems(plan)
expect_true("exploration_plan", not problems, "; ".join(problems) + ".",
            hint="a dict with the five settings of EXPLORED_SETTINGS, each a list of 3 to 6 allowed values")
passed("exploration_plan")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("mnist", "exploration_plan")
### END HIDDEN TESTS

# %% [markdown]
# The exploration. For each setting, the table lists the best validation accuracy and the final
# training accuracy of every value, with the rest of your Q7.1 recipe unchanged, and the plots show
# the validation accuracy after every epoch. The progress bar says how long it will take.

# %% nbgrader={"grade": false, "grade_id": "exploration_run", "locked": true, "schema_version": 3, "solution": false}
EXPLORE_BUDGET = QUICK_BUDGET if is_autograding() else {"num_train": 1000, "num_epochs": 5}
if network_problems:
    print("waiting for notebook 4 (see the cell that loads it)")
else:
    base, chosen = two_layer_recipe(), exploration_plan()
    variants = {}
    for name in EXPLORED_SETTINGS:
        for value in (chosen[name][:2] if is_autograding() else chosen[name]):
            changed = {"hidden_dims": [int(value)]} if name == "hidden_dim" else {name: value}
            variants[(name, value)] = {**base, **changed}
    explored = run_many(variants, data, EXPLORE_BUDGET, what="exploration")
    exploration_rows = [{"setting": name, "value": value, "best val acc": history.best_val_acc,
                         "train acc": history.train_acc[-1], "seconds": history.seconds}
                        for (name, value), (_, history) in explored.items()]
    print(ResultsTable(exploration_rows))
    fig, axes = plt.subplots(1, len(EXPLORED_SETTINGS), figsize=(16, 3.2), layout="constrained", sharey=True)
    for ax, name in zip(axes, EXPLORED_SETTINGS):
        for (setting, value), (_, history) in explored.items():
            if setting == name:
                ax.plot(history.acc_epoch, 100 * np.array(history.val_acc), marker="o", ms=3, label=f"{value:g}")
        ax.set(title=name, xlabel="epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("validation accuracy (%)")

# %% [markdown]
# ### Q7.3 — What each setting did (3 points)
#
# Using your table and plots: for each of the five settings, one sentence on what happened as you
# changed it (and, where you can, why). Then give the values that reached the best validation
# accuracy, and that accuracy.

# %% [markdown] nbgrader={"grade": true, "grade_id": "exploration_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer* (reference run on the 8,000/2,000 split of the MNIST test set; each variant: 1,000
# images, 5 epochs, the rest of the Q7.1 recipe, whose own variant reaches 85.3%). Learning rate:
# $10^{-3}$ and $10^{-2}$ learn far too slowly in five epochs (28%, 44%), 0.05–0.2 is best (85%), 1.0
# overshoots (71%; with momentum 0.9 the effective step is ten times larger). Decay: 0.5 freezes
# learning after a few epochs (75%: the rate is 1/16 of its start by epoch 5), 0.8 costs a little
# (84%), 0.95 and 1.0 are equal over five epochs (85%). Batch size: at a fixed number of epochs,
# smaller batches make more updates: 10 is best (87%, but five times slower per epoch), 200 and
# 1,000 make too few updates to learn (39%, 28%). Width: 10 units is clearly worse (78%); 50, 100 and
# 400 are close (85–86%), wider slightly better and slower. Weight scale: $10^{-4}$ starts so close
# to zero that the first epochs barely move (56%), 0.01–0.1 train well (85–87%), 1.0 starts from
# huge scores and ends lower (82%). Best single change: weight scale 0.1 or batch size 10, about 87%.
# === BEGIN MARK SCHEME ===
# 2 points for correct observations on all five settings (−½ per setting missing or
# contradicted by the student's own table), 1 point for the best values with their accuracy.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## Q7.4 — One to four hidden layers (2 points)
#
# Now the depth. List the architectures you want to compare as `hidden_dims` lists: **at least one
# with each number of hidden layers from 1 to 4**, with widths you choose (1 to 1,024), and at most
# eight in total. The cell after your answer trains each of them with the rest of your Q7.1 recipe
# within the work budget (the autograder again uses a tiny budget there) and tabulates training and
# validation accuracy. A deeper network may need a different `weight_scale` to train at all: the
# cell trains each architecture with the weight scale of your recipe, and you can say in Q7.5
# whether that held a depth back.
#
# **Done** when the test cell prints ✓.

# %% nbgrader={"grade": false, "grade_id": "architectures_answer", "locked": false, "schema_version": 3, "solution": true}
def architectures() -> list:
    """hidden_dims lists to compare: every depth from 1 to 4 hidden layers at least once, at most 8 lists."""
    ### BEGIN SOLUTION
    return [[100], [400], [100, 100], [200, 50], [100, 100, 100], [100, 100, 100, 100]]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "architectures_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false}
def architectures_problems(candidates) -> list[str]:
    """What is wrong with a list of architectures (an empty list: nothing)."""
    if not isinstance(candidates, (list, tuple)) or not 1 <= len(candidates) <= 8:
        return [f"give a list of 1 to 8 hidden_dims lists, got {candidates!r:.120}"]
    problems = [problem for hidden_dims in candidates for problem in hidden_dims_problems(hidden_dims)]
    depths = {len(hidden_dims) for hidden_dims in candidates if isinstance(hidden_dims, (list, tuple))}
    missing = [depth for depth in (1, 2, 3, 4) if depth not in depths]
    if missing:
        problems.append(f"no architecture with {', '.join(map(str, missing))} hidden layer(s); "
                        "include every depth from 1 to 4")
    return problems


candidates = run("architectures", architectures)
problems = architectures_problems(candidates)
expect_true("architectures", not problems, "; ".join(problems) + ".",
            hint="e.g. [[100], [100, 100], ...]: each entry lists the hidden-layer widths of one network")
passed("architectures")

### BEGIN HIDDEN TESTS
from course.hidden import run_hidden_tests; run_hidden_tests("mnist", "architectures")
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "architectures_run", "locked": true, "schema_version": 3, "solution": false}
DEPTH_BUDGET = QUICK_BUDGET if is_autograding() else WORK_BUDGET
if network_problems:
    print("waiting for notebook 4 (see the cell that loads it)")
else:
    base = two_layer_recipe()
    compared = run_many({str(list(hidden_dims)): {**base, "hidden_dims": list(hidden_dims)}
                         for hidden_dims in architectures()}, data, DEPTH_BUDGET, what="architectures")
    depth_rows = [{"hidden_dims": label, "hidden layers": label.count(",") + 1,
                   "parameters": sum(value.size for value in model.parameters().values()),
                   "first loss": history.loss[0], "train acc": history.train_acc[-1],
                   "best val acc": history.best_val_acc, "seconds": history.seconds}
                  for label, (model, history) in compared.items()]
    print(ResultsTable(depth_rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for label, (_, history) in compared.items():
        axes[0].plot(history.loss_epoch, history.loss, lw=0.8, label=label)
        axes[1].plot(history.acc_epoch, 100 * np.array(history.val_acc), marker="o", ms=3, label=label)
    axes[0].set(xlabel="epoch", ylabel="training loss", title="Training loss", yscale="log")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy (%)", title="Validation accuracy")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)

# %% [markdown]
# ### Q7.5 — Which architecture works best? (3 points)
#
# List the architectures you tried with their training and validation accuracy (your table), say
# which one works best on validation accuracy, and explain in two or three sentences why more depth
# did or did not help here (think of the amount of data, the training budget, overfitting and the
# initial weight scale).

# %% [markdown] nbgrader={"grade": true, "grade_id": "architectures_written", "locked": false, "points": 3, "schema_version": 3, "solution": true}
# ### BEGIN SOLUTION
# *Model answer* (reference run: 2,000 images, 20 epochs, learning rate 0.05 with momentum 0.9,
# weight scale 0.01). [100] 90.5%, [400] 90.8%, [100, 100] 89.9%, [200, 50] 89.8% validation accuracy,
# all at 100% training accuracy; [100, 100, 100] reaches only 21% and [100, 100, 100, 100] 12%: they
# never get going. The best is the single hidden layer of 400 units, by a margin (a point) that
# another seed could change. Depth does not help here for two reasons. With weight scale 0.01 every
# layer shrinks the signal by about $0.01\sqrt{100} = 0.1$, so the three- and four-layer networks
# start with almost-zero scores and almost-zero gradients in their first layers (first loss exactly
# $\ln 10$) and do not escape within 20 epochs; a larger or per-layer scale ($\sqrt{2/\text{fan-in}}$)
# would fix that. And the networks that do train fit all 2,000 images perfectly, so validation
# accuracy is limited by the amount of data, not by capacity: extra layers only add parameters that
# overfit. More data (and regularization) would be needed before depth pays off.
# === BEGIN MARK SCHEME ===
# 1 point for the table of tried architectures with training and validation accuracy and
# the best one named; 2 points for a reason grounded in the student's own results (data/budget,
# overfitting, or initialisation), 1 if the reason is generic.
# === END MARK SCHEME ===
# ### END SOLUTION

# %% [markdown]
# ## The test set, once
#
# All choices so far were made on validation accuracy. The test set gives an honest estimate of how
# your chosen network does on new digits, but only if you look at it **once**, at the very end,
# after all tuning: set `LOOK_AT_TEST_SET = True` below, choose which network to evaluate, and run
# the two cells. The autograder never runs this evaluation.

# %%
LOOK_AT_TEST_SET = False
#: "two-layer" for your Q7.1 network, or one of the hidden_dims labels of the architecture table, e.g. "[100, 100]".
CHOSEN_NETWORK = "two-layer"

# %% nbgrader={"grade": false, "grade_id": "test_set", "locked": true, "schema_version": 3, "solution": false}
if is_autograding() or not LOOK_AT_TEST_SET or network_problems:
    print("test set not evaluated (set LOOK_AT_TEST_SET = True once you have made all your choices)")
else:
    chosen_model = two_layer_model if CHOSEN_NETWORK == "two-layer" else compared[CHOSEN_NETWORK][0]
    for split in ("train", "val", "test"):
        print(f"{CHOSEN_NETWORK} network, {split:>5} accuracy: "
              f"{accuracy(chosen_model, data['X_' + split], data['y_' + split]):.1%}")

# %% [markdown]
# ## Time
#
# How long this notebook took.

# %% nbgrader={"grade": false, "grade_id": "resources", "locked": true, "schema_version": 3, "solution": false}
print(f"notebook run time: {time.perf_counter() - notebook_started:.0f} s "
      f"(CPU time of this process: {time.process_time():.0f} s)")
