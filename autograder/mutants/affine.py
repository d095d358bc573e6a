"""Plausible buggy solutions of notebook 3 (affine fitting); each must lose points on its own question only."""

from course.mutants import Mutant

LOSS = "affine_transform_loss_answer"
LOSS_TESTS = ("affine_transform_loss_tests",)
FIT = "fit_affine_transform_answer"
FIT_TESTS = ("fit_affine_transform_tests",)
HYPER = "choose_hyperparameters_answer"
HYPER_TESTS = ("choose_hyperparameters_tests",)

MUTANTS = [
    # affine_transform_loss
    Mutant(name="loss_missing_transpose", answer=LOSS,
           old="prediction = P @ S.T + t", new="prediction = P @ S + t", fails=LOSS_TESTS,
           description="computes S^T p_i + t instead of S p_i + t"),
    Mutant(name="loss_grad_S_transposed", answer=LOSS,
           old="grad_S = grad_prediction.T @ P", new="grad_S = P.T @ grad_prediction", fails=LOSS_TESTS,
           description="returns the gradient for S^T instead of S"),
    Mutant(name="loss_forgets_1_over_N", answer=LOSS,
           old="loss = float(np.sum(residual ** 2)) / N", new="loss = float(np.sum(residual ** 2))",
           fails=LOSS_TESTS, description="sums the squared distances instead of averaging over N"),
    Mutant(name="loss_grad_forgets_1_over_N", answer=LOSS,
           old="grad_prediction = 2.0 * residual / N", new="grad_prediction = 2.0 * residual",
           fails=LOSS_TESTS, description="drops the 1/N in the gradient only"),
    Mutant(name="loss_grad_forgets_factor_2", answer=LOSS,
           old="grad_prediction = 2.0 * residual / N", new="grad_prediction = residual / N",
           fails=LOSS_TESTS, description="forgets the 2 from the derivative of a square"),
    Mutant(name="loss_mean_over_coordinates", answer=LOSS,
           old="loss = float(np.sum(residual ** 2)) / N", new="loss = float(np.mean(residual ** 2))",
           fails=LOSS_TESTS, description="averages over the 2 coordinates as well (divides by 2N)"),
    Mutant(name="loss_grad_t_wrong_axis", answer=LOSS,
           old="grad_t = np.sum(grad_prediction, axis=0)", new="grad_t = np.sum(grad_prediction, axis=1)",
           fails=LOSS_TESTS, description="sums the gradient of t over the coordinates instead of the points"),
    Mutant(name="loss_grad_t_mean", answer=LOSS,
           old="grad_t = np.sum(grad_prediction, axis=0)", new="grad_t = np.mean(grad_prediction, axis=0)",
           fails=LOSS_TESTS, description="averages instead of sums the gradient of t over the points"),
    Mutant(name="loss_residual_sign", answer=LOSS,
           old="residual = prediction - P_prime", new="residual = P_prime - prediction",
           fails=LOSS_TESTS, description="residual with the wrong sign: same loss, gradients point uphill"),
    Mutant(name="loss_modifies_P_prime_in_place", answer=LOSS,
           old="residual = prediction - P_prime",
           new="residual = P_prime\n    residual -= prediction\n    residual *= -1.0",
           fails=LOSS_TESTS, description="reuses the caller's P_prime array for the residual"),
    Mutant(name="loss_loops_over_points", answer=LOSS,
           old="prediction = P @ S.T + t", new="prediction = np.array([S @ p + t for p in P]).reshape(-1, 2)",
           fails=LOSS_TESTS, description="correct values, but a Python loop over the points"),
    # fit_affine_transform
    Mutant(name="fit_starts_from_zeros", answer=FIT,
           old="S = np.eye(2)", new="S = np.zeros((2, 2))", fails=FIT_TESTS,
           description="starts from S = 0 instead of the identity"),
    Mutant(name="fit_hard_coded_learning_rate", answer=FIT,
           old="S = S - learning_rate * grad_S", new="S = S - 0.1 * grad_S", fails=FIT_TESTS,
           description="ignores the learning_rate argument for S"),
    Mutant(name="fit_gradient_ascent", answer=FIT,
           old="t = t - learning_rate * grad_t", new="t = t + learning_rate * grad_t", fails=FIT_TESTS,
           description="steps uphill in t"),
    Mutant(name="fit_never_updates_t", answer=FIT,
           old="t = t - learning_rate * grad_t", new="t = t", fails=FIT_TESTS,
           description="only S is learned"),
    Mutant(name="fit_one_step_short", answer=FIT,
           old="for step in range(steps):", new="for step in range(1, steps):", fails=FIT_TESTS,
           description="takes steps - 1 steps"),
    Mutant(name="fit_never_logs", answer=FIT,
           old="            logger.log(step, loss, S, t)", new="            pass", fails=FIT_TESTS,
           description="ignores the logger"),
    Mutant(name="fit_logs_after_update", answer=FIT,
           old=("        if logger is not None:\n            logger.log(step, loss, S, t)\n"
                "        S = S - learning_rate * grad_S\n        t = t - learning_rate * grad_t"),
           new=("        S = S - learning_rate * grad_S\n        t = t - learning_rate * grad_t\n"
                "        if logger is not None:\n            logger.log(step, loss, S, t)"),
           fails=FIT_TESTS, description="logs the updated S, t with the loss of the previous ones"),
    # choose_hyperparameters
    Mutant(name="hyper_too_few_steps", answer=HYPER,
           old='return {"learning_rate": 0.5, "steps": 100}', new='return {"learning_rate": 0.5, "steps": 10}',
           fails=HYPER_TESTS, description="stops long before the loss reaches 1e-4"),
    Mutant(name="hyper_learning_rate_diverges", answer=HYPER,
           old='return {"learning_rate": 0.5, "steps": 100}', new='return {"learning_rate": 1.0, "steps": 100}',
           fails=HYPER_TESTS, description="a learning rate above the stability limit: the loss blows up"),
    Mutant(name="hyper_learning_rate_too_small", answer=HYPER,
           old='return {"learning_rate": 0.5, "steps": 100}', new='return {"learning_rate": 0.001, "steps": 1000}',
           fails=HYPER_TESTS, description="a learning rate so small the loss is still far above 1e-4"),
    Mutant(name="hyper_steps_as_float", answer=HYPER,
           old='return {"learning_rate": 0.5, "steps": 100}', new='return {"learning_rate": 0.5, "steps": 1e2}',
           fails=HYPER_TESTS, description="steps written as a float (range() would fail)"),
]
