"""Plausible wrong answers of notebook 7 (MNIST); each must lose points on its own question only."""

from course.mutants import Mutant

RECIPE = "two_layer_recipe_answer"
RECIPE_TESTS = ("two_layer_recipe_tests",)
PLAN = "exploration_plan_answer"
PLAN_TESTS = ("exploration_plan_tests",)
ARCH = "architectures_answer"
ARCH_TESTS = ("architectures_tests",)

MUTANTS = [
    # two_layer_recipe
    Mutant(name="recipe_learning_rate_too_small", answer=RECIPE,
           old="learning_rate=0.05,", new="learning_rate=1e-4,", fails=RECIPE_TESTS,
           description="a learning rate far too small: the network barely learns within the budget"),
    Mutant(name="recipe_learning_rate_diverges", answer=RECIPE,
           old="learning_rate=0.05,", new="learning_rate=5.0,", fails=RECIPE_TESTS,
           description="a learning rate so large (with momentum 0.9) that the loss blows up"),
    Mutant(name="recipe_two_hidden_layers", answer=RECIPE,
           old="hidden_dims=[100],", new="hidden_dims=[100, 100],", fails=RECIPE_TESTS,
           description="answers with two hidden layers where the two-layer network (one hidden layer) is asked"),
    Mutant(name="recipe_width_as_number", answer=RECIPE,
           old="hidden_dims=[100],", new="hidden_dims=100,", fails=RECIPE_TESTS,
           description="gives the width as a number instead of a list of widths"),
    Mutant(name="recipe_too_many_epochs", answer=RECIPE,
           old="num_epochs=20,", new="num_epochs=50,", fails=RECIPE_TESTS,
           description="asks for more epochs than the work budget allows"),

    # exploration_plan
    Mutant(name="plan_two_values", answer=PLAN,
           old='"lr_decay": [0.5, 0.8, 0.95, 1.0],', new='"lr_decay": [0.9, 1.0],', fails=PLAN_TESTS,
           description="tries only two values of one setting"),
    Mutant(name="plan_misses_a_setting", answer=PLAN,
           old='            "weight_scale": [1e-4, 1e-2, 1e-1, 1.0]}', new="            }", fails=PLAN_TESTS,
           description="leaves out the weight scale"),
    Mutant(name="plan_value_out_of_range", answer=PLAN,
           old='"batch_size": [10, 50, 200, 1000],', new='"batch_size": [1, 50, 200, 1000],', fails=PLAN_TESTS,
           description="a batch size outside the allowed range"),

    # architectures
    Mutant(name="arch_no_four_layers", answer=ARCH,
           old=", [100, 100, 100, 100]]", new="]", fails=ARCH_TESTS,
           description="never tries four hidden layers"),
    Mutant(name="arch_too_wide", answer=ARCH,
           old="[[100], [400],", new="[[100], [4000],", fails=ARCH_TESTS,
           description="a hidden layer wider than allowed"),
    Mutant(name="arch_flat_list", answer=ARCH,
           old="return [[100], [400], [100, 100], [200, 50], [100, 100, 100], [100, 100, 100, 100]]",
           new="return [100, 100, 100, 100]", fails=ARCH_TESTS,
           description="gives one list of widths instead of a list of architectures"),
]
